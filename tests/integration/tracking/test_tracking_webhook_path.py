"""The webhook's hot path: pushes arriving together are stored by one statement and each is acknowledged
only after the commit that stored it; a failed statement acknowledges none; the lean Starlette route serves
the path while FastAPI's documents it; the workers' wake-up hint goes over Redis pub/sub."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from services.tracking.domain.states import PushOutcome
from services.tracking.repository.webhook import WebhookStatements
from services.tracking.wake import CHANNEL, Waker, listen
from tests.integration.tracking.conftest import TrackingApp
from tests.integration.tracking.support import (
    NORMAL,
    Journey,
    mark_subscribed,
    push,
    salt_of,
    sign,
    subscribe,
    zto_number,
)

ACK = {"result": True, "returnCode": "200", "message": "ok"}


class CountingPool:
    """The real pool, counting the statements the webhook sends."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.statements = 0

    async def fetch(self, *args: Any) -> list[asyncpg.Record]:
        self.statements += 1
        return list(await self.pool.fetch(*args))

    async def fetchval(self, *args: Any) -> Any:
        return await self.pool.fetchval(*args)


@pytest.fixture
async def pool(tracking: TrackingApp) -> AsyncIterator[asyncpg.Pool]:
    p = await asyncpg.create_pool(tracking.database_url, min_size=1, max_size=4)
    yield p
    await p.close()


async def _parcels(tracking: TrackingApp, shop_id: str, n: int) -> list[tuple[Journey, str]]:
    out = []
    for _ in range(n):
        number = zto_number()
        assert (await subscribe(tracking.client, shop_id, number)).status_code == 201
        await mark_subscribed(tracking.database_url, number)
        out.append((Journey.of(number, NORMAL), await salt_of(tracking.database_url, number)))
    return out


async def _stored_params(conn: asyncpg.Connection | asyncpg.Pool, numbers: list[str]) -> list[str]:
    rows = await conn.fetch(
        "SELECT p.param FROM tracking.raw_pushes p JOIN tracking.subscriptions s ON s.id = p.subscription_id "
        "WHERE s.number = ANY($1)",
        numbers,
    )
    return [r["param"] for r in rows]


async def test_concurrent_pushes_are_stored_together_and_each_acked_after_its_commit(
    tracking: TrackingApp, shop_id: str, pool: asyncpg.Pool
) -> None:
    parcels = await _parcels(tracking, shop_id, 30)
    counting = CountingPool(pool)
    statements = WebhookStatements(counting, max_batch=256, inflight=1)  # a duck-typed pool
    observer = await asyncpg.create_pool(tracking.database_url, min_size=1, max_size=4)
    seen_at_ack: dict[str, bool] = {}

    async def one(journey: Journey, salt: str, bad: bool) -> bool:
        param = journey.param(2)
        outcome = await statements.store(journey.number, param, sign(param, salt + ("x" if bad else "")))
        # At the moment of the answer another connection already sees the row: it was committed.
        seen_at_ack[journey.number] = param in await _stored_params(observer, [journey.number])
        return outcome is PushOutcome.STORED

    try:
        results = await asyncio.gather(*(one(j, s, bad=i % 10 == 9) for i, (j, s) in enumerate(parcels)))
    finally:
        await observer.close()
    good = [j.number for i, (j, _) in enumerate(parcels) if i % 10 != 9]
    assert results == [i % 10 != 9 for i in range(30)]  # wrong signs refused, in the same statements
    assert all(seen_at_ack[n] for n in good)
    assert not any(seen_at_ack[j.number] for i, (j, _) in enumerate(parcels) if i % 10 == 9)
    # 30 pushes arriving together took far fewer statements (commits) than pushes.
    assert counting.statements < 30
    async with pool.acquire() as conn:
        assert len(await _stored_params(conn, good)) == len(good)


async def test_a_failed_statement_acknowledges_none_of_its_pushes(
    tracking: TrackingApp, shop_id: str, pool: asyncpg.Pool
) -> None:
    parcels = await _parcels(tracking, shop_id, 5)
    statements = WebhookStatements(pool, max_batch=256, inflight=1)
    params = [j.param(2) for j, _ in parcels]
    # PostgreSQL text cannot hold a NUL: this push makes the whole statement fail, as a lost connection
    # or a full disk would.
    params[2] = params[2].replace('"ok"', '"o\x00k"', 1)
    calls = [statements.store(j.number, p, sign(p, s)) for (j, s), p in zip(parcels, params, strict=True)]
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert all(isinstance(r, Exception) for r in results)
    async with pool.acquire() as conn:
        assert await _stored_params(conn, [j.number for j, _ in parcels]) == []
    # The next pushes are not affected by the failed batch.
    (j, s), p = parcels[0], parcels[0][0].param(3)
    assert await statements.store(j.number, p, sign(p, s)) is PushOutcome.STORED


