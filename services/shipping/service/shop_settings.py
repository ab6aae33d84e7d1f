"""A shop's shipping settings: label sender, courier preferences, time zone, and (kept for clients written
before stores) its Taobao binding as ``seller_nick``/``session``, which are its first Taobao store."""

from __future__ import annotations

from runtime.db import UnitOfWork
from services.shipping.channels.base import ChannelName
from services.shipping.channels.registry import Channels
from services.shipping.models import ConfirmMode, LabelSize, ShopSettings, Store
from services.shipping.repository.settings import SettingsRepository
from services.shipping.repository.shipments import ShipmentRepository
from services.shipping.schemas.settings import (
    DEFAULT_LATE_TO_SHIP_LEAD_MINUTES,
    DEFAULT_TIME_ZONE,
    SettingsIn,
    SettingsOut,
)
from services.shipping.service.shipments import confirm_due
from services.shipping.service.stores import bind_store, not_verified, taobao_binding


def settings_out(shop_id: str, s: ShopSettings | None, taobao: Store | None) -> SettingsOut:
    return SettingsOut(
        shop_id=shop_id,
        seller_nick=taobao.seller_id if taobao else None,
        session_set=bool(taobao and taobao.token),
        sender_name=s.sender_name if s else "",
        sender_phone=s.sender_phone if s else "",
        sender_address=s.sender_address if s else "",
        default_carrier=s.default_carrier if s else None,
        weights=dict(s.weights) if s else {},
        time_zone=s.time_zone if s else DEFAULT_TIME_ZONE,
        late_to_ship_lead_minutes=s.late_to_ship_lead_minutes if s else DEFAULT_LATE_TO_SHIP_LEAD_MINUTES,
        confirm_mode=s.confirm_mode if s else ConfirmMode.AT_PRINT.value,
        confirm_time=s.confirm_time if s else None,
        label_size=s.label_size if s else LabelSize.S100X150.value,
        label_sizes=dict(s.label_sizes) if s else {},
        privacy_labels=s.privacy_labels if s else True,
    )


async def get_settings(uow: UnitOfWork, shop_id: str) -> SettingsOut:
    return settings_out(shop_id, await SettingsRepository(uow.session).get(shop_id), await taobao_binding(uow, shop_id))


async def put_settings(uow: UnitOfWork, channels: Channels, shop_id: str, body: SettingsIn) -> SettingsOut:
    values = body.model_dump(exclude_unset=True)
    nick, session = values.pop("seller_nick", None), values.pop("session", None)
    taobao = await taobao_binding(uow, shop_id)
    if nick or session:
        token = session or (taobao.token if taobao else None)
        if not token:
            raise not_verified(
                "binding a seller nick needs its marketplace session (the seller's authorisation) to prove it",
                "session",
            )
        claimed = nick or (taobao.seller_id if taobao else None)
        taobao, _ = await bind_store(
            uow,
            channels.marketplace(ChannelName.TAOBAO),
            shop_id,
            token,
            claimed,
            token_field="session",
            seller_field="seller_nick",
        )
    if "confirm_mode" in values:
        values["confirm_mode"] = str(values["confirm_mode"])
    if "label_size" in values:
        values["label_size"] = str(values["label_size"])
    if "label_sizes" in values:
        values["label_sizes"] = {str(carrier): str(size) for carrier, size in values["label_sizes"].items()}
    if "default_carrier" in values and values["default_carrier"] is not None:
        values["default_carrier"] = str(values["default_carrier"])
    repo = SettingsRepository(uow.session)
    before = await repo.get(shop_id)
    was = (before.confirm_time, before.time_zone) if before is not None else (None, DEFAULT_TIME_ZONE)
    saved = await repo.upsert(shop_id, values)
    if (saved.confirm_time, saved.time_zone) != was:
        await _move_held_confirmations(uow, saved)
    return settings_out(shop_id, saved, taobao)


async def _move_held_confirmations(uow: UnitOfWork, shop: ShopSettings) -> None:
    """A new confirmation time (or zone) holds for shipments held already: each is confirmed at the first such
    time after it was printed, as if it had been set then (so one due by now goes at the next sweep), and none
    by time once the shop clears it. Without this they kept the time of day they were printed under."""
    for shipment in await ShipmentRepository(uow.session).held_of_shop(shop.shop_id):
        shipment.confirm_due_at = confirm_due(shop, shipment.created_at)
