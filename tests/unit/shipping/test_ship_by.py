"""Ship-by deadlines and the order alerts' own rules, with no database: the channel defaults, the messages in
the shop's time zone, and what acknowledging an alert leads to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.shipping import ship_by
from services.shipping.models import AlertState
from services.shipping.service.order_alerts import AlertStateRefused, acknowledged, late_message, passed_message
from services.shipping.settings import ShippingSettings

PAID = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize("channel", ["taobao", "pinduoduo", "own"])
def test_without_a_deadline_the_channels_default_counts_from_payment(channel: str) -> None:
    assert ship_by.ship_by(channel, None, PAID, ShippingSettings()) == PAID + timedelta(hours=48)


def test_the_defaults_are_settings() -> None:
    settings = ShippingSettings(ship_by_default_pinduoduo_h=24, ship_by_default_taobao_h=72)
    assert ship_by.ship_by("pinduoduo", None, PAID, settings) == PAID + timedelta(hours=24)
    assert ship_by.ship_by("taobao", None, PAID, settings) == PAID + timedelta(hours=72)


def test_a_given_deadline_wins_and_must_carry_its_zone() -> None:
    given = datetime(2026, 11, 30, 23, 59, 59, tzinfo=timezone(timedelta(hours=8)))
    assert ship_by.ship_by("pinduoduo", given, PAID, ShippingSettings()) == given
    with pytest.raises(ValueError, match="time zone"):
        ship_by.ship_by("own", datetime(2026, 11, 30, 12), PAID, ShippingSettings())


def test_messages_say_the_deadline_in_the_shops_time_zone() -> None:
    deadline = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)  # 18:00 in Shanghai
    now = deadline - timedelta(hours=3, minutes=40)
    assert (
        late_message("3001", deadline, "Asia/Shanghai", now)
        == "订单 3001 须在 2026-11-29 18:00 前发货，还剩 3 小时 40 分"
    )
    assert late_message("3001", deadline, "Asia/Shanghai", deadline - timedelta(minutes=9)).endswith("还剩 9 分钟")
    assert passed_message("3001", deadline, "America/New_York") == "订单 3001 已超过发货时限 2026-11-29 05:00，仍未发货"


def test_acknowledging_leads_to_acknowledged_and_a_resolved_alert_refuses() -> None:
    assert acknowledged(1, "open") is AlertState.ACKNOWLEDGED
    assert acknowledged(1, "acknowledged") is AlertState.ACKNOWLEDGED
    with pytest.raises(AlertStateRefused) as refused:
        acknowledged(7, "resolved")
    assert refused.value.status_code == 409
    assert refused.value.details == {"alert_id": 7, "state": "resolved"}
