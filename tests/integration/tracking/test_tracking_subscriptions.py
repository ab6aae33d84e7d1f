"""Subscriptions: idempotent, shop-scoped, subscribed with the provider by a worker with retries and flags."""

from __future__ import annotations

import json
from typing import Any

import httpx
import respx

from tests.integration.tracking.conftest import TrackingApp
from tests.integration.tracking.support import PROVIDER, PUBLIC, fetch, shop_headers, subscribe, zto_number
from tests.support import run_jobs


async def _work(tracking: TrackingApp) -> None:
    from services.tracking.tasks import worker_settings

    worker = worker_settings(background_loops=False)

    await run_jobs(
        worker,
        max_tries=3,
        on_startup=tracking.on_startup_with_clock(worker),
    )


def _answer(code: str, ok: bool = False) -> httpx.Response:
    return httpx.Response(200, json={"result": ok, "returnCode": code, "message": "m"})


async def _provider_state(tracking: TrackingApp, number: str) -> dict[str, Any]:
    rows = await fetch(
        tracking.database_url,
        "SELECT provider_state, provider_code, subscribe_attempts FROM tracking.subscriptions WHERE number = $1",
        number,
    )
    return dict(rows[0])


async def test_subscription_is_idempotent_and_subscribed_by_the_worker(tracking: TrackingApp, shop_id: str) -> None:
    number = zto_number()
    first = await subscribe(tracking.client, shop_id, number)
    assert first.status_code == 201, first.text
    assert first.json() == {
        "carrier": "ZTO",
        "number": number,
        "order_id": f"o-{number}",
        "status": "pending",
        "subscribed": False,
    }
    again = await subscribe(tracking.client, shop_id, number)
    assert again.status_code == 200
    sent: list[dict[str, Any]] = []

    def provider(request: httpx.Request) -> httpx.Response:
        form = dict(httpx.QueryParams(request.content.decode()))
        sent.append(json.loads(form["param"]))
        return _answer("200", ok=True)

    with respx.mock(assert_all_called=False) as mock:
        mock.post(f"{PROVIDER}/poll").mock(side_effect=provider)
        await _work(tracking)
    assert len(sent) == 1  # the repeat did not subscribe twice
    param = sent[0]
    assert param["company"] == "zhongtong"
    assert param["number"] == number
    assert param["key"] == "sandbox-key"
    assert param["parameters"]["callbackurl"] == f"{PUBLIC}/webhooks/tracking/kuaidi100"
    assert len(param["parameters"]["salt"]) >= 16
    assert (await _provider_state(tracking, number))["provider_state"] == "subscribed"
    view = await tracking.client.get(f"/v1/trackings/{number}", headers=shop_headers(shop_id))
    assert view.status_code == 200
    assert view.json()["subscription"]["state"] == "subscribed"


async def test_each_subscription_has_its_own_salt(tracking: TrackingApp, shop_id: str) -> None:
    a, b = zto_number(), zto_number()
    await subscribe(tracking.client, shop_id, a)
    await subscribe(tracking.client, shop_id, b)
    rows = await fetch(tracking.database_url, "SELECT salt FROM tracking.subscriptions WHERE number = ANY($1)", [a, b])
    assert len({r["salt"] for r in rows}) == 2


async def test_the_same_number_for_another_order_or_shop_is_refused(
    tracking: TrackingApp, shop_id: str, other_shop_id: str
) -> None:
    number = zto_number()
    assert (await subscribe(tracking.client, shop_id, number)).status_code == 201
    other = await subscribe(tracking.client, other_shop_id, number)
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "conflict"
    assert (await subscribe(tracking.client, shop_id, number, order_id="another")).status_code == 409


async def test_subscriptions_need_the_internal_key(tracking: TrackingApp, shop_id: str) -> None:
    resp = await tracking.client.post(
        "/internal/v1/subscriptions", json={}, headers={"Authorization": "Bearer nope", "X-Shop-Id": shop_id}
    )
    assert resp.status_code == 401


async def test_already_subscribed_501_is_success(tracking: TrackingApp, shop_id: str) -> None:
    number = zto_number()
    await subscribe(tracking.client, shop_id, number)
    with respx.mock(assert_all_called=False) as mock:
        mock.post(f"{PROVIDER}/poll").mock(return_value=_answer("501"))
        await _work(tracking)
    state = await _provider_state(tracking, number)
    assert (state["provider_state"], state["provider_code"]) == ("subscribed", "501")


async def test_bad_data_and_unknown_carrier_are_flagged_at_once(tracking: TrackingApp, shop_id: str) -> None:
    for code in ("700", "702"):
        number = zto_number()
        await subscribe(tracking.client, shop_id, number)
        with respx.mock(assert_all_called=False) as mock:
            route = mock.post(f"{PROVIDER}/poll").mock(return_value=_answer(code))
            await _work(tracking)
        assert route.call_count == 1
        state = await _provider_state(tracking, number)
        assert (state["provider_state"], state["provider_code"]) == ("refused", code)
        view = (await tracking.client.get(f"/v1/trackings/{number}", headers=shop_headers(shop_id))).json()
        assert view["subscription"]["state"] == "refused"


async def test_provider_errors_are_retried_then_flagged(tracking: TrackingApp, shop_id: str) -> None:
    number = zto_number()
    await subscribe(tracking.client, shop_id, number)
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(f"{PROVIDER}/poll").mock(
            side_effect=[_answer("500"), httpx.ConnectError("down"), _answer("200", ok=True)]
        )
        await _work(tracking)
    assert route.call_count == 3
    assert (await _provider_state(tracking, number))["provider_state"] == "subscribed"

    refused = zto_number()
    await subscribe(tracking.client, shop_id, refused)
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(f"{PROVIDER}/poll").mock(return_value=_answer("701"))
        await _work(tracking)
    assert route.call_count == 3  # TRACKING_SUBSCRIBE_MAX_TRIES
    state = await _provider_state(tracking, refused)
    assert (state["provider_state"], state["subscribe_attempts"]) == ("refused", 3)

    # Shipping asking again retries a flagged subscription.
    assert (await subscribe(tracking.client, shop_id, refused)).status_code == 200
    with respx.mock(assert_all_called=False) as mock:
        mock.post(f"{PROVIDER}/poll").mock(return_value=_answer("200", ok=True))
        await _work(tracking)
    assert (await _provider_state(tracking, refused))["provider_state"] == "subscribed"


async def test_other_shops_see_nothing(tracking: TrackingApp, shop_id: str, other_shop_id: str) -> None:
    number = zto_number()
    await subscribe(tracking.client, shop_id, number, order_id="order-77")
    assert (
        await tracking.client.get(f"/v1/trackings/{number}", headers=shop_headers(other_shop_id))
    ).status_code == 404
    assert (
        await tracking.client.get("/v1/orders/order-77/tracking", headers=shop_headers(other_shop_id))
    ).status_code == 404
    mine = await tracking.client.get("/v1/orders/order-77/tracking", headers=shop_headers(shop_id))
    assert mine.status_code == 200
    assert [p["number"] for p in mine.json()["parcels"]] == [number]
