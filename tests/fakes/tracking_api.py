"""An in-memory tracking service (``runtime.apis.tracking.TrackingApi``) for unit tests.

It records every subscription by (carrier, number), as tracking does: the same parcel for the same shop and
order again is ``existing`` (nothing changes), for another order or shop a ``conflict``. ``fail_next``
makes the next call fail (an outage: status 0 or 503, transient).
"""

from __future__ import annotations

from dataclasses import dataclass

from runtime.service_client import ServiceError
from shared.tracking import (
    SubscriptionBatchItem,
    SubscriptionBatchResult,
    SubscriptionInfo,
    SubscriptionOutcome,
    SubscriptionRequest,
    TrackingStatus,
)


@dataclass(frozen=True)
class Subscription:
    shop_id: str
    request: SubscriptionRequest


class FakeTrackingApi:
    def __init__(self) -> None:
        self.subscriptions: dict[tuple[str, str], Subscription] = {}  # (carrier, number) -> who follows it
        self.calls: list[tuple[str, int]] = []  # (shop, items) of every call, in order
        self._failures: list[ServiceError] = []

    def fail_next(self, error: ServiceError) -> None:
        """The next call raises ``error`` (queued: several calls fail in turn)."""
        self._failures.append(error)

    async def subscribe_many(self, shop_id: str, items: list[SubscriptionRequest]) -> SubscriptionBatchResult:
        self.calls.append((shop_id, len(items)))
        if self._failures:
            raise self._failures.pop(0)
        results = [self._subscribe(shop_id, item) for item in items]
        return SubscriptionBatchResult(
            created=sum(r.outcome is SubscriptionOutcome.CREATED for r in results),
            existing=sum(r.outcome is SubscriptionOutcome.EXISTING for r in results),
            conflicts=sum(r.outcome is SubscriptionOutcome.CONFLICT for r in results),
            results=results,
        )

    def _subscribe(self, shop_id: str, item: SubscriptionRequest) -> SubscriptionBatchItem:
        key = (item.carrier.value, item.number)
        known = self.subscriptions.get(key)
        if known is not None and (known.shop_id, known.request.order_id) != (shop_id, item.order_id):
            return SubscriptionBatchItem(
                carrier=item.carrier,
                number=item.number,
                outcome=SubscriptionOutcome.CONFLICT,
                message=f"{item.carrier.value} {item.number} is tracked for another order",
            )
        outcome = SubscriptionOutcome.EXISTING if known is not None else SubscriptionOutcome.CREATED
        if known is None:
            self.subscriptions[key] = Subscription(shop_id, item)
        info = SubscriptionInfo(
            carrier=item.carrier,
            number=item.number,
            order_id=item.order_id,
            status=TrackingStatus.PENDING,
            subscribed=False,
        )
        return SubscriptionBatchItem(carrier=item.carrier, number=item.number, outcome=outcome, subscription=info)
