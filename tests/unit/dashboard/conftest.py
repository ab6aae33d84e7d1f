"""Fixtures of the dashboard's app tests: the app, the services mocked as one shop's day, and a browser
signed in as that shop (or as an operator)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import respx

from tests.unit.dashboard.dashboard_app import dashboard, sign_in
from tests.unit.dashboard.dashboard_fakes import ADMIN, SHOP_KEY, TRACK, mock_shop


@dataclass
class Services:
    """The respx router of the mocked services, and mock_shop's routes by name."""

    router: respx.MockRouter
    routes: dict[str, respx.Route]

    def get(self, *args: Any, **kwargs: Any) -> respx.Route:
        return self.router.get(*args, **kwargs)

    def post(self, *args: Any, **kwargs: Any) -> respx.Route:
        return self.router.post(*args, **kwargs)

    def put(self, *args: Any, **kwargs: Any) -> respx.Route:
        return self.router.put(*args, **kwargs)

    def patch(self, *args: Any, **kwargs: Any) -> respx.Route:
        return self.router.patch(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> respx.Route:
        return self.router.delete(*args, **kwargs)

    def route(self, *args: Any, **kwargs: Any) -> respx.Route:
        return self.router.route(*args, **kwargs)

    def calls(self, method: str) -> list[httpx.Request]:
        """Every request of this method the services received."""
        return [c.request for c in self.router.calls if c.request.method == method]


@pytest.fixture
def services() -> Iterator[Services]:
    """The three services, mocked as one shop's day (dashboard_fakes.mock_shop); a test adds its routes
    (the same pattern again replaces one)."""
    with respx.mock(assert_all_called=False) as router:
        routes = mock_shop(router)
        router.get(f"{TRACK}/internal/v1/clock").respond(json={"now": "x", "factor": 1, "simulated": False})
        yield Services(router, routes)


@pytest.fixture
async def app() -> AsyncIterator[dashboard]:
    running = dashboard()
    async with running:
        yield running


@pytest.fixture
async def shop(app: dashboard, services: Services) -> httpx.AsyncClient:
    """A browser signed in with the shop's key."""
    browser = app.other()
    signed = await sign_in(browser, SHOP_KEY)
    assert signed.status_code == 303, signed.text
    return browser


@pytest.fixture
async def operator(app: dashboard, services: Services) -> httpx.AsyncClient:
    """A browser signed in with the admin key."""
    browser = app.other()
    signed = await sign_in(browser, ADMIN)
    assert signed.status_code == 303, signed.text
    return browser


@pytest.fixture(autouse=True)
def no_retry_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client's wait between two tries of a call, skipped: a test of a service down stays quick."""

    async def skip(seconds: float) -> None:
        return None

    monkeypatch.setattr("waybill_client._transport.asleep", skip)
