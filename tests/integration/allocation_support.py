"""Helpers for allocation tests: seeding stock, a fake courier for respx."""

from __future__ import annotations

import itertools
import json
import random
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx
import respx

from runtime.db import make_engine, make_sessionmaker, transaction
from runtime.redis_clients import open_redis
from runtime.resources import open_core
from services.allocation.models import Outbox
from services.allocation.repository.pools import PoolRepository
from services.allocation.repository.waybills import WaybillRepository
from services.allocation.resources import AllocationResources, open_resources
from tests.support import Env, run_jobs

_counter = itertools.count(1)


def zto_numbers(count: int) -> list[str]:
    """14-digit ZTO numbers, unique within a test run (random prefix + counter)."""
    prefix = random.randrange(100_000, 999_999)
    start = next(_counter) * 1_000_000
    return [f"{prefix}{start + i:08d}"[-14:] for i in range(count)]


async def seed_numbers(
    env: Env, shop_id: str, carrier: str, numbers: list[str], *, expires_in: timedelta = timedelta(days=90)
) -> int:
    """Put numbers straight into a shop's pool (the purchase path has its own tests)."""
    engine = make_engine(env.database_url, pool_size=1)
    try:
        async with transaction(make_sessionmaker(engine), None) as uow:
            pool = await PoolRepository(uow.session).get_or_create(shop_id, carrier)
            await WaybillRepository(uow.session).insert_numbers(
                numbers,
                carrier=carrier,
                pool_id=pool.id,
                purchase_id=None,
                expires_at=datetime.now(UTC) + expires_in,
            )
            return pool.id
    finally:
        await engine.dispose()


@asynccontextmanager
async def worker_resources() -> AsyncIterator[AllocationResources]:
    """The allocation worker's Resources, built as its startup builds them, for running a job by hand."""
    from services.allocation.settings import get_settings  # read after the env fixture pointed it here

    settings = get_settings()
    redis = open_redis(settings.redis_url)
    res = await open_resources(open_core("allocation", settings, Outbox, redis))
    try:
        yield res
    finally:
        await res.aclose()
        await redis.aclose()


def worker_ctx(res: AllocationResources, job_try: int = 1) -> dict[str, Any]:
    """The arq context a job of try ``job_try`` sees."""
    return {"resources": res, "job_try": job_try}


class FakeCourier:
    """Answers the courier gateway like the real one (idempotent per object id)."""

    def __init__(self, carrier_numbers: Callable[[int], list[str]] = zto_numbers) -> None:
        self.issued: dict[str, list[str]] = {}
        self.calls: list[str] = []
        self.failures: list[httpx.Response] = []
        self.make_numbers = carrier_numbers

    def __call__(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        self.calls.append(form["msg_type"])
        if self.failures:
            return self.failures.pop(0)
        body = json.loads(form["logistics_interface"])
        expire = (datetime.now(UTC) + timedelta(days=body.get("validity_days", 90))).isoformat()
        if form["msg_type"] == "TMS_WAYBILL_GET":
            cols = []
            for dto in body["trade_order_info_dtos"]:
                numbers = self.issued.setdefault(dto["object_id"], self.make_numbers(dto["quantity"]))
                cols.append({"object_id": dto["object_id"], "waybill_codes": numbers, "expire_time": expire})
            return httpx.Response(200, json={"success": True, "waybill_apply_new_cols": cols})
        if form["msg_type"] == "TMS_WAYBILL_QUERY_BY_OBJECT":
            found = self.issued.get(body["object_id"])
            if found is None:
                return httpx.Response(200, json={"success": False, "errorCode": "object.not-exist", "errorMsg": "no"})
            col = {"object_id": body["object_id"], "waybill_codes": found, "expire_time": expire}
            return httpx.Response(200, json={"success": True, "waybill_apply_new_cols": [col]})
        if form["msg_type"] == "TMS_WAYBILL_DISCARD":
            return httpx.Response(200, json={"success": True})
        return httpx.Response(200, json={"success": False, "errorCode": "isv.unknown-msg-type", "errorMsg": "?"})


# --- buying through the API, with the courier faked --------------------------------------------

GATEWAY = "http://courier.test/courier/gateway"


async def add_package(
    client: httpx.AsyncClient, admin: dict[str, str], quantity: int, price_cents: int, extension_fee: int = 0
) -> str:
    """A ZTO package of this test's own (a price that does not divide evenly shows the rounding)."""
    package_id = f"T-{uuid.uuid4().hex[:12]}"
    body = {
        "id": package_id,
        "quantity": quantity,
        "price_cents": price_cents,
        "validity_days": 90,
        "extension_fee_cents_per_30_days": extension_fee,
    }
    resp = await client.post("/v1/carriers/ZTO/packages", json=body, headers=admin)
    assert resp.status_code == 201, resp.text
    return package_id


async def start_purchase(
    client: httpx.AsyncClient, shop_headers: dict[str, str], admin: dict[str, str], shop_id: str, package_id: str
) -> dict[str, Any]:
    """Top up the package's price and buy it: the purchase is pending until the worker runs."""
    packages = (await client.get("/v1/carriers/ZTO", headers=shop_headers)).json()["packages"]
    price = next(p["price_cents"] for p in packages if p["id"] == package_id)
    topup = await client.post(f"/v1/shops/{shop_id}/topups", json={"amount_cents": price}, headers=admin)
    assert topup.status_code == 201, topup.text
    resp = await client.post(
        "/v1/purchases",
        json={"carrier": "ZTO", "package_id": package_id},
        headers={**shop_headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert resp.status_code == 202, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def run_allocation_jobs(numbers: list[str] | None = None) -> None:
    """Run the allocation worker's queued jobs; the courier issues ``numbers`` (else fresh ones)."""
    from services.allocation.tasks import WorkerSettings

    courier = FakeCourier() if numbers is None else FakeCourier(lambda n: list(numbers[:n]))
    with respx.mock(assert_all_called=False) as mock:
        mock.post(GATEWAY).mock(side_effect=courier)
        await run_jobs(WorkerSettings, max_tries=3)