async def test_the_bare_endpoint_serves_the_webhook_and_fastapi_documents_it(
    tracking: TrackingApp, shop_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.tracking import fastpath
    from services.tracking.router import webhook
    from services.tracking.service import ingestion

    taken: list[str] = []
    documented: list[str] = []
    real_take, real_handle = ingestion.take_push, webhook.handle_push

    async def take_spy(*args: Any) -> Any:
        taken.append("push")
        return await real_take(*args)

    async def handle_spy(request: Any) -> Any:
        documented.append(request.url.path)
        return await real_handle(request)

    monkeypatch.setattr(ingestion, "take_push", take_spy)
    monkeypatch.setattr(webhook, "handle_push", handle_spy)  # what FastAPI's documented route would call
    [(journey, salt)] = await _parcels(tracking, shop_id, 1)
    ok = await push(tracking.client, journey.param(1), salt)
    assert ok.json() == ACK
    assert ok.headers["content-type"] == "application/json"
    assert ok.headers["x-request-id"]  # the request-context middleware ran around it, as for any route
    refused = await push(tracking.client, journey.param(1), salt, bad=True)
    assert refused.status_code == 400
    assert refused.json() == {"result": False, "returnCode": "400", "message": "bad sign"}
    assert taken == ["push", "push"]
    assert documented == []  # never reached
    doc = (await tracking.client.get("/openapi.json")).json()
    assert "application/x-www-form-urlencoded" in str(doc["paths"][fastpath.PATH]["post"]["requestBody"])
    # Only POST of that path is taken off: another method still gets FastAPI's answer.
    assert (await tracking.client.get(fastpath.PATH)).status_code == 405


async def test_a_multipart_push_is_served_by_the_documented_handler(tracking: TrackingApp, shop_id: str) -> None:
    [(journey, salt)] = await _parcels(tracking, shop_id, 1)
    param = journey.param(1)
    files = {"param": (None, param), "sign": (None, sign(param, salt))}
    assert (await tracking.client.post("/webhooks/tracking/kuaidi100", files=files)).json() == ACK


async def test_a_multipart_push_without_a_boundary_is_refused_in_the_push_answer_shape(tracking: TrackingApp) -> None:
    """Found by the fuzz suite: Starlette's own 400 escaped the bare endpoint as a 500."""
    answer = await tracking.client.post(
        "/webhooks/tracking/kuaidi100", content=b"param=x&sign=y", headers={"content-type": "multipart/form-data"}
    )
    assert answer.status_code == 400
    body = answer.json()
    assert (body["result"], body["returnCode"]) == (False, "400")
    assert "not readable" in body["message"]


async def test_an_oversized_push_gets_413_in_the_error_shape(tracking: TrackingApp) -> None:
    limit = tracking.runtime.settings.max_body_bytes
    body = b"param=" + b"x" * limit
    answer = await tracking.client.post(
        "/webhooks/tracking/kuaidi100", content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "payload_too_large"


async def test_a_nul_in_the_sign_or_number_is_refused_and_spoils_no_other_push(
    tracking: TrackingApp, shop_id: str
) -> None:
    parcels = await _parcels(tracking, shop_id, 4)
    good = [j.param(1) for j, _ in parcels]
    nul_number = parcels[0][0].param(2).replace(parcels[0][0].number, parcels[0][0].number + "\\u0000", 1)
    hostile = [
        {"param": parcels[0][0].param(2), "sign": sign(parcels[0][0].param(2), parcels[0][1])[:-1] + "\x00"},
        {"param": nul_number, "sign": sign(nul_number, parcels[0][1])},
    ]

    async def post(form: dict[str, str]) -> Any:
        return await tracking.client.post("/webhooks/tracking/kuaidi100", data=form)

    signed = [{"param": p, "sign": sign(p, s)} for p, (_, s) in zip(good, parcels, strict=True)]
    answers = await asyncio.gather(*(post(f) for f in [*hostile, *signed]))
    for refused in answers[:2]:
        assert refused.status_code == 400
        assert refused.json() == {"result": False, "returnCode": "400", "message": "bad sign"}
    assert [a.json() for a in answers[2:]] == [ACK] * 4  # stored together, none spoilt by the hostile ones
    assert len(await _stored_params(tracking.runtime.pg, [j.number for j, _ in parcels])) == 4


async def test_a_lost_connection_answers_503_to_every_push_of_its_statement_and_200_to_none(
    tracking: TrackingApp, shop_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    parcels = await _parcels(tracking, shop_id, 6)
    webhook = tracking.runtime.webhook
    real = webhook.pool
    statements: list[int] = []

    class BreakingPool:
        """The statement reaches PostgreSQL's side of a connection that is then cut: nothing is committed."""

        async def fetch(self, sql: str, numbers: list[str], *args: Any) -> Any:
            statements.append(len(numbers))
            await asyncio.sleep(0.05)  # the pushes arriving meanwhile queue for the next statement
            raise asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation")

    monkeypatch.setattr(webhook, "pool", BreakingPool())
    answers = await asyncio.gather(*(push(tracking.client, j.param(1), s) for j, s in parcels))
    monkeypatch.setattr(webhook, "pool", real)
    assert [a.status_code for a in answers] == [503] * 6
    assert all(a.json()["error"]["code"] == "unavailable" for a in answers)
    assert all(a.headers["retry-after"] for a in answers)  # the provider repeats the push later
    assert sum(statements) == 6  # every push reached a statement ...
    assert len(statements) < 6  # ... grouped, and each group failed as one
    assert await _stored_params(real, [j.number for j, _ in parcels]) == []
    # Once the database answers again, the repeated pushes are stored and acknowledged.
    assert [(await push(tracking.client, j.param(1), s)).json() for j, s in parcels] == [ACK] * 6


async def test_the_wake_hint_is_published_at_most_once_per_interval_and_wakes_a_listener(redis: Any) -> None:
    channel = f"{CHANNEL}:test:{uuid.uuid4().hex}"  # not the channel running services publish on
    event = asyncio.Event()
    listener = asyncio.create_task(listen(redis, event, channel))
    probe = redis.pubsub()
    await probe.subscribe(channel)
    try:
        await asyncio.sleep(0.2)  # both subscribed
        waker = Waker(redis, interval=60.0, channel=channel)
        waker.poke()
        waker.poke()  # within the interval: not sent
        await waker.close()
        await asyncio.wait_for(event.wait(), 5)
        messages = []
        for _ in range(10):  # a second hint would have arrived by now
            m = await probe.get_message(ignore_subscribe_messages=True, timeout=0.1)
            if m is not None:
                messages.append(m["data"])
        assert messages == [b"1"]
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
        await probe.aclose()
