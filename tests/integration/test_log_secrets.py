"""No secret reaches the logs. Every line the services, their jobs and the libraries under them print
(at DEBUG, the most talkative level) is captured through a full flow - a shop and its key, a top-up, a
purchase from the couriers, an order from the marketplace, shipping it with the shop's marketplace
session, webhooks signed with the endpoint's secret, a tracking subscription with the provider key and
a signed push - and searched for every secret the flow used."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from runtime.db import make_engine
from tests.integration.tracking.support import NORMAL, Journey
from tests.live import LiveSystem, live_system
from tests.support import ADMIN_KEY, INTERNAL_KEY, Env, bearer, run_jobs


def _clear_settings() -> None:
    from services.allocation.settings import get_settings as allocation_settings
    from services.shipping.settings import get_settings as shipping_settings
    from services.tracking.settings import get_settings as tracking_settings

    for cached in (allocation_settings, shipping_settings, tracking_settings):
        cached.cache_clear()


async def _until(check: Callable[[], Awaitable[Any]], what: str, within: float = 60) -> Any:
    loop = asyncio.get_running_loop()
    start = loop.time()
    deadline = start + within
    while True:
        found = await check()
        if found:
            print(f"log-secrets flow: {what} after {loop.time() - start:.1f} s")
            return found
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


def _ok(resp: httpx.Response, *codes: int) -> Any:
    assert resp.status_code in codes, f"{resp.request.method} {resp.request.url}: {resp.status_code} {resp.text}"
    return resp.json()


async def _jobs(service: str) -> int:
    if service == "allocation":
        from services.allocation.tasks import WorkerSettings as AllocationWorker

        return await run_jobs(AllocationWorker)
    if service == "shipping":
        from services.shipping.tasks import WorkerSettings as ShippingWorker

        return await run_jobs(ShippingWorker)
    from services.tracking.tasks import worker_settings

    # Without the ingestion loops, which would keep a burst worker running.
    return await run_jobs(worker_settings(background_loops=False))


async def _flow(s: LiveSystem, env: Env, http: httpx.AsyncClient) -> set[str]:
    """Runs the flow; returns every secret it used."""
    alloc, ship, track, sandbox = (s.urls[n] for n in ("allocation", "shipping", "tracking", "sandbox"))
    admin = bearer(ADMIN_KEY)
    shop = _ok(await http.post(f"{alloc}/v1/shops", json={"name": "日志店"}, headers=admin), 201)
    key = shop["api_key"]
    h = bearer(key)
    _ok(await http.post(f"{alloc}/v1/shops/{shop['id']}/topups", json={"amount_cents": 1_000_000}, headers=admin), 201)
    # A second key, created and revoked: its plaintext must not be logged either.
    second = _ok(await http.post(f"{alloc}/v1/shops/{shop['id']}/keys", json={}, headers=admin), 201)
    purchase = _ok(
        await http.post(
            f"{alloc}/v1/purchases",
            json={"carrier": "ZTO", "package_id": "ZTO-1000"},
            headers={**h, "Idempotency-Key": f"log-{shop['id']}"},
        ),
        202,
    )

    async def bought() -> bool:
        await _jobs("allocation")
        got = _ok(await http.get(f"{alloc}/v1/purchases/{purchase['id']}", headers=h), 200)
        return bool(got["status"] == "completed")

    await _until(bought, "the purchase")

    seller = _ok(
        await http.post(f"{sandbox}/control/marketplace/sellers", json={"seller_nick": f"log-{shop['id']}"}), 200
    )
    settings = {
        "seller_nick": seller["seller_nick"],
        "session": seller["session"],
        "sender_name": "日志店",
        "sender_phone": "0571-88886666",
        "sender_address": "浙江省杭州市余杭区文一西路969号",
    }
    _ok(await http.put(f"{ship}/v1/settings", json=settings, headers=h), 200)
    endpoint = _ok(await http.post(f"{ship}/v1/webhook-endpoints", json={"url": f"{sandbox}/nowhere"}, headers=h), 201)
    _ok(
        await http.post(
            f"{sandbox}/control/marketplace/trades",
            json={"seller_nick": seller["seller_nick"], "count": 1, "paid": True},
        ),
        200,
    )

    async def order() -> Any:
        return _ok(await http.get(f"{ship}/v1/orders", headers=h), 200)["data"]

    orders = await _until(order, "the marketplace's order message")
    _ok(await http.post(f"{ship}/v1/orders/{orders[0]['id']}/ship", json={"carrier": "ZTO"}, headers=h), 202)

    async def shipped() -> Any:
        await _jobs("shipping")
        found = _ok(await http.get(f"{ship}/v1/shipments", headers=h), 200)["data"]
        return [x for x in found if x["status"] == "confirmed"]

    shipment = (await _until(shipped, "the shipment's confirmation"))[0]
    number = shipment["number"]

    async def subscribed() -> str | None:
        await _jobs("shipping")
        await _jobs("tracking")
        engine = make_engine(env.database_url, pool_size=1)
        try:
            async with engine.connect() as conn:
                from sqlalchemy import text

                row = (
                    await conn.execute(text("SELECT salt FROM tracking.subscriptions WHERE number = :n"), {"n": number})
                ).first()
        finally:
            await engine.dispose()
        return None if row is None else str(row[0])

    salt = await _until(subscribed, "the tracking subscription")
    from services.tracking.kuaidi100.protocol import push_sign

    param = Journey.of(number, NORMAL).param()
    pushed = await http.post(
        f"{track}/webhooks/tracking/kuaidi100", data={"param": param, "sign": push_sign(param, salt)}
    )
    assert pushed.status_code == 200, pushed.text
    # A forged push, refused: the salt it should have used is not logged while refusing it.
    forged = await http.post(f"{track}/webhooks/tracking/kuaidi100", data={"param": param, "sign": "0" * 32})
    assert forged.status_code == 400
    revoked = await http.delete(f"{alloc}/v1/shops/{shop['id']}/keys/{second['key_id']}", headers=admin)
    assert revoked.status_code == 204, revoked.text
    # A wrong key and the right one sent badly: the refusal is logged, the key is not.
    assert (await http.get(f"{ship}/v1/orders", headers=bearer(key + "x"))).status_code == 401
    assert (await http.get(f"{ship}/v1/orders", headers={"X-Api-Key": second["api_key"]})).status_code == 401

    from services.shipping.settings import ShippingSettings
    from services.tracking.settings import TrackingSettings

    shipping_settings, tracking_settings = ShippingSettings(), TrackingSettings()
    return {
        ADMIN_KEY,
        INTERNAL_KEY,
        key,
        key.rsplit("_", 1)[1],  # the secret part alone
        second["api_key"],
        seller["session"],
        endpoint["secret"],
        salt,
        shipping_settings.marketplace_app_secret.get_secret_value(),
        tracking_settings.provider_key.get_secret_value(),
    }


async def test_no_secret_is_logged_through_a_full_flow(
    env: Env, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The shop's endpoint answers 404: three quick delivery tries log the signing and the failures without
    # the burst workers waiting out the production backoff (about ten minutes over eight tries).
    monkeypatch.setenv("SHIPPING_WEBHOOK_RETRY_BASE_S", "0.05")
    monkeypatch.setenv("SHIPPING_WEBHOOK_MAX_TRIES", "3")
    # The shop's endpoint is the sandbox, on plain http at 127.0.0.1: allowed for this test only.
    monkeypatch.setenv("SHIPPING_WEBHOOK_ALLOW_HTTP", "true")
    monkeypatch.setenv("SHIPPING_WEBHOOK_ALLOWED_INTERNAL_HOSTS", "127.0.0.1")
    _clear_settings()
    try:
        with live_system(log_level="DEBUG", rate_limit_per_s=0) as system:
            _clear_settings()  # the in-process workers read the wiring live_system put in the environment
            async with httpx.AsyncClient(timeout=30) as http:
                secrets = await _flow(system, env, http)
    finally:
        _clear_settings()
    out, err = capfd.readouterr()
    logs = out + err
    # The capture saw the flow (a silent capture would make the search below meaningless).
    for expected in ('"route":"/v1/orders/{order_id}/ship"', '"route":"/webhooks/tracking/kuaidi100"', "push_refused"):
        assert expected in logs, f"{expected} not in the captured logs"
    found = sorted(s for s in secrets if s in logs)
    assert found == [], f"secrets in the logs: {found}"
