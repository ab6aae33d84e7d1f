"""Which carrier ships an order: the catalogue, the shop's stock and what its stock cost it, from allocation,
ranked by ``services.shipping.recommend``."""

from __future__ import annotations

from runtime.apis.allocation import AllocationApi
from runtime.db import UnitOfWork
from runtime.errors import AppError
from runtime.service_client import ServiceError
from services.shipping.models import ShopSettings
from services.shipping.recommend import CarrierOption, choose, rank
from services.shipping.repository.settings import SettingsRepository
from services.shipping.schemas.orders import CarrierOptionOut
from services.shipping.service.orders import own_order
from shared.errors import ErrorCode


async def carrier_options(
    uow: UnitOfWork, allocation: AllocationApi, shop_id: str, order_id: str
) -> list[CarrierOptionOut]:
    order = await own_order(uow, shop_id, order_id)
    shop = await SettingsRepository(uow.session).get(shop_id)
    options = await ranked(allocation, shop_id, shop, order.receiver_state)
    chosen = choose(options, shop.default_carrier if shop else None)
    return [
        CarrierOptionOut(**{**o.__dict__, "recommended": chosen is not None and o.carrier == chosen.carrier})
        for o in options
    ]


async def ranked(
    allocation: AllocationApi, shop_id: str, shop: ShopSettings | None, province: str
) -> list[CarrierOption]:
    """Every active carrier ranked for ``province`` (allocation unreachable: 503, its refusals passed on)."""
    try:
        catalogue = await allocation.carriers(shop_id)
        pools = await allocation.pools(shop_id)
    except ServiceError as exc:
        raise exc.as_app_error() from exc
    stock = {p.carrier: p.counts.available for p in pools}
    # What the shop paid per number of each pool's stock: the price it ranks by (the catalogue's is the same
    # for every shop, and cached across them).
    costs = {p.carrier: p.cost_per_number_cents for p in pools if p.cost_per_number_cents is not None}
    weights, default = (shop.weights, shop.default_carrier) if shop else (None, None)
    return rank(catalogue, stock, province, weights, default, costs)


async def recommend(allocation: AllocationApi, shop_id: str, shop: ShopSettings | None, province: str) -> str:
    """The carrier that ships to ``province``: the shop's default when it can, else the best; 409
    pool_exhausted when none has stock and covers it."""
    options = await ranked(allocation, shop_id, shop, province)
    chosen = choose(options, shop.default_carrier if shop else None)
    if chosen is None:
        raise AppError(
            f"no carrier with stock covers {province}",
            code=ErrorCode.POOL_EXHAUSTED,
            status_code=409,
            details={"province": province},
        )
    return chosen.carrier
