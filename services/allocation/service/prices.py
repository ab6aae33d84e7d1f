"""Negotiated package prices per shop: operators add and revoke them; a purchase is charged the one in force
when it is made, else the catalogue's; a shop reads what it would pay in the catalogue."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from runtime.db import UnitOfWork
from runtime.errors import AppError, NotFound
from services.allocation.models import CarrierPackage, PriceSource, ShopPrice
from services.allocation.repository.catalogue import CatalogueRepository
from services.allocation.repository.prices import ShopPriceRepository
from services.allocation.repository.shops import ShopRepository
from services.allocation.schemas.prices import ShopPackagePrice, ShopPriceCreate, ShopPriceOut
from shared.errors import ErrorCode


@dataclass(frozen=True)
class Charge:
    """What a purchase of a package is charged, and by what."""

    price_cents: int
    source: PriceSource
    shop_price_id: int | None

    @property
    def words(self) -> str:
        """How the ledger says it."""
        if self.source == PriceSource.NEGOTIATED:
            return f"at the shop's negotiated price #{self.shop_price_id}"
        return "at the catalogue price"


def in_force(price: ShopPrice, now: datetime) -> bool:
    return price.revoked_at is None and price.valid_from <= now and (price.valid_to is None or now < price.valid_to)


def _out(price: ShopPrice, package: CarrierPackage, now: datetime) -> ShopPriceOut:
    return ShopPriceOut(
        id=price.id,
        shop_id=price.shop_id,
        package_id=price.package_id,
        carrier=package.carrier,
        price_cents=price.price_cents,
        catalogue_price_cents=package.price_cents,
        valid_from=price.valid_from,
        valid_to=price.valid_to,
        note=price.note,
        created_at=price.created_at,
        revoked_at=price.revoked_at,
        in_force=in_force(price, now),
    )


async def _shop_exists(uow: UnitOfWork, shop_id: str) -> None:
    if await ShopRepository(uow.session).get_shop(shop_id) is None:
        raise NotFound(f"shop {shop_id} not found")


async def add_price(uow: UnitOfWork, shop_id: str, body: ShopPriceCreate) -> ShopPriceOut:
    """An operator's price of a package for the shop. An overlap with another not revoked is refused by the
    database (409 price_overlap, naming that price), never by a read that a concurrent write could pass."""
    await _shop_exists(uow, shop_id)
    package = await CatalogueRepository(uow.session).package(body.package_id)
    if package is None:
        raise NotFound(f"package {body.package_id} not found", details={"package_id": body.package_id})
    now = datetime.now(UTC)
    price = ShopPrice(
        shop_id=shop_id,
        package_id=package.id,
        price_cents=body.price_cents,
        valid_from=body.valid_from or now,
        valid_to=body.valid_to,
        note=body.note,
    )
    if price.valid_to is not None and price.valid_to <= price.valid_from:
        raise AppError("valid_to must be after valid_from (which defaults to now)", details={"field": "valid_to"})
    overlap = await ShopPriceRepository(uow.session).add(price)
    if overlap is not None:
        raise AppError(
            f"shop {shop_id} already has a price for package {package.id} in part of that period; revoke it first",
            code=ErrorCode.PRICE_OVERLAP,
            status_code=409,
            details={"package_id": package.id, "price_id": overlap.price_id},
        )
    return _out(price, package, now)


async def _outs(uow: UnitOfWork, prices: Sequence[ShopPrice]) -> list[ShopPriceOut]:
    catalogue = CatalogueRepository(uow.session)
    packages = {p.id: p for p in await catalogue.packages()}
    now = datetime.now(UTC)
    return [_out(p, packages[p.package_id], now) for p in prices]


async def list_prices(uow: UnitOfWork, shop_id: str) -> list[ShopPriceOut]:
    await _shop_exists(uow, shop_id)
    return await _outs(uow, await ShopPriceRepository(uow.session).for_shop(shop_id))


async def revoke_price(uow: UnitOfWork, shop_id: str, price_id: int) -> ShopPriceOut:
    """No longer charged from now on; purchases already made keep what they were charged. A repeat answers the
    price as revoked the first time."""
    price = await ShopPriceRepository(uow.session).revoke(shop_id, price_id)
    if price is None:
        raise NotFound(f"price {price_id} of shop {shop_id} not found")
    return (await _outs(uow, [price]))[0]


async def charge_for(uow: UnitOfWork, shop_id: str, package: CarrierPackage) -> Charge:
    """The price a purchase of ``package`` made in this transaction is charged."""
    found = (await ShopPriceRepository(uow.session).in_force(shop_id, [package.id])).get(package.id)
    if found is None:
        return Charge(package.price_cents, PriceSource.CATALOGUE, None)
    return Charge(found.price_cents, PriceSource.NEGOTIATED, found.id)


async def package_prices(
    uow: UnitOfWork, shop_id: str, packages: Sequence[CarrierPackage]
) -> dict[str, ShopPackagePrice]:
    """What the shop would pay for each package bought now."""
    negotiated = await ShopPriceRepository(uow.session).in_force(shop_id, [p.id for p in packages])
    out: dict[str, ShopPackagePrice] = {}
    for package in packages:
        found = negotiated.get(package.id)
        out[package.id] = (
            ShopPackagePrice(
                price_cents=found.price_cents,
                price_source="negotiated",
                price_id=found.id,
                valid_from=found.valid_from,
                valid_to=found.valid_to,
            )
            if found is not None
            else ShopPackagePrice(price_cents=package.price_cents, price_source="catalogue")
        )
    return out
