"""Push ingestion: verified, stored before the answer, processed in batches; dedup, ordering, forward-only;
nothing lost when Redis is flushed or a worker dies mid-batch."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
from typing import Any

from tests.integration.tracking.conftest import TrackingApp
from tests.integration.tracking.support import (
    NORMAL,
    Journey,
    fetch,
    mark_subscribed,
    push,
    salt_of,
    shop_headers,
    subscribe,
    zto_number,
)
from tests.support import base_redis_url

ACK = {"result": True, "returnCode": "200", "message": "ok"}


async def _parcel(
    tracking: TrackingApp, shop_id: str, kinds: list[tuple[str, str, str]] = NORMAL
) -> tuple[Journey, str]:
    number = zto_number()
    assert (await subscribe(tracking.client, shop_id, number)).status_code == 201
    await mark_subscribed(tracking.database_url, number)
    return Journey.of(number, kinds), await salt_of(tracking.database_url, number)


async def _view(tracking: TrackingApp, shop_id: str, number: str) -> dict[str, Any]:
    resp = await tracking.client.get(f"/v1/trackings/{number}", headers=shop_headers(shop_id))
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def _stored(tracking: TrackingApp, number: str) -> int:
    rows = await fetch(
        tracking.database_url,
        "SELECT count(*) AS n FROM tracking.raw_pushes p JOIN tracking.subscriptions s ON s.id = p.subscription_id "
        "WHERE s.number = $1",
        number,
    )
    return int(rows[0]["n"])


async def test_a_push_with_a_wrong_sign_is_refused_and_nothing_stored(tracking: TrackingApp, shop_id: str) -> None:
    journey, salt = await _parcel(tracking, shop_id)
    resp = await push(tracking.client, journey.param(2), salt, bad=True)
    assert resp.status_code == 400
    assert resp.json()["result"] is False
    assert resp.json()["returnCode"] == "400"
    assert await _stored(tracking, journey.number) == 0
    # Unknown numbers and unreadable bodies are refused too.
    stranger = Journey.of(zto_number(), NORMAL)
    assert (await push(tracking.client, stranger.param(1), "whatever")).status_code == 400
    bad = await tracking.client.post("/webhooks/tracking/kuaidi100", data={"param": "{not json", "sign": "X"})
    assert bad.status_code == 400
    missing = await tracking.client.post("/webhooks/tracking/kuaidi100", data={"param": journey.param(1)})
    assert missing.status_code == 400
    await tracking.drain()
    assert (await _view(tracking, shop_id, journey.number))["events"] == []


async def test_a_signed_push_is_stored_acknowledged_and_processed(tracking: TrackingApp, shop_id: str) -> None:
    journey, salt = await _parcel(tracking, shop_id)
    resp = await push(tracking.client, journey.param(3), salt)
    assert resp.status_code == 200
    assert resp.json() == ACK
    assert resp.headers["content-type"] == "application/json"
    assert await _stored(tracking, journey.number) == 1
    await tracking.drain()
    view = await _view(tracking, shop_id, journey.number)
    assert view["status"] == "in_transit"
    assert [e["status"] for e in view["events"]] == ["in_transit", "in_transit", "collected"]
    assert view["events"][-1]["provider_code"] == "103"
    rows = await fetch(
        tracking.database_url,
        "SELECT processed_at FROM tracking.raw_pushes p JOIN tracking.subscriptions s ON s.id = p.subscription_id "
        "WHERE s.number = $1",
        journey.number,
    )
    assert rows[0]["processed_at"] is not None


async def test_the_same_push_twice_stores_each_event_once(tracking: TrackingApp, shop_id: str) -> None:
    journey, salt = await _parcel(tracking, shop_id)
    for _ in range(2):
        assert (await push(tracking.client, journey.param(4), salt)).status_code == 200
    await tracking.drain()
    # And again in a later batch, plus a longer history repeating the same events.
    assert (await push(tracking.client, journey.param(4), salt)).status_code == 200
    assert (await push(tracking.client, journey.param(5), salt)).status_code == 200
    await tracking.drain()
    view = await _view(tracking, shop_id, journey.number)
    assert len(view["events"]) == 5
    assert len({(e["occurred_at"], e["description"]) for e in view["events"]}) == 5
    assert view["status"] == "out_for_delivery"


async def test_an_identical_push_is_acknowledged_every_time_and_kept_once(tracking: TrackingApp, shop_id: str) -> None:
    journey, salt = await _parcel(tracking, shop_id)
    param = journey.param(2)
    for _ in range(5):
        resp = await push(tracking.client, param, salt)
        assert resp.status_code == 200
        assert resp.json() == ACK
    assert await _stored(tracking, journey.number) == 1
    # Five at once (one statement, the duplicates within it) and once more after processing: still one more row.
    again = journey.param(3)
    answers = await asyncio.gather(*(push(tracking.client, again, salt) for _ in range(5)))
    assert [r.json() for r in answers] == [ACK] * 5
    await tracking.drain()
    assert (await push(tracking.client, again, salt)).json() == ACK
    assert await _stored(tracking, journey.number) == 2
    # The same events in another body is another push.
    assert (await push(tracking.client, journey.param(3, message="again"), salt)).json() == ACK
    assert await _stored(tracking, journey.number) == 3


async def test_a_bad_sign_and_an_unknown_number_get_byte_identical_answers(tracking: TrackingApp, shop_id: str) -> None:
    journey, salt = await _parcel(tracking, shop_id)
    bad_sign = await push(tracking.client, journey.param(2), salt, bad=True)
    stranger = Journey.of(zto_number(), NORMAL)
    unknown = await push(tracking.client, stranger.param(2), "any salt")
    assert bad_sign.status_code == unknown.status_code == 400
    assert bad_sign.content == unknown.content
    assert bad_sign.headers["content-type"] == unknown.headers["content-type"]
    assert bad_sign.headers["content-length"] == unknown.headers["content-length"]
    assert await _stored(tracking, journey.number) == 0


async def test_out_of_order_pushes_end_in_the_right_status_and_timeline(tracking: TrackingApp, shop_id: str) -> None:
    journey, salt = await _parcel(tracking, shop_id)
    # Newest first, then older ones, some processed in one batch, some in separate batches.
    for upto in (6, 2):
        await push(tracking.client, journey.param(upto), salt)
    await tracking.drain()
    for upto in (4, 1, 3, 5):
        await push(tracking.client, journey.param(upto), salt)
        await tracking.drain()
    view = await _view(tracking, shop_id, journey.number)
    assert view["status"] == "delivered"
    times = [e["occurred_at"] for e in view["events"]]
    assert times == sorted(times, reverse=True)
    assert [e["description"] for e in view["events"]] == [s.context for s in reversed(journey.steps)]
    assert view["last_event_at"] == times[0]
    assert view["subscription"]["state"] == "finished"


async def test_out_of_order_within_one_batch(tracking: TrackingApp, shop_id: str) -> None:
    journey, salt = await _parcel(tracking, shop_id)
    for upto in (5, 3, 1, 4, 2):
        await push(tracking.client, journey.param(upto), salt)
    await tracking.drain()
    view = await _view(tracking, shop_id, journey.number)
    assert view["status"] == "out_for_delivery"
    assert len(view["events"]) == 5


async def test_delivered_stays_delivered_when_an_old_in_transit_push_arrives(
    tracking: TrackingApp, shop_id: str
) -> None:
    journey, salt = await _parcel(tracking, shop_id)
    await push(tracking.client, journey.param(6), salt)
    await tracking.drain()
    assert (await _view(tracking, shop_id, journey.number))["status"] == "delivered"
    await push(tracking.client, journey.param(2), salt)
    await push(tracking.client, journey.param(3), salt)
    await tracking.drain()
    view = await _view(tracking, shop_id, journey.number)
    assert view["status"] == "delivered"
    assert len(view["events"]) == 6


async def test_a_delivered_parcel_can_still_come_back(tracking: TrackingApp, shop_id: str) -> None:
    kinds = [*NORMAL, ("快件退回 寄件人", "退回", "6"), ("退回件已签收", "退签", "4")]
    journey, salt = await _parcel(tracking, shop_id, kinds)
    await push(tracking.client, journey.param(6), salt)
    await tracking.drain()
    await push(tracking.client, journey.param(7), salt)
    await tracking.drain()
    assert (await _view(tracking, shop_id, journey.number))["status"] == "returning"
    await push(tracking.client, journey.param(8), salt)
    await tracking.drain()
    assert (await _view(tracking, shop_id, journey.number))["status"] == "returned"


async def test_abort_ends_the_subscription_and_raises_an_alert(tracking: TrackingApp, shop_id: str) -> None:
    journey, salt = await _parcel(tracking, shop_id, [])
    resp = await push(tracking.client, journey.param(0, status="abort", message="3天查询无记录"), salt)
    assert resp.status_code == 200
    await tracking.drain()
    view = await _view(tracking, shop_id, journey.number)
    assert view["subscription"]["state"] == "aborted"
    assert view["status"] == "expired"
    assert [(a["kind"], a["state"]) for a in view["alerts"]] == [("aborted", "open")]


async def _unprocessed(tracking: TrackingApp, numbers: list[str]) -> int:
    rows = await fetch(
        tracking.database_url,
        "SELECT count(*) AS n FROM tracking.raw_pushes p JOIN tracking.subscriptions s ON s.id = p.subscription_id "
        "WHERE s.number = ANY($1) AND p.processed_at IS NULL",
        numbers,
    )
    return int(rows[0]["n"])


async def _events(tracking: TrackingApp, numbers: list[str]) -> int:
    rows = await fetch(
        tracking.database_url,
        "SELECT count(*) AS n FROM tracking.events e JOIN tracking.subscriptions s ON s.id = e.subscription_id "
        "WHERE s.number = ANY($1)",
        numbers,
    )
    return int(rows[0]["n"])


async def test_redis_flushed_after_acknowledgements_every_push_is_still_processed(
    tracking: TrackingApp, shop_id: str, redis: Any
) -> None:
    from runtime.arq_worker import create_worker
    from services.tracking.tasks import WorkerSettings

    await tracking.drain()  # leftovers of other tests
    parcels = [await _parcel(tracking, shop_id) for _ in range(20)]
    numbers = [j.number for j, _ in parcels]
    for journey, salt in parcels:
        for upto in (2, 4, 6):
            assert (await push(tracking.client, journey.param(upto), salt)).json() == ACK
    assert await redis.exists("arq:tracking")  # jobs were queued (the subscriptions') ...
    await redis.flushdb()  # ... and are gone, with everything else in Redis (wake-up hints were never kept)
    assert await _unprocessed(tracking, numbers) == 60

    worker = create_worker(
        WorkerSettings,
        cron_jobs=[],
        redis_url=base_redis_url(),
        handle_signals=False,
        poll_delay=0.05,
        on_startup=tracking.on_startup_with_clock(),
    )
    task = asyncio.create_task(worker.async_run())
    try:
        for _ in range(200):
            if await _unprocessed(tracking, numbers) == 0:
                break
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await worker.close()
    assert await _unprocessed(tracking, numbers) == 0
    assert await _events(tracking, numbers) == 6 * 20
    for number in numbers[:3]:
        assert (await _view(tracking, shop_id, number))["status"] == "delivered"


KILLED_WORKER = textwrap.dedent(
    """
    import asyncio, sys
    from datetime import UTC, datetime
    from runtime.db import make_engine, make_sessionmaker, transaction
    from services.tracking.service.ingestion import process_pushes

    async def main() -> None:
        engine = make_engine(sys.argv[1], pool_size=1)
        async with transaction(make_sessionmaker(engine), None) as uow:
            result = await process_pushes(uow, datetime.now(UTC), 10_000)
            print(f"claimed {result.pushes}", flush=True)
            await asyncio.sleep(3600)  # killed here: the batch never commits

    asyncio.run(main())
    """
)


async def test_a_worker_killed_mid_batch_loses_nothing_and_doubles_nothing(tracking: TrackingApp, shop_id: str) -> None:
    await tracking.drain()
    parcels = [await _parcel(tracking, shop_id) for _ in range(10)]
    numbers = [j.number for j, _ in parcels]
    for journey, salt in parcels:
        for upto in (3, 6):
            await push(tracking.client, journey.param(upto), salt)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        KILLED_WORKER,
        tracking.database_url,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert line.decode().startswith("claimed ")
        assert int(line.split()[1]) >= 20
        # While it holds the batch, another worker skips those rows instead of processing them twice.
        assert await tracking.drain() == 0
        assert await _events(tracking, numbers) == 0
    finally:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    # The dead worker's transaction is rolled back by the server; its pushes are claimed again.
    for _ in range(100):
        if await tracking.drain() or await _unprocessed(tracking, numbers) == 0:
            break
        await asyncio.sleep(0.1)
    assert await _unprocessed(tracking, numbers) == 0
    assert await _events(tracking, numbers) == 6 * 10
    for number in numbers:
        view = await _view(tracking, shop_id, number)
        assert view["status"] == "delivered"
        assert len(view["events"]) == 6
    rows = await fetch(
        tracking.database_url,
        "SELECT count(*) AS n FROM tracking.notifications n JOIN tracking.subscriptions s ON s.id = n.subscription_id "
        "WHERE s.number = ANY($1) AND n.kind = 'status_changed'",
        numbers,
    )
    # Both pushes of a parcel were applied in one batch: one status change each (pending -> delivered),
    # recorded once although the dead worker had computed it too.
    assert int(rows[0]["n"]) == 10


async def test_two_processors_in_small_batches_apply_every_push_once_in_order(
    tracking: TrackingApp, shop_id: str
) -> None:
    """Two processors at once (as two workers), in batches smaller than the backlog: each claim marks its
    pushes processed in its own statement, so no push is taken by both and none is left behind; every
    parcel ends on its last push, each event stored once, the notifications in event order."""
    from services.tracking.service.ingestion import process_pushes

    await tracking.drain()
    parcels = [await _parcel(tracking, shop_id) for _ in range(12)]
    numbers = [j.number for j, _ in parcels]
    for upto in (1, 2, 3, 4, 5, 6):  # interleaved across parcels, as real traffic is
        for journey, salt in parcels:
            assert (await push(tracking.client, journey.param(upto), salt)).json() == ACK
    for journey, salt in parcels[:4]:  # a redelivered push: acknowledged, kept once
        assert (await push(tracking.client, journey.param(3), salt)).json() == ACK
    claimed: list[int] = []

    async def processor() -> None:
        while True:
            async with tracking.runtime.transaction() as uow:
                result = await process_pushes(uow, await tracking.clock.now(), 7)
            if result.pushes == 0:
                return
            claimed.append(result.pushes)

    await asyncio.gather(processor(), processor())
    assert sum(claimed) == 6 * 12  # each stored push claimed by exactly one of them
    assert max(claimed) <= 7  # never more than a batch: the claim's ids are taken once, not per row scanned
    assert await _unprocessed(tracking, numbers) == 0
    assert await _events(tracking, numbers) == 6 * 12
    for number in numbers:
        assert (await _view(tracking, shop_id, number))["status"] == "delivered"
    rows = await fetch(
        tracking.database_url,
        "SELECT s.number, n.payload->>'occurred_at' AS at FROM tracking.notifications n"
        " JOIN tracking.subscriptions s ON s.id = n.subscription_id WHERE s.number = ANY($1) ORDER BY n.id",
        numbers,
    )
    by_number: dict[str, list[str]] = {}
    for r in rows:
        by_number.setdefault(r["number"], []).append(r["at"])
    assert all(ats == sorted(ats) for ats in by_number.values())  # each parcel's updates in event order
