"""The dashboard app in-process (ASGITransport) over mocked services (respx) and a real Redis (a claimed
database of its own): sign-in and its server-side session, CSRF on every form, the pages, acknowledging
an alert, errors shown in the seller's language with their code, and Redis down. (Every page and form over
an in-memory session store: tests/unit/dashboard.)"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx
from asgi_lifespan import LifespanManager
from redis.asyncio import Redis

from services.dashboard.main import create_app
from services.dashboard.session import LOGIN_CSRF_COOKIE, REDIS_PREFIX, SESSION_COOKIE, new_session_id, redis_key
from services.dashboard.settings import DashboardSettings
from tests.live import free_port
from tests.support import base_redis_url, empty_redis_db
from tests.unit.dashboard.dashboard_fakes import (
    ADMIN,
    ALLOC,
    SHIP,
    SHOP,
    SHOP_KEY,
    TRACK,
    alert,
    batch,
    error,
    list_page,
    mock_shop,
    settings,
)

AT = "2026-11-28T00:00:00+00:00"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SESSIONS_DOWN = "登录服务暂时不可用，请稍后再试。"


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with empty_redis_db(base_redis_url()) as url:
        yield url


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def dash(redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with dashboard(redis_url=redis_url) as client:
        yield client


class dashboard:  # noqa: N801 - used like a function: ``async with dashboard(...) as client``
    """A dashboard app (lifespan running) and a client of it; another client of the same app with ``other``."""

    def __init__(self, **changes: Any) -> None:
        self.app = create_app(settings(**changes))
        self._lifespan = LifespanManager(self.app)
        self._clients: list[httpx.AsyncClient] = []

    def other(self) -> httpx.AsyncClient:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://dash.test")
        self._clients.append(client)
        return client

    async def __aenter__(self) -> httpx.AsyncClient:
        await self._lifespan.__aenter__()
        return self.other()

    async def __aexit__(self, *exc: object) -> None:
        for client in self._clients:
            await client.aclose()
        await self._lifespan.__aexit__(None, None, None)


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
    for path in ("/", f"/shops/{SHOP}", f"/shops/{SHOP}/orders", "/shop?shop_id=s-1"):
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
        landing = await dash.get("/")
        page = await dash.get(f"/shops/{SHOP}")
        alerts = await dash.get(f"/shops/{SHOP}/alerts")
        shipments = await dash.get(f"/shops/{SHOP}/shipments")

    assert (landing.status_code, landing.headers["location"]) == (303, f"/shops/{SHOP}")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    text = page.text
    assert "杭州小铺" in text
    assert "余额 ¥1,234.56" in text
    assert re.search(r'data-carrier="ZTO">.*?data-col="available">995<', text, re.S)
    assert re.search(r'data-carrier="YTO">.*?data-testid="low-stock">库存不足<', text, re.S)
    assert 'data-batch="b-new"' in text
    assert re.search(r'data-alert="41">.*?揽收超时.*?>确认<', alerts.text, re.S)
    assert re.search(r'data-number="N0002">.*?data-col="tracking">运输中<', shipments.text, re.S)


async def test_the_cookie_is_an_opaque_id_and_redis_holds_neither_it_nor_the_key(
    dash: httpx.AsyncClient, redis: Redis
) -> None:
    with respx.mock(assert_all_called=False) as router:
        mock_shop(router)
        signed = await sign_in(dash, SHOP_KEY)
        page = await dash.get(f"/shops/{SHOP}")
    value = dash.cookies[SESSION_COOKIE]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", value)
    assert SHOP_KEY not in value
    assert SHOP_KEY.encode() not in base64.urlsafe_b64decode(value + "=")
    cookie = next(h for h in signed.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE + "="))
    assert "max-age=604800" in cookie.lower()  # the absolute lifetime, 168 h
    stored = await redis.get(redis_key(value))
    assert stored is not None
    for secret in (SHOP_KEY, value, csrf_of(page)):
        assert secret.encode() not in stored
    assert [k async for k in redis.scan_iter(match=REDIS_PREFIX + "*") if value.encode() in k] == []
    assert 8 * 3600 * 1000 - 5000 < await redis.pttl(redis_key(value)) <= 8 * 3600 * 1000  # the idle timeout


BAD_COOKIES = [
    pytest.param(b"\xc3\xa9", id="non-ascii"),
    pytest.param(b"a.\xc3\xa9", id="non-ascii-after-a-dot"),  # the signed cookie's parser raised on it: 500
    pytest.param(b"\xff\xfe\x00", id="not-utf8"),
    pytest.param(b"A" * 4000, id="too-long"),
    pytest.param(b'"quoted;value"', id="quoted"),
    pytest.param(new_session_id().encode(), id="unknown-id"),
    pytest.param(new_session_id()[:-1].encode() + b"!", id="malformed-id"),
]


@pytest.mark.parametrize("value", BAD_COOKIES)
async def test_a_cookie_that_opens_no_session_sends_you_to_sign_in_never_a_500(
    dash: httpx.AsyncClient, value: bytes
) -> None:
    raw = {b"cookie": SESSION_COOKIE.encode() + b"=" + value}  # the header's bytes as sent, not as httpx would
    for path in ("/", f"/shops/{SHOP}", "/shop?shop_id=s-1"):
        resp = await dash.get(path, headers=raw)
        assert (resp.status_code, resp.headers["location"]) == (303, "/login"), path
    # The useless cookie is dropped.
    assert any(h.startswith(SESSION_COOKIE + '=""') for h in resp.headers.get_list("set-cookie"))
    ack = await dash.post(f"/shops/{SHOP}/alerts/41/ack", data={"csrf_token": "x"}, headers=raw)
    assert ack.status_code == 401
    out = await dash.post("/logout", data={"csrf_token": "x"}, headers=raw)
    assert (out.status_code, out.headers["location"]) == (303, "/login")
    assert (await dash.get("/login", headers=raw)).status_code == 200


async def test_a_non_ascii_sign_in_form_cookie_is_a_refusal_not_a_500(dash: httpx.AsyncClient) -> None:
    form = await dash.get("/login")
    raw = {b"cookie": LOGIN_CSRF_COOKIE.encode() + b"=a.\xc3\xa9"}
    resp = await dash.post("/login", data={"api_key": SHOP_KEY, "csrf_token": csrf_of(form)}, headers=raw)
    assert resp.status_code == 403
    assert "表单已过期" in resp.text


async def test_a_tampered_session_id_is_no_session(dash: httpx.AsyncClient) -> None:
    with respx.mock(assert_all_called=False) as router:
        mock_shop(router)
        await sign_in(dash, SHOP_KEY)
        value = dash.cookies[SESSION_COOKIE]
        assert (await dash.get(f"/shops/{SHOP}")).status_code == 200
        dash.cookies.set(SESSION_COOKIE, value[:-1] + ("A" if value[-1] != "A" else "B"), domain="dash.test")
        resp = await dash.get("/")
    assert (resp.status_code, resp.headers["location"]) == (303, "/login")


async def test_sign_out_ends_the_session_on_the_server_so_a_replayed_cookie_opens_nothing(
    dash: httpx.AsyncClient, redis: Redis
) -> None:
    with respx.mock(assert_all_called=False) as router:
        mock_shop(router)
        await sign_in(dash, SHOP_KEY)
        page = await dash.get(f"/shops/{SHOP}")
        value = dash.cookies[SESSION_COOKIE]
        out = await dash.post("/logout", data={"csrf_token": csrf_of(page)})
        assert out.headers["location"] == "/login"
        assert not await redis.exists(redis_key(value))
        # An attacker (or the back button) replays the cookie the browser was told to forget.
        dash.cookies.set(SESSION_COOKIE, value, domain="dash.test")
        replayed = await dash.get("/")
        ack = await dash.post(f"/shops/{SHOP}/alerts/41/ack", data={"csrf_token": csrf_of(page)})
    assert (replayed.status_code, replayed.headers["location"]) == (303, "/login")
    assert ack.status_code == 401


async def test_every_sign_in_starts_a_new_session_and_ends_the_previous_one(dash: httpx.AsyncClient) -> None:
    planted = new_session_id()  # a fixation attempt: an id chosen before the victim signs in
    dash.cookies.set(SESSION_COOKIE, planted, domain="dash.test")
    with respx.mock(assert_all_called=False) as router:
        mock_shop(router)
        await sign_in(dash, SHOP_KEY)
        first = dash.cookies[SESSION_COOKIE]
        await sign_in(dash, SHOP_KEY)
        second = dash.cookies[SESSION_COOKIE]
        assert len({planted, first, second}) == 3
        assert (await dash.get(f"/shops/{SHOP}")).status_code == 200
        dash.cookies.set(SESSION_COOKIE, first, domain="dash.test")
        old = await dash.get("/")
    assert (old.status_code, old.headers["location"]) == (303, "/login")


async def test_each_session_has_its_own_csrf_secret(redis_url: str) -> None:
    app = dashboard(redis_url=redis_url)
    async with app as alice:
        bob = app.other()
        with respx.mock(assert_all_called=False) as router:
            mock_shop(router)
            ack = router.post(f"{TRACK}/v1/alerts/41/ack").respond(json=alert(41, "acknowledged"))
            await sign_in(alice, SHOP_KEY)
            await sign_in(bob, SHOP_KEY)
            alices, bobs = csrf_of(await alice.get(f"/shops/{SHOP}")), csrf_of(await bob.get(f"/shops/{SHOP}"))
            assert alices != bobs
            crossed = await bob.post(f"/shops/{SHOP}/alerts/41/ack", data={"csrf_token": alices})
            assert crossed.status_code == 403
            assert not ack.called
            own = await bob.post(f"/shops/{SHOP}/alerts/41/ack", data={"csrf_token": bobs})
            assert own.status_code == 303


def closed_port_url() -> str:
    return f"redis://127.0.0.1:{free_port()}/0"  # bound once, then closed: nothing listens there


async def test_redis_down_the_sign_in_page_renders_and_sessions_answer_503(monkeypatch: pytest.MonkeyPatch) -> None:
    # Through REDIS_URL, as make run, compose and Kubernetes give it.
    monkeypatch.delenv("DASHBOARD_REDIS_URL", raising=False)
    monkeypatch.setenv("REDIS_URL", closed_port_url())
    live = {"cookie": f"{SESSION_COOKIE}={new_session_id()}"}
    async with dashboard() as dash:
        form = await dash.get("/login", headers=live)
        assert form.status_code == 200
        assert 'name="api_key"' in form.text
        with respx.mock(assert_all_called=False) as router:
            mock_shop(router)
            signed = await sign_in(dash, SHOP_KEY)
        assert signed.status_code == 503
        assert SESSIONS_DOWN in signed.text
        assert SESSION_COOKIE not in dash.cookies
        for resp in (
            await dash.get("/", headers=live),
            await dash.get(f"/shops/{SHOP}", headers=live),
            await dash.post(f"/shops/{SHOP}/alerts/41/ack", data={"csrf_token": "x"}, headers=live),
            await dash.post("/logout", data={"csrf_token": "x"}, headers=live),
        ):
            assert resp.status_code == 503, resp.request.url
            assert SESSIONS_DOWN in resp.text
            assert resp.headers["retry-after"] == "5"
            assert "Traceback" not in resp.text
        # A cookie that is no session id needs no Redis to be refused.
        assert (await dash.get("/", headers={"cookie": f"{SESSION_COOKIE}=x"})).headers["location"] == "/login"
        assert (await dash.get("/healthz")).json() == {"status": "ok"}
        with respx.mock(assert_all_called=False) as router:
            router.route(path="/healthz").respond(json={"status": "ok"})
            ready = await dash.get("/readyz")
        assert ready.status_code == 503
        assert set(ready.json()["error"]["details"]) == {"sessions"}


def test_the_process_runs_on_while_redis_is_down() -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASHBOARD_")}
    env.update(REDIS_URL=closed_port_url(), DASHBOARD_PORT=str(port), DASHBOARD_LOG_JSON="false")
    argv = [sys.executable, "-m", "runtime.serve", "services.dashboard.main:app", "--port", str(port)]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, "the dashboard exited at start with Redis down"
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the dashboard did not start"
            time.sleep(0.1)
        cookie = {"cookie": f"{SESSION_COOKIE}={new_session_id()}"}
        for _ in range(3):
            assert httpx.get(f"{base}/login", headers=cookie, timeout=10).status_code == 200
            assert httpx.get(f"{base}/", headers=cookie, timeout=10).status_code == 503
            time.sleep(1.1)  # past the probe interval: each round tries Redis again
        assert proc.poll() is None
        assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert b"Traceback" not in err, err.decode(errors="replace")


async def test_sign_in_needs_the_forms_token_and_a_valid_key(dash: httpx.AsyncClient) -> None:
    await dash.get("/login")
    forged = await dash.post("/login", data={"api_key": SHOP_KEY, "csrf_token": "guessed"})
    assert forged.status_code == 403
    assert SESSION_COOKIE + "=" not in forged.headers.get("set-cookie", "")
    with respx.mock() as router:
        router.get(f"{ALLOC}/v1/balance").mock(return_value=error(401, "unauthorized", "invalid or revoked API key"))
        refused = await sign_in(dash, "wbk_bad_key")
    assert refused.status_code == 401
    assert "登录已失效或密钥无效" in refused.text
    assert 'data-testid="error-code">unauthorized<' in refused.text
    assert "Traceback" not in refused.text
    with respx.mock() as router:
        router.route(host="alloc.test").mock(side_effect=httpx.ConnectError("refused"))
        down = await sign_in(dash, "wbk_any_key")
    assert down.status_code == 503
    assert "服务没有响应" in down.text


async def test_sign_in_attempts_are_limited_per_address_before_the_key_is_checked(redis_url: str) -> None:
    """A flood of guessed keys from one address costs allocation a lookup each only up to the burst; then
    429 with Retry-After, and no lookup. Another address is not held back."""
    limited_app = dashboard(redis_url=redis_url, login_attempts_per_minute=1, login_attempts_burst=3)
    async with limited_app as dash:
        with respx.mock() as router:
            lookup = router.get(f"{ALLOC}/v1/balance").mock(
                return_value=error(401, "unauthorized", "invalid or revoked API key")
            )
            answers = [(await sign_in(dash, f"wbk_guess{i}_x")).status_code for i in range(6)]
            assert answers[:3] == [401, 401, 401]
            assert answers[3:] == [429, 429, 429]
            assert lookup.call_count == 3
            limited = await sign_in(dash, "wbk_guess9_x")
            assert int(limited.headers["retry-after"]) >= 1
            assert "操作太频繁" in limited.text
            # The same app, another client address: its own budget.
            elsewhere = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=limited_app.app, client=("198.51.100.7", 4000)),
                base_url="http://dash.test",
            )
            async with elsewhere:
                assert (await sign_in(elsewhere, "wbk_guess10_x")).status_code == 401
            assert lookup.call_count == 4


async def test_alert_ids_beyond_bigint_are_refused_before_any_call(dash: httpx.AsyncClient) -> None:
    with respx.mock(assert_all_called=False) as router:
        mock_shop(router)
        await sign_in(dash, SHOP_KEY)
        page = await dash.get(f"/shops/{SHOP}")
        huge = str(2**64)
        ack = await dash.post(f"/shops/{SHOP}/alerts/{huge}/ack", data={"csrf_token": csrf_of(page)})
        assert ack.status_code == 422
        assert 'data-testid="error-code">validation_error<' in ack.text  # a page, in Chinese
        assert "填写的内容不符合要求" in ack.text
        assert not [c for c in router.calls if "/ack" in str(c.request.url)]


async def test_acknowledge_needs_the_sessions_csrf_token(dash: httpx.AsyncClient) -> None:
    with respx.mock(assert_all_called=False) as router:
        mock_shop(router)
        ack = router.post(f"{TRACK}/v1/alerts/41/ack").respond(json=alert(41, "acknowledged"))
        await sign_in(dash, SHOP_KEY)
        page = await dash.get(f"/shops/{SHOP}")
        forged = await dash.post(f"/shops/{SHOP}/alerts/41/ack", data={"csrf_token": "guessed"})
        assert forged.status_code == 403
        assert not ack.called
        done = await dash.post(f"/shops/{SHOP}/alerts/41/ack", data={"csrf_token": csrf_of(page)})
        assert done.status_code == 303
        assert done.headers["location"] == f"/shops/{SHOP}/alerts?notice=acknowledged"
        assert ack.calls.last.request.headers["authorization"] == f"Bearer {SHOP_KEY}"
        router.get(f"{TRACK}/v1/alerts").respond(json=list_page([]))
        after = await dash.get(done.headers["location"])
    assert "预警已确认。" in after.text
    assert 'data-alert="41"' not in after.text
    assert "没有这类预警。" in after.text


async def test_acknowledge_refused_shows_trackings_message(dash: httpx.AsyncClient) -> None:
    with respx.mock(assert_all_called=False) as router:
        mock_shop(router)
        router.post(f"{TRACK}/v1/alerts/41/ack").mock(
            return_value=error(409, "invalid_transition", "alert 41 is resolved: it cannot be acknowledged")
        )
        await sign_in(dash, SHOP_KEY)
        page = await dash.get(f"/shops/{SHOP}")
        resp = await dash.post(f"/shops/{SHOP}/alerts/41/ack", data={"csrf_token": csrf_of(page)})
        shown = await dash.get(resp.headers["location"])
    assert resp.status_code == 303
    assert "订单或运单当前的状态不允许此操作。" in shown.text
    assert 'data-testid="error-code">invalid_transition<' in shown.text
    assert "alert 41 is resolved: it cannot be acknowledged" in shown.text  # the API's own words, for support
    assert 'data-alert="41"' in shown.text  # the rest of the page is still there


async def test_a_shop_sees_only_its_own_shop(dash: httpx.AsyncClient) -> None:
    with respx.mock(assert_all_called=False) as router:
        mock_shop(router)
        await sign_in(dash, SHOP_KEY)
        other = await dash.get("/shops/s-2")
        page = await dash.get(f"/shops/{SHOP}")
        ack = await dash.post("/shops/s-2/alerts/41/ack", data={"csrf_token": csrf_of(page)})
    assert other.status_code == 404
    assert "找不到该记录" in other.text
    assert ack.status_code == 404


async def test_a_service_down_shows_its_panels_unavailable(dash: httpx.AsyncClient) -> None:
    with respx.mock(assert_all_called=False) as router:
        router.route(host="ship.test").mock(side_effect=httpx.ConnectError("refused"))
        mock_shop(router)
        await sign_in(dash, SHOP_KEY)
        page = await dash.get(f"/shops/{SHOP}")
        orders = await dash.get(f"/shops/{SHOP}/orders")
    assert page.status_code == 200
    assert page.text.count("服务没有响应，请稍后再试。 <code>network_error</code>") == 1  # the batches
    assert 'data-testid="to-ship"><span class="big">—</span>' in page.text
    assert 'data-col="available">995<' in page.text
    assert 'data-testid="open-alerts"><span class="big">1</span>' in page.text
    assert orders.status_code == 200
    assert 'data-testid="unavailable">服务没有响应' in orders.text


async def test_operator_overview_and_drill_down(dash: httpx.AsyncClient) -> None:
    with respx.mock(assert_all_called=False) as router:
        router.get(f"{TRACK}/internal/v1/clock").respond(json={"now": "x", "factor": 1.0, "simulated": False})
        router.get(f"{ALLOC}/v1/shops").respond(json=list_page([{"id": SHOP, "name": "杭州小铺", "created_at": AT}]))
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
    assert "全部店铺" in page.text
    assert 'data-col="available">995<' in page.text


async def test_operator_overview_links_the_next_page_of_shops() -> None:
    app = create_app(settings(overview_shops=1))
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://dash.test") as client,
    ):
        with respx.mock(assert_all_called=False) as router:
            router.get(f"{TRACK}/internal/v1/clock").respond(json={"now": "x", "factor": 1.0, "simulated": False})
            shops = router.get(f"{ALLOC}/v1/shops").mock(
                side_effect=[
                    httpx.Response(
                        200, json=list_page([{"id": SHOP, "name": "杭州小铺", "created_at": AT}], "WyJzLTEiXQ")
                    ),
                    httpx.Response(200, json=list_page([{"id": "s-zz", "name": "b", "created_at": AT}])),
                ]
            )
            mock_shop(router)
            await sign_in(client, ADMIN)
            first = await client.get("/")
            second = await client.get("/", params={"cursor": "WyJzLTEiXQ"})
            bad = await client.get("/", params={"cursor": "x' OR 1=1"})
    assert 'href="/?cursor=WyJzLTEiXQ" rel="next"' in first.text
    assert "第一页" not in first.text
    assert dict(shops.calls[0].request.url.params) == {"limit": "1"}
    assert dict(shops.calls[1].request.url.params) == {"limit": "1", "cursor": "WyJzLTEiXQ"}
    assert 'data-shop="s-zz"' in second.text
    assert "第一页" in second.text
    assert 'rel="next"' not in second.text
    assert bad.status_code == 422
    assert shops.call_count == 2


async def test_the_batches_page_shows_the_batch_list_a_page_at_a_time(dash: httpx.AsyncClient) -> None:
    with respx.mock(assert_all_called=False) as router:
        mock_shop(router)
        await sign_in(dash, SHOP_KEY)
        listing = router.get(f"{SHIP}/v1/shipment-batches").mock(
            side_effect=[
                httpx.Response(200, json=list_page([batch("b-new", "processing", 10, 4)], "YmF0Y2hlcy0y")),
                httpx.Response(200, json=list_page([batch("b-old", "completed", 2, 2)])),
                error(422, "invalid_cursor", "cursor is not one this list handed out: start again without it"),
            ]
        )
        first = await dash.get(f"/shops/{SHOP}/batches")
        older = await dash.get(f"/shops/{SHOP}/batches", params={"cursor": "YmF0Y2hlcy0y"})
        stale = await dash.get(f"/shops/{SHOP}/batches", params={"cursor": "c3RhbGU"})
        bad = await dash.get(f"/shops/{SHOP}/batches", params={"cursor": "no/such"})
    assert re.search(r'data-batch="b-new">.*?<progress max="10" value="4"></progress> 40%', first.text, re.S)
    assert 'data-batch="b-old"' not in first.text
    assert f'href="/shops/{SHOP}/batches?cursor=YmF0Y2hlcy0y" rel="next">下一页' in first.text
    assert "第一页" not in first.text
    assert dict(listing.calls[1].request.url.params) == {"limit": "10", "cursor": "YmF0Y2hlcy0y"}
    assert re.search(r'data-batch="b-old">.*?<progress max="2" value="2"></progress> 100%', older.text, re.S)
    assert f'href="/shops/{SHOP}/batches">第一页' in older.text
    assert 'rel="next"' not in older.text
    assert '<meta http-equiv="refresh"' not in older.text  # no batch of this page is in progress
    # A cursor the service refuses is said on the page, in Chinese with its code.
    assert stale.status_code == 200
    assert "分页已失效，请回到第一页。 <code>invalid_cursor</code>" in stale.text
    assert bad.status_code == 422
    assert listing.call_count == 3


async def test_operator_overview_without_allocations_shop_list(dash: httpx.AsyncClient) -> None:
    with respx.mock(assert_all_called=False) as router:
        router.get(f"{TRACK}/internal/v1/clock").respond(json={"now": "x", "factor": 1.0, "simulated": False})
        router.get(f"{ALLOC}/v1/shops").mock(return_value=error(405, "method_not_allowed", "Method Not Allowed"))
        await sign_in(dash, ADMIN)
        overview = await dash.get("/")
    assert overview.status_code == 200
    assert "不支持这种访问方式。 <code>method_not_allowed</code>" in overview.text
    assert 'action="/shop"' in overview.text


async def test_sign_out_needs_the_token_and_ends_the_session(dash: httpx.AsyncClient) -> None:
    with respx.mock(assert_all_called=False) as router:
        mock_shop(router)
        await sign_in(dash, SHOP_KEY)
        page = await dash.get(f"/shops/{SHOP}")
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


def test_the_session_redis_falls_back_to_redis_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DASHBOARD_REDIS_URL", raising=False)
    monkeypatch.setenv("REDIS_URL", "redis://shared:6379/3")
    assert DashboardSettings().redis_url == "redis://shared:6379/3"
    monkeypatch.setenv("DASHBOARD_REDIS_URL", "redis://own:6379/4")  # the dashboard's own variable wins
    assert DashboardSettings().redis_url == "redis://own:6379/4"


def test_production_refuses_the_placeholder_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAYBILL_ENVIRONMENT", "production")
    with pytest.raises(ValueError, match="DASHBOARD_SECRET_KEY"):
        DashboardSettings()
    monkeypatch.setenv("DASHBOARD_SECRET_KEY", "s" * 32)
    assert DashboardSettings().environment == "production"
    monkeypatch.setenv("DASHBOARD_ENVIRONMENT", "development")  # the dashboard's own variable wins
    assert DashboardSettings().environment == "development"
