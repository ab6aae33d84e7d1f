"""End-to-end harness: the real processes `make run` starts (devstack.processes), on free ports, against a
database and a Redis database of their own, with helpers that drive them through their public APIs.

One harness per test session; tests isolate themselves by creating their own shops and sellers. A named
process can be SIGKILLed and started again (``kill``/``restart``) to test crash recovery.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import re
import signal
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx

from devstack.infra import free_port
from devstack.processes import Ports, ProcessSpec, all_processes, service_env
from tests.support import ADMIN_KEY, INTERNAL_KEY, bearer, cpu_seconds, outside_env

UTC8 = timezone(timedelta(hours=8))
APP_KEY, APP_SECRET = "sandbox-app", "sandbox-secret"
COURIER_KEY, COURIER_SECRET = "sandbox-courier", "sandbox-courier-secret"

# Fast clocks for tests: short redelivery, leases and retries, so crash recovery takes seconds.
E2E_ENV = {
    "WAYBILL_ENVIRONMENT": "test",
    "WAYBILL_LOG_LEVEL": "WARNING",
    "PYTHONUNBUFFERED": "1",
    "SANDBOX_MESSAGE_REDELIVERY_S": "0.2,0.5,1",
    "SANDBOX_TRACKING_PUSH_RETRY_S": "0.5,1,2",
    "SHIPPING_CONFIRM_RETRY_BASE_S": "0.2",
    "SHIPPING_CONFIRM_RETRY_MAX_S": "2",
    "SHIPPING_CONFIRM_LEASE_S": "5",
    "SHIPPING_BATCH_LEASE_S": "4",
    "SHIPPING_BATCH_SWEEP_S": "2",
    "SHIPPING_WEBHOOK_RETRY_BASE_S": "0.2",
    "ALLOCATION_COURIER_RETRY_BASE_S": "0.2",
    "ALLOCATION_VACUUM_INTERVAL_S": "10",
    # Up to three systems run at once in `make test` (one per xdist worker, and the one of a test that has
    # its own) against one PostgreSQL of 100 connections: each pool is bounded (at most 10 per engine), or a
    # system under load starves the next one starting (seen in CI: "sorry, too many clients already" for 10 s).
    "WAYBILL_DB_POOL_SIZE": "5",
    "ALLOCATION_ALLOCATION_POOL_SIZE": "6",
    "TRACKING_WEBHOOK_POOL_SIZE": "6",
}


def top_sign(params: dict[str, str], secret: str = APP_SECRET) -> str:
    """Written here again (not imported from the service) so a signing bug cannot hide on both sides."""
    # Empty values are not signed, as the official TOP SDK does (TopUtils.signTopRequest).
    joined = "".join(k + v for k, v in sorted(params.items()) if k != "sign" and k and v)
    return hmac.new(secret.encode(), joined.encode(), hashlib.md5).hexdigest().upper()


@dataclass
class Shop:
    id: str
    key: str
    nick: str = ""
    session: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.key)


@dataclass
class Harness:
    database_url: str
    redis_url: str
    log_dir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    ports: Ports = field(init=False)
    specs: dict[str, ProcessSpec] = field(init=False, default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(init=False, default_factory=dict)
    env: dict[str, str] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.ports = Ports(
            allocation=free_port(),
            shipping=free_port(),
            tracking=free_port(),
            sandbox=free_port(),
            dashboard=free_port(),
            allocation_worker_metrics=free_port(),
            shipping_worker_metrics=free_port(),
            tracking_worker_metrics=free_port(),
        )
        self.env = {
            # Not os.environ: the session's `env` fixture leaves the in-process apps' settings there (3 courier
            # tries, 3 connections per pool), which the real processes must not inherit. Found by `make
            # test-repeat` (e2e and faults in one pytest process): 3 tries 0.2 s apart did not ride out the
            # fault suite's 3 s courier outage, and 3-connection pools let 285 of 300 parcels go "not collected".
            **outside_env(),
            **E2E_ENV,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "WAYBILL_ADMIN_KEY": ADMIN_KEY,
            "WAYBILL_INTERNAL_KEY": INTERNAL_KEY,
            **service_env(self.ports),
            **self.extra_env,
        }
        self.specs = {s.name: s for s in all_processes(self.ports)}

    # -- URLs ---------------------------------------------------------------------------------

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{getattr(self.ports, service)}"

    @property
    def allocation(self) -> str:
        return self.url("allocation")

    @property
    def shipping(self) -> str:
        return self.url("shipping")

    @property
    def tracking(self) -> str:
        return self.url("tracking")

    @property
    def sandbox(self) -> str:
        return self.url("sandbox")

    admin_key = ADMIN_KEY
    internal_key = INTERNAL_KEY

    # -- processes ----------------------------------------------------------------------------

    def start(self, names: list[str] | None = None, timeout: float = 60.0) -> None:
        """Start the processes and wait until each is healthy. When one exits or stays unhealthy, the ones this
        call started are stopped before the error is raised: none is left running, working on a database and
        a Redis that its caller drops and gives back (a bench whose dashboard failed to start left six
        processes taking the next run's jobs)."""
        started = names or list(self.specs)
        try:
            self._start(started, timeout)
        except BaseException:
            self._stop([self.procs.pop(n) for n in started if n in self.procs])
            raise

    def _start(self, names: list[str], timeout: float) -> None:
        for name in names:
            spec = self.specs[name]
            log = (self.log_dir / f"{name}.log").open("ab")
            self.procs[name] = subprocess.Popen(
                spec.argv, env={**self.env, **spec.env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
            log.close()
        deadline = time.monotonic() + timeout
        for name in names:
            url = self.specs[name].health_url
            while url is not None:
                if self.procs[name].poll() is not None:
                    raise RuntimeError(
                        f"{name} exited with {self.procs[name].returncode}; see {self.log_dir}/{name}.log"
                    )
                try:
                    if httpx.get(url, timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not become healthy; see {self.log_dir}/{name}.log")
                time.sleep(0.1)

    def kill(self, name: str) -> None:
        """SIGKILL, as a crash would: no shutdown code runs."""
        proc = self.procs.pop(name)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def restart(self, name: str) -> None:
        if name in self.procs:
            self.kill(name)
        self.start([name])

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) each running process has used so far, children included, and the
        machine's PostgreSQL and Redis."""
        return cpu_seconds({name: proc.pid for name, proc in self.procs.items()})

    def stop(self) -> None:
        self._stop(list(self.procs.values()))
        self.procs.clear()

    @staticmethod
    def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)

    # -- helpers over the public APIs ---------------------------------------------------------

    def client(self, timeout: float = 30.0) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=timeout, limits=httpx.Limits(max_connections=64))

    async def create_shop(self, http: httpx.AsyncClient, name: str = "端到端店铺") -> Shop:
        resp = await http.post(f"{self.allocation}/v1/shops", json={"name": name}, headers=bearer(ADMIN_KEY))
        resp.raise_for_status()
        body = resp.json()
        return Shop(body["id"], body["api_key"])

    async def top_up(self, http: httpx.AsyncClient, shop: Shop, cents: int) -> None:
        resp = await http.post(
            f"{self.allocation}/v1/shops/{shop.id}/topups", json={"amount_cents": cents}, headers=bearer(ADMIN_KEY)
        )
        resp.raise_for_status()

    async def buy(
        self, http: httpx.AsyncClient, shop: Shop, carrier: str, package_id: str, within: float = 60
    ) -> dict[str, Any]:
        """Buy a package through allocation (the courier is the sandbox) and wait for the numbers."""
        resp = await http.post(
            f"{self.allocation}/v1/purchases",
            json={"carrier": carrier, "package_id": package_id},
            headers={**shop.headers, "Idempotency-Key": uuid.uuid4().hex},
        )
        resp.raise_for_status()
        purchase_id = resp.json()["id"]

        async def done() -> dict[str, Any] | None:
            body: dict[str, Any] = (
                await http.get(f"{self.allocation}/v1/purchases/{purchase_id}", headers=shop.headers)
            ).json()
            if body["status"] == "failed":
                raise AssertionError(f"purchase failed: {body}")
            return body if body["status"] == "completed" else None

        found: dict[str, Any] = await wait_for(done, within, f"purchase {purchase_id}")
        return found

    async def bind_seller(self, http: httpx.AsyncClient, shop: Shop, **settings: Any) -> Shop:
        """A sandbox seller for the shop, bound through shipping's settings."""
        resp = await http.post(f"{self.sandbox}/control/marketplace/sellers", json={"seller_nick": f"e2e-{shop.id}"})
        resp.raise_for_status()
        seller = resp.json()
        shop.nick, shop.session = seller["seller_nick"], seller["session"]
        body = {
            "seller_nick": shop.nick,
            "session": shop.session,
            "sender_name": "杭州小铺",
            "sender_phone": "0571-88886666",
            "sender_address": "浙江省杭州市余杭区文一西路969号",
            **settings,
        }
        for _ in range(5):  # the session check is a marketplace call: a 503 (sandbox faults) is retried
            resp = await http.put(f"{self.shipping}/v1/settings", json=body, headers=shop.headers)
            if resp.status_code != 503:
                break
            await asyncio.sleep(float(resp.headers.get("retry-after", "1")))
        resp.raise_for_status()
        return shop

    async def ready_shop(
        self, http: httpx.AsyncClient, packages: tuple[tuple[str, str], ...] = (("ZTO", "ZTO-1000"),)
    ) -> Shop:
        """Shop + balance + numbers bought + sandbox seller bound: ready to ship."""
        shop = await self.create_shop(http)
        await self.top_up(http, shop, 100_000_000)
        for carrier, package_id in packages:
            await self.buy(http, shop, carrier, package_id)
        return await self.bind_seller(http, shop)

    async def paid_trades(self, http: httpx.AsyncClient, shop: Shop, count: int, **fields: Any) -> list[str]:
        """``count`` paid trades of the shop's seller (``fields``: the control API's others, such as ``lines``)."""
        resp = await http.post(
            f"{self.sandbox}/control/marketplace/trades",
            json={"seller_nick": shop.nick, "count": count, "paid": True, **fields},
        )
        resp.raise_for_status()
        tids: list[str] = resp.json()["tids"]
        return tids

    async def orders_for(self, http: httpx.AsyncClient, shop: Shop, tids: list[str], within: float = 120) -> list[str]:
        """Our order ids for these trades, once the marketplace's messages have created them all. Waits on the
        sandbox's delivery counters (a message is acknowledged only once stored) rather than listing orders
        over and over, which would cost the service more than the intake itself."""

        async def delivered() -> bool:
            stats = (await http.get(f"{self.sandbox}/control/marketplace/messages/stats")).json()
            return bool(stats["pending"] == 0)

        wanted = set(tids)

        async def all_there() -> dict[str, str] | None:
            await wait_for(delivered, within, f"{len(tids)} order messages delivered")
            orders = await list_all(http, f"{self.shipping}/v1/orders", shop.headers, limit=10_000)
            found: dict[str, str] = {o["external_id"]: o["id"] for o in orders if o["external_id"] in wanted}
            return found if len(found) == len(wanted) else None

        by_tid = await wait_for(all_there, within, f"{len(tids)} orders", every=1.0)
        return [by_tid[t] for t in tids]

    async def faults(self, http: httpx.AsyncClient, **changes: Any) -> None:
        (await http.put(f"{self.sandbox}/control/faults", json=changes)).raise_for_status()

    async def trade(self, http: httpx.AsyncClient, tid: str) -> dict[str, Any]:
        body: dict[str, Any] = (await http.get(f"{self.sandbox}/control/marketplace/trades/{tid}")).json()
        return body

    async def top(self, http: httpx.AsyncClient, method: str, session: str, **params: str) -> dict[str, Any]:
        """A signed call to the sandbox marketplace, as another client of the seller would make."""
        form = {
            "method": method,
            "app_key": APP_KEY,
            "sign_method": "hmac",
            "timestamp": datetime.now(UTC8).strftime("%Y-%m-%d %H:%M:%S"),
            "format": "json",
            "v": "2.0",
            "session": session,
            **params,
        }
        form["sign"] = top_sign(form)
        body: dict[str, Any] = (await http.post(f"{self.sandbox}/router/rest", data=form)).json()
        return body

    async def courier(self, http: httpx.AsyncClient, msg_type: str, body: dict[str, Any]) -> dict[str, Any]:
        text = json.dumps(body)
        digest = base64.b64encode(hashlib.md5((text + COURIER_SECRET).encode()).digest()).decode()
        form = {
            "msg_type": msg_type,
            "logistic_provider_id": COURIER_KEY,
            "logistics_interface": text,
            "data_digest": digest,
        }
        found: dict[str, Any] = (await http.post(f"{self.sandbox}/courier/gateway", data=form)).json()
        return found

    async def wait_batch(
        self, http: httpx.AsyncClient, shop: Shop, batch_id: str, within: float = 120
    ) -> dict[str, Any]:
        async def finished() -> dict[str, Any] | None:
            body: dict[str, Any] = (
                await http.get(
                    f"{self.shipping}/v1/shipment-batches/{batch_id}", params={"limit": 0}, headers=shop.headers
                )
            ).json()
            return body if body["status"] == "completed" else None

        found: dict[str, Any] = await wait_for(finished, within, f"batch {batch_id}")
        return found

    # -- orders, shipments, numbers ------------------------------------------------------------

    async def order(self, http: httpx.AsyncClient, shop: Shop, order_id: str) -> dict[str, Any]:
        """One order as shipping holds it."""
        resp = await http.get(f"{self.shipping}/v1/orders/{order_id}", headers=shop.headers)
        resp.raise_for_status()
        body: dict[str, Any] = resp.json()
        return body

    async def order_becomes(
        self, http: httpx.AsyncClient, shop: Shop, order_id: str, status: str, within: float = 90
    ) -> None:
        async def there() -> bool:
            return bool((await self.order(http, shop, order_id))["status"] == status)

        await wait_for(there, within, f"order {order_id} {status}", every=0.5)

    async def ship_response(
        self, http: httpx.AsyncClient, shop: Shop, order_id: str, carrier: str | None = "ZTO", **body: Any
    ) -> httpx.Response:
        """``POST /v1/orders/{id}/ship`` as the shop, by ``carrier`` (None: none named, shipping's choice) and
        ``body``'s other fields (parcel_count, lines, parcels...); the answer as it came."""
        payload = {"carrier": carrier, **body} if carrier is not None else body
        return await http.post(f"{self.shipping}/v1/orders/{order_id}/ship", json=payload, headers=shop.headers)

    async def ship(
        self, http: httpx.AsyncClient, shop: Shop, order_id: str, carrier: str | None = "ZTO", **body: Any
    ) -> dict[str, Any]:
        """The order shipped (``ship_response``, which must be a 202): the new shipment."""
        resp = await self.ship_response(http, shop, order_id, carrier, **body)
        assert resp.status_code == 202, resp.text
        shipment: dict[str, Any] = resp.json()
        return shipment

    async def shipment(self, http: httpx.AsyncClient, shop: Shop, shipment_id: str) -> dict[str, Any]:
        resp = await http.get(f"{self.shipping}/v1/shipments/{shipment_id}", headers=shop.headers)
        resp.raise_for_status()
        body: dict[str, Any] = resp.json()
        return body

    async def settled(
        self, http: httpx.AsyncClient, shop: Shop, shipment_id: str, within: float = 90, every: float = 0.3
    ) -> dict[str, Any]:
        """The shipment once its confirmation has come to an end: confirmed or failed."""

        async def final() -> dict[str, Any] | None:
            body = await self.shipment(http, shop, shipment_id)
            return body if body["status"] in ("confirmed", "failed") else None

        found: dict[str, Any] = await wait_for(final, within, f"shipment {shipment_id} settled", every=every)
        return found

    async def confirmed(
        self, http: httpx.AsyncClient, shop: Shop, shipment_id: str, within: float = 90, every: float = 0.3
    ) -> dict[str, Any]:
        """The shipment once settled, which must be as confirmed."""
        found = await self.settled(http, shop, shipment_id, within, every)
        assert found["status"] == "confirmed", found
        return found

    async def waybills_become(
        self, http: httpx.AsyncClient, shop: Shop, numbers: list[str], status: str, within: float = 60
    ) -> None:
        """Allocation learns of a shipment's outcome through jobs (a mark, a release): wait until it has, for
        each of ``numbers``."""

        async def all_there() -> bool:
            for number in numbers:
                if (await self.waybill(http, shop, number))["status"] != status:
                    return False
            return True

        await wait_for(all_there, within, f"{numbers} {status} in allocation", every=0.5)

    async def taobao_orders(
        self, http: httpx.AsyncClient, shop: Shop, count: int, **fields: Any
    ) -> list[tuple[str, str]]:
        """Paid trades (``fields``: as ``paid_trades`` takes them), once they are our orders: (tid, order id) each."""
        tids = await self.paid_trades(http, shop, count, **fields)
        return list(zip(tids, await self.orders_for(http, shop, tids), strict=True))

    async def pdd_order_id(self, http: httpx.AsyncClient, shop: Shop, order_sn: str) -> str:
        """Our order id of a confirmed Pinduoduo order, once its message has made it."""

        async def there() -> str | None:
            found = await self.orders_where(http, shop, external_id=order_sn)
            return found[0]["id"] if found else None

        await self.pdd_messages_delivered(http)
        order_id: str = await wait_for(there, 60, f"Pinduoduo order {order_sn} taken in", every=0.5)
        return order_id

    async def pdd_orders_taken_in(
        self, http: httpx.AsyncClient, shop: Shop, mall_id: int, count: int, **fields: Any
    ) -> list[tuple[str, str]]:
        """``count`` confirmed orders of the mall (``fields``: as ``pdd_orders`` takes them), once they are our
        orders: (order_sn, order id) each."""
        sns = await self.pdd_orders(http, mall_id, count, **fields)
        return [(sn, await self.pdd_order_id(http, shop, sn)) for sn in sns]

    async def two_store_shop(
        self, http: httpx.AsyncClient, name: str
    ) -> tuple[Shop, dict[str, dict[str, Any]], dict[str, Any], dict[str, Any]]:
        """A shop with ZTO numbers (ZTO-1000 bought), a Taobao store (``shop.nick``) and a Pinduoduo mall bound as
        a store: the shop, its stores by channel, the mall and the purchase."""
        shop = await self.create_shop(http, name)
        await self.top_up(http, shop, 100_000_000)
        purchase = await self.buy(http, shop, "ZTO", "ZTO-1000")
        taobao = await self.taobao_store(http, shop)
        mall = await self.pdd_mall(http, f"{name}{uuid.uuid4().hex[:6]}")
        bound = await self.bind_store(http, shop, "pinduoduo", mall["access_token"], seller_id=str(mall["mall_id"]))
        assert bound.status_code == 201, bound.text
        return shop, {"taobao": taobao, "pinduoduo": bound.json()}, mall, purchase

    # -- journeys: the sandbox's tracking provider and clock -----------------------------------

    async def truths(self, http: httpx.AsyncClient, numbers: list[str]) -> dict[str, dict[str, Any]]:
        """Each number's journey as the sandbox's tracking provider holds it (``subscribed``, ``kind``,
        ``finished``...), by number."""
        resp = await http.get(
            f"{self.sandbox}/control/tracking/parcels", params={"number": numbers, "include_events": "false"}
        )
        resp.raise_for_status()
        return {t["number"]: t for t in resp.json()}

    async def followed(self, http: httpx.AsyncClient, shop: Shop, order_id: str, numbers: list[str]) -> None:
        """The tracking provider holds a subscription of each number (ours: its callback is tracking's), and
        tracking's view of the order lists them subscribed."""

        async def subscribed() -> bool:
            truths = await self.truths(http, numbers)
            if not all(truths[n]["subscribed"] for n in numbers):
                return False
            resp = await http.get(f"{self.tracking}/v1/orders/{order_id}/tracking", headers=shop.headers)
            if resp.status_code != 200:
                return False
            states = {p["number"]: p["subscription"]["state"] for p in resp.json()["parcels"]}
            return all(states.get(n) == "subscribed" for n in numbers)

        await wait_for(subscribed, 90, f"{numbers} followed", every=0.5)

    async def journey_kinds(self, http: httpx.AsyncClient, kinds: dict[str, str]) -> None:
        """Journeys forced, by number (normal, stall, never_collected...): set before tracking subscribes them."""
        (await http.put(f"{self.sandbox}/control/tracking/kinds", json={"kinds": kinds})).raise_for_status()

    async def advance(self, http: httpx.AsyncClient, seconds: float) -> None:
        """The sandbox's clock jumped ahead (journeys' events happen), and tracking's clock set to the same time."""
        clock = (await http.post(f"{self.sandbox}/control/clock/advance", json={"seconds": seconds})).json()
        ours = await http.put(
            f"{self.tracking}/internal/v1/clock", json={"now": clock["now"], "factor": 1.0}, headers=bearer(ADMIN_KEY)
        )
        assert ours.status_code == 200, ours.text

    # -- channels: stores, Pinduoduo, TMC ------------------------------------------------------

    async def bind_store(
        self, http: httpx.AsyncClient, shop: Shop, channel: str, token: str, **fields: Any
    ) -> httpx.Response:
        """``POST /v1/stores`` as the shop; the answer as it came (a 503 of a sandbox fault is not retried)."""
        body = {"channel": channel, "token": token, **fields}
        return await http.post(f"{self.shipping}/v1/stores", json=body, headers=shop.headers)

    async def taobao_store(self, http: httpx.AsyncClient, shop: Shop) -> dict[str, Any]:
        """A new sandbox seller bound to the shop as a Taobao store (``shop.nick`` and ``session`` set)."""
        resp = await http.post(f"{self.sandbox}/control/marketplace/sellers", json={"seller_nick": f"tb-{shop.id}"})
        resp.raise_for_status()
        seller = resp.json()
        shop.nick, shop.session = seller["seller_nick"], seller["session"]
        bound = await self.bind_store(http, shop, "taobao", shop.session)
        assert bound.status_code == 201, bound.text
        store: dict[str, Any] = bound.json()
        return store

    async def pdd_mall(self, http: httpx.AsyncClient, name: str | None = None) -> dict[str, Any]:
        """A new mall in the sandbox's Pinduoduo: ``{mall_id, mall_name, access_token}``."""
        resp = await http.post(f"{self.sandbox}/control/pinduoduo/malls", json={"mall_name": name} if name else {})
        resp.raise_for_status()
        mall: dict[str, Any] = resp.json()
        return mall

    async def pdd_orders(self, http: httpx.AsyncClient, mall_id: int, count: int, **fields: Any) -> list[str]:
        """``count`` confirmed (paid) orders of the mall; each publishes pdd_trade_TradeConfirmed."""
        resp = await http.post(
            f"{self.sandbox}/control/pinduoduo/orders", json={"mall_id": mall_id, "count": count, **fields}
        )
        resp.raise_for_status()
        sns: list[str] = resp.json()["order_sns"]
        return sns

    async def pdd_order(self, http: httpx.AsyncClient, order_sn: str) -> dict[str, Any]:
        """An order as the sandbox's Pinduoduo holds it (what it shipped with: tracking_number, logistics_id)."""
        resp = await http.get(f"{self.sandbox}/control/pinduoduo/orders/{order_sn}")
        resp.raise_for_status()
        order: dict[str, Any] = resp.json()
        return order

    async def pdd_refund(self, http: httpx.AsyncClient, order_sn: str, agree: bool = True) -> dict[str, Any]:
        resp = await http.post(f"{self.sandbox}/control/pinduoduo/orders/{order_sn}/refund", json={"agree": agree})
        resp.raise_for_status()
        order: dict[str, Any] = resp.json()
        return order

    async def pdd_faults(self, http: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
        resp = await http.put(f"{self.sandbox}/control/pinduoduo/faults", json=changes)
        resp.raise_for_status()
        config: dict[str, Any] = resp.json()
        return config

    async def pdd_message_stats(self, http: httpx.AsyncClient) -> dict[str, int]:
        stats: dict[str, int] = (await http.get(f"{self.sandbox}/control/pinduoduo/messages/stats")).json()
        return stats

    async def pdd_messages_delivered(self, http: httpx.AsyncClient, within: float = 60) -> dict[str, int]:
        """Waits until every Pinduoduo message published so far has been acknowledged (a 2xx from us)."""

        async def delivered() -> dict[str, int] | None:
            stats = await self.pdd_message_stats(http)
            return stats if stats["pending"] == 0 else None

        found: dict[str, int] = await wait_for(delivered, within, "Pinduoduo messages delivered")
        return found

    async def orders_where(self, http: httpx.AsyncClient, shop: Shop, **filters: Any) -> list[dict[str, Any]]:
        """Every order of the shop that the list's filters (channel, store_id, external_id, status) keep."""
        return await list_all(http, f"{self.shipping}/v1/orders", shop.headers, limit=1000, **filters)

    async def message_delivery(self, http: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
        """The sandbox marketplace's delivery of order messages (``mode`` push or tmc, TMC's knobs)."""
        resp = await http.put(f"{self.sandbox}/control/marketplace/messages/delivery", json=changes)
        resp.raise_for_status()
        config: dict[str, Any] = resp.json()
        return config

    async def tmc_stats(self, http: httpx.AsyncClient) -> dict[str, int]:
        stats: dict[str, int] = (await http.get(f"{self.sandbox}/control/marketplace/messages/tmc")).json()
        return stats

    async def waybill(self, http: httpx.AsyncClient, shop: Shop, number: str) -> dict[str, Any]:
        """One number as allocation holds it (``status``: available, allocated, shipped, ...)."""
        resp = await http.get(f"{self.allocation}/v1/waybills/{number}", headers=shop.headers)
        resp.raise_for_status()
        body: dict[str, Any] = resp.json()
        return body

    async def worker_counter(self, http: httpx.AsyncClient, service: str, metric: str, **labels: str) -> float:
        """The sum of a counter's samples on a worker's /metrics whose labels include ``labels`` (0 when none:
        a labelled counter appears only once incremented). Counts restart with the worker."""
        port = getattr(self.ports, f"{service}_worker_metrics")
        text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
        return sum_samples(text, f"{metric}_total" if not metric.endswith("_total") else metric, labels)


async def list_all(http: httpx.AsyncClient, url: str, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    """Every item of a list operation (``{"data", "has_more", "next_cursor"}``): its pages in turn, each asked
    with the same ``params`` and the previous page's ``next_cursor``, until ``has_more`` is false."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        resp = await http.get(url, params={**params, "cursor": cursor} if cursor else params, headers=headers)
        resp.raise_for_status()
        page: dict[str, Any] = resp.json()
        items += page["data"]
        if not page["has_more"]:
            return items
        cursor = page["next_cursor"]
        assert cursor, f"{url}: has_more without a next_cursor: {page}"


async def wait_for(check: Callable[[], Awaitable[Any]], within: float, what: str, every: float = 0.2) -> Any:
    deadline = time.monotonic() + within
    while True:
        found = await check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within:.0f} s waiting for {what}")
        await asyncio.sleep(every)


def sum_samples(text: str, name: str, labels: dict[str, str]) -> float:
    """Sum of the samples of ``name`` in Prometheus text whose labels include every one of ``labels``."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name) or line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        metric, _, rest = head.partition("{")
        if metric != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', rest))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(value)
    return total
