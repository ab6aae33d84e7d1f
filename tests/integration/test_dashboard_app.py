"""The dashboard app in-process (ASGITransport) over mocked services (respx): sign-in and its cookie,
CSRF on every form, the pages, acknowledging an alert, errors shown as the service's message."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
import respx
from asgi_lifespan import LifespanManager

from services.dashboard.main import create_app
from services.dashboard.session import SESSION_COOKIE
from services.dashboard.settings import DashboardSettings
from tests.unit.dashboard.dashboard_fakes import (
    ADMIN,
    ALLOC,
    SHIP,
    SHOP,
    SHOP_KEY,
    TRACK,
    alert,
    error,
    mock_shop,
    settings,
)

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
async def dash() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings())
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://dash.test") as client,
    ):
        yield client


async def sign_in(dash: httpx.AsyncClient, key: str) -> httpx.Response:
    form = await dash.get("/login")
    token = CSRF.search(form.text)
    assert token is not None
    return await dash.post("/login", data={"api_key": key, "csrf_token": token.group(1)})


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found is not None
    return found.group(1)


async def test_without_a_session_every_page_sends_you_to_sign_in(dash: httpx.AsyncClient) -> None:
    for path in ("/", f"/shops/{SHOP}", "/shop?shop_id=s-1"):
        resp = await dash.get(path)
        assert (resp.status_code, resp.headers["location"]) == (303, "/login"), path
    ack = await dash.post(f"/shops/{SHOP}/alerts/41/ack", data={"csrf_token": "x"})
    assert ack.status_code == 401


async def test_a_shop_signs_in_and_sees_its_numbers(dash: httpx.AsyncClient) -> None:
    with respx.mock(assert_all_called=False) as router:
        mock_shop(router)
        signed = await sign_in(dash, SHOP_KEY)
        assert (signed.status_code, signed.headers["location"]) == (303, "/")
        cookie = next(h for h in signed.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE + "="))
        assert "httponly" in cookie.lower()
        assert "samesite=strict" in cookie.lower()
        page = await dash.get("/")

    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    text = page.text
    assert "杭州小铺" in text
    assert "balance ¥1,234.56" in text
    assert re.search(r'data-carrier="ZTO">.*?data-col="available">995<', text, re.S)
    assert re.search(r'data-carrier="YTO">.*?data-testid="low-stock">low stock<', text, re.S)
    assert re.search(r'data-batch="b-new">.*?<progress max="10" value="4"></progress> 40%', text, re.S)
    assert '<meta http-equiv="refresh"' in text  # a batch is in progress: the page follows it
    assert 'data-alert="41"' in text
    assert "Acknowledge" in text
    assert re.search(r'data-number="N0002">.*?data-col="tracking">in_transit<', text, re.S)


async def test_a_tampered_session_cookie_is_no_session(dash: httpx.AsyncClient) -> None:
    with respx.mock(assert_all_called=False) as router:
        mock_shop(router)
        await sign_in(dash, SHOP_KEY)
    value = dash.cookies[SESSION_COOKIE]
    body, mac = value.rsplit(".", 1)
    dash.cookies.set(SESSION_COOKIE, body + "A." + mac, domain="dash.test")
    resp = await dash.get("/")
    assert (resp.status_code, resp.headers["location"]) == (303, "/login")


async def test_sign_in_needs_the_forms_token_and_a_valid_key(dash: httpx.AsyncClient) -> None:
    await dash.get("/login")
    forged = await dash.post("/login", data={"api_key": SHOP_KEY, "csrf_token": "guessed"})
    assert forged.status_code == 403
    assert SESSION_COOKIE + "=" not in forged.headers.get("set-cookie", "")
    with respx.mock() as router:
        router.get(f"{ALLOC}/v1/balance").mock(return_value=error(401, "unauthorized", "invalid or revoked API key"))
        refused = await sign_in(dash, "wbk_bad_key")
    assert refused.status_code == 401
    assert "allocation: invalid or revoked API key" in refused.text
    assert "Traceback" not in refused.text
    with respx.mock() as router:
        router.route(host="alloc.test").mock(side_effect=httpx.ConnectError("refused"))
        down = await sign_in(dash, "wbk_any_key")
    assert down.status_code == 503
    assert "allocation is unavailable" in down.text


async def test_acknowledge_needs_the_sessions_csrf_token(dash: httpx.AsyncClient) -> None:
    with respx.mock(assert_all_called=False) as router:
        mock_shop(router)
        ack = router.post(f"{TRACK}/v1/alerts/41/ack").respond(json=alert(41, "acknowledged"))
        await sign_in(dash, SHOP_KEY)
        page = await dash.get("/")
        forged = await dash.post(f"/shops/{SHOP}/alerts/41/ack", data={"csrf_token": "guessed"})
        assert forged.status_code == 403
        assert not ack.called
        done = await dash.post(f"/shops/{SHOP}/alerts/41/ack", data={"csrf_token": csrf_of(page)})
        assert done.status_code == 303
        assert done.headers["location"] == f"/shops/{SHOP}?acknowledged=41#alerts"
        assert ack.calls.last.request.headers["authorization"] == f"Bearer {SHOP_KEY}"
        router.get(f"{TRACK}/v1/alerts").respond(json=[])
        after = await dash.get(f"/shops/{SHOP}?acknowledged=41")
    assert "alert 41 acknowledged" in after.text
    assert 'data-alert="41"' not in after.text
    assert "No open alerts." in after.text


async def test_acknowledge_refused_shows_trackings_message(dash: httpx.AsyncClient) -> None:
    with respx.mock(assert_all_called=False) as router:
        mock_shop(router)
        router.post(f"{TRACK}/v1/alerts/41/ack").mock(
            return_value=error(409, "invalid_transition", "alert 41 is resolved: it cannot be acknowledged")
        )
        await sign_in(dash, SHOP_KEY)
        page = await dash.get("/")
        resp = await dash.post(f"/shops/{SHOP}/alerts/41/ack", data={"csrf_token": csrf_of(page)})
    assert resp.status_code == 409
    assert "tracking: alert 41 is resolved: it cannot be acknowledged" in resp.text
    assert 'data-carrier="ZTO"' in resp.text  # the rest of the page is still there


async def test_a_shop_sees_only_its_own_shop(dash: httpx.AsyncClient) -> None:
    with respx.mock(assert_all_called=False) as router:
        mock_shop(router)
        await sign_in(dash, SHOP_KEY)
        other = await dash.get("/shops/s-2")
        page = await dash.get("/")
        ack = await dash.post("/shops/s-2/alerts/41/ack", data={"csrf_token": csrf_of(page)})
    assert other.status_code == 404
    assert "shop s-2 not found" in other.text
    assert ack.status_code == 404


async def test_a_service_down_shows_its_panels_unavailable(dash: httpx.AsyncClient) -> None:
    with respx.mock(assert_all_called=False) as router:
        router.route(host="ship.test").mock(side_effect=httpx.ConnectError("refused"))
        mock_shop(router)
        await sign_in(dash, SHOP_KEY)
        page = await dash.get("/")
    assert page.status_code == 200
    assert page.text.count("shipping is unavailable (it did not answer)") == 2
    assert 'data-col="available">995<' in page.text
    assert 'data-alert="41"' in page.text


async def test_operator_overview_and_drill_down(dash: httpx.AsyncClient) -> None:
    with respx.mock(assert_all_called=False) as router:
        router.get(f"{TRACK}/internal/v1/clock").respond(json={"now": "x", "factor": 1.0, "simulated": False})
        router.get(f"{ALLOC}/v1/shops").respond(json=[{"id": SHOP, "name": "杭州小铺", "created_at": "x"}])
        mock_shop(router)
        signed = await sign_in(dash, ADMIN)
        assert signed.status_code == 303
        overview = await dash.get("/")
        opened = await dash.get("/shop", params={"shop_id": SHOP})
        odd = await dash.get("/shop", params={"shop_id": "../logout"})
        page = await dash.get(opened.headers["location"])
    assert re.search(
        rf'data-shop="{SHOP}">.*?杭州小铺.*?class="flag low">YTO<.*?<td class="num">1</td>', overview.text, re.S
    )
    assert opened.headers["location"] == f"/shops/{SHOP}"
    assert odd.headers["location"] == "/shops/..%2Flogout"
    assert page.status_code == 200
    assert "every shop" in page.text
    assert 'data-col="available">995<' in page.text


async def test_operator_overview_links_the_next_page_of_shops() -> None:
    app = create_app(settings(overview_shops=1))
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://dash.test") as client,
    ):
        with respx.mock(assert_all_called=False) as router:
            router.get(f"{TRACK}/internal/v1/clock").respond(json={"now": "x", "factor": 1.0, "simulated": False})
            shops = router.get(f"{ALLOC}/v1/shops").respond(
                json=[
                    {"id": SHOP, "name": "杭州小铺", "created_at": "x"},
                    {"id": "s-zz", "name": "b", "created_at": "x"},
                ]
            )
            mock_shop(router)
            await sign_in(client, ADMIN)
            first = await client.get("/")
            second = await client.get("/", params={"after": SHOP})
            bad = await client.get("/", params={"after": "x' OR 1=1"})
    assert f'href="/?after={SHOP}" rel="next"' in first.text
    assert "First shops" not in first.text
    assert shops.calls[-1].request.url.params["after"] == SHOP
    assert "First shops" in second.text
    assert bad.status_code == 422


async def test_operator_overview_without_allocations_shop_list(dash: httpx.AsyncClient) -> None:
    with respx.mock(assert_all_called=False) as router:
        router.get(f"{TRACK}/internal/v1/clock").respond(json={"now": "x", "factor": 1.0, "simulated": False})
        router.get(f"{ALLOC}/v1/shops").mock(return_value=error(405, "method_not_allowed", "Method Not Allowed"))
        await sign_in(dash, ADMIN)
        overview = await dash.get("/")
    assert overview.status_code == 200
    assert "allocation: Method Not Allowed" in overview.text
    assert 'action="/shop"' in overview.text


async def test_sign_out_needs_the_token_and_ends_the_session(dash: httpx.AsyncClient) -> None:
    with respx.mock(assert_all_called=False) as router:
        mock_shop(router)
        await sign_in(dash, SHOP_KEY)
        page = await dash.get("/")
        assert (await dash.post("/logout", data={"csrf_token": "guessed"})).status_code == 403
        out = await dash.post("/logout", data={"csrf_token": csrf_of(page)})
    assert out.headers["location"] == "/login"
    assert (await dash.get("/")).headers["location"] == "/login"


async def test_health_and_readiness(dash: httpx.AsyncClient) -> None:
    assert (await dash.get("/healthz")).json() == {"status": "ok"}
    with respx.mock() as router:
        router.get(f"{ALLOC}/healthz").respond(json={"status": "ok"})
        router.get(f"{SHIP}/healthz").mock(side_effect=httpx.ConnectError("refused"))
        router.get(f"{TRACK}/healthz").respond(json={"status": "ok"})
        ready = await dash.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["error"]["details"] == {"shipping": "shipping is unavailable (it did not answer)"}


def test_production_refuses_the_placeholder_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAYBILL_ENVIRONMENT", "production")
    with pytest.raises(ValueError, match="secret_key"):
        DashboardSettings()
    monkeypatch.setenv("DASHBOARD_SECRET_KEY", "s" * 32)
    assert DashboardSettings().environment == "production"
    monkeypatch.setenv("DASHBOARD_ENVIRONMENT", "development")  # the dashboard's own variable wins
    assert DashboardSettings().environment == "development"
