"""What the dashboard shows, gathered from the three services over REST (never their databases).

Each panel is fetched on its own: a service that errs or does not answer turns its panels into the
service's own message (the one error shape) or "unavailable", and the rest of the page still renders.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import quote

import httpx

from runtime.logging import get_logger
from services.dashboard.session import Session
from services.dashboard.settings import DashboardSettings

log = get_logger(__name__)
T = TypeVar("T")
ServiceName = Literal["allocation", "shipping", "tracking"]


class ServiceError(Exception):
    """A service answered with an error (its code and message), or did not answer (status 0)."""

    def __init__(self, service: str, status: int, code: str, message: str) -> None:
        super().__init__(f"{service}: {code}: {message}")
        self.service = service
        self.status = status
        self.code = code
        self.message = message

    @property
    def unavailable(self) -> bool:
        return self.status == 0 or self.status >= 500


@dataclass
class Panel(Generic[T]):
    """A panel's data, or why it has none."""

    data: T | None = None
    error: ServiceError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


async def panel(fetch: Awaitable[T]) -> Panel[T]:
    try:
        return Panel(data=await fetch)
    except ServiceError as exc:
        return Panel(error=exc)


class Services:
    """The three services' REST APIs, called with the signed-in person's key."""

    def __init__(self, http: httpx.AsyncClient, settings: DashboardSettings) -> None:
        self._http = http
        self._settings = settings
        self._base: dict[str, str] = {
            "allocation": settings.allocation_url.rstrip("/"),
            "shipping": settings.shipping_url.rstrip("/"),
            "tracking": settings.tracking_url.rstrip("/"),
        }

    async def call(self, service: ServiceName, method: str, path: str, headers: dict[str, str], **kwargs: Any) -> Any:
        url = self._base[service] + path
        try:
            resp = await self._http.request(method, url, headers=headers, timeout=self._settings.timeout_s, **kwargs)
        except httpx.HTTPError as exc:
            log.warning("service_unreachable", service=service, path=path, error=type(exc).__name__)
            raise ServiceError(service, 0, "unavailable", f"{service} is unavailable (it did not answer)") from exc
        if resp.status_code >= 400:
            raise _error_of(service, resp)
        return resp.json() if resp.content else None

    def get(self, service: ServiceName, path: str, headers: dict[str, str], **kwargs: Any) -> Awaitable[Any]:
        return self.call(service, "GET", path, headers, **kwargs)


def _error_of(service: str, resp: httpx.Response) -> ServiceError:
    try:
        err = resp.json()["error"]
        return ServiceError(service, resp.status_code, str(err["code"]), str(err["message"]))
    except (ValueError, KeyError, TypeError):
        return ServiceError(service, resp.status_code, "http_error", f"{service} answered HTTP {resp.status_code}")


def seg(value: str) -> str:
    """One path segment: an id typed into a form (or read from an answer) cannot reach another route."""
    return quote(value, safe="")


# --- signing in -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    kind: Literal["shop", "operator"]
    shop_id: str | None
    shop_name: str | None


async def identify(api: Services, key: str) -> Identity:
    """Who a pasted key belongs to. A shop key reads its own balance (which names the shop); anything else
    must pass an admin-only read, so the internal key or a typo is refused."""
    headers = {"Authorization": f"Bearer {key}"}
    if key.startswith("wbk_"):
        balance = await api.get("allocation", "/v1/balance", headers, params={"limit": 1})
        shop = await api.get("allocation", f"/v1/shops/{seg(balance['shop_id'])}", headers)
        return Identity("shop", shop["id"], shop["name"])
    await api.get("tracking", "/internal/v1/clock", headers)
    return Identity("operator", None, None)


# --- one shop -------------------------------------------------------------------------------------------


@dataclass
class Stock:
    carrier: str
    counts: dict[str, int]
    expiring_soon: int
    expiring_within_days: int
    low_stock_threshold: int
    low_stock: bool


