"""The whole system in this process (tests/live.py), a shop with a key and some money, and the
operations of each service's OpenAPI schema for schemathesis to generate requests against."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.live import LiveSystem, live_system
from tests.support import ADMIN_KEY, Env, bearer

# Examples per operation; CI keeps the default, a longer hunt sets FUZZ_EXAMPLES=500.
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))


@dataclass
class FuzzWorld:
    system: LiveSystem
    shop_id: str
    shop_key: str

    def url(self, service: str) -> str:
        return self.system.urls[service]


@pytest.fixture(scope="session")
def fuzz_world(env: Env) -> Iterator[FuzzWorld]:
    # No rate limit: hypothesis sends its examples as fast as it can with one key.
    with live_system(log_level="WARNING", rate_limit_per_s=0) as system:
        alloc = system.urls["allocation"]
        with httpx.Client(base_url=alloc, timeout=30) as client:
            resp = client.post("/v1/shops", json={"name": "模糊测试店"}, headers=bearer(ADMIN_KEY))
            assert resp.status_code == 201, resp.text
            shop = resp.json()
            top = client.post(
                f"/v1/shops/{shop['id']}/topups", json={"amount_cents": 1_000_000}, headers=bearer(ADMIN_KEY)
            )
            assert top.status_code == 201, top.text
        yield FuzzWorld(system, shop["id"], shop["api_key"])
