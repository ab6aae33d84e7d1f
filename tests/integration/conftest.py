"""App clients for integration tests: each service's real app on this worker's database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from tests.support import ADMIN_KEY, Env, app_client, bearer


@dataclass
class ShopCreds:
    id: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.key)


@pytest.fixture(scope="session")
async def allocation_client(env: Env) -> AsyncIterator[httpx.AsyncClient]:
    from services.allocation.main import create_app
    from services.allocation.settings import AllocationSettings

    async with app_client(create_app(AllocationSettings())) as client:
        yield client


@pytest.fixture(scope="session")
def admin() -> dict[str, str]:
    return bearer(ADMIN_KEY)


async def make_shop(client: httpx.AsyncClient, name: str = "测试店铺") -> ShopCreds:
    resp = await client.post("/v1/shops", json={"name": name}, headers=bearer(ADMIN_KEY))
    assert resp.status_code == 201, resp.text
    body = resp.json()
    return ShopCreds(body["id"], body["api_key"])


@pytest.fixture
async def shop(allocation_client: httpx.AsyncClient) -> ShopCreds:
    return await make_shop(allocation_client)


@pytest.fixture
async def other_shop(allocation_client: httpx.AsyncClient) -> ShopCreds:
    return await make_shop(allocation_client, "别家店铺")
