"""A shop's expiry settings: the notice days before its numbers expire, and what happens to them then."""

from __future__ import annotations

from runtime.db import UnitOfWork
from runtime.errors import NotFound
from services.allocation.models import Shop
from services.allocation.repository.shops import ShopRepository
from services.allocation.schemas.expiry import ExpirySettingsIn, ExpirySettingsOut


def _out(shop: Shop, lead_hours: int) -> ExpirySettingsOut:
    return ExpirySettingsOut.model_validate(
        {
            "expiring_notice_days": shop.expiring_notice_days,
            "on_expiry": shop.on_expiry,
            "auto_extend_days": shop.auto_extend_days,
            "action_lead_hours": lead_hours,
        }
    )


async def _shop(uow: UnitOfWork, shop_id: str) -> Shop:
    shop = await ShopRepository(uow.session).get_shop(shop_id)
    if shop is None:
        raise NotFound(f"shop {shop_id} not found")
    return shop


async def get_settings(uow: UnitOfWork, shop_id: str, lead_hours: int) -> ExpirySettingsOut:
    return _out(await _shop(uow, shop_id), lead_hours)


async def put_settings(uow: UnitOfWork, shop_id: str, body: ExpirySettingsIn, lead_hours: int) -> ExpirySettingsOut:
    """The fields sent change; the others keep their value."""
    shop = await _shop(uow, shop_id)
    for name, value in body.model_dump(exclude_none=True).items():
        setattr(shop, name, value)
    await uow.session.flush()
    return _out(shop, lead_hours)
