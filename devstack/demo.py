"""`make demo`: a seller's whole day through the running system's public REST APIs, never the database.

A shop and its key, a top-up, packages bought from three carriers; the shop's marketplace binding and a
sandbox seller and a Pinduoduo store; `DEMO_TRADES` orders in all: paid trades pushed by the sandbox's Taobao
(about two thirds), orders confirmed on its Pinduoduo (a quarter), and orders of the shop's own web store created
over REST (a tenth, shipped with no marketplace). Most orders ship in batches with recommended carriers; beside
the batches, scenes (`SCENES`) work on a few orders one by one: a share shipped in 2-3 parcels (一单多包), a few
trades of several lines shipped in two parts (拆单), own-store orders refunded before pickup (shipped, voided:
回收单号, the credit checked, cancelled), and confirmed marketplace orders whose numbers are changed (换单号, after
the void is refused), a second Taobao store confirming at collection (its shipments held once printed, the
marketplace told when the courier collects a parcel: 揽收后发货), and orders whose buyer moves after the labels
were printed (改址: the couriers told, the labels printed again). Labels rendered; parcels followed through the
sandbox provider with time acceleration and push faults until tracking settles. Then a summary, and the
invariants (`devstack.demo_report`): the exit status is non-zero when any breaks.

`run_demo(urls, ...)` is the reusable part (it never exits); `main()` is the command, which starts
`make run`'s stack itself when nothing answers on the ports and stops it afterwards.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from pydantic import BaseModel
from pypdf import PdfReader
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from waybill_client import AsyncWaybillClient, WaybillError

from devstack.demo_report import (
    MARKETPLACES,
    AddressChangeSeen,
    BatchSeen,
    DemoSummary,
    OrderSeen,
    ParcelSeen,
    SceneSeen,
    ShipmentSeen,
    VoidSeen,
    render,
)
from devstack.infra import DATA
from devstack.processes import Ports

console = Console()
CARRIERS = (("ZTO", "ZTO-5000"), ("YTO", "YTO-5000"), ("YUNDA", "YUNDA-5000"))
# The shop's alert thresholds (set through the API): the sandbox's normal journeys are never silent for a
# day, a stalled one is for 96 h; 30 promised days keep "late" alerts out of a day that runs this fast.
ALERT_SETTINGS = {"not_collected_hours": 48, "no_update_hours": 72, "transit_days": 30}
PUSH_FAULTS = {"push_duplicate_rate": 0.1, "push_out_of_order_rate": 0.1, "push_drop_rate": 0.05}
NO_PUSH_FAULTS = {"push_duplicate_rate": 0, "push_out_of_order_rate": 0, "push_drop_rate": 0}
CONCURRENCY = 16
# The demo shop keeps the default time zone: its spend report counts days as Shanghai does.
SPEND_ZONE = ZoneInfo("Asia/Shanghai")
BATCH_FIELDS = ("id", "status", "total", "done", "failed", "skipped", "pending")


# The shop's own web store's buyers (its orders come over REST, not from a marketplace).
OWN_RECEIVERS = (
    {
        "name": "李雷",
        "phone": "13912345678",
        "state": "江苏省",
        "city": "南京市",
        "district": "鼓楼区",
        "address": "中山北路 30 号",
    },
    {
        "name": "韩梅梅",
        "phone": "13698765432",
        "state": "四川省",
        "city": "成都市",
        "district": "武侯区",
        "address": "人民南路四段 9 号",
    },
    {
        "name": "王芳",
        "phone": "13511112222",
        "state": "北京市",
        "city": "北京市",
        "district": "朝阳区",
        "address": "建国路 88 号",
    },
)


def channel_shares(total: int) -> tuple[int, int, int]:
    """How the day's orders split between the shop's Taobao store, its Pinduoduo store and its own web store."""
    pinduoduo, own = total // 4, total // 10
    return total - pinduoduo - own, pinduoduo, own


# Lines of each trade a split scene ships in two parts: line 1, then lines 2 and 3 in a parcel each.
SPLIT_LINES = 3
REFUND_REASON = "买家退款，取消发货 (demo: refunded before pickup)"
# The shop confirms shipments held until collection at this time of day at the latest (its own time zone).
CONFIRM_TIME = "18:00"
# Where the address change scene's buyers move to (valid addresses: the order is not held for its new one).
MOVED_RECEIVERS = (
    {
        "name": "周杰",
        "phone": "13957112345",
        "state": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
        "address": "文三路 90 号 2 幢 501 室",
    },
    {
        "name": "陈静",
        "phone": "13612345678",
        "state": "广东省",
        "city": "深圳市",
        "district": "福田区",
        "address": "深南大道 6008 号",
    },
    {
        "name": "赵磊",
        "phone": "18611112222",
        "state": "北京市",
        "city": "北京市",
        "district": "海淀区",
        "address": "中关村大街 27 号",
    },
)


@dataclass(frozen=True)
class DayPlan:
    """How the day's orders divide: by channel (``channel_shares``), and how many of each the scenes take out of
    the batches to work on one by one. Sized on the day (a 200-order day has one or two of each), each count
    at most a few percent of its channel so the day takes about as long as batches alone."""

    taobao: int
    pinduoduo: int
    own: int
    split: int  # Taobao trades of SPLIT_LINES lines (out of the Taobao share), each shipped in two parts
    multi_parcel: dict[str, int]  # channel -> orders shipped one by one in 2 or 3 parcels
    refunded: int  # own-store orders refunded before pickup: shipped, voided, cancelled
    number_changes: dict[str, int]  # marketplace -> confirmed orders whose numbers are changed
    at_collection: int = 0  # Taobao trades (out of its share) of a second store, which confirms at collection
    address_changes: dict[str, int] = field(default_factory=dict)  # channel -> orders whose receiver moves (改址)

    @property
    def sources(self) -> dict[str, int]:
        """How many orders each source delivers: the channels, the split trades apart from Taobao's others, and the
        at-collection store's trades."""
        return {
            "taobao": self.taobao - self.split - self.at_collection,
            "split": self.split,
            "at_collection": self.at_collection,
            "pinduoduo": self.pinduoduo,
            "own": self.own,
        }


