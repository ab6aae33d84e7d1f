"""Taobao behind the channel seam: TOP errors classified into refusals, trades read as channel orders, and
its message topics as message kinds. Behaviour as before the seam: the sub_code table in ``protocol``
decides, unchanged."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import parse_qsl

from services.shipping.channels.base import (
    BadMessage,
    ChannelError,
    ChannelMessage,
    ChannelName,
    ChannelOrder,
    MessageKind,
    MessageRefused,
    OrderState,
    Refusal,
    StoreAccess,
)
from services.shipping.channels.taobao import protocol
from services.shipping.channels.taobao.client import MarketplaceClient
from services.shipping.channels.taobao.protocol import Message, Outcome, TopError, Trade
from shared.carriers import CarrierCode

_REFUSALS = {
    Outcome.ALREADY_SHIPPED: Refusal.ALREADY_SHIPPED,
    Outcome.NUMBER_REJECTED: Refusal.NUMBER_REJECTED,
    Outcome.NUMBER_EXPIRED: Refusal.NUMBER_EXPIRED,
    Outcome.TRANSIENT: Refusal.RETRY,
    Outcome.FATAL: Refusal.PERMANENT,
}
# B01: the trade does not exist (any more): nothing to ship, and the number was not used.
_ORDER_CODES = frozenset({"B01"})

_KINDS = {
    protocol.TOPIC_PAID: MessageKind.PAID,
    protocol.TOPIC_ADDRESS: MessageKind.ADDRESS_CHANGED,
    protocol.TOPIC_CLOSE: MessageKind.CLOSED,
}
SHIPPED_STATUSES = frozenset({"WAIT_BUYER_CONFIRM_GOODS", "TRADE_BUYER_SIGNED", "TRADE_FINISHED"})
_CARRIERS = frozenset(c.value for c in CarrierCode)


def refusal(exc: TopError) -> Refusal:
    if exc.offline_code in _ORDER_CODES:
        return Refusal.ORDER_CLOSED
    return _REFUSALS[exc.outcome]


def channel_error(exc: TopError) -> ChannelError:
    return ChannelError(
        ChannelName.TAOBAO,
        exc.short_code,
        exc.message,
        refusal(exc),
        session_invalid=exc.code in protocol.SESSION_ERROR_CODES,
    )


def order_state(status: str) -> OrderState:
    if status == protocol.AWAITING_SHIPMENT:
        return OrderState.AWAITING_SHIPMENT
    if status in protocol.CLOSED_STATUSES:
        return OrderState.CLOSED
    if status in SHIPPED_STATUSES:
        return OrderState.SHIPPED
    return OrderState.OTHER


def channel_order(trade: Trade) -> ChannelOrder:
    return ChannelOrder(
        external_id=trade.tid,
        state=order_state(trade.status),
        status=trade.status,
        seller_id=trade.seller_nick,
        buyer_nick=trade.buyer_nick,
        receiver_name=trade.receiver_name,
        receiver_phone=trade.receiver_mobile,
        receiver_state=trade.receiver_state,
        receiver_city=trade.receiver_city,
        receiver_district=trade.receiver_district,
        receiver_address=trade.receiver_address,
        receiver_zip=trade.receiver_zip,
        weight_g=trade.weight_g,
        payment_cents=trade.payment_cents,
        items=trade.items,
        shipped_number=trade.shipped_number,
        shipped_carrier=trade.shipped_company or None,
    )


def channel_message(message: Message) -> ChannelMessage:
    return ChannelMessage(
        channel=ChannelName.TAOBAO,
        id=message.id,
        topic=message.topic,
        kind=_KINDS.get(message.topic, MessageKind.OTHER),
        seller_id=message.user_nick,
        external_id=message.tid,
        content=message.content,
    )


class TaobaoChannel:
    name = ChannelName.TAOBAO

    def __init__(self, client: MarketplaceClient, app_key: str, secret: str, message_window_s: float) -> None:
        self.client = client
        self.app_key = app_key
        self.secret = secret
        self.message_window_s = message_window_s

    def read_message(self, headers: Mapping[str, str], body: bytes) -> ChannelMessage:
        """A TOP message push: a form signed like a call (every other field), for our app key, fresh."""
        try:
            form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False))
        except UnicodeDecodeError:
            raise BadMessage("the body is not UTF-8 form data") from None
        return self.verified_message(form)

    def verified_message(self, form: Mapping[str, str]) -> ChannelMessage:
        if not protocol.verify_sign(form, self.secret):
            raise MessageRefused("bad signature")
        if form.get("app_key") not in (None, self.app_key):
            raise MessageRefused("message for another app key")
        if not protocol.message_fresh(form, self.message_window_s):
            raise MessageRefused("message timestamp missing or outside the accepted window")
        try:
            return channel_message(protocol.parse_message(form))
        except protocol.BadMessage as exc:
            raise BadMessage(str(exc)) from exc

    def carrier_code(self, carrier: str) -> str:
        # Our carrier codes are TOP's company codes (taobao.logistics.companies.get).
        return carrier

    def our_carrier(self, code: str) -> str | None:
        return code if code in _CARRIERS else None

    def may_ship(self, order: ChannelOrder) -> bool:
        return order.state is OrderState.AWAITING_SHIPMENT

    async def seller_id(self, token: str) -> str:
        try:
            return await self.client.seller_nick(token)
        except TopError as exc:
            raise channel_error(exc) from exc

    async def fetch_order(self, store: StoreAccess, external_id: str) -> ChannelOrder | None:
        try:
            trade = await self.client.fullinfo(store.token, external_id)
        except TopError as exc:
            if exc.sub_code == "isv.trade-not-exist":
                return None
            raise channel_error(exc) from exc
        return channel_order(trade)

    async def confirm(self, store: StoreAccess, external_id: str, numbers: Sequence[str], carrier: str) -> None:
        if len(numbers) != 1:
            raise ChannelError(self.name, "numbers", "one number per offline send", Refusal.PERMANENT)
        try:
            ok = await self.client.offline_send(store.token, external_id, numbers[0], self.carrier_code(carrier))
        except TopError as exc:
            raise channel_error(exc) from exc
        if not ok:
            raise channel_error(TopError(15, "offline send answered is_success=false"))
