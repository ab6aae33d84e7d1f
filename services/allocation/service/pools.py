"""Pools: a shop's stock per carrier, low-stock thresholds and auto-replenishment, the stock events feed, and
the stock gauges of /metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import Enum, auto

from runtime.db import UnitOfWork
from runtime.errors import AppError, NotFound
from runtime.pagination import PageRequest
from services.allocation.metrics import POOL_AVAILABLE, POOL_EXPIRING
from services.allocation.models import Pool, StockEvent, StockEventKind, WaybillStatus
from services.allocation.repository.catalogue import CatalogueRepository
from services.allocation.repository.pools import PoolRepository, PoolTally, StockEventRepository
from services.allocation.repository.purchases import PurchaseRepository
from services.allocation.schemas.pools import PoolUpdate, StockEventOut
from services.allocation.schemas.purchases import PurchaseCreate
from services.allocation.service.jobs import Job
from services.allocation.service.purchases import create_purchase
from shared.carriers import CarrierCode
from shared.pages import Page
from shared.pools import PoolCounts, PoolOut


def _pool_out(pool: Pool, tally: PoolTally, days: int, cost: float | None) -> PoolOut:
    available = tally.by_status.get(WaybillStatus.AVAILABLE, 0)
    return PoolOut(
        carrier=pool.carrier,
        counts=PoolCounts(**{status.name.lower(): n for status, n in tally.by_status.items()}),
        expiring_soon=tally.expiring_soon,
        expiring_within_days=days,
        low_stock_threshold=pool.low_stock_threshold,
        low_stock=available < pool.low_stock_threshold,
        auto_replenish_package=pool.auto_replenish_package,
        cost_per_number_cents=cost,
    )


async def pools(uow: UnitOfWork, shop_id: str, days: int) -> list[PoolOut]:
    repo = PoolRepository(uow.session)
    shop_pools = await repo.for_shop(shop_id)
    ids = [p.id for p in shop_pools]
    tallies = await repo.counts(ids, datetime.now(UTC) + timedelta(days=days))
    # The average over the stock, not the next number's price: a recommendation is asked once per province
    # for a whole batch, which draws many numbers, and the average does not swing as one purchase runs out.
    costs = await repo.unit_costs(ids)
    return [_pool_out(p, tallies.get(p.id, PoolTally()), days, costs.get(p.id)) for p in shop_pools]


async def update_pool(uow: UnitOfWork, shop_id: str, carrier: CarrierCode, body: PoolUpdate) -> PoolOut:
    if body.auto_replenish_package is not None:
        package = await CatalogueRepository(uow.session).package(body.auto_replenish_package)
        if package is None or package.carrier != carrier:
            raise NotFound(f"package {body.auto_replenish_package} is not on sale for {carrier}")
    pool = await PoolRepository(uow.session).get_or_create(shop_id, carrier)
    pool.low_stock_threshold = body.low_stock_threshold
    pool.auto_replenish_package = body.auto_replenish_package
    await uow.session.flush()
    return next(p for p in await pools(uow, shop_id, 7) if p.carrier == carrier)


async def stock_events(uow: UnitOfWork, shop_id: str, page: PageRequest) -> Page[StockEventOut]:
    return (await StockEventRepository(uow.session).recent(shop_id, page)).page(StockEventOut.model_validate)


class LowStock(Enum):
    CROSSED = auto()  # fell below the threshold: an event, and its handling queued
    RECOVERED = auto()  # back at or above it: the next fall is a new crossing
    UNCHANGED = auto()


def low_stock_change(available: int, threshold: int, low_since: datetime | None) -> LowStock:
    """Whether a pool's stock crossed its threshold since the last check (``low_since``: when it fell below)."""
    if available < threshold and low_since is None:
        return LowStock.CROSSED
    if available >= threshold and low_since is not None:
        return LowStock.RECOVERED
    return LowStock.UNCHANGED


def _event(pool: Pool, kind: StockEventKind, available: int, purchase_id: str | None = None) -> StockEvent:
    return StockEvent(
        shop_id=pool.shop_id,
        carrier=pool.carrier,
        kind=kind,
        available=available,
        threshold=pool.low_stock_threshold,
        purchase_id=purchase_id,
    )


async def check_low_stock(uow: UnitOfWork) -> int:
    """Record low-stock crossings (once per crossing) and queue their handling. Returns crossings."""
    repo = PoolRepository(uow.session)
    events = StockEventRepository(uow.session)
    crossings = 0
    for pool in await repo.all_with_threshold():
        available = await repo.available(pool.id)
        change = low_stock_change(available, pool.low_stock_threshold, pool.low_stock_since)
        if change == LowStock.CROSSED:
            since = datetime.now(UTC)
            await repo.set_low_stock_since(pool.id, since)
            await events.add(_event(pool, StockEventKind.LOW_STOCK, available))
            uow.enqueue(Job.LOW_STOCK, pool_id=pool.id, since=since.isoformat())
            crossings += 1
        elif change == LowStock.RECOVERED:
            await repo.set_low_stock_since(pool.id, None)
    return crossings


async def replenish(uow: UnitOfWork, pool_id: int, since: str) -> str | None:
    """Auto-replenish through the ordinary purchase path; the key makes a repeated job harmless. Returns the
    purchase id, the error code of a refused purchase, or None when there is nothing to buy."""
    pools_repo = PoolRepository(uow.session)
    pool = await pools_repo.by_id(pool_id)
    if pool is None or pool.auto_replenish_package is None:
        return None
    if await PurchaseRepository(uow.session).pending_for_pool(pool_id):
        return None  # stock is already on its way
    body = PurchaseCreate(carrier=CarrierCode(pool.carrier), package_id=pool.auto_replenish_package)
    available = await pools_repo.available(pool.id)
    events = StockEventRepository(uow.session)
    try:
        outcome = await create_purchase(uow, pool.shop_id, body, f"auto-replenish:{pool.id}:{since}")
    except AppError as exc:
        await events.add(_event(pool, StockEventKind.REPLENISH_FAILED, available))
        return exc.code
    await events.add(_event(pool, StockEventKind.REPLENISH_ORDERED, available, outcome.purchase.id))
    return outcome.purchase.id


# Carriers the gauges have shown: one that runs out goes to 0 rather than vanishing.
_gauge_carriers: set[str] = set()


async def refresh_stock_gauges(uow: UnitOfWork, days: int) -> None:
    """Set the stock gauges from the database (the API process runs this periodically)."""
    stock = await PoolRepository(uow.session).stock_by_carrier(datetime.now(UTC) + timedelta(days=days))
    _gauge_carriers.update(stock.available)
    for carrier in _gauge_carriers:
        POOL_AVAILABLE.labels(carrier).set(stock.available.get(carrier, 0))
        POOL_EXPIRING.labels(carrier).set(stock.expiring.get(carrier, 0))
