"""Shipping one order (a number from the pool or typed by the seller, the label at once, the marketplace
confirmation queued) and reading a shop's shipments."""

from __future__ import annotations

from datetime import UTC, datetime

from runtime.apis.allocation import AllocationApi
from runtime.db import UnitOfWork
from runtime.errors import Conflict, NotFound
from runtime.pagination import PageRequest
from runtime.service_client import ServiceError
from services.shipping import states
from services.shipping.channels.registry import Channels
from services.shipping.metrics import SHIPMENTS
from services.shipping.models import Order, Shipment, ShipmentStatus
from services.shipping.repository.orders import OrderRepository
from services.shipping.repository.settings import SettingsRepository
from services.shipping.repository.shipments import ShipmentRepository
from services.shipping.repository.stores import StoreRepository
from services.shipping.schemas.shipments import ShipmentOut
from services.shipping.service.courier_choice import recommend
from services.shipping.service.ids import new_id
from services.shipping.service.orders import own_order, transition
from services.shipping.service.stores import access
from services.shipping.states import OrderEvent
from shared.allocation import Allocation
from shared.pages import Page


async def ship_order(
    uow: UnitOfWork, allocation: AllocationApi, shop_id: str, order_id: str, carrier: str | None, number: str | None
) -> Shipment:
    order = await own_order(uow, shop_id, order_id, for_update=True)
    # Checked before any outside call: a second concurrent request waits for the lock, then stops here.
    states.next_status(order.status, OrderEvent.ASSIGN_WAYBILL, order_id=order.id)
    await check_store(uow, order)
    shop = await SettingsRepository(uow.session).get(shop_id)
    # A number kept from a refused shipment (its label printed) is used again, with its carrier.
    chosen = carrier or order.carrier or await recommend(allocation, shop_id, shop, order.receiver_state)
    drop_kept_number(uow, order, chosen, typed=number is not None)
    source = "manual" if number is not None else "pool"
    try:
        got = await _number(allocation, shop_id, chosen, order.external_id, number)
    except ServiceError as exc:
        raise exc.as_app_error() from exc
    shipment = Shipment(
        id=new_id("shp"),
        shop_id=shop_id,
        order_id=order.id,
        carrier=chosen,
        number=got.number,
        number_source=source,
        status=ShipmentStatus.PENDING,
        attempts=0,
        reallocations=0,
        history=[{"number": got.number, "event": "assigned", "at": datetime.now(UTC).isoformat()}],
        label_prints=0,
    )
    uow.session.add(shipment)
    SHIPMENTS.labels(chosen, "created").inc()
    orders = OrderRepository(uow.session)
    transition(orders, order, OrderEvent.ASSIGN_WAYBILL, f"{chosen} {got.number} ({source})")
    transition(orders, order, OrderEvent.PRINT_LABEL)
    order.carrier, order.number, order.shipment_id = chosen, got.number, shipment.id
    await uow.session.flush()
    uow.enqueue("confirm_shipment", shipment_id=shipment.id)
    return shipment


async def check_store(uow: UnitOfWork, order: Order) -> None:
    """A marketplace order ships only while its store can confirm it (bound, with its authorisation); the
    shop's own orders need no marketplace at all."""
    if Channels.is_own(order.channel):
        return
    store = await StoreRepository(uow.session).get(order.store_id) if order.store_id else None
    if access(store) is None:
        raise Conflict(
            f"the order's {order.channel} store is unbound or holds no authorisation: bind it again (POST /v1/stores)",
            details={"order_id": order.id, "store_id": order.store_id, "channel": order.channel},
        )


def drop_kept_number(uow: UnitOfWork, order: Order, carrier: str, *, typed: bool) -> None:
    """A number the order kept from a refused shipment (printed, see shipment_outcomes.finish_failed) is given
    up when the order now ships with another carrier or a typed number: voided, since its label exists."""
    if order.number is None or order.shipment_id is not None:
        return
    if carrier == order.carrier and not typed:
        return  # allocation hands the order the same number again
    uow.enqueue("release_number", shop_id=order.shop_id, number=order.number, order_ref=order.external_id, void=True)
    order.number, order.carrier = None, None


async def _number(
    allocation: AllocationApi, shop_id: str, carrier: str, order_ref: str, typed: str | None
) -> Allocation:
    """The seller's typed number registered (allocation checks it), or the next one from the shop's pool."""
    if typed is not None:
        return await allocation.register_manual(shop_id, carrier, typed, order_ref)
    return await allocation.allocate(shop_id, carrier, order_ref)


async def own_shipment(uow: UnitOfWork, shop_id: str, shipment_id: str) -> Shipment:
    shipment = await ShipmentRepository(uow.session).get_owned(shop_id, shipment_id)
    if shipment is None:
        raise NotFound(f"shipment {shipment_id} not found")
    return shipment


async def get_shipment(uow: UnitOfWork, shop_id: str, shipment_id: str) -> ShipmentOut:
    return ShipmentOut.model_validate(await own_shipment(uow, shop_id, shipment_id))


async def recent_shipments(uow: UnitOfWork, shop_id: str, order_id: str | None, page: PageRequest) -> Page[ShipmentOut]:
    return (await ShipmentRepository(uow.session).recent(shop_id, order_id, page)).page(ShipmentOut.model_validate)


async def stuck_shipments(uow: UnitOfWork, idle_s: float, limit: int = 1000) -> list[str]:
    """Unconfirmed shipments nobody has touched for ``idle_s``: their confirmation job was lost."""
    return await ShipmentRepository(uow.session).stuck(idle_s, limit)
