"""Orders taken in: created over REST or from a channel's message, each with its ship-by time and its
receiver checked (a bad address holds the order: ``order_holds``), and a receiver corrected over REST."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from runtime.db import UnitOfWork
from runtime.errors import Conflict
from services.shipping import addresses, ship_by, states
from services.shipping.channels.base import ChannelName
from services.shipping.repository.orders import OrderRepository
from services.shipping.schemas.orders import OrderCreate, OrderOut, Receiver
from services.shipping.service import address_changes, order_holds
from services.shipping.service.ids import new_id
from services.shipping.service.orders import order_out, own_order
from services.shipping.settings import get_settings
from services.shipping.states import OrderNote


async def insert_paid(uow: UnitOfWork, values: dict[str, Any], note: str) -> bool:
    """A new order (shop, external id, channel, receiver, and ``ship_by`` when its channel gave one) in the
    machine's first state, with its first audit row, held when its receiver fails the checks; False when the
    shop has an order of that external id already. ``paid_at``, the channel's payment time when it gave one
    (else now), is what a default ship-by counts from."""
    repo = OrderRepository(uow.session)
    order_id = new_id("ord")
    row = _with_deadline(values)
    if not await repo.insert_if_absent({**row, "id": order_id, "status": states.INITIAL}):
        return False
    repo.add_event(states.created(order_id, note))
    await _hold_if_unshippable(uow, repo, order_id, row)
    return True


def _with_deadline(values: dict[str, Any]) -> dict[str, Any]:
    """The order's row with its ship-by time, counted from ``paid_at`` (taken out of the row; now when absent)."""
    row = dict(values)
    paid_at = row.pop("paid_at", None) or datetime.now(UTC)
    row["ship_by"] = ship_by.ship_by(row["channel"], row.get("ship_by"), paid_at, get_settings())
    return row


async def _hold_if_unshippable(uow: UnitOfWork, repo: OrderRepository, order_id: str, row: dict[str, Any]) -> None:
    found = addresses.check_receiver(
        row["receiver_state"], row["receiver_city"], row.get("receiver_district", ""), row["receiver_phone"]
    )
    if not found.ok:
        # Only a held order is read back: the common case costs the insert alone.
        order = await repo.get(order_id)
        assert order is not None
        await order_holds.hold(uow, order, found)


async def insert_paid_many(uow: UnitOfWork, rows: Sequence[tuple[dict[str, Any], str]]) -> set[str]:
    """``insert_paid`` for several orders ``(values, note)`` of one shop at once: one multi-row INSERT of the
    orders and one of their first audit rows, holds as there; the external ids inserted (the others the shop
    had already)."""
    if not rows:
        return set()
    repo = OrderRepository(uow.session)
    by_id: dict[str, tuple[dict[str, Any], str]] = {}
    inserts: list[dict[str, Any]] = []
    for values, note in rows:
        order_id = new_id("ord")
        row = _with_deadline(values)
        inserts.append({**row, "id": order_id, "status": states.INITIAL})
        by_id[order_id] = (row, note)
    # In (shop, external id) order: concurrent groups of overlapping orders wait, never deadlock.
    inserts.sort(key=lambda r: (r["shop_id"], r["external_id"]))
    inserted = await repo.insert_many_if_absent(inserts)
    await repo.add_events([states.created(order_id, by_id[order_id][1]) for order_id in sorted(inserted)])
    for order_id in sorted(inserted):
        await _hold_if_unshippable(uow, repo, order_id, by_id[order_id][0])
    return {by_id[order_id][0]["external_id"] for order_id in inserted}


async def create_order(uow: UnitOfWork, shop_id: str, body: OrderCreate) -> tuple[OrderOut, bool]:
    r = body.receiver
    created = await insert_paid(
        uow,
        {
            "shop_id": shop_id,
            "external_id": body.external_id,
            "source": "api",
            "channel": ChannelName.OWN.value,
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
            "ship_by": body.ship_by,
        },
        "created over REST",
    )
    order = await OrderRepository(uow.session).by_external(shop_id, body.external_id)
    assert order is not None
    if not created and order.channel != ChannelName.OWN:
        # The idempotent answer is for a repeat of the same request: a marketplace order is never the shop's own.
        raise Conflict(
            f"external id {body.external_id} is a {order.channel} order of this shop",
            details={"order_id": order.id, "channel": order.channel},
        )
    return order_out(order), created


async def update_receiver(uow: UnitOfWork, shop_id: str, order_id: str, body: Receiver) -> OrderOut:
    """The seller corrects the receiver; checked again (a hold is released when it passes now). Printed but not
    collected yet (before or after confirmation): the numbers stay, the couriers are told and the labels marked
    outdated (``address_changes``); collected: AlreadyCollected, recorded by ``refuse_collected``."""
    order = await own_order(uow, shop_id, order_id, for_update=True)
    values = {
        "receiver_name": body.name,
        "receiver_phone": body.phone,
        "receiver_state": body.state,
        "receiver_city": body.city,
        "receiver_district": body.district,
        "receiver_address": body.address,
        "receiver_zip": body.zip,
    }
    if all(getattr(order, k) == v for k, v in values.items()):
        return order_out(order)
    live = await address_changes.changeable(uow, order)
    for k, v in values.items():
        setattr(order, k, v)
    order.updated_at = datetime.now(UTC)
    OrderRepository(uow.session).add_event(states.noted(order, OrderNote.ADDRESS_CHANGED, "updated over REST"))
    address_changes.tell_couriers(uow, order, live, "updated over REST")
    await order_holds.recheck(uow, order, "receiver updated over REST")
    await uow.session.flush()
    return order_out(order)


async def refuse_collected(uow: UnitOfWork, shop_id: str, order_id: str) -> None:
    """A receiver change refused after collection, recorded (flag and alert) in ``uow``, which commits."""
    order = await own_order(uow, shop_id, order_id, for_update=True)
    await address_changes.refused_collected(uow, order, "updated over REST")
