"""Holds: an order that may not ship until something about it is fixed (``orders.held`` says what).

The only hold so far is ``address_invalid``: the receiver's province, city, district or phone failed the intake
checks (``services.shipping.addresses``). The order is created all the same, held, flagged with exactly what is
wrong, and an ``address_invalid`` alert opens; shipping it answers 409 ``address_invalid`` (``ensure_shippable``)
and a batch skips it. A fixed address (the marketplace's address-changed message, or the REST receiver update)
is checked again, and releases the hold when it passes.
"""

from __future__ import annotations

from typing import Any

from runtime.db import UnitOfWork
from runtime.errors import AppError
from services.shipping import addresses, states
from services.shipping.addresses import AddressCheck
from services.shipping.models import AlertKind, Order, OrderHold
from services.shipping.repository.orders import OrderRepository
from services.shipping.service import order_alerts
from services.shipping.service.orders import flag
from shared.errors import ErrorCode


class AddressInvalid(AppError):
    status_code = 409
    code = ErrorCode.ADDRESS_INVALID


def check(order: Order) -> AddressCheck:
    return addresses.check_receiver(
        order.receiver_state, order.receiver_city, order.receiver_district, order.receiver_phone
    )


def _problems(order: Order) -> list[dict[str, Any]]:
    return [f for f in order.flags if f.get("kind") == OrderHold.ADDRESS_INVALID]


def held_reason(order: Order) -> str:
    """What holds the order, as its last address_invalid flag says (Chinese, for the seller)."""
    last = _problems(order)[-1:]
    return str(last[0]["message"]) if last else "收件地址未通过校验"


def ensure_shippable(order: Order) -> None:
    """Nothing when ``order`` may ship; else AddressInvalid (409 ``address_invalid``) saying what is wrong."""
    if order.held is None:
        return
    message = held_reason(order)
    raise AddressInvalid(
        f"order {order.id} is held ({order.held}): {message}; fix the receiver's address, then ship it",
        details={"order_id": order.id, "held": order.held, "reason": message},
    )


async def hold(uow: UnitOfWork, order: Order, found: AddressCheck) -> None:
    """Hold ``order``: its receiver failed the checks (``found``); flagged, recorded, and an alert opens."""
    order.held = OrderHold.ADDRESS_INVALID.value
    flag(order, OrderHold.ADDRESS_INVALID.value, found.message)
    OrderRepository(uow.session).add_event(states.noted(order, states.OrderNote.HELD, found.message))
    await uow.session.flush()
    await order_alerts.open_alert(uow, order, AlertKind.ADDRESS_INVALID, found.message)


async def recheck(uow: UnitOfWork, order: Order, why: str) -> AddressCheck:
    """After the receiver changed (``why``: which change): release the hold when the address passes now, hold
    the order when it fails now. A held order that still fails gets the new problem in a new alert."""
    found = check(order)
    held = order.held == OrderHold.ADDRESS_INVALID
    if found.ok and held:
        order.held = None
        OrderRepository(uow.session).add_event(states.noted(order, states.OrderNote.RELEASED, why))
        await order_alerts.resolve_alerts(uow, order.id, [AlertKind.ADDRESS_INVALID])
    elif not found.ok and not held:
        await hold(uow, order, found)
    elif not found.ok:
        standing = await order_alerts.unresolved_alert(uow, order.id, AlertKind.ADDRESS_INVALID)
        if standing is None or standing.message != found.message:
            await order_alerts.resolve_alerts(uow, order.id, [AlertKind.ADDRESS_INVALID])
            flag(order, OrderHold.ADDRESS_INVALID.value, found.message)
            await order_alerts.open_alert(uow, order, AlertKind.ADDRESS_INVALID, found.message)
    return found
