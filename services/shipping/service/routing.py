"""Each parcel's routing at its courier: the sort code (三段码 / 大头笔) its label prints largest and the
consolidation centre (集包地), asked of allocation (``POST /v1/waybills/routes``) for the parcel's number and
its order's destination.

Asked in the ship path itself, once the numbers are allocated: one call for all of a shipment's parcels, one per
chunk of a batch, so the ship answer and the label printed right after carry it. It never holds a shipment up:
when allocation or the courier cannot answer (within SHIP_PATH_TIMEOUT_S) the parcels are written without it and
the ``route_parcels`` job, queued in the same transaction, asks again with backoff; a label printed meanwhile has
the placeholder, the next print the code. An address change clears the parcels' routing (a stale sort code sends
a parcel to the wrong city; none is only a placeholder) and the courier's answer to the new receiver brings the
new one.

What is written is what the courier said for the destination the order has now: an answer for an address that
changed meanwhile is dropped, and the job asks again for the new one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from runtime.apis.allocation import AllocationApi
from runtime.db import UnitOfWork
from runtime.logging import get_logger
from runtime.service_client import ServiceError
from services.shipping.models import Order
from services.shipping.repository.orders import OrderRepository
from services.shipping.repository.parcels import ParcelRepository
from shared.allocation import Recipient
from shared.routing import MAX_ROUTES, WaybillDestination

log = get_logger(__name__)

# The ship path waits this long at most for the courier's routing; later it is the job's.
SHIP_PATH_TIMEOUT_S = 3.0
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]+")

# (province, city, district, street address) as the order holds it: what the routing was asked for.
Place = tuple[str, str, str, str]


def place(order: Order) -> Place:
    return (order.receiver_state, order.receiver_city, order.receiver_district or "", order.receiver_address)


def recipient_place(recipient: Recipient) -> Place:
    return (recipient.province, recipient.city, recipient.district, recipient.address)


def _text(value: str, limit: int) -> str:
    # Marketplace addresses can hold line breaks; allocation takes no control characters, and the street is
    # only a hint to the courier, so a long one is cut rather than refused.
    return _CONTROLS.sub(" ", value).strip()[:limit]


def destination(number: str, where: Place) -> WaybillDestination | None:
    """The request item for ``number``; None when the order has no province or city to route to."""
    province, city, district, address = (_text(where[0], 50), _text(where[1], 50), _text(where[2], 50), where[3])
    if not province or not city:
        return None
    return WaybillDestination.model_construct(
        number=number, province=province, city=city, district=district, address=_text(address, 300)
    )


@dataclass
class Routed:
    """Allocation's answers by number (sort code, package centre), and whether asking again later may help."""

    values: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    again: bool = False

    def of(self, number: str) -> dict[str, str | None]:
        sort_code, centre = self.values.get(number, (None, None))
        return {"sort_code": sort_code, "package_center": centre}


async def ask(
    allocation: AllocationApi, shop_id: str, wanted: Iterable[tuple[str, Place]], *, timeout_s: float | None = None
) -> Routed:
    """One allocation call per MAX_ROUTES numbers. Refused numbers (not routable, the courier's refusal) just
    have no values; allocation or the courier not answering leaves the rest unasked, with ``again`` set."""
    items = [d for number, where in wanted if (d := destination(number, where)) is not None]
    got = Routed()
    for start in range(0, len(items), MAX_ROUTES):
        part = items[start : start + MAX_ROUTES]
        try:
            answer = await allocation.routes(shop_id, part, timeout_s=timeout_s)
        except ServiceError as exc:
            log.warning("routing_unanswered", shop_id=shop_id, numbers=len(part), error=str(exc))
            got.again = got.again or exc.transient
            continue
        for route in answer.routes:
            if route.sort_code is not None or route.package_center is not None:
                got.values[route.number] = (route.sort_code, route.package_center)
    return got


async def on_ship(allocation: AllocationApi, shop_id: str, order: Order, numbers: Sequence[str]) -> Routed:
    """The routing of a shipment's new numbers, within the ship path's time budget."""
    where = place(order)
    return await ask(allocation, shop_id, [(n, where) for n in numbers], timeout_s=SHIP_PATH_TIMEOUT_S)


async def to_route(uow: UnitOfWork, shop_id: str, shipment_ids: Sequence[str]) -> list[tuple[str, Place]]:
    """The live parcels of these shipments with their orders' destinations now."""
    boxes = await ParcelRepository(uow.session).live_of_shipments(shop_id, shipment_ids)
    orders = await OrderRepository(uow.session).by_ids({p.order_id for p in boxes})
    return [(p.number, place(orders[p.order_id])) for p in boxes if p.order_id in orders]


async def store(uow: UnitOfWork, shop_id: str, sent: dict[str, Place], routed: Routed) -> int:
    """Write each answered number's routing on its live parcel, if its order's destination is still the one
    asked for; a parcel whose address moved meanwhile is asked again (the courier bound the old one)."""
    numbers = [n for n in sent if n in routed.values]
    if not numbers:
        return 0
    repo = ParcelRepository(uow.session)
    found = await repo.live_by_numbers(shop_id, numbers)
    # The orders first, as every writer of a receiver locks them: none changes while this compares.
    orders = await OrderRepository(uow.session).lock_many(sorted({p.order_id for p in found}), shop_id=shop_id)
    written = 0
    moved: set[str] = set()
    for parcel in await repo.live_by_numbers(shop_id, numbers, for_update=True):
        order = orders.get(parcel.order_id)
        if order is None:
            continue
        if place(order) != sent[parcel.number]:
            moved.add(parcel.shipment_id)
            continue
        parcel.sort_code, parcel.package_center = routed.values[parcel.number]
        written += 1
    if moved:
        uow.enqueue("route_parcels", shop_id=shop_id, shipment_ids=sorted(moved))
    return written
