"""Orders: created over REST or from the marketplace, read by their shop, and moved from state to state.

``transition`` and ``transition_many`` are the only writers of ``Order.status``: the state machine
(``services.shipping.states``) answers the new state and its audit row, and they set the one and write the
other.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from runtime.db import UnitOfWork
from runtime.errors import Conflict, NotFound
from runtime.pagination import PageRequest
from services.shipping import ship_by, states
from services.shipping.channels.base import ChannelName
from services.shipping.models import Order, OrderEvent
from services.shipping.repository.orders import OrderRepository
from services.shipping.schemas.orders import OrderCreate, OrderFilter, OrderOut, Receiver
from services.shipping.service.ids import new_id
from services.shipping.settings import get_settings
from services.shipping.states import Change, EventRow, OrderStatus
from shared.pages import Page


def order_out(o: Order) -> OrderOut:
    return OrderOut(
        id=o.id,
        external_id=o.external_id,
        source=o.source,
        channel=o.channel,
        store_id=o.store_id,
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


def _apply(order: Order, change: states.Transition, at: datetime) -> EventRow:
    order.status = change.status.value
    order.updated_at = at
    if change.status is OrderStatus.SHIPPED:
        order.shipped_at = at
    return change.row


def transition(repo: OrderRepository, order: Order, event: states.OrderEvent, note: str | None = None) -> None:
    """Move one order on ``event`` (or InvalidTransition), and record it."""
    repo.add_event(_apply(order, states.transition(order, event, note), datetime.now(UTC)))


async def transition_many(
    repo: OrderRepository, event: states.OrderEvent, changes: Sequence[Change[Order]], *, at: datetime | None = None
) -> None:
    """Move many orders on one ``event``, each with its note, recorded in one statement; every order is
    checked before any is changed."""
    answers = states.transition_many(event, changes)
    when = at or datetime.now(UTC)
    await repo.add_events([_apply(c.order, answer, when) for c, answer in zip(changes, answers, strict=True)])


def flag(order: Order, kind: str, message: str) -> None:
    order.flags = [*order.flags, {"kind": kind, "message": message, "at": datetime.now(UTC).isoformat()}]


async def insert_paid(uow: UnitOfWork, values: dict[str, Any], note: str) -> bool:
    """A new order (shop, external id, source, receiver...) in the machine's first state, with its first audit
    row; False when the shop has an order of that external id already."""
    repo = OrderRepository(uow.session)
    order_id = new_id("ord")
    if values.get("ship_by") is None:
        values = {**values, "ship_by": ship_by.ship_by(values["channel"], None, datetime.now(UTC), get_settings())}
    if not await repo.insert_if_absent({**values, "id": order_id, "status": states.INITIAL.value}):
        return False
    repo.add_event(states.created(order_id, note))
    return True


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


async def own_order(uow: UnitOfWork, shop_id: str, order_id: str, *, for_update: bool = False) -> Order:
    order = await OrderRepository(uow.session).get_owned(shop_id, order_id, for_update=for_update)
    if order is None:
        raise NotFound(f"order {order_id} not found")
    return order


async def get_order(uow: UnitOfWork, shop_id: str, order_id: str) -> OrderOut:
    return order_out(await own_order(uow, shop_id, order_id))


async def list_orders(
    uow: UnitOfWork, shop_id: str, filters: OrderFilter, page: PageRequest, offset: int = 0
) -> Page[OrderOut]:
    return (await OrderRepository(uow.session).search(shop_id, filters, page, offset)).page(order_out)


async def order_events(uow: UnitOfWork, shop_id: str, order_id: str) -> list[OrderEvent]:
    await own_order(uow, shop_id, order_id)
    return await OrderRepository(uow.session).events(order_id)
