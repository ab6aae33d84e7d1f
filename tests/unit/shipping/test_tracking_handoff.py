"""Handing confirmed shipments to tracking against an in-memory tracking: one call per shop and part,
idempotent, conflicts logged, an outage stops the handoff for the job to try again."""

from __future__ import annotations

from datetime import UTC, datetime

from runtime.service_client import ServiceError
from services.shipping.service.tracking_handoff import Handoff, hand_over
from shared.carriers import CarrierCode
from shared.tracking import MAX_BATCH_SUBSCRIPTIONS, SubscriptionRequest
from tests.fakes.tracking_api import FakeTrackingApi

SHIPPED = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)


def _handoffs(shop: str, count: int, prefix: str = "78") -> list[Handoff]:
    return [
        Handoff(
            f"shp_{shop}_{i}",
            SubscriptionRequest(
                order_id=f"ord_{shop}_{i}",
                carrier=CarrierCode.ZTO,
                number=f"{prefix}{i:012d}",
                shipped_at=SHIPPED,
                destination_province="广东省",
            ),
        )
        for i in range(count)
    ]


async def test_one_call_per_shop_and_part() -> None:
    tracking = FakeTrackingApi()
    handed = await hand_over(
        tracking, {"s-1": _handoffs("s-1", MAX_BATCH_SUBSCRIPTIONS + 1), "s-2": _handoffs("s-2", 2, "79")}
    )
    assert handed.count == MAX_BATCH_SUBSCRIPTIONS + 3
    assert handed.unreachable is None
    assert tracking.calls == [("s-1", MAX_BATCH_SUBSCRIPTIONS), ("s-1", 1), ("s-2", 2)]
    assert len(tracking.subscriptions) == MAX_BATCH_SUBSCRIPTIONS + 3


async def test_handing_over_again_changes_nothing() -> None:
    tracking = FakeTrackingApi()
    by_shop = {"s-1": _handoffs("s-1", 3)}
    await hand_over(tracking, by_shop)
    again = await hand_over(tracking, by_shop)
    assert again.count == 3
    assert len(tracking.subscriptions) == 3


async def test_a_number_followed_for_another_order_is_a_conflict_not_a_failure() -> None:
    tracking = FakeTrackingApi()
    await hand_over(tracking, {"s-2": _handoffs("s-2", 1)})  # the same number, another shop's order
    handed = await hand_over(tracking, {"s-1": _handoffs("s-1", 2)})
    assert handed.count == 2
    assert handed.unreachable is None
    assert tracking.subscriptions[("ZTO", "78000000000000")].shop_id == "s-2"


async def test_an_outage_stops_the_handoff_for_the_job_to_try_again() -> None:
    tracking = FakeTrackingApi()
    tracking.fail_next(ServiceError("tracking", 503, "unavailable", "not now"))
    handed = await hand_over(tracking, {"s-1": _handoffs("s-1", 2), "s-2": _handoffs("s-2", 2, "79")})
    assert handed.count == 0
    assert handed.unreachable is not None
    assert handed.unreachable.status == 503
    assert tracking.calls == [("s-1", 2)]  # nothing after the part that failed


async def test_a_part_tracking_refuses_is_skipped() -> None:
    tracking = FakeTrackingApi()
    tracking.fail_next(ServiceError("tracking", 422, "validation_error", "invalid request"))
    handed = await hand_over(tracking, {"s-1": _handoffs("s-1", 2), "s-2": _handoffs("s-2", 2, "79")})
    assert handed.count == 2
    assert handed.unreachable is None
    assert tracking.calls == [("s-1", 2), ("s-2", 2)]
