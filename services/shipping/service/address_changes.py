"""A receiver's address changing after the label was printed (改址): before the courier collects a parcel the
numbers stay, each parcel's courier waybill is told the new receiver (the ``update_recipient`` job, retried
while the courier cannot answer), and the printed labels are marked outdated (the next print carries the new
address). The parcels' routing is cleared at once (the old destination's sort code must not be printed for the
new one) and the courier's answer to the new receiver brings the new sort code. Once the courier has collected
a parcel the change is refused (409 ``already_collected``) and an ``address_change_after_collection`` alert
opens: the seller must reach the courier or the buyer.
"""

from __future__ import annotations

from runtime.db import UnitOfWork
from runtime.errors import Conflict
from services.shipping import states
from services.shipping.models import AlertKind, Order, Parcel
from services.shipping.repository.orders import OrderRepository
from services.shipping.repository.parcels import ParcelRepository
from services.shipping.service import routing
from services.shipping.service.order_alerts import open_alert
from services.shipping.service.orders import flag
from services.shipping.states import OrderStatus
from shared.allocation import Recipient, RecipientUpdated
from shared.errors import ErrorCode

# Shipped, but maybe not collected yet: the parcels say.
_CONFIRMED = frozenset({OrderStatus.SHIPPED, OrderStatus.PARTLY_SHIPPED})
COLLECTED_MESSAGE = "订单 {ref} 的包裹已揽收，收件地址不能再改：请联系快递员或买家处理"


class AlreadyCollected(Conflict):
    code = ErrorCode.ALREADY_COLLECTED


async def changeable(uow: UnitOfWork, order: Order) -> list[Parcel]:
    """The order's live parcels when its receiver may change now; AlreadyCollected when a courier has one (or
    the order is on its way), InvalidTransition when it is cancelled."""
    status = OrderStatus(order.status)
    if status is OrderStatus.CANCELLED:
        raise states.InvalidTransition(
            f"order {order.id} is cancelled; its receiver can no longer change",
            details={"order_id": order.id, "status": order.status},
        )
    live = await ParcelRepository(uow.session).live_of_order(order.id, for_update=True)
    collected = [p.number for p in live if p.collected_at is not None]
    if collected or (status not in states.UNSHIPPED and status not in _CONFIRMED):
        raise AlreadyCollected(
            f"order {order.id}: the courier has collected its parcels; its receiver can no longer change",
            details={"order_id": order.id, "status": order.status, "collected": collected},
        )
    return live


async def refused_collected(uow: UnitOfWork, order: Order, source: str) -> None:
    """Record a refused change (flag and alert), in a transaction that commits."""
    flag(order, "address_change_refused", f"address changed after collection ({source})")
    await open_alert(
        uow, order, AlertKind.ADDRESS_CHANGE_AFTER_COLLECTION, COLLECTED_MESSAGE.format(ref=order.external_id)
    )


def tell_couriers(uow: UnitOfWork, order: Order, live: list[Parcel], source: str) -> None:
    """After the receiver changed: every live parcel's courier told, the printed labels outdated."""
    if not live:
        return
    numbers = ", ".join(p.number for p in live)
    flag(order, "label_outdated", f"the address changed ({source}): reprint the labels of {numbers}")
    OrderRepository(uow.session).add_event(
        states.noted(order, states.OrderNote.ADDRESS_CHANGED, f"couriers told for {numbers} ({source})")
    )
    for parcel in live:
        parcel.sort_code, parcel.package_center = None, None
        uow.enqueue("update_recipient", shop_id=order.shop_id, order_id=order.id, number=parcel.number)


def recipient(order: Order) -> Recipient:
    return Recipient(
        name=order.receiver_name,
        phone=order.receiver_phone,
        province=order.receiver_state,
        city=order.receiver_city,
        district=order.receiver_district,
        address=order.receiver_address,
    )


async def current_recipient(uow: UnitOfWork, shop_id: str, order_id: str, number: str) -> Recipient | None:
    """The receiver the courier should have for ``number`` now (the order's latest, however many changes were
    queued); None when no live parcel of the order holds the number any more."""
    order = await OrderRepository(uow.session).get_owned(shop_id, order_id)
    if order is None:
        return None
    parcel = await ParcelRepository(uow.session).live_by_number(shop_id, number)
    if parcel is None or parcel.order_id != order.id:
        return None
    return recipient(order)


async def rerouted(uow: UnitOfWork, shop_id: str, number: str, sent: Recipient, updated: RecipientUpdated) -> None:
    """The courier took the new receiver: its routing for the new destination on the parcel (if the order still
    goes there); a courier whose answer carried none is asked for it."""
    if updated.sort_code is not None or updated.package_center is not None:
        got = routing.Routed(values={number: (updated.sort_code, updated.package_center)})
        await routing.store(uow, shop_id, {number: routing.recipient_place(sent)}, got)
        return
    parcel = await ParcelRepository(uow.session).live_by_number(shop_id, number)
    if parcel is not None:
        uow.enqueue("route_parcels", shop_id=shop_id, shipment_ids=[parcel.shipment_id])


async def courier_refused(uow: UnitOfWork, shop_id: str, order_id: str, number: str, code: str, message: str) -> None:
    """The courier would not take the new receiver: collected meanwhile (the alert), or another refusal (a flag
    for the seller, with the courier's words)."""
    order = await OrderRepository(uow.session).get_owned(shop_id, order_id, for_update=True)
    if order is None:
        return
    if code == ErrorCode.ALREADY_COLLECTED:
        await refused_collected(uow, order, f"courier refused {number}")
    else:
        flag(order, "courier_update_refused", f"{number}: {code}: {message}")
