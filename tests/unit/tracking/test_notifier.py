"""The notifier's round against an in-memory shipping: one batch per shop in order, what is retried
(ServiceError.transient) and what is refused for good, a batch refused whole sent one by one, unreadable
updates refused."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime

from runtime.backoff import Backoff
from runtime.service_client import ServiceError
from services.tracking.domain.states import UpdateKind
from services.tracking.domain.updates import Deferred, DueNotification, Parcel, Refused, new_update
from services.tracking.notifier import NotifyRound
from shared.tracking import MAX_BATCH_TRACKING_UPDATES, TrackingStatus, TrackingUpdate, TrackingUpdateBatchResult
from tests.fakes.shipping_api import FakeShippingApi

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
BACKOFF = Backoff(base_s=1.0, cap_s=300.0)
_ids = itertools.count(1)


def _due(shop_id: str, attempts: int = 1, status: TrackingStatus = TrackingStatus.IN_TRANSIT) -> DueNotification:
    parcel = Parcel(shop_id, 7, "o-1", "ZTO", "78000000001")
    update = new_update(parcel, UpdateKind.STATUS_CHANGED, status, T0, "在途")
    return DueNotification(next(_ids), shop_id, 7, update.payload, attempts)


def _event_id(n: DueNotification) -> uuid.UUID:
    return uuid.UUID(n.payload["event_id"])


def _unavailable(status: int = 503) -> ServiceError:
    return ServiceError("shipping", status, "unavailable", "down")


async def test_each_shops_updates_go_in_one_batch_in_the_order_recorded() -> None:
    shipping = FakeShippingApi()
    a = [_due("shop-a") for _ in range(3)]
    b = [_due("shop-b") for _ in range(2)]
    outcome = await NotifyRound(shipping, BACKOFF).send([a[0], b[0], a[1], b[1], a[2]])
    assert sorted(outcome.sent) == sorted(n.id for n in a + b)
    assert outcome.refused == []
    assert outcome.later == []
    assert sorted((c.endpoint, c.shop_id, len(c.event_ids)) for c in shipping.calls) == [
        ("batch", "shop-a", 3),
        ("batch", "shop-b", 2),
    ]
    assert [x.update.event_id for x in shipping.applied if x.shop_id == "shop-a"] == [_event_id(n) for n in a]


async def test_a_shop_of_many_updates_is_sent_in_chunks_of_the_batch_limit() -> None:
    shipping = FakeShippingApi()
    due = [_due("shop-a") for _ in range(MAX_BATCH_TRACKING_UPDATES + 1)]
    outcome = await NotifyRound(shipping, BACKOFF).send(due)
    assert len(outcome.sent) == len(due)
    assert [len(c.event_ids) for c in shipping.calls] == [MAX_BATCH_TRACKING_UPDATES, 1]


async def test_a_transient_failure_defers_the_shops_updates_with_the_backoff_of_their_attempts() -> None:
    shipping = FakeShippingApi()
    shipping.fail_next(_unavailable())
    due = [_due("shop-a", attempts=3) for _ in range(2)]
    outcome = await NotifyRound(shipping, BACKOFF).send(due)
    assert outcome.sent == []
    assert outcome.refused == []
    assert outcome.later == [Deferred(n.id, 4.0, "HTTP 503 unavailable: down") for n in due]


async def test_no_answer_is_transient_and_recorded_as_the_transport_error() -> None:
    shipping = FakeShippingApi()
    shipping.fail_next(ServiceError("shipping", 0, "unavailable", "ConnectError: refused"))
    (n,) = [_due("shop-a")]
    outcome = await NotifyRound(shipping, BACKOFF).send([n])
    assert outcome.later == [Deferred(n.id, 1.0, "ConnectError: refused")]


async def test_our_key_refused_or_a_rate_limit_is_retried_other_refusals_are_not() -> None:
    for status, retried in ((401, True), (403, True), (429, True), (404, False), (409, False), (422, False)):
        shipping = FakeShippingApi()
        shipping.fail_next(ServiceError("shipping", status, "x", "no"))
        n = _due("shop-a")
        outcome = await NotifyRound(shipping, BACKOFF).send([n])
        assert bool(outcome.later) is retried, status
        assert bool(outcome.refused) is not retried, status


async def test_an_update_shipping_refuses_is_refused_alone() -> None:
    shipping = FakeShippingApi()
    due = [_due("shop-a") for _ in range(3)]
    shipping.refuse(_event_id(due[1]))
    outcome = await NotifyRound(shipping, BACKOFF).send(due)
    assert outcome.sent == [due[0].id, due[2].id]
    assert outcome.refused == [Refused(due[1].id, "not_found")]


async def test_a_batch_refused_whole_is_sent_one_by_one_so_only_the_bad_update_is_refused() -> None:
    shipping = FakeShippingApi()
    shipping.refuse_batches(ServiceError("shipping", 422, "validation_error", "unreadable body"))
    due = [_due("shop-a") for _ in range(3)]
    shipping.refuse(_event_id(due[2]))
    outcome = await NotifyRound(shipping, BACKOFF).send(due)
    assert [c.endpoint for c in shipping.calls] == ["batch", "single", "single", "single"]
    assert outcome.sent == [due[0].id, due[1].id]
    assert [r.notification_id for r in outcome.refused] == [due[2].id]
    assert outcome.refused[0].error.startswith("HTTP 404 not_found")


async def test_a_transient_failure_one_by_one_defers_that_update_and_every_later_one() -> None:
    shipping = FakeShippingApi()
    due = [_due("shop-a") for _ in range(3)]
    shipping.fail_next(ServiceError("shipping", 422, "validation_error", "unreadable body"))  # the batch
    shipping.fail_next(_unavailable(502))  # the first single update
    outcome = await NotifyRound(shipping, BACKOFF).send(due)
    # The first single call met the outage: it and the two after it wait, in order.
    assert [c.endpoint for c in shipping.calls] == ["batch", "single"]
    assert outcome.sent == []
    assert [d.notification_id for d in outcome.later] == [n.id for n in due]


async def test_a_single_update_refused_as_a_batch_is_refused_without_a_second_call() -> None:
    shipping = FakeShippingApi()
    shipping.refuse_batches(ServiceError("shipping", 422, "validation_error", "unreadable body"))
    n = _due("shop-a")
    outcome = await NotifyRound(shipping, BACKOFF).send([n])
    assert [c.endpoint for c in shipping.calls] == ["batch"]
    assert outcome.refused == [Refused(n.id, "HTTP 422 validation_error: unreadable body")]


async def test_a_stored_update_that_does_not_read_is_refused_and_the_others_are_sent() -> None:
    shipping = FakeShippingApi()
    good = _due("shop-a")
    bad = DueNotification(next(_ids), "shop-a", 7, {**_due("shop-a").payload, "carrier": "NOPE"}, 1)
    outcome = await NotifyRound(shipping, BACKOFF).send([bad, good])
    assert outcome.sent == [good.id]
    assert [r.notification_id for r in outcome.refused] == [bad.id]
    assert outcome.refused[0].error.startswith("unreadable update")
    assert shipping.event_ids() == [_event_id(good)]


class _ShortAnswer(FakeShippingApi):
    async def tracking_updates(self, shop_id: str, updates: list[TrackingUpdate]) -> TrackingUpdateBatchResult:
        answer = await super().tracking_updates(shop_id, updates)
        return TrackingUpdateBatchResult(results=answer.results[1:])


async def test_an_answer_that_does_not_match_the_batch_takes_nothing_as_sent() -> None:
    due = [_due("shop-a") for _ in range(2)]
    outcome = await NotifyRound(_ShortAnswer(), BACKOFF).send(due)
    assert outcome.sent == []
    assert [d.notification_id for d in outcome.later] == [n.id for n in due]
    assert "1 results for 2 updates" in outcome.later[0].error
