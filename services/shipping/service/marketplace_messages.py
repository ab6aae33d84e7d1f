"""Order messages the marketplace pushes to us: verified, deduplicated, and acted on only once the trade,
read back from the marketplace, bears them out (a message is a hint, never the truth)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from runtime.db import UnitOfWork
from runtime.errors import AppError
from runtime.logging import get_logger
from services.shipping import states
from services.shipping.channels.taobao import protocol
from services.shipping.channels.taobao.client import MarketplaceClient
from services.shipping.channels.taobao.protocol import Message, TopError, Trade
from services.shipping.models import Order, ShopSettings
from services.shipping.repository.messages import MessageRepository
from services.shipping.repository.orders import OrderRepository
from services.shipping.repository.settings import SettingsRepository
from services.shipping.service.cancellation import cancel_unshipped
from services.shipping.service.errors import marketplace_unavailable
from services.shipping.service.events import emit
from services.shipping.service.orders import flag, insert_paid
from services.shipping.settings import ShippingSettings
from services.shipping.states import OrderEvent, OrderNote, OrderStatus
from shared.errors import ErrorCode

log = get_logger(__name__)


class MessageRefused(AppError):
    status_code = 401
    code = ErrorCode.BAD_SIGNATURE


async def receive_message(
    uow: UnitOfWork, settings: ShippingSettings, marketplace: MarketplaceClient, form: Mapping[str, str]
) -> dict[str, str]:
    """Verify, deduplicate and apply one order message. Raises before storing anything when the
    message is not the marketplace's; answers only once what it says is stored."""
    message = _verified(settings, form)
    messages = MessageRepository(uow.session)
    if not await messages.claim(message.id, message.topic, message.user_nick, message.content):
        return {"status": "duplicate", "message_id": message.id}
    shop = await SettingsRepository(uow.session).by_nick(message.user_nick)
    tid = message.tid
    if shop is None or tid is None:
        outcome = "unknown_seller" if shop is None else "no_tid"
        await messages.finish(message.id, shop.shop_id if shop else None, tid, outcome)
        log.warning("marketplace_message_unrouted", message_id=message.id, user_nick=message.user_nick)
        return {"status": outcome, "message_id": message.id}
    outcome = await _apply(uow, marketplace, shop, message.topic, tid, message.id)
    await messages.finish(message.id, shop.shop_id, tid, outcome)
    return {"status": outcome, "message_id": message.id}


def _verified(settings: ShippingSettings, form: Mapping[str, str]) -> Message:
    if not protocol.verify_sign(form, settings.marketplace_app_secret.get_secret_value()):
        raise MessageRefused("bad signature")
    if form.get("app_key") not in (None, settings.marketplace_app_key):
        raise MessageRefused("message for another app key")
    if not protocol.message_fresh(form, settings.message_window_s):
        raise MessageRefused("message timestamp missing or outside the accepted window")
    try:
        return protocol.parse_message(form)
    except protocol.BadMessage as exc:
        raise AppError(f"malformed message: {exc}", status_code=400) from exc


async def _apply(
    uow: UnitOfWork, marketplace: MarketplaceClient, shop: ShopSettings, topic: str, tid: str, message_id: str
) -> str:
    order = await OrderRepository(uow.session).by_external(shop.shop_id, tid, for_update=True)
    read = _TradeReader(marketplace, shop, tid)
    if topic == protocol.TOPIC_PAID:
        return await _on_paid(uow, read, order, message_id)
    if topic == protocol.TOPIC_ADDRESS:
        return await _on_address_changed(uow, read, order, message_id)
    if topic == protocol.TOPIC_CLOSE:
        return await _on_closed(uow, read, order, message_id)
    return "ignored"


class _TradeReader:
    def __init__(self, marketplace: MarketplaceClient, shop: ShopSettings, tid: str) -> None:
        self.marketplace, self.shop, self.tid = marketplace, shop, tid

    async def __call__(self) -> Trade | None:
        """The full trade, or None when the marketplace says it does not exist; transient trouble raises 503
        so the marketplace delivers the message again."""
        if not self.shop.session:
            raise AppError("shop has no marketplace session", code=ErrorCode.UNAVAILABLE, status_code=503)
        try:
            return await self.marketplace.fullinfo(self.shop.session, self.tid)
        except TopError as exc:
            if exc.sub_code == "isv.trade-not-exist":
                return None
            raise marketplace_unavailable(f"fetching trade {self.tid}", exc) from exc


