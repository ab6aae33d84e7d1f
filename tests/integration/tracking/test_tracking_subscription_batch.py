"""The bulk handoff: many shipments of one shop in one call, answered item by item as the single endpoint
would, and subscribed with the provider by one job (with the single job's retries for what is left)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import respx

from tests.integration.tracking.conftest import TrackingApp
from tests.integration.tracking.support import PROVIDER, T0, fetch, shop_headers, subscribe, zto_number
from tests.support import run_jobs


def _item(number: str, order_id: str | None = None, carrier: str = "ZTO") -> dict[str, Any]:
    return {"order_id": order_id or f"o-{number}", "carrier": carrier, "number": number, "shipped_at": T0.isoformat()}


async def _batch(tracking: TrackingApp, shop_id: str, items: list[dict[str, Any]]) -> httpx.Response:
    return await tracking.client.post(
        "/internal/v1/subscriptions/batch", json={"items": items}, headers=shop_headers(shop_id)
    )


async def _work(tracking: TrackingApp) -> None:
    from services.tracking.tasks import worker_settings

    worker = worker_settings(background_loops=False)

    await run_jobs(
        worker,
        max_tries=3,
        on_startup=tracking.on_startup_with_clock(worker),
    )


async def _states(tracking: TrackingApp, numbers: list[str]) -> dict[str, tuple[str, int]]:
    rows = await fetch(
        tracking.database_url,
        "SELECT number, provider_state, subscribe_attempts FROM tracking.subscriptions WHERE number = ANY($1)",
        numbers,
    )
    return {r["number"]: (r["provider_state"], r["subscribe_attempts"]) for r in rows}


async def test_a_batch_answers_each_item_and_subscribes_the_new_ones_once(
    tracking: TrackingApp, shop_id: str, other_shop_id: str
) -> None:
    fresh = [zto_number() for _ in range(3)]
    known, theirs = zto_number(), zto_number()
    assert (await subscribe(tracking.client, shop_id, known)).status_code == 201
    assert (await subscribe(tracking.client, other_shop_id, theirs)).status_code == 201
    sent: list[str] = []

    def provider(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(dict(httpx.QueryParams(request.content.decode()))["param"])["number"])
        return httpx.Response(200, json={"result": True, "returnCode": "200", "message": "ok"})

    with respx.mock(assert_all_called=False) as mock:
        mock.post(f"{PROVIDER}/poll").mock(side_effect=provider)
        await _work(tracking)  # the single subscriptions made above
        sent.clear()
        items = [_item(n) for n in fresh] + [_item(known), _item(theirs), _item(fresh[0])]
        resp = await _batch(tracking, shop_id, items)
        again = await _batch(tracking, shop_id, items)
        await _work(tracking)

    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["created"], body["existing"], body["conflicts"]) == (3, 2, 1)
    outcomes = [(r["number"], r["outcome"]) for r in body["results"]]
    assert outcomes == [
        *((n, "created") for n in fresh),
        (known, "existing"),
        (theirs, "conflict"),
        (fresh[0], "existing"),  # the same number twice in one request
    ]
    assert body["results"][4]["subscription"] is None
    assert "another order" in body["results"][4]["message"]
    assert body["results"][0]["subscription"]["order_id"] == f"o-{fresh[0]}"
    assert (again.json()["created"], again.json()["existing"], again.json()["conflicts"]) == (0, 5, 1)
    assert sorted(sent) == sorted(fresh)  # one provider call per new parcel, none for a repeat
    states = await _states(tracking, [*fresh, known])
    assert all(state == ("subscribed", 1) for state in states.values()), states
    owner = await fetch(tracking.database_url, "SELECT shop_id FROM tracking.subscriptions WHERE number = $1", theirs)
    assert owner[0]["shop_id"] == other_shop_id  # the conflict changed nothing


async def test_provider_trouble_in_a_batch_is_retried_one_by_one_and_flags_follow_the_single_rules(
    tracking: TrackingApp, shop_id: str
) -> None:
    ok, flaky, refused = zto_number(), zto_number(), zto_number()
    calls: dict[str, int] = {}

    def provider(request: httpx.Request) -> httpx.Response:
        number = json.loads(dict(httpx.QueryParams(request.content.decode()))["param"])["number"]
        calls[number] = calls.get(number, 0) + 1
        if number == flaky and calls[number] == 1:
            raise httpx.ConnectError("provider down")
        code = "700" if number == refused else "200"
        return httpx.Response(200, json={"result": code == "200", "returnCode": code, "message": "m"})

    with respx.mock(assert_all_called=False) as mock:
        mock.post(f"{PROVIDER}/poll").mock(side_effect=provider)
        resp = await _batch(tracking, shop_id, [_item(ok), _item(flaky), _item(refused)])
        assert resp.json()["created"] == 3
        await _work(tracking)

    states = await _states(tracking, [ok, flaky, refused])
    assert states[ok] == ("subscribed", 1)
    assert states[flaky] == ("subscribed", 2)  # network error: its own job tried again
    assert states[refused] == ("refused", 1)  # 700: flagged at once, not retried
    assert calls == {ok: 1, flaky: 2, refused: 1}

    # Asking again is how a flagged subscription is retried, in a batch as alone.
    with respx.mock(assert_all_called=False) as mock:
        mock.post(f"{PROVIDER}/poll").respond(json={"result": True, "returnCode": "200", "message": "ok"})
        retried = await _batch(tracking, shop_id, [_item(refused)])
        await _work(tracking)
    assert retried.json()["results"][0]["outcome"] == "existing"
    assert (await _states(tracking, [refused]))[refused] == ("subscribed", 1)


async def test_a_batch_is_bounded_and_validated(tracking: TrackingApp, shop_id: str) -> None:
    empty = await _batch(tracking, shop_id, [])
    too_many = await _batch(tracking, shop_id, [_item(zto_number()) for _ in range(1001)])
    bad = await _batch(tracking, shop_id, [_item("not-a-number")])
    assert [r.status_code for r in (empty, too_many, bad)] == [422, 422, 422]
    assert empty.json()["error"]["code"] == "validation_error"
    unauthorised = await tracking.client.post(
        "/internal/v1/subscriptions/batch",
        json={"items": [_item(zto_number())]},
        headers={"Authorization": "Bearer nope", "X-Shop-Id": shop_id},
    )
    assert unauthorised.status_code == 401