@dataclass
class Batch:
    id: str
    carrier: str | None
    status: str
    total: int
    done: int
    failed: int
    skipped: int
    pending: int
    created_at: str

    @property
    def finished(self) -> int:
        return self.done + self.failed + self.skipped

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 else min(100, self.finished * 100 // self.total)


@dataclass
class Shipment:
    id: str
    order_id: str
    carrier: str
    number: str
    status: str
    created_at: str
    tracking_status: str | None = None
    tracking_note: str | None = None


@dataclass
class ShopView:
    shop_id: str
    shop: Panel[dict[str, Any]]
    balance: Panel[dict[str, Any]]
    stock: Panel[list[Stock]]
    batches: Panel[list[Batch]]
    alerts: Panel[list[dict[str, Any]]]
    shipments: Panel[list[Shipment]]
    notices: list[str] = field(default_factory=list)

    @property
    def batches_in_progress(self) -> int:
        return sum(1 for b in self.batches.data or [] if b.status != "completed")


async def shop_view(api: Services, session: Session, shop_id: str, settings: DashboardSettings) -> ShopView:
    headers = session.headers(shop_id)
    shop, balance, stock, alerts, raw = await asyncio.gather(
        panel(api.get("allocation", f"/v1/shops/{seg(shop_id)}", headers)),
        panel(api.get("allocation", "/v1/balance", headers, params={"limit": 1})),
        panel(stock_of(api, headers, settings.expiring_within_days)),
        panel(api.get("tracking", "/v1/alerts", headers, params={"state": "open", "limit": 100})),
        panel(api.get("shipping", "/v1/shipments", headers, params={"limit": settings.batch_scan_shipments})),
    )
    if raw.error is not None:
        batches: Panel[list[Batch]] = Panel(error=raw.error)
        shipments: Panel[list[Shipment]] = Panel(error=raw.error)
    else:
        rows: list[dict[str, Any]] = raw.data or []
        batches, shipments = await asyncio.gather(
            panel(batches_of(api, headers, rows, settings.batches_shown)),
            panel(shipments_with_tracking(api, headers, rows[: settings.recent_shipments])),
        )
    return ShopView(shop_id, shop, balance, stock, batches, alerts, shipments)


async def stock_of(api: Services, headers: dict[str, str], days: int) -> list[Stock]:
    pools = await api.get("allocation", "/v1/pools", headers, params={"expiring_within_days": days})
    return [
        Stock(
            carrier=p["carrier"],
            counts=dict(p["counts"]),
            expiring_soon=p["expiring_soon"],
            expiring_within_days=p["expiring_within_days"],
            low_stock_threshold=p["low_stock_threshold"],
            low_stock=p["low_stock"],
        )
        for p in pools
    ]


async def batches_of(api: Services, headers: dict[str, str], shipments: list[dict[str, Any]], most: int) -> list[Batch]:
    """Shipping lists no batches, so the batches are found through the shop's recent shipments (newest
    first); each is then read for its progress. In-progress batches come first."""
    ids: list[str] = []
    for s in shipments:
        batch_id = s.get("batch_id")
        if batch_id and batch_id not in ids:
            ids.append(batch_id)
    bodies = await asyncio.gather(
        *(api.get("shipping", f"/v1/shipment-batches/{seg(b)}", headers, params={"limit": 0}) for b in ids[:most])
    )
    batches = [
        Batch(
            id=b["id"],
            carrier=b.get("carrier"),
            status=b["status"],
            total=b["total"],
            done=b["done"],
            failed=b["failed"],
            skipped=b["skipped"],
            pending=b["pending"],
            created_at=b["created_at"],
        )
        for b in bodies
    ]
    # Newest first within each group (the shipments came newest first); sorted() keeps that order.
    return sorted(batches, key=lambda b: b.status == "completed")


async def shipments_with_tracking(api: Services, headers: dict[str, str], rows: list[dict[str, Any]]) -> list[Shipment]:
    """Each shipment with its parcel's tracking status; tracking being down leaves the column saying so."""
    shipments = [
        Shipment(
            id=r["id"],
            order_id=r["order_id"],
            carrier=r["carrier"],
            number=r["number"],
            status=r["status"],
            created_at=r["created_at"],
        )
        for r in rows
    ]

    async def track(s: Shipment) -> None:
        if s.status in ("failed", "cancelled"):
            return
        try:
            t = await api.get("tracking", f"/v1/trackings/{seg(s.number)}", headers, params={"carrier": s.carrier})
        except ServiceError as exc:
            if exc.status == 404:
                s.tracking_note = "not tracked yet"
            else:
                s.tracking_note = exc.message
            return
        s.tracking_status = t["status"]

    await asyncio.gather(*(track(s) for s in shipments))
    return shipments


async def acknowledge(api: Services, session: Session, shop_id: str, alert_id: int) -> dict[str, Any]:
    found: dict[str, Any] = await api.call("tracking", "POST", f"/v1/alerts/{alert_id}/ack", session.headers(shop_id))
    return found


# --- operators: every shop ------------------------------------------------------------------------------


@dataclass
class ShopSummary:
    id: str
    name: str
    low_stock: Panel[list[str]]
    open_alerts: Panel[int]


@dataclass
class Overview:
    shops: Panel[list[ShopSummary]]
    after: str | None = None  # the page starts after this shop id (None: the first page)
    next_after: str | None = None  # the next page's start, when there are more shops


async def overview(api: Services, session: Session, settings: DashboardSettings, after: str | None = None) -> Overview:
    """A page of shops (allocation's list, admin key, in id order) with their low-stock carriers and open
    alerts; one more shop than the page is asked for, to know whether a next page exists."""
    page = settings.overview_shops
    more: list[str] = []

    async def summaries() -> list[ShopSummary]:
        params: dict[str, Any] = {"limit": page + 1}
        if after:
            params["after"] = after
        shops: list[dict[str, Any]] = await api.get("allocation", "/v1/shops", session.headers(), params=params)
        if len(shops) > page:
            shops = shops[:page]
            more.append(shops[-1]["id"])
        gate = asyncio.Semaphore(8)  # a few calls at a time: the overview must not flood the services

        async def one(shop: dict[str, Any]) -> ShopSummary:
            headers = session.headers(shop["id"])
            async with gate:
                low, alerts = await asyncio.gather(
                    panel(_low_stock(api, headers, settings.expiring_within_days)),
                    panel(_open_alerts(api, headers)),
                )
            return ShopSummary(shop["id"], shop["name"], low, alerts)

        return list(await asyncio.gather(*(one(s) for s in shops)))

    shops = await panel(summaries())
    return Overview(shops, after=after, next_after=more[0] if more else None)


async def _low_stock(api: Services, headers: dict[str, str], days: int) -> list[str]:
    return [s.carrier for s in await stock_of(api, headers, days) if s.low_stock]


async def _open_alerts(api: Services, headers: dict[str, str]) -> int:
    alerts = await api.get("tracking", "/v1/alerts", headers, params={"state": "open", "limit": 1000})
    return len(alerts)