async def _on_paid(uow: UnitOfWork, read: _TradeReader, order: Order | None, message_id: str) -> str:
    if order is not None:
        return "order_exists"
    trade = await read()
    if trade is None:
        return "trade_not_found"
    return await _create_from_trade(uow, read.shop.shop_id, trade, message_id)


async def _on_address_changed(uow: UnitOfWork, read: _TradeReader, order: Order | None, message_id: str) -> str:
    # The message is only a hint: what changes is what the trade, read back, says.
    trade = await read()
    if order is None:
        if trade is None or trade.status != protocol.AWAITING_SHIPMENT:
            return "ignored"
        return await _create_from_trade(uow, read.shop.shop_id, trade, message_id)
    topic = protocol.TOPIC_ADDRESS
    if trade is None:
        return _not_confirmed(order, topic, message_id, "trade_not_found")
    receiver = {k: v for k, v in _trade_values(trade).items() if k.startswith("receiver_")}
    if all(getattr(order, k) == v for k, v in receiver.items()):
        return _not_confirmed(order, topic, message_id, "address_unchanged")
    if OrderStatus(order.status) not in states.UNSHIPPED:
        flag(order, "address_change_refused", f"address changed on the marketplace after shipping ({message_id})")
        await emit(
            uow, order.shop_id, "order.flagged", {"order_id": order.id, "reason": "address_changed_after_shipping"}
        )
        return "refused_shipped"
    for k, v in receiver.items():
        setattr(order, k, v)
    order.updated_at = datetime.now(UTC)
    OrderRepository(uow.session).add_event(states.noted(order, OrderNote.ADDRESS_CHANGED, f"message {message_id}"))
    if order.status == OrderStatus.LABEL_PRINTED:
        flag(order, "label_outdated", "the address changed after the label was printed: reprint it")
    return "address_updated"


async def _on_closed(uow: UnitOfWork, read: _TradeReader, order: Order | None, message_id: str) -> str:
    if order is None:
        return "ignored"
    if OrderStatus(order.status) == OrderStatus.CANCELLED:
        return "already_cancelled"
    # A forged or stale close (the trade still open) must not cancel anything: the trade decides.
    topic = protocol.TOPIC_CLOSE
    trade = await read()
    if trade is None:
        return _not_confirmed(order, topic, message_id, "trade_not_found")
    if trade.status not in protocol.CLOSED_STATUSES:
        return _not_confirmed(order, topic, message_id, "close_not_confirmed", trade_status=trade.status)
    if OrderStatus(order.status) not in states.UNSHIPPED:
        flag(order, "close_refused", f"trade closed on the marketplace after shipping ({message_id})")
        await emit(uow, order.shop_id, "order.flagged", {"order_id": order.id, "reason": "closed_after_shipping"})
        return "refused_shipped"
    try:
        await cancel_unshipped(uow, order, OrderEvent.CANCEL, "trade closed on the marketplace")
    except states.InvalidTransition:
        # Confirmation in flight: the marketplace will refuse it (B04) and the shipment fails then.
        flag(order, "closed_during_confirmation", "trade closed while the shipment was being confirmed")
        return "close_pending_confirmation"
    await emit(uow, order.shop_id, "order.cancelled", {"order_id": order.id, "reason": "trade_closed"})
    return "cancelled"


def _not_confirmed(order: Order, topic: str, message_id: str, outcome: str, **details: str) -> str:
    """A message the trade read back does not bear out: nothing changes, and it is logged."""
    log.warning(
        "marketplace_message_not_confirmed",
        message_id=message_id,
        topic=topic,
        order_id=order.id,
        outcome=outcome,
        **details,
    )
    return outcome


def _trade_values(trade: Trade) -> dict[str, Any]:
    return {
        "buyer_nick": trade.buyer_nick or None,
        "receiver_name": trade.receiver_name,
        "receiver_phone": trade.receiver_mobile,
        "receiver_state": trade.receiver_state,
        "receiver_city": trade.receiver_city,
        "receiver_district": trade.receiver_district,
        "receiver_address": trade.receiver_address,
        "receiver_zip": trade.receiver_zip,
        "weight_g": max(trade.weight_g, 1),
        "payment_cents": trade.payment_cents,
        "items": trade.items,
    }


async def _create_from_trade(uow: UnitOfWork, shop_id: str, trade: Trade, message_id: str) -> str:
    if trade.status != protocol.AWAITING_SHIPMENT:
        return f"trade_{trade.status.lower()}"
    if not trade.has_address:
        return "no_address"
    values = {"shop_id": shop_id, "external_id": trade.tid, "source": "marketplace"} | _trade_values(trade)
    if not await insert_paid(uow, values, f"marketplace message {message_id}"):
        return "order_exists"
    return "order_created"
