"""Shipping logic: order intake, courier choice, shipping one order, confirmation outcomes, tracking
updates, outgoing events. Services flush; the boundary (request or job) commits."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from runtime.db import UnitOfWork
from runtime.errors import AppError, Conflict, NotFound, Unauthorized
from runtime.logging import get_logger
from services.shipping import states
from services.shipping.allocation_client import AllocationClient, AllocationError
from services.shipping.marketplace import protocol
from services.shipping.marketplace.client import MarketplaceClient
from services.shipping.marketplace.protocol import TopError, Trade
from services.shipping.metrics import BATCH_ORDERS, SHIPMENTS
from services.shipping.models import Order, Shipment, ShopSettings, WebhookEndpoint
from services.shipping.recommend import CarrierOption, choose, rank
from services.shipping.repository import (
    BatchRepository,
    MessageRepository,
    OrderRepository,
    SettingsRepository,
    ShipmentRepository,
    TrackingRepository,
    WebhookRepository,
)
from services.shipping.schemas import (
    CarrierOptionOut,
    OrderCreate,
    OrderOut,
    Receiver,
    SettingsIn,
    SettingsOut,
    TrackingUpdateResult,
)
from services.shipping.settings import ShippingSettings
from services.shipping.states import OrderEvent as E
from services.shipping.states import OrderStatus as S
from shared.carriers import CARRIERS, CarrierCode
from shared.errors import ErrorCode
from shared.events import new_event
from shared.tracking import TrackingUpdate, TrackingUpdateOutcome

log = get_logger(__name__)

CLOSED_TRADES = frozenset({"TRADE_CLOSED", "TRADE_CLOSED_BY_TAOBAO"})


@dataclass
class Clients:
    settings: ShippingSettings
    allocation: AllocationClient
    marketplace: MarketplaceClient


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


def carrier_name(code: str) -> str:
    try:
        return CARRIERS[CarrierCode(code)].name_zh
    except ValueError:
        return code


# --- settings ---------------------------------------------------------------------------------


def settings_out(shop_id: str, s: ShopSettings | None) -> SettingsOut:
    return SettingsOut(
        shop_id=shop_id,
        seller_nick=s.seller_nick if s else None,
        session_set=bool(s and s.session),
        sender_name=s.sender_name if s else "",
        sender_phone=s.sender_phone if s else "",
        sender_address=s.sender_address if s else "",
        default_carrier=s.default_carrier if s else None,
        weights=dict(s.weights) if s else {},
    )


async def put_settings(uow: UnitOfWork, clients: Clients, shop_id: str, body: SettingsIn) -> SettingsOut:
    repo = SettingsRepository(uow.session)
    values = body.model_dump(exclude_unset=True)
    if values.get("seller_nick") or values.get("session"):
        current = await repo.get(shop_id)
        session = values.get("session") or (current.session if current else None)
        claimed = values.get("seller_nick") if "seller_nick" in values else (current.seller_nick if current else None)
        # The binding routes a seller's orders to this shop: only the session's own seller may be bound.
        values["seller_nick"] = await _verified_nick(clients, session, claimed)
        await repo.lock_nick(values["seller_nick"])
        other = await repo.by_nick(values["seller_nick"])
        if other is not None and other.shop_id != shop_id:
            raise Conflict(
                f"seller {values['seller_nick']} is bound to another shop",
                details={"seller_nick": values["seller_nick"]},
            )
    if "default_carrier" in values and values["default_carrier"] is not None:
        values["default_carrier"] = str(values["default_carrier"])
    saved = await repo.upsert(shop_id, values)
    return settings_out(shop_id, saved)


def _marketplace_unavailable(doing: str, exc: TopError) -> AppError:
    """503 with Retry-After: the caller (the marketplace redelivering, a shop's system) tries again."""
    return AppError(
        f"marketplace unavailable while {doing}: {exc}",
        code=ErrorCode.UPSTREAM_ERROR,
        status_code=503,
        headers={"Retry-After": "2"},
    )


async def _verified_nick(clients: Clients, session: str | None, claimed: str | None) -> str:
    """The seller nick the marketplace says ``session`` belongs to; it must be ``claimed`` when one is given."""
    if not session:
        raise AppError(
            "binding a seller nick needs its marketplace session (the seller's authorisation) to prove it",
            code=ErrorCode.SELLER_NOT_VERIFIED,
            status_code=422,
            details={"field": "session"},
        )
    try:
        nick = await clients.marketplace.seller_nick(session)
    except TopError as exc:
        if exc.code in protocol.SESSION_ERROR_CODES:
            raise AppError(
                "the marketplace does not know this session (expired or not the seller's authorisation)",
                code=ErrorCode.SELLER_NOT_VERIFIED,
                status_code=422,
                details={"field": "session"},
            ) from exc
        raise _marketplace_unavailable("checking the session", exc) from exc
    if claimed is not None and nick != claimed:
        # Says only that they differ: whose session it is stays the marketplace's business.
        raise AppError(
            f"the session does not belong to seller {claimed}",
            code=ErrorCode.SELLER_NOT_VERIFIED,
            status_code=422,
            details={"field": "seller_nick"},
        )
    return nick


async def get_settings(uow: UnitOfWork, shop_id: str) -> SettingsOut:
    return settings_out(shop_id, await SettingsRepository(uow.session).get(shop_id))


# --- orders -----------------------------------------------------------------------------------


def order_out(o: Order) -> OrderOut:
    return OrderOut(
        id=o.id,
        external_id=o.external_id,
        source=o.source,
        status=o.status,
        buyer_nick=o.buyer_nick,
        receiver=Receiver(
            name=o.receiver_name,
            phone=o.receiver_phone,
            state=o.receiver_state,
            city=o.receiver_city,
            district=o.receiver_district,
            address=o.receiver_address,
            zip=o.receiver_zip,
        ),
        weight_g=o.weight_g,
        payment_cents=o.payment_cents,
        items=list(o.items),
        carrier=o.carrier,
        number=o.number,
        shipment_id=o.shipment_id,
        flags=list(o.flags),
        created_at=o.created_at,
        updated_at=o.updated_at,
        shipped_at=o.shipped_at,
    )


def transition(repo: OrderRepository, order: Order, event: E, note: str | None = None) -> None:
    """The only way an order changes state: checked against the state machine, and recorded."""
    target = states.next_status(order.status, event, order_id=order.id)
    repo.add_event(order.id, event.value, order.status, target.value, note)
    order.status = target.value
    order.updated_at = datetime.now(UTC)


def flag(order: Order, kind: str, message: str) -> None:
    order.flags = [*order.flags, {"kind": kind, "message": message, "at": datetime.now(UTC).isoformat()}]


async def create_order(uow: UnitOfWork, shop_id: str, body: OrderCreate) -> tuple[OrderOut, bool]:
    repo = OrderRepository(uow.session)
    r = body.receiver
    order_id = new_id("ord")
    created = await repo.insert_if_absent(
        {
            "id": order_id,
            "shop_id": shop_id,
            "external_id": body.external_id,
            "source": "api",
            "status": S.PAID.value,
            "buyer_nick": body.buyer_nick,
            "receiver_name": r.name,
            "receiver_phone": r.phone,
            "receiver_state": r.state,
            "receiver_city": r.city,
            "receiver_district": r.district,
            "receiver_address": r.address,
            "receiver_zip": r.zip,
            "weight_g": body.weight_g,
            "payment_cents": body.payment_cents,
            "items": [i.model_dump() for i in body.items],
        }
    )
    order = await repo.by_external(shop_id, body.external_id)
    assert order is not None
    if created:
        repo.add_event(order.id, "create", "", S.PAID.value, "created over REST")
    return order_out(order), created


async def own_order(uow: UnitOfWork, shop_id: str, order_id: str, *, for_update: bool = False) -> Order:
    order = await OrderRepository(uow.session).get(order_id, for_update=for_update)
    if order is None or order.shop_id != shop_id:
        raise NotFound(f"order {order_id} not found")
    return order


async def get_order(uow: UnitOfWork, shop_id: str, order_id: str) -> OrderOut:
    return order_out(await own_order(uow, shop_id, order_id))


async def list_orders(
    uow: UnitOfWork, shop_id: str, status: str | None, external_id: str | None, limit: int, offset: int
) -> list[OrderOut]:
    rows = await OrderRepository(uow.session).search(shop_id, status, external_id, limit, offset)
    return [order_out(o) for o in rows]


async def order_events(uow: UnitOfWork, shop_id: str, order_id: str) -> list[Any]:
    await own_order(uow, shop_id, order_id)
    return await OrderRepository(uow.session).events(order_id)


async def cancel_order(uow: UnitOfWork, shop_id: str, order_id: str, reason: str) -> OrderOut:
    order = await own_order(uow, shop_id, order_id, for_update=True)
    await _cancel_unshipped(uow, order, E.CANCEL, reason)
    return order_out(order)


async def _cancel_unshipped(uow: UnitOfWork, order: Order, event: E, reason: str) -> None:
    """Cancel the order (or only its shipment) before confirmation; the number goes back (voided if printed)."""
    states.next_status(order.status, event, order_id=order.id)
    shipment = None
    if order.shipment_id is not None:
        srepo = ShipmentRepository(uow.session)
        shipment = await srepo.get(order.shipment_id, for_update=True)
        if shipment is not None and shipment.status == "confirming":
            raise states.InvalidTransition(
                f"order {order.id} is being confirmed on the marketplace right now; try again in a moment",
                details={"order_id": order.id, "shipment_id": shipment.id, "status": "confirming"},
            )
        if shipment is not None and shipment.status == "pending":
            shipment.status = "cancelled"
            shipment.error = reason
            SHIPMENTS.labels(shipment.carrier, "cancelled").inc()
            if shipment.batch_id:
                BATCH_ORDERS.labels("failed").inc()
            await BatchRepository(uow.session).finish_items_for_shipments(
                [shipment.id], "failed", f"cancelled: {reason}"
            )
    if order.number is not None:
        uow.enqueue(
            "release_number",
            shop_id=order.shop_id,
            number=order.number,
            order_ref=order.external_id,
            void=bool(shipment is not None and shipment.batch_id),
        )
    transition(OrderRepository(uow.session), order, event, reason)
    order.number = None
    order.carrier = None
    order.shipment_id = None
    await uow.session.flush()


async def cancel_shipment(uow: UnitOfWork, shop_id: str, shipment_id: str) -> Shipment:
    shipment = await ShipmentRepository(uow.session).get(shipment_id)
    if shipment is None or shipment.shop_id != shop_id:
        raise NotFound(f"shipment {shipment_id} not found")
    order = await own_order(uow, shop_id, shipment.order_id, for_update=True)
    if order.shipment_id != shipment.id or shipment.status not in ("pending", "confirming"):
        raise states.InvalidTransition(
            f"shipment {shipment.id} is {shipment.status}; only a shipment not yet confirmed can be cancelled",
            details={"shipment_id": shipment.id, "status": shipment.status},
        )
    await _cancel_unshipped(uow, order, E.CANCEL_SHIPMENT, "shipment cancelled by the shop")
    refreshed = await ShipmentRepository(uow.session).get(shipment_id)
    assert refreshed is not None
    return refreshed


# --- marketplace messages ---------------------------------------------------------------------


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


class MessageRefused(AppError):
    status_code = 401
    code = ErrorCode.BAD_SIGNATURE


async def receive_message(uow: UnitOfWork, clients: Clients, form: Mapping[str, str]) -> dict[str, str]:
    """Verify, deduplicate and apply one order message. Raises before storing anything when the
    message is not the marketplace's; answers only once what it says is stored."""
    settings = clients.settings
    if not protocol.verify_sign(form, settings.marketplace_app_secret.get_secret_value()):
        raise MessageRefused("bad signature")
    if form.get("app_key") not in (None, settings.marketplace_app_key):
        raise MessageRefused("message for another app key")
    if not protocol.message_fresh(form, settings.message_window_s):
        raise MessageRefused("message timestamp missing or outside the accepted window")
    try:
        message = protocol.parse_message(form)
    except protocol.BadMessage as exc:
        raise AppError(f"malformed message: {exc}", status_code=400) from exc
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
    outcome = await _apply_message(uow, clients, shop, message.topic, tid, message.id)
    await messages.finish(message.id, shop.shop_id, tid, outcome)
    return {"status": outcome, "message_id": message.id}


async def _fetch_trade(clients: Clients, shop: ShopSettings, tid: str) -> Trade | None:
    """The full trade, or None when the marketplace says it does not exist; transient trouble raises 503
    so the marketplace delivers the message again."""
    if not shop.session:
        raise AppError("shop has no marketplace session", code=ErrorCode.UNAVAILABLE, status_code=503)
    try:
        return await clients.marketplace.fullinfo(shop.session, tid)
    except TopError as exc:
        if exc.sub_code == "isv.trade-not-exist":
            return None
        raise _marketplace_unavailable(f"fetching trade {tid}", exc) from exc


async def _apply_message(
    uow: UnitOfWork, clients: Clients, shop: ShopSettings, topic: str, tid: str, message_id: str
) -> str:
    repo = OrderRepository(uow.session)
    order = await repo.by_external(shop.shop_id, tid, for_update=True)
    if topic == protocol.TOPIC_PAID:
        if order is not None:
            return "order_exists"
        trade = await _fetch_trade(clients, shop, tid)
        if trade is None:
            return "trade_not_found"
        return await _create_from_trade(uow, shop.shop_id, trade, message_id)
    if topic == protocol.TOPIC_ADDRESS:
        # The message is only a hint: what changes is what the trade, read back, says.
        trade = await _fetch_trade(clients, shop, tid)
        if order is None:
            if trade is None or trade.status != "WAIT_SELLER_SEND_GOODS":
                return "ignored"
            return await _create_from_trade(uow, shop.shop_id, trade, message_id)
        if trade is None:
            return _not_confirmed(order, topic, message_id, "trade_not_found")
        receiver = {k: v for k, v in _trade_values(trade).items() if k.startswith("receiver_")}
        if all(getattr(order, k) == v for k, v in receiver.items()):
            return _not_confirmed(order, topic, message_id, "address_unchanged")
        if states.OrderStatus(order.status) not in states.UNSHIPPED:
            flag(order, "address_change_refused", f"address changed on the marketplace after shipping ({message_id})")
            await _emit(
                uow, order.shop_id, "order.flagged", {"order_id": order.id, "reason": "address_changed_after_shipping"}
            )
            return "refused_shipped"
        for k, v in receiver.items():
            setattr(order, k, v)
        order.updated_at = datetime.now(UTC)
        repo.add_event(order.id, "address_changed", order.status, order.status, f"message {message_id}")
        if order.status == S.LABEL_PRINTED:
            flag(order, "label_outdated", "the address changed after the label was printed: reprint it")
        return "address_updated"
    if topic == protocol.TOPIC_CLOSE:
        if order is None:
            return "ignored"
        if states.OrderStatus(order.status) == S.CANCELLED:
            return "already_cancelled"
        # A forged or stale close (the trade still open) must not cancel anything: the trade decides.
        trade = await _fetch_trade(clients, shop, tid)
        if trade is None:
            return _not_confirmed(order, topic, message_id, "trade_not_found")
        if trade.status not in protocol.CLOSED_STATUSES:
            return _not_confirmed(order, topic, message_id, "close_not_confirmed", trade_status=trade.status)
        if states.OrderStatus(order.status) not in states.UNSHIPPED:
            flag(order, "close_refused", f"trade closed on the marketplace after shipping ({message_id})")
            await _emit(uow, order.shop_id, "order.flagged", {"order_id": order.id, "reason": "closed_after_shipping"})
            return "refused_shipped"
        try:
            await _cancel_unshipped(uow, order, E.CANCEL, "trade closed on the marketplace")
        except states.InvalidTransition:
            # Confirmation in flight: the marketplace will refuse it (B04) and the shipment fails then.
            flag(order, "closed_during_confirmation", "trade closed while the shipment was being confirmed")
            return "close_pending_confirmation"
        await _emit(uow, order.shop_id, "order.cancelled", {"order_id": order.id, "reason": "trade_closed"})
        return "cancelled"
    return "ignored"


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


async def _create_from_trade(uow: UnitOfWork, shop_id: str, trade: Trade, message_id: str) -> str:
    repo = OrderRepository(uow.session)
    if trade.status != "WAIT_SELLER_SEND_GOODS":
        return f"trade_{trade.status.lower()}"
    if not trade.has_address:
        return "no_address"
    order_id = new_id("ord")
    created = await repo.insert_if_absent(
        {"id": order_id, "shop_id": shop_id, "external_id": trade.tid, "source": "marketplace", "status": S.PAID.value}
        | _trade_values(trade)
    )
    if not created:
        return "order_exists"
    repo.add_event(order_id, "create", "", S.PAID.value, f"marketplace message {message_id}")
    return "order_created"


# --- courier choice ---------------------------------------------------------------------------


async def carrier_options(uow: UnitOfWork, clients: Clients, shop_id: str, order_id: str) -> list[CarrierOptionOut]:
    order = await own_order(uow, shop_id, order_id)
    shop = await SettingsRepository(uow.session).get(shop_id)
    options = await _rank(clients, shop_id, shop, order.receiver_state)
    chosen = choose(options, shop.default_carrier if shop else None)
    return [
        CarrierOptionOut(**{**o.__dict__, "recommended": chosen is not None and o.carrier == chosen.carrier})
        for o in options
    ]


async def _rank(clients: Clients, shop_id: str, shop: ShopSettings | None, province: str) -> list[CarrierOption]:
    try:
        catalogue = await clients.allocation.carriers(shop_id)
        stock = await clients.allocation.stock(shop_id)
    except AllocationError as exc:
        raise exc.as_app_error() from exc
    return rank(catalogue, stock, province, shop.weights if shop else None, shop.default_carrier if shop else None)


async def recommend(clients: Clients, shop_id: str, shop: ShopSettings | None, province: str) -> str:
    options = await _rank(clients, shop_id, shop, province)
    chosen = choose(options, shop.default_carrier if shop else None)
    if chosen is None:
        raise AppError(
            f"no carrier with stock covers {province}",
            code=ErrorCode.POOL_EXHAUSTED,
            status_code=409,
            details={"province": province},
        )
    return chosen.carrier


# --- shipping one order -----------------------------------------------------------------------


async def ship_order(
    uow: UnitOfWork, clients: Clients, shop_id: str, order_id: str, carrier: str | None, number: str | None
) -> Shipment:
    order = await own_order(uow, shop_id, order_id, for_update=True)
    # Checked before any outside call: a second concurrent request waits for the lock, then stops here.
    states.next_status(order.status, E.ASSIGN_WAYBILL, order_id=order.id)
    shop = await SettingsRepository(uow.session).get(shop_id)
    if shop is None or not shop.session:
        raise Conflict(
            "bind the shop to its marketplace seller first (PUT /v1/settings with seller_nick and session)",
            details={"shop_id": shop_id},
        )
    chosen = carrier or await recommend(clients, shop_id, shop, order.receiver_state)
    try:
        if number is not None:
            allocation = await clients.allocation.register_manual(shop_id, chosen, number, order.external_id)
            source = "manual"
        else:
            allocation = await clients.allocation.allocate(shop_id, chosen, order.external_id)
            source = "pool"
        await clients.allocation.mark(shop_id, allocation.number, "printed", order.external_id)
    except AllocationError as exc:
        raise exc.as_app_error() from exc
    shipment = Shipment(
        id=new_id("shp"),
        shop_id=shop_id,
        order_id=order.id,
        carrier=chosen,
        number=allocation.number,
        number_source=source,
        status="pending",
        attempts=0,
        reallocations=0,
        history=[{"number": allocation.number, "event": "assigned", "at": datetime.now(UTC).isoformat()}],
        label_prints=0,
    )
    uow.session.add(shipment)
    SHIPMENTS.labels(chosen, "created").inc()
    orders = OrderRepository(uow.session)
    transition(orders, order, E.ASSIGN_WAYBILL, f"{chosen} {allocation.number} ({source})")
    transition(orders, order, E.PRINT_LABEL)
    order.carrier, order.number, order.shipment_id = chosen, allocation.number, shipment.id
    await uow.session.flush()
    uow.enqueue("confirm_shipment", shipment_id=shipment.id)
    return shipment


async def own_shipment(uow: UnitOfWork, shop_id: str, shipment_id: str) -> Shipment:
    shipment = await ShipmentRepository(uow.session).get(shipment_id)
    if shipment is None or shipment.shop_id != shop_id:
        raise NotFound(f"shipment {shipment_id} not found")
    return shipment


# --- confirmation outcomes (called by the confirmation job and the batch worker) ---------------


async def finish_confirmed(uow: UnitOfWork, shipment_ids: list[str], note: str = "confirmed on the marketplace") -> int:
    """Confirmed shipments: order shipped, batch items done, tracking handoff and shop events queued."""
    if not shipment_ids:
        return 0
    srepo = ShipmentRepository(uow.session)
    confirmed = await srepo.confirm_many(shipment_ids)
    if not confirmed:
        return 0
    orders = OrderRepository(uow.session)
    shipments = {s.id: s for s in await srepo.by_ids(confirmed)}
    locked = await orders.lock_many([s.order_id for s in shipments.values()])
    now = datetime.now(UTC)
    events = []
    hooks: dict[str, list[WebhookEndpoint]] = {}
    for s in shipments.values():
        SHIPMENTS.labels(s.carrier, "confirmed").inc()
        if s.batch_id:
            BATCH_ORDERS.labels("shipped").inc()
        order = locked[s.order_id]
        if states.can(order.status, E.CONFIRM_SHIPMENT):
            events.append(
                {"order_id": order.id, "event": E.CONFIRM_SHIPMENT.value, "from_status": order.status,
                 "to_status": S.SHIPPED.value, "note": f"{note}: {s.carrier} {s.number}"}
            )  # fmt: skip
            order.status = S.SHIPPED.value
            order.shipped_at = now
            order.updated_at = now
        if s.shop_id not in hooks:
            hooks[s.shop_id] = await WebhookRepository(uow.session).endpoints(s.shop_id, active_only=True)
        if hooks[s.shop_id]:
            await _emit(
                uow,
                s.shop_id,
                "shipment.confirmed",
                {"shipment_id": s.id, "order_id": order.id, "external_id": order.external_id, "carrier": s.carrier,
                 "number": s.number},
                endpoints=hooks[s.shop_id],
            )  # fmt: skip
    # One job hands the lot to tracking (a job per shipment costs more than the calls themselves).
    uow.enqueue("subscribe_tracking_many", shipment_ids=list(shipments))
    await orders.add_events(events)
    await BatchRepository(uow.session).finish_items_for_shipments(confirmed, "shipped", None)
    await uow.session.flush()
    return len(confirmed)


async def finish_failed(
    uow: UnitOfWork, shipment_id: str, code: str, message: str, *, trade_closed: bool = False
) -> None:
    srepo = ShipmentRepository(uow.session)
    shipment = await srepo.get(shipment_id, for_update=True)
    if shipment is None or shipment.status not in ("pending", "confirming"):
        return
    shipment.status, shipment.error_code, shipment.error, shipment.lease_until = "failed", code, message, None
    SHIPMENTS.labels(shipment.carrier, "failed").inc()
    if shipment.batch_id:
        BATCH_ORDERS.labels("failed").inc()
    order = await OrderRepository(uow.session).get(shipment.order_id, for_update=True)
    assert order is not None
    if order.shipment_id == shipment.id:
        event = E.CANCEL if trade_closed else E.FAIL_SHIPMENT
        if states.can(order.status, event):
            transition(OrderRepository(uow.session), order, event, f"{code}: {message}")
        flag(order, "shipment_failed", f"{code}: {message}")
        order.number, order.carrier, order.shipment_id = None, None, None
    uow.enqueue(
        "release_number",
        shop_id=shipment.shop_id,
        number=shipment.number,
        order_ref=order.external_id,
        void=bool(shipment.batch_id),
    )
    await BatchRepository(uow.session).finish_items_for_shipments([shipment.id], "failed", f"{code}: {message}")
    await _emit(
        uow,
        shipment.shop_id,
        "shipment.failed",
        {"shipment_id": shipment.id, "order_id": order.id, "external_id": order.external_id, "code": code,
         "message": message},
    )  # fmt: skip
    await uow.session.flush()


async def back_to_pending(uow: UnitOfWork, shipment_id: str, code: str, message: str) -> None:
    await ShipmentRepository(uow.session).set_fields(
        shipment_id, status="pending", lease_until=None, error_code=code, error=message
    )


async def replace_number(uow: UnitOfWork, shipment_id: str, old: str, new: str, reason: str) -> None:
    srepo = ShipmentRepository(uow.session)
    shipment = await srepo.get(shipment_id, for_update=True)
    assert shipment is not None
    shipment.history = [
        *shipment.history,
        {"number": old, "event": reason, "at": datetime.now(UTC).isoformat()},
        {"number": new, "event": "assigned", "at": datetime.now(UTC).isoformat()},
    ]
    shipment.number, shipment.number_source = new, "pool"
    shipment.reallocations += 1
    shipment.status, shipment.lease_until = "pending", None
    order = await OrderRepository(uow.session).get(shipment.order_id, for_update=True)
    assert order is not None
    if order.shipment_id == shipment.id:
        order.number = new
        OrderRepository(uow.session).add_event(
            order.id, "number_replaced", order.status, order.status, f"{old} -> {new}: {reason}"
        )
    await BatchRepository(uow.session).set_number_for_shipment(shipment_id, new)
    await uow.session.flush()


# --- tracking ---------------------------------------------------------------------------------


async def apply_tracking_updates(
    uow: UnitOfWork, shop_id: str, updates: list[TrackingUpdate]
) -> list[TrackingUpdateOutcome]:
    """A batch of one shop's updates in one transaction. Applied grouped by order, each order's own in the order
    given, so concurrent batches lock orders in one order (no deadlock); an unknown order is that update's
    ``not_found``, not the batch's."""
    endpoints = await WebhookRepository(uow.session).endpoints(shop_id, active_only=True)
    outcomes: dict[int, TrackingUpdateOutcome] = {}
    for i, update in sorted(enumerate(updates), key=lambda p: p[1].order_id):  # stable: per-order order kept
        try:
            result = await apply_tracking_update(uow, shop_id, update, endpoints=endpoints)
        except NotFound:
            outcomes[i] = TrackingUpdateOutcome(event_id=update.event_id, applied=False, error="not_found")
            continue
        outcomes[i] = TrackingUpdateOutcome(event_id=update.event_id, **result.model_dump())
    return [outcomes[i] for i in range(len(updates))]


async def apply_tracking_update(
    uow: UnitOfWork, shop_id: str, update: TrackingUpdate, *, endpoints: list[WebhookEndpoint] | None = None
) -> TrackingUpdateResult:
    repo = OrderRepository(uow.session)
    order = await repo.get(update.order_id, for_update=True)
    if order is None or order.shop_id != shop_id:
        order = await repo.by_external(shop_id, update.order_id, for_update=True)
    if order is None:
        raise NotFound(f"order {update.order_id} not found")
    tracking = TrackingRepository(uow.session)
    if not await tracking.claim(update.event_id, order.id, update.status.value):
        return TrackingUpdateResult(applied=False, duplicate=True, order_status=order.status)
    data = {
        "order_id": order.id,
        "external_id": order.external_id,
        "carrier": update.carrier.value,
        "number": update.number,
        "status": update.status.value,
        "occurred_at": update.occurred_at.isoformat(),
        "description": update.description,
    }
    if update.kind in ("alert_opened", "alert_resolved") and update.alert is not None:
        alert = update.alert.model_dump(mode="json")
        await _emit(uow, shop_id, f"tracking.{update.kind}", {**data, "alert": alert}, endpoints=endpoints)
        return TrackingUpdateResult(applied=True, order_status=order.status)
    event = states.TRACKING_EVENTS.get(update.status)
    applied = False
    if event is not None and states.can(order.status, event):
        transition(repo, order, event, f"tracking: {update.status.value} {update.description}"[:500])
        applied = True
        await tracking.set_applied(update.event_id, True)
        await _emit(
            uow, shop_id, "tracking.status_changed", {**data, "order_status": order.status}, endpoints=endpoints
        )
    await uow.session.flush()
    return TrackingUpdateResult(applied=applied, order_status=order.status)


# --- outgoing events --------------------------------------------------------------------------


async def _emit(
    uow: UnitOfWork,
    shop_id: str,
    event_type: str,
    data: dict[str, Any],
    *,
    endpoints: list[WebhookEndpoint] | None = None,
) -> None:
    """One event, one delivery per endpoint that wants it, each sent by a job after the commit."""
    if endpoints is None:
        endpoints = await WebhookRepository(uow.session).endpoints(shop_id, active_only=True)
    wanted = [e for e in endpoints if not e.events or event_type in e.events]
    if not wanted:
        return
    event = new_event(event_type, shop_id, data)
    rows = []
    for endpoint in wanted:
        delivery_id = uuid.uuid4()
        rows.append(
            {
                "id": delivery_id,
                "event_id": event.id,
                "endpoint_id": endpoint.id,
                "shop_id": shop_id,
                "event_type": event_type,
                "payload": event.model_dump(mode="json"),
                "status": "pending",
            }
        )
        uow.enqueue("deliver_webhook", delivery_id=str(delivery_id))
    await WebhookRepository(uow.session).add_deliveries(rows)


emit = _emit


def unauthorized(message: str) -> Unauthorized:
    return Unauthorized(message)
