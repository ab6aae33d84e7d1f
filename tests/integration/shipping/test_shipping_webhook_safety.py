"""Shops' webhook URLs cannot be used to reach the platform's own network (SSRF): refused when saved, checked
again (resolved and pinned) at every delivery, redirects not followed, answers not stored; disabled endpoints
get nothing; a shop's endpoints are limited."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest

from runtime import egress
from services.shipping.schemas.webhooks import MAX_WEBHOOK_ENDPOINTS, MAX_WEBHOOK_EVENT_TYPES
from services.shipping.settings import ShippingSettings
from tests.integration.allocation_support import zto_numbers
from tests.integration.shipping.conftest import BoundShop, World, bind_shop, set_webhook_policy
from tests.integration.shipping.fakes import Recorder
from tests.integration.shipping.test_shipping_events import _post, _shipped, _update
from tests.support import Env

PUBLIC = "93.184.216.34"


@pytest.fixture
async def shop(world: World, shipping_env: Env) -> BoundShop:
    return await bind_shop(world, shipping_env, stock={"ZTO": zto_numbers(10)})


@dataclass
class FakeDns:
    """Stands in for the system resolver runtime.egress uses: ``answers[name]``, changeable mid-test."""

    answers: dict[str, list[str]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        return list(self.answers.get(host, []))


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDns:
    fake = FakeDns()
    monkeypatch.setattr(egress, "lookup", fake)
    return fake


@dataclass
class Listener:
    """A plain TCP server on 127.0.0.1 that counts connections and answers any request 200."""

    port: int = 0
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)


@pytest.fixture
async def listener(world: World) -> AsyncIterator[Listener]:
    found = Listener()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        found.connections += 1
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            length = next(
                (
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            found.requests.append(head + await asyncio.wait_for(reader.readexactly(length), 5))
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass  # not HTTP (a TLS hello): counted all the same
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    found.port = server.sockets[0].getsockname()[1]
    # respx stands in for the network in these tests: real connections to 127.0.0.1 go through, so a delivery
    # that wrongly went there would reach the listener rather than fail inside the mock.
    assert world.mock is not None
    world.mock.route(host="127.0.0.1").pass_through()
    # The listener itself works: a plain client reaches it.
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"http://127.0.0.1:{found.port}/probe")).status_code == 200
    assert found.connections == 1
    try:
        yield found
    finally:
        server.close()
        await server.wait_closed()


async def _endpoint(world: World, shop: BoundShop, url: str, **extra: Any) -> httpx.Response:
    return await world.shipping.post("/v1/webhook-endpoints", json={"url": url, **extra}, headers=shop.headers)


async def _deliveries(world: World, shop: BoundShop) -> list[dict[str, Any]]:
    resp = await world.shipping.get("/v1/webhook-deliveries", headers=shop.headers)
    found: list[dict[str, Any]] = resp.json()["data"]
    return found


REFUSED_WHEN_SAVED = [
    "http://shop.example.com/hook",  # plain http (off by default)
    "https://user:secret@shop.example.com/hook",
    "https://127.0.0.1/hook",
    "https://localhost/hook",
    "https://10.0.0.5/hook",
    "https://172.16.3.4/hook",
    "https://192.168.0.10/hook",
    "https://[fd00::5]/hook",
    "https://169.254.169.254/latest/meta-data/",
    "https://[fe80::1]/hook",
    "https://100.64.0.1/hook",
    "https://224.0.0.1/hook",
    "https://[ff02::1]/hook",
    "https://0.0.0.0/hook",
    "https://[::]/hook",
    "https://255.255.255.255/hook",
    "https://240.0.0.1/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[::ffff:a9fe:a9fe]/hook",
    "https://[64:ff9b::10.0.0.1]/hook",
    "https://[2002:7f00:1::1]/hook",
    "https://0x7f000001/hook",
    "https://2130706433/hook",
    "https://127.1/hook",
    "https://0177.0.0.1/hook",
    "https://shop.example.com:25/hook",
    "https://internal.example.com/hook",  # a name resolving to a private address
    "https://mixed.example.com/hook",  # one public answer, one loopback
    "https://nowhere.example.com/hook",  # no answer at all
]


async def test_each_kind_of_bad_url_is_refused_when_saved(world: World, shop: BoundShop, dns: FakeDns) -> None:
    dns.answers = {
        "shop.example.com": [PUBLIC],
        "internal.example.com": ["10.1.2.3"],
        "mixed.example.com": [PUBLIC, "127.0.0.1"],
    }
    wrong = []
    for url in REFUSED_WHEN_SAVED:
        resp = await _endpoint(world, shop, url)
        body = resp.json()
        if resp.status_code != 422 or body["error"]["code"] != "webhook_url_refused":
            wrong.append(f"{url}: {resp.status_code} {resp.text}")
        elif not body["error"]["details"]["reason"].startswith("refused: "):
            wrong.append(f"{url}: no reason in {body}")
    assert wrong == []
    assert (await world.shipping.get("/v1/webhook-endpoints", headers=shop.headers)).json()["data"] == []
    # The same shop saves a public https URL: the refusals were about the URLs.
    assert (await _endpoint(world, shop, "https://shop.example.com/hook")).status_code == 201


async def test_a_refusal_says_why(world: World, shop: BoundShop, dns: FakeDns) -> None:
    dns.answers = {"internal.example.com": ["10.1.2.3"]}
    resp = await _endpoint(world, shop, "https://internal.example.com/hook")
    assert resp.status_code == 422
    assert resp.json()["error"]["details"] == {"field": "url", "reason": "refused: resolves to a private address"}
    metadata = (await _endpoint(world, shop, "https://169.254.169.254/latest/meta-data/")).json()
    assert metadata["error"]["details"]["reason"] == "refused: a link-local address"


async def test_a_public_endpoint_gets_the_event_at_the_address_checked(
    world: World, shop: BoundShop, dns: FakeDns
) -> None:
    dns.answers = {"shop.example.com": [PUBLIC]}
    receiver = Recorder()
    assert world.mock is not None
    world.mock.route(host=PUBLIC).mock(side_effect=receiver)
    assert (await _endpoint(world, shop, "https://shop.example.com/hooks/waybill")).status_code == 201
    order, _ = await _shipped(world, shop)
    (request,) = receiver.requests
    assert str(request.url) == f"https://{PUBLIC}/hooks/waybill"
    assert request.headers["host"] == "shop.example.com"
    assert request.extensions["sni_hostname"] == "shop.example.com"
    assert json.loads(request.content)["data"]["order_id"] == order["id"]
    (delivery,) = await _deliveries(world, shop)
    assert (delivery["status"], delivery["last_status_code"], delivery["last_error"]) == ("delivered", 200, None)
    # Resolved when saved and again for the delivery.
    assert dns.asked == ["shop.example.com", "shop.example.com"]


async def test_a_listener_on_loopback_gets_nothing_once_the_allow_list_is_off(
    world: World,
    shop: BoundShop,
    listener: Listener,
    monkeypatch: pytest.MonkeyPatch,
    shipping_settings: ShippingSettings,
) -> None:
    # Saved while an operator allowed plain http to 127.0.0.1 (a development receiver)...
    set_webhook_policy(monkeypatch, shipping_settings, allow_http=True, internal_hosts="127.0.0.1")
    url = f"http://127.0.0.1:{listener.port}/hook"
    assert (await _endpoint(world, shop, url)).status_code == 201
    order, shipment = await _shipped(world, shop)
    assert listener.connections == 2  # the probe, and this delivery: the endpoint does reach the listener
    assert b"shipment.confirmed" in listener.requests[-1]
    # ...then the allow-list is emptied: nothing more reaches it, neither new events nor a resend.
    set_webhook_policy(monkeypatch, shipping_settings, allow_http=True, internal_hosts="")
    await _post(world, shop, _update(order, shipment, "in_transit"))
    await world.run_jobs()
    first, *_ = sorted(await _deliveries(world, shop), key=lambda d: d["created_at"])
    resent = await world.shipping.post(f"/v1/webhook-deliveries/{first['id']}/resend", headers=shop.headers)
    assert resent.status_code == 202
    await world.run_jobs()
    assert listener.connections == 2
    records = {d["event_type"]: d for d in await _deliveries(world, shop)}
    for event_type in ("tracking.status_changed", "shipment.confirmed"):
        record = records[event_type]
        assert record["status"] == "failed"
        assert record["last_status_code"] is None
        assert record["last_error"] == "refused: a loopback address"
        assert record["attempts"] == 1  # the URL itself is refused: not retried


async def test_dns_changing_between_save_and_send_reaches_nothing(
    world: World, shop: BoundShop, listener: Listener, dns: FakeDns
) -> None:
    url = f"https://shop.example.com:{listener.port}/hook"
    dns.answers = {"shop.example.com": [PUBLIC]}  # public when saved
    assert (await _endpoint(world, shop, url)).status_code == 201
    dns.answers = {"shop.example.com": ["127.0.0.1"]}  # the listener's address when sent
    await _shipped(world, shop)
    assert listener.connections == 1  # the probe only
    (delivery,) = await _deliveries(world, shop)
    assert delivery["status"] == "failed"
    assert delivery["last_status_code"] is None
    assert delivery["last_error"] == "refused: resolves to a loopback address"
    assert delivery["attempts"] == 3  # SHIPPING_WEBHOOK_MAX_TRIES in these tests: DNS may come right again
    assert dns.asked == ["shop.example.com"] * 4  # saved, then once per try


async def test_a_redirect_is_recorded_not_followed(world: World, shop: BoundShop, dns: FakeDns) -> None:
    dns.answers = {"shop.example.com": [PUBLIC]}
    assert world.mock is not None
    world.mock.route(host=PUBLIC).respond(302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    metadata = world.mock.route(host="169.254.169.254").respond(200, text="iam-credentials")
    assert (await _endpoint(world, shop, "https://shop.example.com/hook")).status_code == 201
    await _shipped(world, shop)
    assert not metadata.called
    (delivery,) = await _deliveries(world, shop)
    assert delivery["last_status_code"] == 302
    assert delivery["last_error"] == "HTTP 302 (redirects are not followed)"
    assert delivery["status"] == "failed"


async def test_the_remote_answer_is_never_stored(
    world: World, shop: BoundShop, dns: FakeDns, shipping_env: Env
) -> None:
    marker = "internal-answer-5f3a9c"
    dns.answers = {"shop.example.com": [PUBLIC]}
    assert world.mock is not None
    world.mock.route(host=PUBLIC).side_effect = [
        httpx.Response(500, text=f"<h1>{marker}</h1>"),
        httpx.Response(503, text=marker),
        httpx.RemoteProtocolError(f"illegal status line: {marker}"),
    ]
    assert (await _endpoint(world, shop, "https://shop.example.com/hook")).status_code == 201
    await _shipped(world, shop)
    (delivery,) = await _deliveries(world, shop)
    assert delivery["status"] == "failed"
    assert delivery["last_error"] == "not an HTTP answer"
    conn = await asyncpg.connect(shipping_env.database_url)
    try:
        rows = await conn.fetch(
            "SELECT row_to_json(d)::text FROM shipping.webhook_deliveries d WHERE shop_id = $1", shop.id
        )
    finally:
        await conn.close()
    assert len(rows) == 1
    assert marker not in rows[0][0]
    assert marker not in json.dumps(await _deliveries(world, shop))


async def test_a_disabled_endpoint_gets_no_delivery_and_no_resend(
    world: World, shop: BoundShop, hooks_test_allowed: None
) -> None:
    created = (await _endpoint(world, shop, "http://hooks.test/waybill")).json()
    world.hooks.statuses = [500, 500, 500]
    order, shipment = await _shipped(world, shop)
    (failed,) = await _deliveries(world, shop)
    assert failed["status"] == "failed"
    sent = len(world.hooks.requests)
    # An event queued, then the endpoint disabled before the worker runs: never sent.
    await _post(world, shop, _update(order, shipment, "in_transit"))
    gone = await world.shipping.delete(f"/v1/webhook-endpoints/{created['id']}", headers=shop.headers)
    assert gone.status_code == 204
    await world.run_jobs()
    assert len(world.hooks.requests) == sent
    queued = next(d for d in await _deliveries(world, shop) if d["event_type"] == "tracking.status_changed")
    assert (queued["status"], queued["attempts"], queued["last_error"]) == ("failed", 0, "refused: endpoint disabled")
    # No resend either.
    for delivery in (failed, queued):
        resp = await world.shipping.post(f"/v1/webhook-deliveries/{delivery['id']}/resend", headers=shop.headers)
        assert resp.status_code == 409
        assert resp.json()["error"]["code"] == "webhook_endpoint_disabled"
    await world.run_jobs()
    assert len(world.hooks.requests) == sent
    # New events do not even make a delivery for it.
    await _post(world, shop, _update(order, shipment, "delivered"))
    assert len(await _deliveries(world, shop)) == 2


async def test_a_shop_has_a_limited_number_of_endpoints_and_event_types(
    world: World, shop: BoundShop, dns: FakeDns
) -> None:
    dns.answers = {"shop.example.com": [PUBLIC]}
    ids = []
    for i in range(MAX_WEBHOOK_ENDPOINTS):
        resp = await _endpoint(world, shop, f"https://shop.example.com/hooks/{i}")
        assert resp.status_code == 201, resp.text
        ids.append(resp.json()["id"])
    over = await _endpoint(world, shop, "https://shop.example.com/hooks/over")
    assert over.status_code == 409
    assert over.json()["error"]["code"] == "webhook_limit_reached"
    assert over.json()["error"]["details"] == {"limit": MAX_WEBHOOK_ENDPOINTS}
    # A disabled endpoint no longer counts.
    assert (await world.shipping.delete(f"/v1/webhook-endpoints/{ids[0]}", headers=shop.headers)).status_code == 204
    too_many_types = [f"type.{i}" for i in range(MAX_WEBHOOK_EVENT_TYPES + 1)]
    refused = await _endpoint(world, shop, "https://shop.example.com/hooks/types", events=too_many_types)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "validation_error"
    long_type = await _endpoint(world, shop, "https://shop.example.com/hooks/types", events=["x" * 65])
    assert long_type.status_code == 422
    most = await _endpoint(world, shop, "https://shop.example.com/hooks/types", events=too_many_types[:-1])
    assert most.status_code == 201, most.text
    assert len((await world.shipping.get("/v1/webhook-endpoints", headers=shop.headers)).json()["data"]) == (
        MAX_WEBHOOK_ENDPOINTS + 1
    )


async def test_concurrent_registrations_cannot_pass_the_limit_together(
    world: World, shop: BoundShop, dns: FakeDns
) -> None:
    dns.answers = {"shop.example.com": [PUBLIC]}
    for i in range(MAX_WEBHOOK_ENDPOINTS - 2):
        assert (await _endpoint(world, shop, f"https://shop.example.com/hooks/{i}")).status_code == 201
    results = await asyncio.gather(*(_endpoint(world, shop, f"https://shop.example.com/race/{i}") for i in range(5)))
    assert sorted(r.status_code for r in results) == [201, 201, 409, 409, 409]
