"""Ship-by deadlines (发货超时): the channel's when it gives one, else the channel's default after payment."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.shipping.channels.base import ChannelName
from services.shipping.settings import ShippingSettings


def default_hours(channel: str, settings: ShippingSettings) -> float:
    """The channel's default time to ship, in hours after payment."""
    match ChannelName(channel):
        case ChannelName.TAOBAO:
            return settings.ship_by_default_taobao_h
        case ChannelName.PINDUODUO:
            return settings.ship_by_default_pinduoduo_h
        case ChannelName.OWN:
            return settings.ship_by_default_own_h


def ship_by(channel: str, given: datetime | None, paid_at: datetime, settings: ShippingSettings) -> datetime:
    """``given`` (the channel's or the request's deadline) when there is one, else ``paid_at`` plus the
    channel's default. A naive ``given`` is refused: a deadline without its zone is a guess."""
    if given is not None:
        if given.tzinfo is None:
            raise ValueError("ship_by must carry its time zone")
        return given
    return paid_at + timedelta(hours=default_hours(channel, settings))
