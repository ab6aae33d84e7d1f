"""Events other services ask shipping to send to a shop's webhook endpoints (shipping owns them): allocation's
purchase events (``shared.purchase_events``). Each is delivered as shipping's own, with the id it came with."""

from __future__ import annotations

from runtime.db import UnitOfWork
from runtime.errors import AppError
from services.shipping.service.events import active_endpoints, deliver
from shared.purchase_events import EventReceipt, PurchaseEventType, RelayedEvent

# The types another service may send shops through us: a type of its own must be added here on purpose.
RELAYED_TYPES = frozenset(t.value for t in PurchaseEventType)


async def receive_event(uow: UnitOfWork, shop_id: str, event: RelayedEvent) -> EventReceipt:
    if event.shop_id != shop_id:
        raise AppError(
            f"the event is shop {event.shop_id}'s, not the X-Shop-Id's {shop_id}",
            status_code=422,
            details={"field": "shop_id"},
        )
    if event.type not in RELAYED_TYPES:
        raise AppError(
            f"event type {event.type!r} is not one shipping relays",
            status_code=422,
            details={"field": "type", "known": sorted(RELAYED_TYPES)},
        )
    deliveries = await deliver(uow, event, await active_endpoints(uow, shop_id))
    return EventReceipt(event_id=event.id, deliveries=deliveries)
