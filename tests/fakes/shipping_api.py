"""An in-memory shipping service (``runtime.apis.shipping.ShippingApi``) for unit tests of what tells it about
parcels.

It records every update it applies, per shop, once per event id (a repeat answers ``duplicate``). It can be
told to refuse some updates for good (``refuse``: a batch answers that update's ``error``, a single call a 404),
to refuse every batch as a whole (``refuse_batches``: a body it cannot read, say a 422), or to fail the next
calls (``fail_next``: an outage, transient or not, as given).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from runtime.service_client import ServiceError
from shared.purchase_events import EventReceipt, RelayedEvent
from shared.tracking import TrackingUpdate, TrackingUpdateBatchResult, TrackingUpdateOutcome, TrackingUpdateResult


@dataclass(frozen=True)
class Call:
    endpoint: Literal["batch", "single"]
    shop_id: str
    event_ids: tuple[uuid.UUID, ...]


@dataclass(frozen=True)
class Applied:
    shop_id: str
    update: TrackingUpdate


class FakeShippingApi:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.applied: list[Applied] = []  # in the order shipping applied them
        self._refused: dict[uuid.UUID, str] = {}
        self._batch_refusal: ServiceError | None = None
        self._failures: list[ServiceError] = []
        self.events: list[RelayedEvent] = []  # events relayed to the shop's webhooks, in order

    def refuse(self, event_id: uuid.UUID, error: str = "not_found") -> None:
        """This update can never be applied (its order is unknown to the shop)."""
        self._refused[event_id] = error

    def refuse_batches(self, error: ServiceError) -> None:
        """Every batch call raises ``error`` (single updates still go through)."""
        self._batch_refusal = error

    def fail_next(self, error: ServiceError) -> None:
        """The next call raises ``error`` (queued: several calls fail in turn)."""
        self._failures.append(error)

    def event_ids(self) -> list[uuid.UUID]:
        return [a.update.event_id for a in self.applied]

    async def tracking_updates(self, shop_id: str, updates: list[TrackingUpdate]) -> TrackingUpdateBatchResult:
        self._called("batch", shop_id, updates)
        if self._batch_refusal is not None:
            raise self._batch_refusal
        return TrackingUpdateBatchResult(results=[self._apply(shop_id, u) for u in updates])

    async def tracking_update(self, shop_id: str, update: TrackingUpdate) -> TrackingUpdateResult:
        self._called("single", shop_id, [update])
        outcome = self._apply(shop_id, update)
        if outcome.error is not None:
            raise ServiceError("shipping", 404, outcome.error, f"no order {update.order_id} for this shop")
        return TrackingUpdateResult(applied=outcome.applied, duplicate=outcome.duplicate)

    async def shop_event(self, shop_id: str, event: RelayedEvent) -> EventReceipt:
        if self._failures:
            raise self._failures.pop(0)
        self.events.append(event)
        return EventReceipt(event_id=event.id, deliveries=1)

    def _called(self, endpoint: Literal["batch", "single"], shop_id: str, updates: list[TrackingUpdate]) -> None:
        self.calls.append(Call(endpoint, shop_id, tuple(u.event_id for u in updates)))
        if self._failures:
            raise self._failures.pop(0)

    def _apply(self, shop_id: str, update: TrackingUpdate) -> TrackingUpdateOutcome:
        error = self._refused.get(update.event_id)
        if error is not None:
            return TrackingUpdateOutcome(event_id=update.event_id, applied=False, error=error)
        if update.event_id in self.event_ids():
            return TrackingUpdateOutcome(event_id=update.event_id, applied=False, duplicate=True)
        self.applied.append(Applied(shop_id, update))
        return TrackingUpdateOutcome(event_id=update.event_id, applied=True, order_status=update.status.value)
