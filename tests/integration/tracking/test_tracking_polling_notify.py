"""Polling quiet parcels within the provider's rate limit, and telling shipping (with retries, in order)."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
import respx
from prometheus_client import REGISTRY

from runtime.ratelimit import Pacer
from services.tracking.kuaidi100.protocol import query_sign
from tests.integration.tracking.conftest import TrackingApp, job_ctx
from tests.integration.tracking.support import (
    NORMAL,
    PROVIDER,
    SHIPPING,
    T0,
    Journey,
    fetch,
    mark_subscribed,
    push,
    salt_of,
    shop_headers,
    subscribe,
    zto_number,
)
from tests.support import INTERNAL_KEY, base_redis_url

PROBLEM = [*NORMAL[:5], ("派送不成功", "疑难", "2"), ("快件已签收（异常后签收）", "签收", "302")]


async def _parcel(
    tracking: TrackingApp, shop_id: str, kinds: list[tuple[str, str, str]] = NORMAL
) -> tuple[Journey, str]:
    number = zto_number()
    await subscribe(tracking.client, shop_id, number)
    await mark_subscribed(tracking.database_url, number)
    return Journey.of(number, kinds), await salt_of(tracking.database_url, number)


async def _quiet_everything_else(tracking: TrackingApp) -> None:
    # Subscriptions and notifications other tests left behind must not take this test's turn.
    conn_rows = await fetch(
        tracking.database_url,
        "WITH a AS (UPDATE tracking.subscriptions SET provider_state = 'finished' "
        "WHERE provider_state = 'subscribed' RETURNING 1), "
        "b AS (UPDATE tracking.notifications SET sent_at = now() WHERE sent_at IS NULL RETURNING 1) "
        "SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM b) AS n",
    )
    assert conn_rows


async def test_quiet_parcels_are_queried_and_the_answer_processed_like_a_push(
    tracking: TrackingApp, shop_id: str
) -> None:
    from services.tracking.jobs.crons import poll_quiet

    await _quiet_everything_else(tracking)
    journey, salt = await _parcel(tracking, shop_id)
    tracking.clock.set(T0 + timedelta(hours=6))
    await push(tracking.client, journey.param(2), salt)
    await tracking.drain()  # heard of at T0 + 6 h
    queries: list[dict[str, str]] = []

    def provider(request: httpx.Request) -> httpx.Response:
        form = dict(httpx.QueryParams(request.content.decode()))
        queries.append(form)
        last = json.loads(journey.param(6))["lastResult"]  # the final push was lost; the query knows it
        return httpx.Response(200, json=last)

    found_polls = REGISTRY.get_sample_value("waybill_tracking_polls_total", {"outcome": "found"}) or 0.0
    async with tracking.worker_resources() as res:
        ctx = job_ctx(res)
        with respx.mock(assert_all_called=False) as mock:
            mock.post(f"{PROVIDER}/poll/query.do").mock(side_effect=provider)
            tracking.clock.set(T0 + timedelta(hours=6 + 11.9))
            assert await poll_quiet(ctx) == 0
            tracking.clock.set(T0 + timedelta(hours=6 + 12.1))
            assert await poll_quiet(ctx) == 1
            assert await poll_quiet(ctx) == 0  # just polled
    assert len(queries) == 1
    assert REGISTRY.get_sample_value("waybill_tracking_polls_total", {"outcome": "found"}) == found_polls + 1
    form = queries[0]
    assert json.loads(form["param"]) == {"com": "zhongtong", "num": journey.number}
    assert form["customer"] == "sandbox-key"
    assert form["sign"] == query_sign(form["param"], "sandbox-key", "sandbox-key")
    assert res.loops.ingest_wake.is_set()
    await tracking.drain()
    view = (await tracking.client.get(f"/v1/trackings/{journey.number}", headers=shop_headers(shop_id))).json()
    assert view["status"] == "delivered"
    assert len(view["events"]) == 6
    assert view["subscription"]["state"] == "finished"  # no more polling
    rows = await fetch(
        tracking.database_url,
        "SELECT p.source FROM tracking.raw_pushes p JOIN tracking.subscriptions s ON s.id = p.subscription_id "
        "WHERE s.number = $1 ORDER BY p.id",
        journey.number,
    )
    assert [r["source"] for r in rows] == ["push", "poll"]


async def test_rate_limited_or_failed_queries_are_tried_again_soon(tracking: TrackingApp, shop_id: str) -> None:
    from services.tracking.jobs.crons import poll_quiet

    await _quiet_everything_else(tracking)
    journey, _ = await _parcel(tracking, shop_id)
    tracking.clock.set(T0 + timedelta(hours=13))
    async with tracking.worker_resources() as res:
        ctx = job_ctx(res)
        with respx.mock(assert_all_called=False) as mock:
            route = mock.post(f"{PROVIDER}/poll/query.do").mock(
                side_effect=[
                    httpx.Response(200, json={"result": False, "returnCode": "503", "message": "查询太频繁"}),
                    httpx.Response(200, json={"result": False, "returnCode": "502", "message": "busy"}),
                    httpx.Response(200, json={"result": False, "returnCode": "500", "message": "查询无结果"}),
                ]
            )
            assert await poll_quiet(ctx) == 0
            assert await poll_quiet(ctx) == 0
            assert await poll_quiet(ctx) == 0
            assert await poll_quiet(ctx) == 0  # "no result" counts as polled: wait for the next quiet period
    assert route.call_count == 3
    rows = await fetch(
        tracking.database_url, "SELECT last_polled_at FROM tracking.subscriptions WHERE number = $1", journey.number
    )
    assert rows[0]["last_polled_at"] is not None


async def test_the_rate_limit_holds_across_workers(redis: Any) -> None:
    from redis.asyncio import Redis

    clients = [Redis.from_url(base_redis_url()) for _ in range(3)]
    key = f"test:limiter:shared:{time.time()}"
    limiters = [Pacer(c, key, 20.0) for c in clients]  # three "workers", one limit
    stamps: list[float] = []

    async def worker(limiter: Pacer) -> None:
        for _ in range(7):
            assert await limiter.acquire(max_wait=5)
            stamps.append(time.monotonic())

    await asyncio.gather(*(worker(limiter) for limiter in limiters))
    for c in clients:
        await c.aclose()
    stamps.sort()
    assert len(stamps) == 21
    # 21 slots at 20/s are spread over at least one second; no two closer than the interval allows.
    assert stamps[-1] - stamps[0] >= 0.95
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert sum(g < 0.03 for g in gaps) <= 2  # scheduling jitter only


def _results(request: httpx.Request, error: str | None = None) -> list[dict[str, Any]]:
    updates = json.loads(request.content)["updates"]
    return [{"event_id": u["event_id"], "applied": error is None, "error": error} for u in updates]


async def test_shipping_hears_status_changes_and_alerts_in_order_with_retries(
    tracking: TrackingApp, shop_id: str
) -> None:
    from services.tracking.notifier import send_notifications

    await _quiet_everything_else(tracking)
    journey, salt = await _parcel(tracking, shop_id, PROBLEM)
    await push(tracking.client, journey.param(2), salt)
    await tracking.drain()
    await push(tracking.client, journey.param(6), salt)
    await tracking.drain()
    received: list[dict[str, Any]] = []
    calls: list[int] = []
    answers = iter([500, 200, 200, 200, 200, 200, 200])

    def shipping(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == f"Bearer {INTERNAL_KEY}"
        if request.headers["X-Shop-Id"] != shop_id:
            # A test running beside this one (same database) made notifications after the quieting.
            return httpx.Response(200, json={"results": _results(request)})
        status = next(answers)
        calls.append(status)
        if status != 200:
            return httpx.Response(status, json={})
        received.extend(json.loads(request.content)["updates"])
        return httpx.Response(200, json={"results": _results(request)})

    async with tracking.worker_resources() as res:
        with respx.mock(assert_all_called=False) as mock:
            mock.post(f"{SHIPPING}/internal/v1/tracking-updates/batch").mock(side_effect=shipping)
            await send_notifications(res)
            assert calls == [500]
            assert received == []  # the call failed, so every update of the shop waits
            for _ in range(50):
                await asyncio.sleep(0.05)
                await send_notifications(res)
                if len(received) == 3:
                    break
    assert calls == [500, 200]  # one call per shop and round, not one per update
    assert [(u["kind"], u["status"]) for u in received] == [
        ("status_changed", "in_transit"),
        ("status_changed", "problem"),
        ("alert_opened", "problem"),
    ]
    assert received[2]["alert"]["kind"] == "problem"
    assert all(u["number"] == journey.number and u["carrier"] == "ZTO" for u in received)
    rows = await fetch(
        tracking.database_url,
        "SELECT count(*) AS n FROM tracking.notifications n JOIN tracking.subscriptions s ON s.id = n.subscription_id "
        "WHERE s.number = $1 AND n.sent_at IS NULL",
        journey.number,
    )
    assert rows[0]["n"] == 0


async def _sent_and_errors(tracking: TrackingApp, number: str) -> list[Any]:
    return await fetch(
        tracking.database_url,
        "SELECT n.sent_at, n.last_error FROM tracking.notifications n "
        "JOIN tracking.subscriptions s ON s.id = n.subscription_id WHERE s.number = $1",
        number,
    )


async def _pushed_parcel(
    tracking: TrackingApp, shop_id: str, upto: int, kinds: list[tuple[str, str, str]] = NORMAL
) -> Journey:
    """A parcel with its first ``upto`` events pushed and processed, nothing else due."""
    await _quiet_everything_else(tracking)
    journey, salt = await _parcel(tracking, shop_id, kinds)
    await push(tracking.client, journey.param(upto), salt)
    await tracking.drain()
    return journey


Answer = Callable[[httpx.Request], httpx.Response]
REFUSALS: dict[str, tuple[Answer, str]] = {
    "the update": (
        lambda request: httpx.Response(200, json={"results": _results(request, "not_found")}),
        "refused: not_found",
    ),
    "the whole batch": (
        lambda request: httpx.Response(404, json={"error": {"code": "not_found"}}),
        "refused: HTTP 404",
    ),
}


@pytest.mark.parametrize("refused", list(REFUSALS))
async def test_an_update_shipping_refuses_is_not_repeated_forever(
    tracking: TrackingApp, shop_id: str, refused: str
) -> None:
    from services.tracking.notifier import send_notifications

    answer, error = REFUSALS[refused]
    journey = await _pushed_parcel(tracking, shop_id, 1)
    async with tracking.worker_resources() as res:
        with respx.mock(assert_all_called=False) as mock:
            route = mock.post(f"{SHIPPING}/internal/v1/tracking-updates/batch").mock(side_effect=answer)
            assert await send_notifications(res) == 1
            assert await send_notifications(res) == 0
    assert route.call_count == 1
    rows = await _sent_and_errors(tracking, journey.number)
    assert rows[0]["sent_at"] is not None
    assert rows[0]["last_error"].startswith(error)


async def test_an_answer_that_does_not_match_the_batch_is_retried(tracking: TrackingApp, shop_id: str) -> None:
    """One result short (a version mismatch, a proxy's doing): nothing is taken as sent, all is retried."""
    from services.tracking.notifier import send_notifications

    journey = await _pushed_parcel(tracking, shop_id, 2)
    async with tracking.worker_resources() as res:
        with respx.mock(assert_all_called=False) as mock:
            mock.post(f"{SHIPPING}/internal/v1/tracking-updates/batch").mock(
                side_effect=lambda request: httpx.Response(200, json={"results": _results(request)[1:]})
            )
            assert await send_notifications(res) >= 1
    rows = await _sent_and_errors(tracking, journey.number)
    assert rows
    assert all(r["sent_at"] is None for r in rows)
    assert all("results for" in r["last_error"] for r in rows)


async def test_a_batch_refused_whole_is_sent_one_by_one_so_only_the_bad_update_is_refused(
    tracking: TrackingApp, shop_id: str
) -> None:
    """Shipping answers 422 to the batch (say it cannot read one update); tracking then sends each update on
    its own: the readable ones arrive, only the unreadable one is refused."""
    from services.tracking.notifier import send_notifications

    journey = await _pushed_parcel(tracking, shop_id, 6, PROBLEM)
    singles: list[dict[str, Any]] = []

    def single(request: httpx.Request) -> httpx.Response:
        update = json.loads(request.content)
        singles.append(update)
        if update["kind"] == "alert_opened":
            return httpx.Response(422, json={"error": {"code": "validation_error"}})
        return httpx.Response(200, json={"applied": True})

    async with tracking.worker_resources() as res:
        with respx.mock(assert_all_called=False) as mock:
            batch = mock.post(f"{SHIPPING}/internal/v1/tracking-updates/batch").mock(
                return_value=httpx.Response(422, json={"error": {"code": "validation_error"}})
            )
            mock.post(f"{SHIPPING}/internal/v1/tracking-updates").mock(side_effect=single)
            sent = await send_notifications(res)
    assert sent >= 2
    assert batch.call_count == 1
    assert len(singles) == sent
    rows = await _sent_and_errors(tracking, journey.number)
    assert all(r["sent_at"] is not None for r in rows)
    refused = [r["last_error"] for r in rows if r["last_error"]]
    assert len(refused) == 1
    assert refused[0].startswith("refused: HTTP 422")
