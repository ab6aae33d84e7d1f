"""Taobao behind the channel seam: TOP errors classified into refusals, trades read as channel orders, and
its message topics as message kinds. The sub_code tables in ``protocol`` decide; the calls that confirm and
change numbers are ``consign``'s. A split trade ships per line (``sub_tid`` = the lines' oids), so a later
part is just another send of other lines: ``first`` changes nothing here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
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
    beijing_time,
    checked_numbers,
    named_number,
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
# B01 (send), CD30 (resend): the trade does not exist (any more): nothing to ship, the number was not used.
_ORDER_CODES = frozenset({"B01"})
_RESEND_ORDER_CODES = frozenset({"CD30"})
# A resend Taobao will never take, said plainly before the platform's own words.
_RESEND_REFUSED = {
    "CD19": "the trade has not shipped yet: it has no number to change",
    "P06": "the trade's status allows no change of its numbers",
    "P08": "the trade allows no change of its numbers (an offline send only within 24 h of shipping)",
}

_KINDS = {
    protocol.TOPIC_PAID: MessageKind.PAID,
    protocol.TOPIC_ADDRESS: MessageKind.ADDRESS_CHANGED,
    protocol.TOPIC_CLOSE: MessageKind.CLOSED,
}
SHIPPED_STATUSES = frozenset({"WAIT_BUYER_CONFIRM_GOODS", "TRADE_BUYER_SIGNED", "TRADE_FINISHED"})
PARTLY_SHIPPED = "SELLER_CONSIGNED_PART"
_CARRIERS = frozenset(c.value for c in CarrierCode)
# How far before the first and after the last message's pub_time a grouped read lists trades modified, and
# how many pages of 100 it reads at most.
LIST_SLACK = timedelta(seconds=30)
LIST_PAGES = 20


class ListedTrades:
    """Trades a list call answered, kept ``ttl_s`` (at most ``size``, the oldest dropped first), by seller and
    tid: each answers a paid message published before it was read (the read bears the message out as a
    fetch on arrival would), never one published after, and never any other kind of message."""

    def __init__(self, ttl_s: float = 30.0, size: int = 20_000) -> None:
        self.ttl, self.size = timedelta(seconds=ttl_s), size
        # Kept as listed: most are never asked for again in this process, and reading one costs more than
        # keeping it.
        self._trades: dict[tuple[str, str], tuple[dict[str, Any], datetime]] = {}

    def put(self, seller: str, tid: str, raw: dict[str, Any], read_at: datetime) -> None:
        key = (seller, tid)
        self._trades.pop(key, None)
        self._trades[key] = (raw, read_at)
        while len(self._trades) > self.size:
            del self._trades[next(iter(self._trades))]

    def get(self, seller: str, tid: str, published: datetime) -> ChannelOrder | None:
        """The trade as listed, once (a message taken in needs it no more), when listed after ``published``
        and within the ttl."""
        entry = self._trades.pop((seller, tid), None)
        if entry is None:
            return None
        raw, read_at = entry
        # pub_time is to the second: read in its second is not surely after it.
        if read_at < published + timedelta(seconds=1) or datetime.now(UTC) - read_at > self.ttl:
            return None
        return channel_order(protocol.parse_trade({"trade": raw}))

    def forget(self, seller: str, tid: str) -> None:
        self._trades.pop((seller, tid), None)


def refusal(exc: TopError) -> Refusal:
    if exc.offline_code in _ORDER_CODES or exc.resend_code in _RESEND_ORDER_CODES:
        return Refusal.ORDER_CLOSED
    return _REFUSALS[exc.outcome]


def channel_error(exc: TopError, numbers: Sequence[str] = ()) -> ChannelError:
    """``exc`` classified; a number-related refusal names the number of ``numbers`` the answer names (the
    only one, when one was sent)."""
    found = refusal(exc)
    number = None
    if found.number_related:
        number = named_number(exc.message, numbers) or (numbers[0] if len(numbers) == 1 else None)
    plain = _RESEND_REFUSED.get(exc.resend_code or "")
    return ChannelError(
        ChannelName.TAOBAO,
        exc.short_code,
        f"{plain}: {exc.message}" if plain else exc.message,
        found,
        session_invalid=exc.code in protocol.SESSION_ERROR_CODES,
        number=number,
    )


def order_state(status: str) -> OrderState:
    if status == protocol.AWAITING_SHIPMENT:
        return OrderState.AWAITING_SHIPMENT
    if status in protocol.CLOSED_STATUSES:
        return OrderState.CLOSED
    if status in SHIPPED_STATUSES:
        return OrderState.SHIPPED
    if status == PARTLY_SHIPPED:
        return OrderState.PARTLY_SHIPPED
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
        shipped_numbers=trade.shipped_numbers,
        paid_at=trade.pay_time,
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
        published=beijing_time(message.pub_time),
    )


class TaobaoChannel:
    name = ChannelName.TAOBAO

    def __init__(self, client: MarketplaceClient, app_key: str, secret: str, message_window_s: float) -> None:
        self.client = client
        self.app_key = app_key
        self.secret = secret
        self.message_window_s = message_window_s
        self.listed = ListedTrades()

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
            message = channel_message(protocol.parse_message(form))
        except protocol.BadMessage as exc:
            raise BadMessage(str(exc)) from exc
        if message.kind is not MessageKind.PAID and message.external_id is not None:
            # The trade changed after any listing of it: a paid message of it is read back afresh.
            self.listed.forget(message.seller_id, message.external_id)
        return message

    def carrier_code(self, carrier: str) -> str:
        # Our carrier codes are TOP's company codes (taobao.logistics.companies.get).
        return carrier

    def our_carrier(self, code: str) -> str | None:
        return code if code in _CARRIERS else None

    def may_ship(self, order: ChannelOrder) -> bool:
        # A partly shipped trade's other lines may still ship (a split send of those lines).
        return order.state in (OrderState.AWAITING_SHIPMENT, OrderState.PARTLY_SHIPPED)

    def line_ids(self, order_items: Sequence[Mapping[str, Any]]) -> list[str]:
        """Each line's ``oid`` (what ``sub_tid`` lists)."""
        ids = [str(item.get("oid") or "") for item in order_items]
        if not all(ids):
            raise ChannelError(self.name, "no_line_id", "an order line has no oid", Refusal.PERMANENT)
        return ids

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

    async def fetch_orders(
        self, store: StoreAccess, published: Mapping[str, datetime | None]
    ) -> dict[str, ChannelOrder]:
        """Paid trades listed with ``taobao.trades.sold.increment.get`` (only the fields we keep) around the
        messages' pub_time: a paid trade was modified when paid. A burst of payments puts many trades in one
        window, so the whole window is listed (up to ``LIST_PAGES`` pages) and what it held kept for a short
        while (``ListedTrades``): the messages of the others, arriving just after, are answered from it, as
        long as it was read after their publication. Trades not listed (modified since, another status, no
        pub_time, past the pages) are the caller's to read one by one."""
        found: dict[str, ChannelOrder] = {}
        to_list: dict[str, datetime] = {}
        for tid, when in published.items():
            cached = self.listed.get(store.seller_id, tid, when) if when is not None else None
            if cached is not None:
                found[tid] = cached
            elif when is not None:
                to_list[tid] = when
        if not to_list:
            return found
        start, end = min(to_list.values()) - LIST_SLACK, max(to_list.values()) + LIST_SLACK
        if (end - start).total_seconds() > protocol.SOLD_SPAN_S:
            return found
        read_at = datetime.now(UTC)
        for page_no in range(1, LIST_PAGES + 1):
            try:
                trades, more = await self.client.sold_increment(
                    store.token, start, end, protocol.AWAITING_SHIPMENT, page_no, protocol.TRADE_FIELDS
                )
            except TopError as exc:
                raise channel_error(exc) from exc
            for raw in trades:
                tid = str(raw.get("tid", ""))
                if tid in to_list:
                    found[tid] = channel_order(protocol.parse_trade({"trade": raw}))
                elif tid:
                    self.listed.put(store.seller_id, tid, raw, read_at)
            if not more:
                break
        return found

    async def confirm(
        self,
        store: StoreAccess,
        external_id: str,
        numbers: Sequence[str],
        carrier: str,
        *,
        lines: Sequence[str] | None = None,
        first: bool = True,
    ) -> None:
        """One number: taobao.logistics.offline.send (split: is_split + sub_tid); several: the multi-package
        alibaba.ascp.logistics.offline.send with every package."""
        found = checked_numbers(self.name, numbers, lines)
        try:
            ok = await self.client.send(store.token, external_id, found, self.carrier_code(carrier), lines)
        except TopError as exc:
            raise channel_error(exc, found) from exc
        if not ok:
            raise channel_error(TopError(15, "offline send answered without success"))

    async def change_numbers(
        self,
        store: StoreAccess,
        external_id: str,
        numbers: Sequence[str],
        carrier: str,
        *,
        lines: Sequence[str] | None = None,
        first: bool = True,  # Taobao names a split part by its lines: nothing else to say
    ) -> None:
        """taobao.logistics.consign.resend for one number, alibaba.ascp.logistics.consign.resend for several:
        the numbers given replace those the trade (or its lines) holds. P07 (nothing changed) is success: the
        trade holds these numbers already."""
        found = checked_numbers(self.name, numbers, lines)
        try:
            ok = await self.client.resend(store.token, external_id, found, self.carrier_code(carrier), lines)
        except TopError as exc:
            if exc.resend_code == protocol.RESEND_UNCHANGED:
                return
            raise channel_error(exc, found) from exc
        if not ok:
            raise channel_error(TopError(15, "consign resend answered without success"))
