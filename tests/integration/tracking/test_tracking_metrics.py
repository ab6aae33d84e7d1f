"""Tracking's Prometheus metrics move with what happens: pushes ingested by outcome, processed by outcome,
the processing lag, queue depth, the oldest waiting push and open alerts by kind."""

from __future__ import annotations

from prometheus_client import REGISTRY

from tests.integration.tracking.conftest import TrackingApp
from tests.integration.tracking.support import (
    NORMAL,
    Journey,
    fetch,
    mark_subscribed,
    push,
    salt_of,
    subscribe,
    zto_number,
)
from tests.integration.tracking.test_tracking_alerts import PROBLEM


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _ingested(outcome: str) -> float:
    return _value("waybill_tracking_pushes_ingested_total", outcome=outcome)


def _processed(outcome: str) -> float:
    return _value("waybill_tracking_pushes_processed_total", outcome=outcome)


async def _parcel(tracking: TrackingApp, shop_id: str, kinds: list[tuple[str, str, str]]) -> tuple[Journey, str]:
    number = zto_number()
    assert (await subscribe(tracking.client, shop_id, number)).status_code == 201
    await mark_subscribed(tracking.database_url, number)
    return Journey.of(number, kinds), await salt_of(tracking.database_url, number)


async def _process_all(tracking: TrackingApp) -> None:
    """What a worker's processor loop does, metrics included, until nothing waits."""
    from services.tracking.jobs.loops import ingest_step

    async with tracking.worker_resources() as res:
        while await ingest_step(res):
            pass


async def test_the_webhook_counts_pushes_by_outcome(tracking: TrackingApp, shop_id: str) -> None:
    journey, salt = await _parcel(tracking, shop_id, NORMAL)
    before = {o: _ingested(o) for o in ("stored", "bad_signature", "unknown_number", "unreadable")}
    await push(tracking.client, journey.param(1), salt)
    await push(tracking.client, journey.param(2), salt)
    await push(tracking.client, journey.param(2), salt, bad=True)
    await push(tracking.client, Journey.of(zto_number(), NORMAL).param(1), "any")
    await tracking.client.post("/webhooks/tracking/kuaidi100", data={"param": "{nope", "sign": "X"})
    after = {o: _ingested(o) for o in before}
    assert {o: after[o] - before[o] for o in before} == {
        "stored": 2,
        "bad_signature": 1,
        "unknown_number": 1,
        "unreadable": 1,
    }


async def test_processing_counts_applied_and_duplicate_pushes_events_and_lag(
    tracking: TrackingApp, shop_id: str
) -> None:
    await _process_all(tracking)  # leftovers of other tests
    journey, salt = await _parcel(tracking, shop_id, NORMAL)
    applied, duplicate = _processed("applied"), _processed("duplicate")
    events = _value("waybill_tracking_events_stored_total")
    lags = _value("waybill_tracking_processing_lag_seconds_count")
    await push(tracking.client, journey.param(3), salt)
    await _process_all(tracking)
    # The same events again in another body (an identical push is not even stored): nothing new.
    await push(tracking.client, journey.param(3, message="again"), salt)
    await _process_all(tracking)
    assert _processed("applied") - applied == 1
    assert _processed("duplicate") - duplicate == 1
    assert _value("waybill_tracking_events_stored_total") - events == 3
    assert _value("waybill_tracking_processing_lag_seconds_count") - lags == 2


async def test_gauges_show_queue_depth_oldest_waiting_and_open_alerts(tracking: TrackingApp, shop_id: str) -> None:
    from services.tracking.main import refresh_gauges_once

    await _process_all(tracking)
    journey, salt = await _parcel(tracking, shop_id, NORMAL)
    await push(tracking.client, journey.param(1), salt)
    await push(tracking.client, journey.param(2), salt)
    await refresh_gauges_once(tracking.runtime)
    waiting = await fetch(
        tracking.database_url, "SELECT count(*) AS n FROM tracking.raw_pushes WHERE processed_at IS NULL"
    )
    assert _value("waybill_tracking_queue_depth") == waiting[0]["n"] >= 2
    assert _value("waybill_tracking_oldest_waiting_seconds") >= 0.0

    problem, psalt = await _parcel(tracking, shop_id, PROBLEM)
    await push(tracking.client, problem.param(6), psalt)
    await _process_all(tracking)
    await refresh_gauges_once(tracking.runtime)
    assert _value("waybill_tracking_queue_depth") == 0
    assert _value("waybill_tracking_oldest_waiting_seconds") == 0
    open_problems = await fetch(
        tracking.database_url, "SELECT count(*) AS n FROM tracking.alerts WHERE kind = 'problem' AND state = 'open'"
    )
    assert _value("waybill_tracking_alerts_open", kind="problem") == open_problems[0]["n"] >= 1
    assert REGISTRY.get_sample_value("waybill_tracking_alerts_open", {"kind": "late"}) is not None  # every kind shown
