"""The dashboard app in-process for unit tests: its lifespan runs, then its session store is swapped for one
over an in-memory stand-in of Redis (the store over a real Redis: tests/integration), so a test needs no
server; the services are respx mocks (dashboard_fakes)."""

from __future__ import annotations

import re
import time
from typing import Any, cast

import httpx
from asgi_lifespan import LifespanManager
from redis.asyncio import Redis

from services.dashboard.main import create_app
from services.dashboard.session import SessionStore
from services.dashboard.web import State
from tests.unit.dashboard.dashboard_fakes import settings

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class MemoryRedis:
    """The four commands SessionStore uses, with their PX and XX options."""

    def __init__(self) -> None:
        self.data: dict[str, tuple[bytes, float]] = {}

    def _live(self, key: str) -> bytes | None:
        found = self.data.get(key)
        if found is None or found[1] <= time.monotonic():
            self.data.pop(key, None)
            return None
        return found[0]

    async def get(self, key: str) -> bytes | None:
        return self._live(key)

    async def set(self, key: str, value: str, px: int, xx: bool = False) -> bool:
        if xx and self._live(key) is None:
            return False
        self.data[key] = (value.encode(), time.monotonic() + px / 1000)
        return True

    async def delete(self, key: str) -> int:
        return 1 if self.data.pop(key, None) is not None else 0

    async def ping(self) -> bool:
        return True


class dashboard:  # noqa: N801 - used like a function: ``async with dashboard() as client``
    """A dashboard app and a client of it (``other()``: another browser on the same app)."""

    def __init__(self, **changes: Any) -> None:
        self.settings = settings(**changes)
        self.app = create_app(self.settings)
        self._lifespan = LifespanManager(self.app)
        self._clients: list[httpx.AsyncClient] = []
        self.redis = MemoryRedis()

    def other(self) -> httpx.AsyncClient:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://dash.test")
        self._clients.append(client)
        return client

    async def __aenter__(self) -> httpx.AsyncClient:
        await self._lifespan.__aenter__()
        st: State = self.app.state.dashboard
        st.sessions = SessionStore(
            cast(Redis, self.redis), self.settings.secret_key.get_secret_value(), idle_s=3600, max_s=86400
        )
        return self.other()

    async def __aexit__(self, *exc: object) -> None:
        for client in self._clients:
            await client.aclose()
        await self._lifespan.__aexit__(None, None, None)


async def sign_in(dash: httpx.AsyncClient, key: str) -> httpx.Response:
    form = await dash.get("/login")
    return await dash.post("/login", data={"api_key": key, "csrf_token": csrf_of(form)})


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found is not None, page.text[:500]
    return found.group(1)
