"""A shop's shipping settings: its marketplace binding (proved by the seller's session), label sender and
courier preferences."""

from __future__ import annotations

from runtime.db import UnitOfWork
from runtime.errors import AppError, Conflict
from services.shipping.channels.taobao import protocol
from services.shipping.channels.taobao.client import MarketplaceClient
from services.shipping.channels.taobao.protocol import TopError
from services.shipping.models import ShopSettings
from services.shipping.repository.settings import SettingsRepository
from services.shipping.schemas.settings import DEFAULT_TIME_ZONE, SettingsIn, SettingsOut
from services.shipping.service.errors import marketplace_unavailable
from shared.errors import ErrorCode


def settings_out(shop_id: str, s: ShopSettings | None) -> SettingsOut:
    return SettingsOut(
        shop_id=shop_id,
        seller_nick=s.seller_nick if s else None,
        session_set=bool(s and s.session),
        sender_name=s.sender_name if s else "",
        sender_phone=s.sender_phone if s else "",
        sender_address=s.sender_address if s else "",
        default_carrier=s.default_carrier if s else None,
        weights=dict(s.weights) if s else {},
        time_zone=s.time_zone if s else DEFAULT_TIME_ZONE,
    )


async def get_settings(uow: UnitOfWork, shop_id: str) -> SettingsOut:
    return settings_out(shop_id, await SettingsRepository(uow.session).get(shop_id))


async def put_settings(uow: UnitOfWork, marketplace: MarketplaceClient, shop_id: str, body: SettingsIn) -> SettingsOut:
    repo = SettingsRepository(uow.session)
    values = body.model_dump(exclude_unset=True)
    if values.get("seller_nick") or values.get("session"):
        current = await repo.get(shop_id)
        session = values.get("session") or (current.session if current else None)
        claimed = values.get("seller_nick") if "seller_nick" in values else (current.seller_nick if current else None)
        # The binding routes a seller's orders to this shop: only the session's own seller may be bound.
        values["seller_nick"] = await _verified_nick(marketplace, session, claimed)
        await repo.lock_nick(values["seller_nick"])
        other = await repo.by_nick(values["seller_nick"])
        if other is not None and other.shop_id != shop_id:
            raise Conflict(
                f"seller {values['seller_nick']} is bound to another shop",
                details={"seller_nick": values["seller_nick"]},
            )
    if "default_carrier" in values and values["default_carrier"] is not None:
        values["default_carrier"] = str(values["default_carrier"])
    saved = await repo.upsert(shop_id, values)
    return settings_out(shop_id, saved)


def _not_verified(message: str, field: str) -> AppError:
    return AppError(message, code=ErrorCode.SELLER_NOT_VERIFIED, status_code=422, details={"field": field})


async def _verified_nick(marketplace: MarketplaceClient, session: str | None, claimed: str | None) -> str:
    """The seller nick the marketplace says ``session`` belongs to; it must be ``claimed`` when one is given."""
    if not session:
        raise _not_verified(
            "binding a seller nick needs its marketplace session (the seller's authorisation) to prove it", "session"
        )
    try:
        nick = await marketplace.seller_nick(session)
    except TopError as exc:
        if exc.code in protocol.SESSION_ERROR_CODES:
            raise _not_verified(
                "the marketplace does not know this session (expired or not the seller's authorisation)", "session"
            ) from exc
        raise marketplace_unavailable("checking the session", exc) from exc
    if claimed is not None and nick != claimed:
        # Says only that they differ: whose session it is stays the marketplace's business.
        raise _not_verified(f"the session does not belong to seller {claimed}", "seller_nick")
    return nick