def plan_day(total: int) -> DayPlan:
    taobao, pinduoduo, own = channel_shares(total)
    return DayPlan(
        taobao=taobao,
        pinduoduo=pinduoduo,
        own=own,
        split=min(3, taobao // 100),
        multi_parcel={"taobao": taobao * 3 // 100, "pinduoduo": pinduoduo * 3 // 100, "own": own * 3 // 100},
        refunded=min(10, own // 20),
        number_changes={"taobao": int(taobao >= 100), "pinduoduo": int(pinduoduo >= 50)},
        at_collection=min(5, taobao // 25),
        address_changes={
            "taobao": min(2, taobao // 50),
            "pinduoduo": min(2, pinduoduo // 25),
            "own": min(1, own // 20),
        },
    )


class DemoError(Exception):
    """A step of the day could not be done; the message says which and what the API answered."""


@dataclass(frozen=True)
class DemoUrls:
    allocation: str
    shipping: str
    tracking: str
    sandbox: str

    @classmethod
    def from_ports(cls, ports: Ports, host: str = "127.0.0.1") -> DemoUrls:
        def url(port: int) -> str:
            return f"http://{host}:{port}"

        return cls(url(ports.allocation), url(ports.shipping), url(ports.tracking), url(ports.sandbox))

    def all(self) -> list[str]:
        return [self.allocation, self.shipping, self.tracking, self.sandbox]


@dataclass(frozen=True)
class DemoOptions:
    trades: int = 2000
    batch_size: int = 500
    acceleration: float = 3600.0
    tracking_wait_s: float = 600.0
    orders_wait_s: float = 600.0
    batches_wait_s: float = 600.0
    subscribe_wait_s: float = 600.0
    out_dir: Path = DATA / "demo"
    admin_key: str = "dev-admin-key"

    @classmethod
    def from_env(cls) -> DemoOptions:
        env = os.environ
        return cls(
            trades=int(env.get("DEMO_TRADES", "2000")),
            batch_size=int(env.get("DEMO_BATCH_SIZE", "500")),
            acceleration=float(env.get("DEMO_ACCELERATION", "3600")),
            tracking_wait_s=float(env.get("DEMO_TRACKING_WAIT_S", "600")),
            out_dir=Path(env.get("DEMO_OUT_DIR", str(DATA / "demo"))),
            admin_key=env.get("WAYBILL_ADMIN_KEY", "dev-admin-key"),
        )


def _error_text(resp: httpx.Response) -> str:
    try:
        err = resp.json()["error"]
        return f"{err['code']}: {err['message']}"
    except (ValueError, KeyError, TypeError):
        return resp.text[:300]


def _check(resp: httpx.Response, *ok: int) -> Any:
    if resp.status_code not in (ok or (200,)):
        raise DemoError(f"{resp.request.method} {resp.request.url.path}: {resp.status_code} {_error_text(resp)}")
    return resp.json() if resp.content else None


class Api:
    """The demo's HTTP calls: answers checked, reads retried once when a kept-alive connection was closed."""

    def __init__(self, http: httpx.AsyncClient, urls: DemoUrls, admin_key: str) -> None:
        self.http = http
        self.urls = urls
        self.admin = {"Authorization": f"Bearer {admin_key}"}
        self.shop: dict[str, str] = {}
        self.gate = asyncio.Semaphore(CONCURRENCY)

    async def get(self, url: str, headers: dict[str, str] | None = None, **params: Any) -> Any:
        for attempt in range(3):
            try:
                async with self.gate:
                    resp = await self._request("GET", url, headers=headers, params=params or None)
                return _check(resp)
            except httpx.TransportError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def typed(self) -> AsyncWaybillClient:
        """The typed client with the shop's key, over the demo's own connection pool (left open)."""
        key = self.shop["Authorization"].removeprefix("Bearer ")
        u = self.urls
        return AsyncWaybillClient(
            key, allocation_url=u.allocation, shipping_url=u.shipping, tracking_url=u.tracking, http=self.http
        )

    async def every(self, items: AsyncIterator[BaseModel], what: str) -> list[dict[str, Any]]:
        """Every item of a list (an ``iter_*`` of the typed client, which follows the pages), as JSON."""
        try:
            async with self.gate:
                return [item.model_dump(mode="json") async for item in items]
        except WaybillError as exc:
            raise DemoError(f"{what}: {exc}") from exc

    async def send(self, method: str, url: str, *ok: int, headers: dict[str, str] | None = None, **kw: Any) -> Any:
        return _check(await self._request(method, url, headers=headers, **kw), *ok)

    async def _request(self, method: str, url: str, headers: dict[str, str] | None, **kw: Any) -> httpx.Response:
        # A 503 means a dependency blipped (a marketplace call, a database restarting or out of
        # connections): retried after its Retry-After, as the API guide asks of every client.
        for _ in range(4):
            resp = await self.http.request(method, url, headers=headers, **kw)
            if resp.status_code != 503:
                break
            await asyncio.sleep(min(float(resp.headers.get("retry-after", "1")), 5.0))
        return resp


class Phases:
    """One progress bar per phase, and the time each phase took."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.took: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str, total: float | None) -> Iterator[TaskID]:
        task = self.progress.add_task(name, total=total)
        started = time.monotonic()
        try:
            yield task
        finally:
            self.took[name] = time.monotonic() - started
            if total is not None:
                self.progress.update(task, completed=self.progress.tasks[task].completed)


async def _poll(check: Callable[[], Awaitable[bool]], within: float, what: str, every: float = 1.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise DemoError(f"timed out after {within:.0f} s waiting for {what}")
        await asyncio.sleep(every)


# --- phases ---------------------------------------------------------------------------------------------


async def open_shop(api: Api, phases: Phases) -> tuple[str, str]:
    """A shop, a key of its own for the demo, a top-up, and three carriers' packages bought."""
    u = api.urls
    with phases.phase("shop, top-up, numbers bought", total=len(CARRIERS) + 2) as task:
        shop = await api.send(
            "POST", f"{u.allocation}/v1/shops", 201, headers=api.admin, json={"name": "演示店铺 demo"}
        )
        key = await api.send(
            "POST", f"{u.allocation}/v1/shops/{shop['id']}/keys", 201, headers=api.admin, json={"label": "demo"}
        )
        api.shop = {"Authorization": f"Bearer {key['api_key']}"}
        phases.progress.advance(task)
        await api.send(
            "POST", f"{u.allocation}/v1/shops/{shop['id']}/topups", 201, headers=api.admin,
            json={"amount_cents": 100_000_000},
        )  # fmt: skip
        phases.progress.advance(task)
        pending: set[str] = set()
        for carrier, package in CARRIERS:
            headers = {**api.shop, "Idempotency-Key": f"demo-{uuid.uuid4().hex}"}
            body = {"carrier": carrier, "package_id": package}
            bought = await api.send("POST", f"{u.allocation}/v1/purchases", 202, 201, headers=headers, json=body)
            pending.add(bought["id"])

        async def issued() -> bool:
            for pid in list(pending):
                p = await api.get(f"{u.allocation}/v1/purchases/{pid}", api.shop)
                if p["status"] == "pending":
                    continue
                if p["status"] != "completed":
                    raise DemoError(f"purchase {pid} {p['status']}: {p.get('error')}")
                pending.discard(pid)
                phases.progress.advance(task)
            return not pending

        await _poll(issued, 180, "the couriers to issue the numbers", every=0.5)
    return str(shop["id"]), str(key["api_key"])


async def receive_trades(
    api: Api, phases: Phases, shop_id: str, trades: int, within: float, split: int = 0
) -> tuple[str, list[str], list[str]]:
    """Bind the shop to a sandbox seller, have the marketplace create paid trades, and wait for the orders. The
    last ``split`` trades have SPLIT_LINES lines each (for the split scene); the others' lines are the sandbox's."""
    u = api.urls
    with phases.phase("marketplace trades received", total=trades) as task:
        # A seller of this shop's own: a restarted sandbox numbers its generated sellers from 001 again, and
        # shipping keeps an earlier demo's shop bound to that nick, so a generated one would be refused.
        nick = {"seller_nick": f"演示卖家-{shop_id}"}
        seller = await api.send("POST", f"{u.sandbox}/control/marketplace/sellers", json=nick)
        settings = {
            "seller_nick": seller["seller_nick"],
            "session": seller["session"],
            "sender_name": "演示店铺",
            "sender_phone": "0571-88886666",
            "sender_address": "浙江省杭州市余杭区文一西路969号",
        }
        await api.send("PUT", f"{u.shipping}/v1/settings", headers=api.shop, json=settings)
        await api.send("PUT", f"{u.tracking}/v1/alert-settings", headers=api.shop, json=ALERT_SETTINGS)
        before = await api.get(f"{u.sandbox}/control/marketplace/messages/stats")
        tids: list[str] = []
        while len(tids) < trades - split:
            count = min(20_000, trades - split - len(tids))
            body = {"seller_nick": seller["seller_nick"], "count": count, "paid": True}
            tids += (await api.send("POST", f"{u.sandbox}/control/marketplace/trades", json=body))["tids"]
        if split:
            body = {"seller_nick": seller["seller_nick"], "count": split, "paid": True, "lines": SPLIT_LINES}
            tids += (await api.send("POST", f"{u.sandbox}/control/marketplace/trades", json=body))["tids"]
        wanted = set(tids)
        found: dict[str, str] = {}

        async def all_there() -> bool:
            # The sandbox's counters show the intake going (a message is acknowledged once its order is
            # stored); the orders are listed only once nothing is pending, as listing costs the service more.
            stats = await api.get(f"{u.sandbox}/control/marketplace/messages/stats")
            phases.progress.update(task, completed=min(trades, stats["delivered"] - before["delivered"]))
            if stats["pending"] > 0:
                return False
            for order in await list_orders(api):
                if order["external_id"] in wanted:
                    found[order["external_id"]] = order["id"]
            phases.progress.update(task, completed=len(found))
            return len(found) == len(wanted)

        await _poll(all_there, within, f"{trades} orders from the marketplace")
    return str(seller["seller_nick"]), tids, [found[t] for t in tids]


async def receive_pinduoduo(api: Api, phases: Phases, shop_id: str, count: int, within: float) -> list[str]:
    """A Pinduoduo store for the shop (a sandbox mall, bound through shipping with its access token), confirmed
    orders on it, and the wait until each is an order of the shop."""
    u = api.urls
    with phases.phase("Pinduoduo orders received", total=count) as task:
        mall = await api.send(
            "POST", f"{u.sandbox}/control/pinduoduo/malls", json={"mall_name": f"演示拼多多-{shop_id}"}
        )
        store = {"channel": "pinduoduo", "token": mall["access_token"], "name": mall["mall_name"]}
        await api.send("POST", f"{u.shipping}/v1/stores", 201, 200, headers=api.shop, json=store)
        sns: list[str] = []
        while len(sns) < count:
            body = {"mall_id": mall["mall_id"], "count": min(20_000, count - len(sns))}
            sns += (await api.send("POST", f"{u.sandbox}/control/pinduoduo/orders", json=body))["order_sns"]
        return await _orders_of(api, phases, task, "pinduoduo", sns, within)


async def receive_at_collection_store(
    api: Api, phases: Phases, shop_id: str, count: int, within: float
) -> tuple[list[str], list[str]]:
    """A second Taobao store for the shop (a sandbox seller of its own, bound through POST /v1/stores) that
    confirms at collection (PATCH confirm_mode at_collection; the shop confirms held shipments at CONFIRM_TIME at
    the latest), paid trades on it, and the wait until each is an order of the shop: its trades and orders."""
    u = api.urls
    with phases.phase("at-collection store's trades received", total=count) as task:
        nick = {"seller_nick": f"演示揽收-{shop_id}"}
        seller = await api.send("POST", f"{u.sandbox}/control/marketplace/sellers", json=nick)
        body = {"channel": "taobao", "token": seller["session"], "seller_id": seller["seller_nick"],
                "name": "演示店铺 揽收后发货"}  # fmt: skip
        store = await api.send("POST", f"{u.shipping}/v1/stores", 201, 200, headers=api.shop, json=body)
        store = await api.send(
            "PATCH", f"{u.shipping}/v1/stores/{store['id']}", headers=api.shop, json={"confirm_mode": "at_collection"}
        )
        if store["confirm_mode"] != "at_collection":
            raise DemoError(f"store {store['id']} kept confirm_mode {store['confirm_mode']} (asked: at_collection)")
        await api.send("PUT", f"{u.shipping}/v1/settings", headers=api.shop, json={"confirm_time": CONFIRM_TIME})
        body = {"seller_nick": seller["seller_nick"], "count": count, "paid": True}
        tids: list[str] = (await api.send("POST", f"{u.sandbox}/control/marketplace/trades", json=body))["tids"]
        return tids, await _orders_of(api, phases, task, "taobao", tids, within)


async def create_own_orders(api: Api, phases: Phases, count: int) -> list[str]:
    """Orders of the shop's own web store, created over REST as its ERP would: shipped with no marketplace."""
    u = api.urls
    with phases.phase("own-store orders created", total=count) as task:

        async def create(i: int) -> str:
            receiver = OWN_RECEIVERS[i % len(OWN_RECEIVERS)]
            body = {"external_id": f"web-{uuid.uuid4().hex[:12]}", "receiver": receiver, "weight_g": 600 + i % 900}
            order = await api.send("POST", f"{u.shipping}/v1/orders", 201, headers=api.shop, json=body)
            phases.progress.advance(task)
            return str(order["id"])

        async def gated(i: int) -> str:
            async with api.gate:
                return await create(i)

        return list(await asyncio.gather(*(gated(i) for i in range(count))))


async def _orders_of(
    api: Api, phases: Phases, task: TaskID, channel: str, external_ids: list[str], within: float
) -> list[str]:
    wanted, found = set(external_ids), {}

    async def all_there() -> bool:
        for order in await api.every(api.typed().iter_orders(channel=channel, limit=10_000), "listing orders"):
            if order["external_id"] in wanted:
                found[order["external_id"]] = order["id"]
        phases.progress.update(task, completed=len(found))
        return len(found) == len(wanted)

    await _poll(all_there, within, f"{len(wanted)} orders from {channel}")
    return [found[e] for e in external_ids]


async def list_orders(api: Api) -> list[dict[str, Any]]:
    return await api.every(api.typed().iter_orders(limit=10_000), "listing the orders")


async def ship_all(
    api: Api, phases: Phases, order_ids: list[str], batch_size: int, within: float
) -> list[dict[str, Any]]:
    """Every order in batches, carrier left to the recommendation; follows each batch to its end."""
    u = api.urls
    with phases.phase("orders shipped in batches", total=len(order_ids)) as task:
        ids: list[str] = []
        for i in range(0, len(order_ids), batch_size):
            body = {"order_ids": order_ids[i : i + batch_size]}
            ids.append(
                (await api.send("POST", f"{u.shipping}/v1/shipment-batches", 202, headers=api.shop, json=body))["id"]
            )
        views: dict[str, dict[str, Any]] = {}

        async def finished() -> bool:
            for bid in ids:
                if views.get(bid, {}).get("status") != "completed":
                    views[bid] = await api.get(f"{u.shipping}/v1/shipment-batches/{bid}", api.shop, limit=0)
            ended = sum(v["done"] + v["failed"] + v["skipped"] for v in views.values())
            phases.progress.update(task, completed=ended)
            return all(v["status"] == "completed" for v in views.values())

        await _poll(finished, within, f"{len(ids)} batches to finish", every=0.5)
        return [await api.get(f"{u.shipping}/v1/shipment-batches/{bid}", api.shop, limit=10_000) for bid in ids]


# --- scenes: orders worked one by one, beside the batches -----------------------------------------------
#
# Each scene takes a few orders out of the batches (``Scene.wants``: how many of each source, sized by the
# DayPlan) and works on them through the public API while the batches run; what it did goes to the summary
# (SceneSeen), and the invariants check the outcome on every order alike. To add one: give DayPlan its count,
# write ``async def <scene>(day, order_ids) -> SceneSeen`` and list it in SCENES. Sources: "taobao", "split"
# (Taobao trades of SPLIT_LINES lines), "at_collection" (the trades of a Taobao store bound with confirm_mode
# at_collection), "pinduoduo", "own"; a scene that needs orders of a kind of their own adds its source in
# arun_demo. A scene that must wait for the couriers (a collection: hours of the sandbox's clock) gives
# ``Scene.settle`` too: it runs with the clock fast, beside tracking, after the batches (before, the clock runs
# at real speed so that no parcel is collected under the other scenes: a refund's void, an address change).


@dataclass(frozen=True)
class Day:
    """What a scene works with: the API, the progress bars, the options."""

    api: Api
    phases: Phases
    options: DemoOptions


async def ship_one(api: Api, order_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST /v1/orders/{id}/ship: the shipment, with its parcels."""
    async with api.gate:
        shipment: dict[str, Any] = await api.send(
            "POST", f"{api.urls.shipping}/v1/orders/{order_id}/ship", 202, headers=api.shop, json=body
        )
    return shipment


async def confirmed(api: Api, shipment_ids: list[str], within: float) -> dict[str, dict[str, Any]]:
    """Waits until every shipment is confirmed (the marketplace, or the shop's systems, told); their views."""
    views: dict[str, dict[str, Any]] = {}

    async def all_confirmed() -> bool:
        for sid in shipment_ids:
            if views.get(sid, {}).get("status") != "confirmed":
                views[sid] = await api.get(f"{api.urls.shipping}/v1/shipments/{sid}", api.shop)
                if views[sid]["status"] in ("failed", "cancelled", "voided"):
                    raise DemoError(f"shipment {sid} {views[sid]['status']}: {views[sid].get('error')}")
        return all(v["status"] == "confirmed" for v in views.values())

    await _poll(all_confirmed, within, f"{len(shipment_ids)} shipments to be confirmed", every=0.5)
    return views


async def settled_voids(api: Api, numbers: list[str], within: float) -> dict[str, dict[str, Any]]:
    """Waits until the courier has answered every voided number's cancellation; allocation's void records."""
    found: dict[str, dict[str, Any]] = {}

    async def answered() -> bool:
        for number in numbers:
            if found.get(number, {}).get("courier") in (None, "pending"):
                void = (await api.get(f"{api.urls.allocation}/v1/waybills/{number}", api.shop))["void"]
                if void is not None:
                    found[number] = void
        return all(found.get(n, {}).get("courier") not in (None, "pending") for n in numbers)

    await _poll(answered, within, f"the courier to answer {len(numbers)} voids", every=0.5)
    return found


def _parcels(shipments: Iterable[dict[str, Any]]) -> int:
    return sum(len(s["parcels"]) for s in shipments)


async def multi_parcel(day: Day, order_ids: list[str]) -> SceneSeen:
    """Orders shipped one by one in 2 or 3 parcels (一单多包): every parcel's number from one allocation call."""
    api = day.api
    with day.phases.phase("orders shipped in several parcels", total=len(order_ids)) as task:

        async def one(i: int, order_id: str) -> dict[str, Any]:
            shipment = await ship_one(api, order_id, {"parcel_count": 2 + i % 2})
            day.phases.progress.advance(task)
            return shipment

        shipped = await asyncio.gather(*(one(i, o) for i, o in enumerate(order_ids)))
        views = await confirmed(api, [s["id"] for s in shipped], day.options.orders_wait_s)
    sizes = Counter(len(v["parcels"]) for v in views.values())
    counts = {f"{n} parcels": sizes[n] for n in sorted(sizes)}
    return SceneSeen("multi-parcel", order_ids, len(views), _parcels(views.values()), counts)


async def split_orders(day: Day, order_ids: list[str]) -> SceneSeen:
    """Trades of several lines shipped in two parts (拆单): line 1 first; once it is confirmed the order is partly
    shipped, then lines 2 and 3 in a parcel each, and the order is shipped with its last line."""
    api, u = day.api, day.api.urls
    with day.phases.phase("split orders shipped in two parts", total=2 * len(order_ids)) as task:
        first = [await ship_one(api, o, {"lines": [1], "parcels": [{"lines": [1]}]}) for o in order_ids]
        await confirmed(api, [s["id"] for s in first], day.options.orders_wait_s)
        day.phases.progress.advance(task, len(order_ids))
        between = [(await api.get(f"{u.shipping}/v1/orders/{o}", api.shop))["status"] for o in order_ids]
        rest = list(range(2, SPLIT_LINES + 1))
        body = {"lines": rest, "parcels": [{"lines": [line]} for line in rest]}
        second = [await ship_one(api, o, body) for o in order_ids]
        views = await confirmed(api, [s["id"] for s in second], day.options.orders_wait_s)
        day.phases.progress.advance(task, len(order_ids))
    counts = {"parts": 2 * len(order_ids), "partly_shipped between parts": between.count("partly_shipped")}
    return SceneSeen("split", order_ids, len(first) + len(second), _parcels([*first, *views.values()]), counts)


async def refunded_before_pickup(day: Day, order_ids: list[str]) -> SceneSeen:
    """Own-store orders the buyer has refunded after the labels were printed, before the courier came: shipped
    (every other one in 2 parcels), confirmed to the shop's systems, voided (回收单号: the numbers voided, the
    courier asked to cancel them, the shop credited per the package's policy), and cancelled."""
    api, u = day.api, day.api.urls
    with day.phases.phase("orders refunded before pickup, voided", total=len(order_ids)) as task:
        shipped = [await ship_one(api, o, {"parcel_count": 1 + i % 2}) for i, o in enumerate(order_ids)]
        await confirmed(api, [s["id"] for s in shipped], day.options.orders_wait_s)
        numbers: list[str] = []
        for shipment in shipped:
            voided = await api.send(
                "POST", f"{u.shipping}/v1/shipments/{shipment['id']}/void", headers=api.shop,
                json={"reason": REFUND_REASON},
            )  # fmt: skip
            if voided["status"] != "voided":
                raise DemoError(f"shipment {shipment['id']} was not voided: {voided['status']}")
            await api.send("POST", f"{u.shipping}/v1/orders/{shipment['order_id']}/cancel", headers=api.shop)
            numbers += [p["number"] for p in voided["parcels"]]
            day.phases.progress.advance(task)
        voids = await settled_voids(api, numbers, day.options.orders_wait_s)
    counts = {
        "numbers voided": len(numbers),
        "cancelled at the courier": sum(v["courier"] == "discarded" for v in voids.values()),
        "credited (cents)": sum(v["credited_cents"] for v in voids.values()),
    }
    return SceneSeen("refunded before pickup", order_ids, len(shipped), _parcels(shipped), counts)


async def number_change(day: Day, order_ids: list[str]) -> SceneSeen:
    """Confirmed marketplace orders whose labels must be redone (a damaged box, say): the void is refused, as no
    marketplace takes a confirmation back (409 cannot_withdraw), so the numbers are changed (换单号): new ones
    from the pool, the marketplace told, the old ones voided and credited."""
    api, u = day.api, day.api.urls
    with day.phases.phase("numbers changed on confirmed orders", total=len(order_ids)) as task:
        shipped = [await ship_one(api, o, {"parcel_count": 2}) for o in order_ids]
        await confirmed(api, [s["id"] for s in shipped], day.options.orders_wait_s)
        refused, old = 0, []
        for shipment in shipped:
            resp = await api._request(
                "POST", f"{u.shipping}/v1/shipments/{shipment['id']}/void", api.shop, json={"reason": "box damaged"}
            )
            if resp.status_code != 409 or resp.json()["error"]["code"] != "cannot_withdraw":
                raise DemoError(f"voiding confirmed marketplace shipment {shipment['id']}: {resp.status_code} "
                                f"{_error_text(resp)} (expected 409 cannot_withdraw)")  # fmt: skip
            refused += 1
            changed = await api.send("POST", f"{u.shipping}/v1/shipments/{shipment['id']}/change-numbers",
                                     headers=api.shop, json={})  # fmt: skip
            before = {p["number"] for p in shipment["parcels"]}
            after = {p["number"] for p in changed["parcels"] if p["status"] == "live"}
            if before & after or len(after) != len(before):
                raise DemoError(f"shipment {shipment['id']}: numbers {sorted(before)} changed to {sorted(after)}")
            old += sorted(before)
            day.phases.progress.advance(task)
        voids = await settled_voids(api, old, day.options.orders_wait_s)
    counts = {
        "voids refused (cannot_withdraw)": refused,
        "numbers changed": len(old),
        "credited (cents)": sum(v["credited_cents"] for v in voids.values()),
    }
    return SceneSeen("number change", order_ids, len(shipped), 2 * _parcels(shipped), counts)


async def shipments_of(api: Api, order_id: str) -> list[dict[str, Any]]:
    page = await api.get(f"{api.urls.shipping}/v1/shipments", api.shop, order_id=order_id, limit=100)
    found: list[dict[str, Any]] = page["data"]
    return found


def _live_numbers(shipment: dict[str, Any]) -> list[str]:
    return [p["number"] for p in shipment["parcels"] if p["status"] == "live"]


async def _external_ids(api: Api, order_ids: Iterable[str]) -> dict[str, str]:
    return {o: (await api.get(f"{api.urls.shipping}/v1/orders/{o}", api.shop))["external_id"] for o in order_ids}


async def _marketplace_told(api: Api, shipment: dict[str, Any], external_id: str) -> list[str]:
    """The numbers of a held shipment its marketplace holds, read before the shipment is seen still held (so a
    release meanwhile, with its confirmation, is not taken for the marketplace told early)."""
    there = await marketplace_numbers(api, "taobao", external_id)
    again = await api.get(f"{api.urls.shipping}/v1/shipments/{shipment['id']}", api.shop)
    return [n for n in _live_numbers(again) if n in there] if again["status"] == "held" else []


async def at_collection_store(day: Day, order_ids: list[str]) -> SceneSeen:
    """Orders of the store that confirms at collection (揽收后发货): shipped one by one (every other one in 2
    parcels), each shipment held once its label is made; tracking follows its parcels, and the marketplace is not
    told (the trade has no consignment). The rest waits for the couriers, with the clock fast (``released``)."""
    api = day.api
    with day.phases.phase("at-collection orders printed, held", total=len(order_ids)) as task:
        shipped = [await ship_one(api, o, {"parcel_count": 1 + i % 2}) for i, o in enumerate(order_ids)]
        wrong = [f"{s['id']} ({s['status']}, {s['confirm_mode']})" for s in shipped if s["status"] != "held"]
        if wrong:
            raise DemoError(f"shipments of the at-collection store not held once printed: {', '.join(wrong)}")
        numbers = [n for s in shipped for n in _live_numbers(s)]

        async def followed() -> bool:
            return all(t.get("subscribed") for t in await truths(api, numbers))

        # Shipping hands held parcels to tracking at once (their collection is what releases them); by the time
        # the provider has them, a confirmation queued as at print would have been sent too.
        await _poll(followed, day.options.subscribe_wait_s, "tracking to follow the held parcels", every=0.5)
        external = await _external_ids(api, order_ids)
        for shipment in shipped:
            told = await _marketplace_told(api, shipment, external[shipment["order_id"]])
            if told:
                raise DemoError(f"shipment {shipment['id']} is held, but its marketplace has {', '.join(told)}")
            day.phases.progress.advance(task)
    counts = {"held, marketplace not told": len(shipped)}
    return SceneSeen("at-collection store", order_ids, len(shipped), _parcels(shipped), counts)


def release_of(shipment: dict[str, Any]) -> tuple[datetime, str] | None:
    """When shipping released a held shipment and why (its history's ``released: ...`` event), if it did."""
    for event in shipment.get("history") or []:
        text = str(event.get("event", ""))
        if text.startswith("released: ") and event.get("at"):
            return datetime.fromisoformat(str(event["at"])), text.removeprefix("released: ")
    return None


async def released(day: Day, seen: SceneSeen) -> SceneSeen:
    """With the clock fast: each held shipment waits for its courier, released when tracking reports a parcel
    collected (揽收) or at the shop's CONFIRM_TIME, then confirmed with the marketplace holding every parcel's
    number. A shipment whose parcels the courier never collects (the sandbox's never_collected journeys) stays
    held, its marketplace not told: counted, as it is never confirmed silently."""
    api, u = day.api, day.api.urls
    with day.phases.phase("at-collection shipments released", total=len(seen.orders)) as task:
        external = await _external_ids(api, seen.orders)
        held = [s for o in seen.orders for s in await shipments_of(api, o) if s["confirm_mode"] == "at_collection"]
        views: dict[str, dict[str, Any]] = {}
        done: set[str] = set()
        never: set[str] = set()

        async def all_released() -> bool:
            for shipment in held:
                sid = shipment["id"]
                if sid in done:
                    continue
                views[sid] = view = await api.get(f"{u.shipping}/v1/shipments/{sid}", api.shop)
                if view["status"] in ("failed", "cancelled", "voided"):
                    raise DemoError(f"held shipment {sid} {view['status']}: {view.get('error')}")
                if view["status"] == "confirmed":
                    there = await marketplace_numbers(api, "taobao", external[view["order_id"]])
                    if set(_live_numbers(view)) <= there:
                        done.add(sid)
                        never.discard(sid)
                elif view["status"] == "held":
                    kinds = {t.get("kind") for t in await truths(api, _live_numbers(view))}
                    if kinds == {"never_collected"}:
                        never.add(sid)
            day.phases.progress.update(task, completed=len(done) + len(never))
            return len(done) + len(never) == len(held)

        await _poll(all_released, day.options.orders_wait_s, f"{len(held)} held shipments to be released", every=0.5)
        for sid in never:
            told = await _marketplace_told(api, views[sid], external[views[sid]["order_id"]])
            if told:
                raise DemoError(f"shipment {sid} is held, but its marketplace has {', '.join(told)}")
    reasons = [release_of(views[sid]) for sid in done]
    by_collection = sum(1 for r in reasons if r is not None and "collected" in r[1])
    counts = {
        **seen.counts,
        "released by collection": by_collection,
        "released at confirm_time": len(done) - by_collection,
        "never collected (still held)": len(never),
    }
    return replace(seen, shipments=len(views), parcels=_parcels(views.values()), counts=counts)


def label_address(receiver: dict[str, Any]) -> str:
    """The receiver's address as a label prints it."""
    return " ".join(str(receiver[k]) for k in ("state", "city", "district", "address") if receiver.get(k))


def courier_recipient(receiver: dict[str, Any]) -> dict[str, Any]:
    """A receiver as the courier's waybill record holds it once told (allocation's TMS_WAYBILL_UPDATE)."""
    address = {"province": receiver["state"], "city": receiver["city"], "district": receiver.get("district", "")}
    return {"name": receiver["name"], "phone": receiver["phone"], "address": {**address, "detail": receiver["address"]}}


async def courier_record(api: Api, number: str) -> dict[str, Any]:
    """The sandbox courier's record of an issued number (its state, and the receiver it was last told)."""
    found: dict[str, Any] = await api.get(f"{api.urls.sandbox}/control/courier/numbers/{number}")
    return found


async def shipment_labels(api: Api, shipment_id: str) -> tuple[list[str], int]:
    """The shipment's label PDF, a page per parcel: each page's text, and the prints counted so far."""
    async with api.gate:
        resp = await api.http.get(f"{api.urls.shipping}/v1/shipments/{shipment_id}/label.pdf", headers=api.shop)
    if resp.status_code != 200:
        _check(resp)
    return pdf_texts(resp.content), int(resp.headers.get("x-label-prints", "0"))


def moved_receiver(i: int, current: dict[str, Any]) -> dict[str, Any]:
    """Where the i-th buyer moves: one of MOVED_RECEIVERS that is not where the order goes now."""
    for k in range(len(MOVED_RECEIVERS)):
        moved = MOVED_RECEIVERS[(i + k) % len(MOVED_RECEIVERS)]
        if label_address(moved) != label_address(current):
            return dict(moved)
    raise AssertionError("MOVED_RECEIVERS holds more than one address")


async def address_change(day: Day, order_ids: list[str]) -> SceneSeen:
    """Orders whose buyer moves after the labels were printed, before the courier came (改址): shipped (every other
    one in 2 parcels) and confirmed, then PUT /v1/orders/{id}/receiver with a new address: the numbers stay, the
    order is flagged label_outdated, every parcel's courier waybill is told the new receiver (the sandbox
    courier's record of the number shows it), and the labels printed again carry the new address."""
    api, u = day.api, day.api.urls
    with day.phases.phase("addresses changed after printing, reprinted", total=len(order_ids)) as task:
        shipped = [await ship_one(api, o, {"parcel_count": 1 + i % 2}) for i, o in enumerate(order_ids)]
        first = {s["id"]: (await shipment_labels(api, s["id"]))[0] for s in shipped}
        await confirmed(api, [s["id"] for s in shipped], day.options.orders_wait_s)
        changes: list[AddressChangeSeen] = []
        moved_to: dict[str, dict[str, Any]] = {}
        for i, shipment in enumerate(shipped):
            order_id, numbers = shipment["order_id"], _live_numbers(shipment)
            order = await api.get(f"{u.shipping}/v1/orders/{order_id}", api.shop)
            moved_to[shipment["id"]] = new = moved_receiver(i, order["receiver"])
            if any(squeezed(label_address(new)) in page for page in first[shipment["id"]]):
                raise DemoError(f"the first label of shipment {shipment['id']} already has {label_address(new)}")
            changed = await api.send("PUT", f"{u.shipping}/v1/orders/{order_id}/receiver", headers=api.shop, json=new)
            if changed["held"] or not any(f["kind"] == "label_outdated" for f in changed["flags"]):
                raise DemoError(f"order {order_id}: its receiver changed after printing, but it is held "
                                f"({changed['held']}) or not flagged label_outdated: {changed['flags']}")  # fmt: skip
            after = _live_numbers(await api.get(f"{u.shipping}/v1/shipments/{shipment['id']}", api.shop))
            if after != numbers:
                raise DemoError(f"order {order_id}: numbers {numbers} became {after} when its receiver changed")
            changes.append(AddressChangeSeen(order_id, tuple(numbers), courier_recipient(new)))
        wanted = {n: change.recipient for change in changes for n in change.numbers}
        told: set[str] = set()

        async def couriers_told() -> bool:
            for number in set(wanted) - told:
                if (await courier_record(api, number)).get("recipient") == wanted[number]:
                    told.add(number)
            return len(told) == len(wanted)

        await _poll(couriers_told, day.options.orders_wait_s, f"the couriers of {len(wanted)} numbers to be told")
        reprinted = 0
        for shipment in shipped:
            pages, prints = await shipment_labels(api, shipment["id"])
            numbers = _live_numbers(shipment)
            address = label_address(moved_to[shipment["id"]])
            wrong = [n for n in numbers if not any(n in page and squeezed(address) in page for page in pages)]
            if len(pages) != len(numbers) or wrong or prints < 2:
                which = ", ".join(wrong) or "every parcel"
                raise DemoError(f"the labels of shipment {shipment['id']} printed again ({len(pages)} pages, print "
                                f"{prints}) do not carry {address} for {which}")  # fmt: skip
            reprinted += len(pages)
            day.phases.progress.advance(task)
    counts = {"receivers changed": len(changes), "courier updates": len(told), "labels reprinted": reprinted}
    return replace(
        SceneSeen("address change reprint", order_ids, len(shipped), _parcels(shipped), counts),
        address_changes=tuple(changes),
    )


@dataclass(frozen=True)
class Scene:
    name: str
    wants: Callable[[DayPlan], dict[str, int]]  # source -> how many of its orders the scene takes
    run: Callable[[Day, list[str]], Awaitable[SceneSeen]]
    # What the scene waits for with the clock fast, beside tracking (after the batches), given what ``run`` saw.
    settle: Callable[[Day, SceneSeen], Awaitable[SceneSeen]] | None = None


SCENES: tuple[Scene, ...] = (
    Scene("multi-parcel", lambda p: dict(p.multi_parcel), multi_parcel),
    Scene("split", lambda p: {"split": p.split}, split_orders),
    Scene("refunded before pickup", lambda p: {"own": p.refunded}, refunded_before_pickup),
    Scene("number change", lambda p: dict(p.number_changes), number_change),
    Scene("at-collection store", lambda p: {"at_collection": p.at_collection}, at_collection_store, released),
    Scene("address change reprint", lambda p: dict(p.address_changes), address_change),
)


def pick_orders(
    plan: DayPlan, sources: dict[str, list[str]], scenes: tuple[Scene, ...] = SCENES
) -> tuple[dict[str, list[str]], list[str]]:
    """Each scene's orders, taken from the front of their sources in turn, and the rest: the batches' orders."""
    left = {name: list(ids) for name, ids in sources.items()}
    picked: dict[str, list[str]] = {}
    for scene in scenes:
        mine: list[str] = []
        for source, count in scene.wants(plan).items():
            mine += left[source][:count]
            del left[source][:count]
        if mine:
            picked[scene.name] = mine
    return picked, [order_id for ids in left.values() for order_id in ids]


async def run_scenes(
    day: Day, picked: dict[str, list[str]], scenes: tuple[Scene, ...] = SCENES
) -> dict[str, SceneSeen]:
    """Every scene with orders, at once (and beside the batches)."""
    chosen = [scene for scene in scenes if picked.get(scene.name)]
    seen = await asyncio.gather(*(scene.run(day, picked[scene.name]) for scene in chosen))
    return {scene.name: found for scene, found in zip(chosen, seen, strict=True)}


async def settle_scenes(
    day: Day, seen: dict[str, SceneSeen], scenes: tuple[Scene, ...] = SCENES
) -> dict[str, SceneSeen]:
    """Every scene that ran and waits for the couriers, at once (with the clock fast); the others as they were."""
    waiting = [scene for scene in scenes if scene.settle is not None and scene.name in seen]
    settled = await asyncio.gather(*(scene.settle(day, seen[scene.name]) for scene in waiting if scene.settle))
    return {**seen, **{scene.name: found for scene, found in zip(waiting, settled, strict=True)}}


async def render_labels(api: Api, phases: Phases, batch: dict[str, Any], out_dir: Path) -> tuple[Path, Path, int]:
    """The first batch's labels as one streamed PDF, and one shipment's label as the sample."""
    u = api.urls
    with phases.phase("labels rendered", total=2) as task:
        batch_pdf = out_dir / f"labels-{batch['id']}.pdf"
        chunks: list[bytes] = []
        async with api.http.stream(
            "GET", f"{u.shipping}/v1/shipment-batches/{batch['id']}/labels.pdf", headers=api.shop
        ) as resp:
            if resp.status_code != 200:
                await resp.aread()
                _check(resp)
            chunks = [chunk async for chunk in resp.aiter_bytes()]
        data = b"".join(chunks)
        _write(batch_pdf, data)
        pages = pdf_pages(data)
        phases.progress.advance(task)
        shipped = next((i for i in batch["items"] if i["status"] == "shipped" and i["shipment_id"]), None)
        if shipped is None:
            raise DemoError(f"batch {batch['id']} shipped nothing: no label to render")
        resp = await api.http.get(f"{u.shipping}/v1/shipments/{shipped['shipment_id']}/label.pdf", headers=api.shop)
        if resp.status_code != 200:
            _check(resp)
        sample = out_dir / "sample-label.pdf"
        _write(sample, resp.content)
        if pdf_pages(resp.content) != 1:
            raise DemoError(f"the label of shipment {shipped['shipment_id']} is not a one-page PDF")
        phases.progress.advance(task)
    return sample, batch_pdf, pages


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def pdf_pages(data: bytes) -> int:
    """Pages of a PDF as its page tree counts them (0 when it is not a complete PDF)."""
    if not data.startswith(b"%PDF-") or not data.rstrip().endswith(b"%%EOF"):
        return 0
    found = re.findall(rb"/Type /Pages /Kids \[[^\]]*\] /Count (\d+)", data)
    return int(found[-1]) if found else 0


def pdf_texts(data: bytes) -> list[str]:
    """The text on each page of a PDF as pypdf reads it, without its whitespace: a receiver's address wrapped
    over lines (or spaced) reads as one; compare with ``squeezed``."""
    return [squeezed(page.extract_text() or "") for page in PdfReader(io.BytesIO(data)).pages]


def squeezed(text: str) -> str:
    return "".join(text.split())


async def truths(api: Api, numbers: list[str]) -> list[dict[str, Any]]:
    chunks = [numbers[i : i + 100] for i in range(0, len(numbers), 100)]
    pages = await asyncio.gather(
        *(api.get(f"{api.urls.sandbox}/control/tracking/parcels", number=c, include_events="false") for c in chunks)
    )
    return [t for page in pages for t in page]


@asynccontextmanager
async def accelerated(api: Api, acceleration: float) -> AsyncIterator[None]:
    """Push faults and a fast clock on the sandbox, tracking's clock in step; both put back afterwards."""
    u = api.urls
    await api.send("PUT", f"{u.sandbox}/control/faults", json=PUSH_FAULTS)
    try:
        clock = await api.send("PUT", f"{u.sandbox}/control/clock", json={"acceleration": acceleration})
        await api.send(
            "PUT", f"{u.tracking}/internal/v1/clock", headers=api.admin,
            json={"now": clock["now"], "factor": acceleration},
        )  # fmt: skip
        yield
    finally:
        await api.send("PUT", f"{u.sandbox}/control/faults", json=NO_PUSH_FAULTS)
        await api.send("PUT", f"{u.sandbox}/control/clock", json={"acceleration": 1.0})
        await api.send("PUT", f"{u.tracking}/internal/v1/clock", headers=api.admin, json={"reset": True})


FINAL_STATUS = {"3": "delivered", "4": "returned"}


def order_settled(parcels: list[dict[str, Any]], order_status: str | None) -> bool:
    """Every parcel of the order has ended at the provider and shipping's order shows how (tracking told it): all
    delivered, or all returned. A parcel never collected (aborted) or parcels ending differently leave nothing
    to compare: only the dropped-or-not abort push can tell, nothing to wait for."""
    if not all(t.get("finished") or t.get("aborted") for t in parcels):
        return False
    if any(t.get("aborted") for t in parcels):
        return True
    finals = {FINAL_STATUS.get(str(t.get("final_state"))) for t in parcels}
    expected = finals.pop() if len(finals) == 1 else None
    return expected is None or order_status == expected


async def follow_parcels(
    api: Api,
    phases: Phases,
    numbers: dict[str, str],
    options: DemoOptions,
    alongside: Callable[[], Awaitable[None]] | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Waits until every parcel is subscribed, then runs the journeys fast with faults until they settle, and
    ``alongside`` (the scenes waiting for the couriers) meanwhile. ``numbers``: every followed parcel's number ->
    its order."""
    wanted = sorted(numbers)
    with phases.phase("parcels subscribed with the provider", total=len(wanted)) as task:

        async def subscribed() -> bool:
            seen = await truths(api, wanted)
            done = sum(1 for t in seen if t.get("subscribed"))
            phases.progress.update(task, completed=done)
            return done == len(wanted)

        await _poll(subscribed, options.subscribe_wait_s, "every shipped parcel to be subscribed", every=1.0)
    settled = 0
    seen: list[dict[str, Any]] = []
    with phases.phase(f"tracking at x{options.acceleration:g} with push faults", total=len(wanted)) as task:
        async with accelerated(api, options.acceleration):

            async def all_settled() -> bool:
                nonlocal settled, seen
                seen = await truths(api, wanted)
                status = {o["id"]: o["status"] for o in await list_orders(api)}
                by_order: dict[str, list[dict[str, Any]]] = {}
                for t in seen:
                    by_order.setdefault(numbers[t["number"]], []).append(t)
                settled = sum(len(ts) for o, ts in by_order.items() if order_settled(ts, status.get(o)))
                phases.progress.update(task, completed=settled)
                return settled == len(wanted)

            async def tracked() -> None:
                try:
                    await _poll(all_settled, options.tracking_wait_s, "tracking to settle", every=3.0)
                except DemoError:
                    # Bounded: the summary says how many settled; the invariants do not depend on it.
                    console.print(f"[yellow]tracking had not settled after {options.tracking_wait_s:.0f} s[/]")

            await asyncio.gather(tracked(), *([alongside()] if alongside else []))
        # One more alert scan sees the final states (the scan runs every few seconds).
        await asyncio.sleep(6)
    return seen, settled


async def list_alerts(api: Api) -> Counter[tuple[str, str]]:
    alerts = await api.every(api.typed().iter_alerts(limit=1000), "listing the alerts")
    return Counter((a["kind"], a["state"]) for a in alerts)


async def list_shipments(api: Api) -> list[dict[str, Any]]:
    """Every shipment of the shop with its parcels, page by page (the typed client's model has no parcels yet)."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
        page = await api.get(f"{api.urls.shipping}/v1/shipments", api.shop, **params)
        found += page["data"]
        if not page["has_more"]:
            return found
        cursor = page["next_cursor"]


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def shipment_seen(s: dict[str, Any]) -> ShipmentSeen:
    boxes = tuple(
        ParcelSeen(p["number"], p["status"], tuple(p["lines"]), _when(p.get("collected_at"))) for p in s["parcels"]
    )
    release = release_of(s)
    return ShipmentSeen(
        s["id"], s["order_id"], s["number"], s["status"], boxes, s.get("confirm_mode", "at_print"),
        _when(s.get("confirmed_at")), release[0] if release else None, release[1] if release else None,
    )  # fmt: skip


def followed_numbers(shipments: list[dict[str, Any]]) -> dict[str, str]:
    """Every live parcel of a confirmed shipment, or of one held until its collection (what tracking follows) ->
    its order."""
    return {
        p["number"]: s["order_id"]
        for s in shipments
        if s["status"] in ("confirmed", "held")
        for p in s["parcels"]
        if p["status"] == "live"
    }


async def marketplace_numbers(api: Api, channel: str, external_id: str) -> set[str]:
    """Every number the marketplace holds for the order, as the sandbox shows it: a Taobao trade's consignments'
    packages; a Pinduoduo order's number and its extra numbers (分包发货)."""
    u = api.urls
    if channel == "pinduoduo":
        order = await api.get(f"{u.sandbox}/control/pinduoduo/orders/{external_id}")
        extra = [t["tracking_number"] for t in order.get("extra_delivery_list") or []]
        return {n for n in [order.get("tracking_number"), *extra] if n}
    trade = await api.get(f"{u.sandbox}/control/marketplace/trades/{external_id}")
    return {p["out_sid"] for c in trade.get("consignments") or [] for p in c["packages"]}


VOID_NOTE = re.compile(r"void credit: number (\S+),")


@dataclass(frozen=True)
class Checked:
    """What the invariants are checked on, read at the day's end."""

    shipments: list[ShipmentSeen]
    owners: dict[str, str | None]  # number -> allocation's order reference
    voids: dict[str, VoidSeen]
    on_marketplace: dict[str, set[str]]  # marketplace order (ours) -> the numbers its marketplace holds
    courier_recipients: dict[str, dict[str, Any] | None]  # number of an address-changed order -> courier's receiver


async def gather_checks(api: Api, phases: Phases, orders: list[dict[str, Any]], moved: Iterable[str] = ()) -> Checked:
    """Every shipment with its parcels (shipping); each number's owner and void (allocation); the numbers each
    shipped or held marketplace order holds on its marketplace, and the receiver the couriers of the ``moved``
    numbers (address changes) hold (the sandbox), for the invariants."""
    u = api.urls
    raw = await list_shipments(api)
    numbers = sorted({p["number"] for s in raw for p in s["parcels"]} | {o["number"] for o in orders if o["number"]})
    shipped = {s["order_id"] for s in raw if s["status"] in ("confirmed", "held")}
    marketplace = [o for o in orders if o["channel"] in MARKETPLACES and o["id"] in shipped]
    moved = sorted(set(moved))
    with phases.phase("invariants checked", total=len(numbers) + len(marketplace) + len(moved)) as task:

        async def waybill(number: str) -> tuple[str, dict[str, Any]]:
            info = await api.get(f"{u.allocation}/v1/waybills/{number}", api.shop)
            phases.progress.advance(task)
            return number, info

        async def held(order: dict[str, Any]) -> tuple[str, set[str]]:
            found = await marketplace_numbers(api, order["channel"], order["external_id"])
            phases.progress.advance(task)
            return order["id"], found

        async def courier(number: str) -> tuple[str, dict[str, Any] | None]:
            found = (await courier_record(api, number)).get("recipient")
            phases.progress.advance(task)
            return number, found

        infos = dict(await asyncio.gather(*(waybill(n) for n in numbers)))
        on_marketplace = dict(await asyncio.gather(*(held(o) for o in marketplace)))
        recipients = dict(await asyncio.gather(*(courier(n) for n in moved)))
    voids = {
        n: VoidSeen(n, i["void"]["courier"], i["void"]["credit_policy"], i["void"]["credited_cents"])
        for n, i in infos.items()
        if i.get("void")
    }
    owners = {n: i["order_id"] for n, i in infos.items()}
    return Checked([shipment_seen(s) for s in raw], owners, voids, on_marketplace, recipients)


# --- the day --------------------------------------------------------------------------------------------


async def arun_demo(urls: DemoUrls, options: DemoOptions, progress: Progress | None = None) -> DemoSummary:
    """The whole day against a running system. Raises DemoError when a step cannot be done; broken
    invariants are reported by the summary (``summary.invariant_breaks()``), not raised."""
    started = time.monotonic()
    first_day = datetime.now(SPEND_ZONE).date()
    progress = progress or Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )
    limits = httpx.Limits(max_connections=CONCURRENCY * 2, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        api = Api(http, urls, options.admin_key)
        with progress:
            phases = Phases(progress)
            shop_id, api_key = await open_shop(api, phases)
            plan = plan_day(options.trades)
            seller, tids, taobao_ids = await receive_trades(
                api, phases, shop_id, plan.taobao - plan.at_collection, options.orders_wait_s, split=plan.split
            )
            pinduoduo_ids = await receive_pinduoduo(api, phases, shop_id, plan.pinduoduo, options.orders_wait_s)
            at_collection_tids: list[str] = []
            at_collection_ids: list[str] = []
            if plan.at_collection:
                at_collection_tids, at_collection_ids = await receive_at_collection_store(
                    api, phases, shop_id, plan.at_collection, options.orders_wait_s
                )
            tids += at_collection_tids
            own_ids = await create_own_orders(api, phases, plan.own)
            plain = plan.sources["taobao"]
            sources = {
                "taobao": taobao_ids[:plain],
                "split": taobao_ids[plain:],
                "at_collection": at_collection_ids,
                "pinduoduo": pinduoduo_ids,
                "own": own_ids,
            }
            picked, batched = pick_orders(plan, sources)
            day = Day(api, phases, options)
            # The batches and the scenes at once: the scenes' few orders ride in the batches' time.
            batches, scenes = await asyncio.gather(
                ship_all(api, phases, batched, options.batch_size, options.batches_wait_s),
                run_scenes(day, picked),
            )
            label, batch_pdf, pages = await render_labels(api, phases, batches[0], options.out_dir)
            shipped = followed_numbers(await list_shipments(api))

            async def settle() -> None:
                scenes.update(await settle_scenes(day, scenes))

            parcels, settled = await follow_parcels(api, phases, shipped, options, alongside=settle)
            orders = await list_orders(api)
            moved = [n for scene in scenes.values() for change in scene.address_changes for n in change.numbers]
            checked = await gather_checks(api, phases, orders, moved)
        alerts = await list_alerts(api)
        pools = (await api.get(f"{urls.allocation}/v1/pools", api.shop))["data"]  # a whole list: one page
        balance = await api.get(f"{urls.allocation}/v1/balance", api.shop, limit=1000)
        spend = await api.get(
            f"{urls.allocation}/v1/reports/spend", api.shop, from_date=first_day.isoformat(),
            to_date=datetime.now(SPEND_ZONE).date().isoformat(), interval="day", group_by="carrier", tz=str(SPEND_ZONE),
        )  # fmt: skip
    void_credits = [
        (found[1], entry["amount_cents"])
        for entry in balance["ledger"]
        if entry["kind"] == "void_credit" and (found := VOID_NOTE.match(entry["note"] or ""))
    ]
    pushes: Counter[str] = Counter()
    for p in parcels:
        pushes.update(p.get("pushes", {}))
    return DemoSummary(
        shop_id=shop_id,
        api_key=api_key,
        seller_nick=seller,
        tids=tids,
        orders=[
            OrderSeen(
                o["id"], o["external_id"], o["status"], o["carrier"], o["number"], o["channel"], max(1, len(o["items"]))
            )
            for o in orders
        ],
        shipments=checked.shipments,
        batches=[
            BatchSeen(**{k: b[k] for k in BATCH_FIELDS}, items={i["order_id"]: i["status"] for i in b["items"]})
            for b in batches
        ],
        waybill_orders=checked.owners,
        pools={p["carrier"]: dict(p["counts"]) for p in pools},
        alerts=alerts,
        balance_cents=balance["balance_cents"],
        ledger_total_cents=balance["ledger_total_cents"],
        topups_cents=sum(e["amount_cents"] for e in balance["ledger"] if e["kind"] == "topup"),
        spend=spend["totals"],
        spend_by_carrier=_spend_by_carrier(spend["rows"]),
        phases=phases.took,
        total_s=time.monotonic() - started,
        label_path=label,
        batch_labels_path=batch_pdf,
        label_pages=pages,
        tracking_parcels=len(shipped),
        tracking_settled=settled,
        tracking_kinds=Counter(str(p.get("kind")) for p in parcels),
        pushes=pushes,
        scenes=scenes,
        voids=checked.voids,
        void_credits=void_credits,
        marketplace_numbers=checked.on_marketplace,
        courier_recipients=checked.courier_recipients,
    )


def _spend_by_carrier(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The spend report's rows summed per carrier over the day's buckets (a demo may run across midnight)."""
    summed: dict[str, dict[str, Any]] = {}
    for row in rows:
        into = summed.setdefault(str(row["group"]), {"used": 0, "used_cost_cents": 0, "net_cents": 0})
        for key in into:
            into[key] += row[key]
    return summed


def run_demo(urls: DemoUrls, options: DemoOptions | None = None, **overrides: Any) -> DemoSummary:
    """``arun_demo`` for synchronous callers; keyword overrides change single options (e.g. ``trades=200``)."""
    return asyncio.run(arun_demo(urls, replace(options or DemoOptions.from_env(), **overrides)))


# --- the command ----------------------------------------------------------------------------------------


def answering(urls: DemoUrls) -> list[bool]:
    out = []
    for url in urls.all():
        try:
            out.append(httpx.get(f"{url}/healthz", timeout=2).status_code == 200)
        except httpx.HTTPError:
            out.append(False)
    return out


@contextmanager
def system(urls: DemoUrls, log: Path) -> Iterator[None]:
    """The running system, or `make run`'s own stack (devstack.run: infrastructure, migrations, supervisor)
    started for the demo and stopped after it, when nothing answers on the ports."""
    up = answering(urls)
    if all(up):
        yield
        return
    if any(up):
        down = [u for u, ok in zip(urls.all(), up, strict=True) if not ok]
        raise DemoError(f"part of the system is not answering: {', '.join(down)}; restart `make run`")
    log.parent.mkdir(parents=True, exist_ok=True)
    console.print(f"nothing answers on the ports: starting the system (its output goes to {log})")
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "devstack.run"], stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 300
        while not all(answering(urls)):
            if proc.poll() is not None:
                raise DemoError(f"the system exited with {proc.returncode} while starting; see {log}")
            if time.monotonic() > deadline:
                raise DemoError(f"the system did not become healthy in 300 s; see {log}")
            time.sleep(1)
        yield
    finally:
        # SIGINT, as Ctrl-C on `make run`: the supervisor stops its children and the infrastructure.
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def report(summary: DemoSummary) -> int:
    """Prints the summary and the invariants; the exit status."""
    render(summary, console)
    broken = summary.invariant_breaks()
    for b in broken:
        console.print(f"[red]invariant broken:[/] {b}")
    if broken:
        return 1
    console.print(
        "[green]invariants hold[/]: no order line shipped twice, no number on two orders or two live parcels, "
        "every voided number credited once, every live parcel on its marketplace, split orders shipped with "
        "their last line, at-collection shipments confirmed only once released (none on the marketplace while "
        "held), every changed address at the courier with its numbers kept, ledger = balance = the spend "
        "report, every marketplace order accounted for, every batch finished"
    )
    return 0


def main() -> int:
    options = DemoOptions.from_env()
    urls = DemoUrls.from_ports(Ports())
    try:
        with system(urls, options.out_dir / "run.log"):
            summary = asyncio.run(arun_demo(urls, options))
    except (DemoError, httpx.HTTPError) as exc:
        console.print(f"[red]demo failed:[/] {exc}")
        return 1
    return report(summary)


if __name__ == "__main__":
    sys.exit(main())
