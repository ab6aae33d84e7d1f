"""Order messages a channel pushes to us (over HTTP, or Taobao's TMC): verified by the channel, deduplicated
per channel, routed to the shop whose store the seller is, and acted on only once the order, read back from
the channel, bears them out (a message is a hint, never the truth)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from runtime.db import UnitOfWork
from runtime.errors import AppError
from runtime.logging import get_logger
from services.shipping import states
from services.shipping.channels.base import (
    BadMessage,
    Channel,
    ChannelError,
    ChannelMessage,
    ChannelOrder,
    MessageKind,
    MessageRefused,
    OrderState,
)
from services.shipping.channels.registry import Channels
from services.shipping.models import Order, Store
from services.shipping.repository.messages import MessageRepository
from services.shipping.repository.orders import OrderRepository
from services.shipping.repository.stores import StoreRepository
from services.shipping.service import address_changes, order_alerts, order_holds
from services.shipping.service.cancellation import cancel_unshipped
from services.shipping.service.errors import channel_unavailable
from services.shipping.service.events import emit
from services.shipping.service.order_intake import insert_paid, insert_paid_many
from services.shipping.service.orders import flag
from services.shipping.service.stores import access
from services.shipping.states import OrderEvent, OrderNote, OrderStatus
from shared.errors import ErrorCode

log = get_logger(__name__)


class SignatureRefused(AppError):
    status_code = 401
    code = ErrorCode.BAD_SIGNATURE


def read(channel: Channel, headers: Mapping[str, str], body: bytes) -> ChannelMessage:
    """The pushed message, verified by its channel; 401 or 400 before anything is stored when it is not one."""
    try:
        return channel.read_message(headers, body)
    except MessageRefused as exc:
        raise SignatureRefused(str(exc)) from exc
    except BadMessage as exc:
        raise AppError(f"malformed message: {exc}", status_code=400) from exc


async def receive(uow: UnitOfWork, channels: Channels, message: ChannelMessage) -> dict[str, str]:
    """Deduplicate and apply one verified message; answers once what it says is stored."""
    messages = MessageRepository(uow.session)
    channel = message.channel.value
    if not await messages.claim(channel, message.id, message.topic, message.seller_id, message.content):
        return {"status": "duplicate", "message_id": message.id}
    store = await StoreRepository(uow.session).by_seller(channel, message.seller_id)
    tid = message.external_id
    if store is None or not store.active or tid is None:
        outcome = "unknown_seller" if store is None or not store.active else "no_tid"
        await messages.finish(channel, message.id, store.shop_id if store else None, tid, outcome)
        log.warning("marketplace_message_unrouted", channel=channel, message_id=message.id, seller=message.seller_id)
        return {"status": outcome, "message_id": message.id}
    outcome = await _apply(uow, _OrderReader(channels.marketplace(channel), store, tid), message)
    await messages.finish(channel, message.id, store.shop_id, tid, outcome)
    return {"status": outcome, "message_id": message.id}


class _OrderReader:
    def __init__(self, channel: Channel, store: Store, external_id: str) -> None:
        self.channel, self.store, self.external_id = channel, store, external_id

    async def __call__(self) -> ChannelOrder | None:
        """The order as the channel has it, or None when the channel says it does not exist; transient trouble
        raises 503 so the channel delivers the message again."""
        store = access(self.store)
        if store is None:
            raise AppError("the store has no marketplace authorisation", code=ErrorCode.UNAVAILABLE, status_code=503)
        try:
            return await self.channel.fetch_order(store, self.external_id)
        except ChannelError as exc:
            raise channel_unavailable(f"fetching order {self.external_id}", exc) from exc


async def _apply(uow: UnitOfWork, read: _OrderReader, message: ChannelMessage) -> str:
    store = read.store
    order = await OrderRepository(uow.session).by_external(store.shop_id, read.external_id, for_update=True)
    if order is not None and (order.channel != store.channel or order.store_id != store.id):
        # The shop's own order (or another store's) has this id: a message of this store never touches it.
        log.warning("marketplace_message_id_taken", message_id=message.id, order_id=order.id, channel=store.channel)
        return "external_id_taken"
    if message.kind is MessageKind.PAID:
        return await _on_paid(uow, read, order, message.id)
    if message.kind is MessageKind.ADDRESS_CHANGED:
        return await _on_address_changed(uow, read, order, message)
    if message.kind is MessageKind.CLOSED:
        return await _on_closed(uow, read, order, message)
    return "ignored"


async def _on_paid(uow: UnitOfWork, read: _OrderReader, order: Order | None, message_id: str) -> str:
    if order is not None:
        return "order_exists"
    found = await read()
    if found is None:
        return "trade_not_found"
    return await _create(uow, read, found, message_id)


async def _on_address_changed(uow: UnitOfWork, read: _OrderReader, order: Order | None, message: ChannelMessage) -> str:
    # The message is only a hint: what changes is what the order, read back, says.
    found = await read()
    if order is None:
        if found is None or not read.channel.may_ship(found):
            return "ignored"
        return await _create(uow, read, found, message.id)
    if found is None:
        return _not_confirmed(order, message, "trade_not_found")
    receiver = {k: v for k, v in _order_values(found).items() if k.startswith("receiver_")}
    if all(getattr(order, k) == v for k, v in receiver.items()):
        return _not_confirmed(order, message, "address_unchanged")
    source = f"{message.channel.value} message {message.id}"
    try:
        live = await address_changes.changeable(uow, order)
    except (address_changes.AlreadyCollected, states.InvalidTransition):
        # Collected (or on its way, or cancelled): the change cannot reach the parcel; the seller is told.
        await address_changes.refused_collected(uow, order, source)
        await emit(
            uow, order.shop_id, "order.flagged", {"order_id": order.id, "reason": "address_changed_after_collection"}
        )
        return "refused_shipped"
    for k, v in receiver.items():
        setattr(order, k, v)
    order.updated_at = datetime.now(UTC)
    OrderRepository(uow.session).add_event(states.noted(order, OrderNote.ADDRESS_CHANGED, f"message {message.id}"))
    address_changes.tell_couriers(uow, order, live, source)
    await order_holds.recheck(uow, order, f"{message.channel.value} message {message.id}")
    return "address_updated"


async def _on_closed(uow: UnitOfWork, read: _OrderReader, order: Order | None, message: ChannelMessage) -> str:
    if order is None:
        return "ignored"
    if OrderStatus(order.status) == OrderStatus.CANCELLED:
        return "already_cancelled"
    # A forged or stale close (the order still open) must not cancel anything: the order read back decides.
    found = await read()
    if found is None:
        return _not_confirmed(order, message, "trade_not_found")
    if found.state is not OrderState.CLOSED:
        return _not_confirmed(order, message, "close_not_confirmed", trade_status=found.status)
    if OrderStatus(order.status) not in states.UNSHIPPED:
        flag(order, "close_refused", f"trade closed on the marketplace after shipping ({message.id})")
        await emit(uow, order.shop_id, "order.flagged", {"order_id": order.id, "reason": "closed_after_shipping"})
        return "refused_shipped"
    try:
        await cancel_unshipped(uow, order, OrderEvent.CANCEL, "trade closed on the marketplace")
    except states.InvalidTransition:
        # Confirmation in flight: the marketplace will refuse it and the shipment fails then.
        flag(order, "closed_during_confirmation", "trade closed while the shipment was being confirmed")
        return "close_pending_confirmation"
    await emit(uow, order.shop_id, "order.cancelled", {"order_id": order.id, "reason": "trade_closed"})
    # Nothing is left to ship: its ship-by and address alerts no longer hold (the sweep would find them too).
    await order_alerts.resolve_alerts(uow, order.id, order_alerts.SETTLED_BY_SHIPPING)
    return "cancelled"


def _not_confirmed(order: Order, message: ChannelMessage, outcome: str, **details: str) -> str:
    """A message the order read back does not bear out: nothing changes, and it is logged."""
    log.warning(
        "marketplace_message_not_confirmed",
        channel=message.channel.value,
        message_id=message.id,
        topic=message.topic,
        order_id=order.id,
        outcome=outcome,
        **details,
    )
    return outcome


def _order_values(found: ChannelOrder) -> dict[str, Any]:
    return {
        "buyer_nick": found.buyer_nick or None,
        "receiver_name": found.receiver_name,
        "receiver_phone": found.receiver_phone,
        "receiver_state": found.receiver_state,
        "receiver_city": found.receiver_city,
        "receiver_district": found.receiver_district,
        "receiver_address": found.receiver_address,
        "receiver_zip": found.receiver_zip,
        "weight_g": max(found.weight_g, 1),
        "payment_cents": found.payment_cents,
        "items": found.items,
        "ship_by": found.ship_by,
        "paid_at": found.paid_at,
    }


def _refused(channel: Channel, found: ChannelOrder) -> str | None:
    """Why an order read back is not taken in, or None when it is."""
    if not channel.may_ship(found):
        return f"trade_{found.status.lower()}"
    if not found.has_address:
        return "no_address"
    return None


def _new_order(store: Store, found: ChannelOrder) -> dict[str, Any]:
    return {
        "shop_id": store.shop_id,
        "external_id": found.external_id,
        "source": "marketplace",
        "channel": store.channel,
        "store_id": store.id,
    } | _order_values(found)


async def _create(uow: UnitOfWork, read: _OrderReader, found: ChannelOrder, message_id: str) -> str:
    refused = _refused(read.channel, found)
    if refused is not None:
        return refused
    store = read.store
    if not await insert_paid(uow, _new_order(store, found), f"{store.channel} message {message_id}"):
        return "order_exists"
    return "order_created"


# -- paid messages in groups -----------------------------------------------------------------------


async def receive_paid(uow: UnitOfWork, channels: Channels, group: Sequence[ChannelMessage]) -> list[dict[str, str]]:
    """``receive`` for paid messages of one channel arriving together, each answer in the order given: claimed
    in one INSERT, their orders read back in the channel's list calls (one per 100; ``fetch_order`` for each one
    the list leaves out), the new orders and their audit rows inserted in one statement each, the messages
    finished by outcome. All in ``uow``: the group is stored whole or not at all."""
    if not group:
        return []
    channel = group[0].channel.value
    assert all(m.channel.value == channel and m.kind is MessageKind.PAID for m in group)
    messages = MessageRepository(uow.session)
    firsts: dict[str, ChannelMessage] = {}
    for m in group:
        firsts.setdefault(m.id, m)
    # In id order: two groups (two processes) claiming overlapping ids wait for one another, never deadlock.
    claims = [(m.id, m.topic, m.seller_id, m.content) for m in sorted(firsts.values(), key=lambda m: m.id)]
    claimed = await messages.claim_many(channel, claims)
    by_seller: dict[str, list[ChannelMessage]] = {}
    for m in firsts.values():
        if m.id in claimed:
            by_seller.setdefault(m.seller_id, []).append(m)
    done: dict[str, tuple[str | None, str | None, str]] = {}  # message id: shop, tid, outcome
    stores = StoreRepository(uow.session)
    for seller, ms in by_seller.items():
        store = await stores.by_seller(channel, seller)
        for m in ms:
            if store is None or not store.active or m.external_id is None:
                outcome = "unknown_seller" if store is None or not store.active else "no_tid"
                done[m.id] = (store.shop_id if store else None, m.external_id, outcome)
                log.warning("marketplace_message_unrouted", channel=channel, message_id=m.id, seller=seller)
        if store is not None and store.active:
            routed = [m for m in ms if m.external_id is not None]
            outcomes = await _paid_of_store(uow, channels.marketplace(channel), store, routed)
            done.update({m.id: (store.shop_id, m.external_id, outcomes[m.id]) for m in routed})
    await messages.finish_many(channel, [(i, *d) for i, d in done.items()])
    answers: list[dict[str, str]] = []
    answered: set[str] = set()
    for m in group:
        first = m.id not in answered and m.id in done
        answered.add(m.id)
        answers.append({"status": done[m.id][2] if first else "duplicate", "message_id": m.id})
    return answers


async def _paid_of_store(
    uow: UnitOfWork, channel: Channel, store: Store, group: Sequence[ChannelMessage]
) -> dict[str, str]:
    """The outcome of each of a store's paid messages (by message id); their new orders inserted."""
    outcomes: dict[str, str] = {}
    existing = await OrderRepository(uow.session).owners_by_external(
        store.shop_id, {m.external_id or "" for m in group}
    )
    to_read: dict[str, ChannelMessage] = {}
    for m in group:
        tid = m.external_id or ""
        owner = existing.get(tid)
        if owner is not None:
            if owner[1] != store.channel or owner[2] != store.id:
                log.warning("marketplace_message_id_taken", message_id=m.id, order_id=owner[0], channel=store.channel)
                outcomes[m.id] = "external_id_taken"
            else:
                outcomes[m.id] = "order_exists"
        elif tid in to_read:
            outcomes[m.id] = "order_exists"  # the group's earlier message of the same trade takes it in
        else:
            to_read[tid] = m
    if not to_read:
        return outcomes
    found = await _read_all(channel, store, to_read)
    rows: list[tuple[dict[str, Any], str]] = []
    for tid, m in to_read.items():
        order = found.get(tid)
        refused = "trade_not_found" if order is None else _refused(channel, order)
        if refused is not None or order is None:
            outcomes[m.id] = refused or "trade_not_found"
        else:
            rows.append((_new_order(store, order), f"{store.channel} message {m.id}"))
    created = await insert_paid_many(uow, rows)
    for tid, m in to_read.items():
        outcomes.setdefault(m.id, "order_created" if tid in created else "order_exists")
    return outcomes


async def _read_all(
    channel: Channel, store: Store, messages: Mapping[str, ChannelMessage]
) -> dict[str, ChannelOrder | None]:
    """Each trade as the channel has it (None: it says there is none): the list call first, then one read per
    trade it did not list. 503 when the store cannot be read for or the channel cannot answer."""
    reader = _OrderReader(channel, store, "")
    granted = access(store)
    if granted is None:
        await reader()  # raises the 503 a single message gets
    assert granted is not None
    try:
        listed = await channel.fetch_orders(granted, {tid: m.published for tid, m in messages.items()})
    except ChannelError as exc:
        raise channel_unavailable(f"listing {len(messages)} orders", exc) from exc
    found: dict[str, ChannelOrder | None] = dict(listed)
    for tid in messages:
        if tid not in found:
            found[tid] = await _OrderReader(channel, store, tid)()
    return found
