"""Orders: read by their shop, and moved from state to state (created by ``order_intake``).

``transition`` and ``transition_many`` are the only writers of ``Order.status``: the state machine
(``services.shipping.states``) answers the new state and its audit row, and they set the one and write the
other.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from runtime.db import UnitOfWork
from runtime.errors import NotFound
from runtime.pagination import PageRequest
from services.shipping import states
from services.shipping.models import Order, OrderEvent
from services.shipping.repository.orders import OrderRepository
from services.shipping.schemas.orders import OrderFilter, OrderOut, Receiver
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
        ship_by=o.ship_by,
        held=o.held,
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
