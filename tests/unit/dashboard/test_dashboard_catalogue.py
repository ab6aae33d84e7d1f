"""The seller's words: every alert kind the tracking service can raise, every error code the services answer,
every status they report has its Chinese and English text, and every text of the templates its English."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest
from waybill_client import models

from services.dashboard import catalogue
from services.dashboard.catalogue import ALERT_KINDS, ERROR_CODES, LANGS, STATUSES
from services.dashboard.catalogue_orders import CONFIRM_MODES
from services.dashboard.ui_text_en import EN
from services.shipping.auto_ship_rules import SkipReason
from services.shipping.channels.base import ChannelName
from services.shipping.models import AlertKind as OrderAlertKind
from services.shipping.models import ConfirmMode, ItemStatus, OrderHold, ParcelStatus, ShipmentStatus
from services.shipping.schemas.order_alerts import AlertKindName
from services.shipping.states import OrderStatus
from shared.errors import ErrorCode
from shared.tracking import AlertKind, AlertState

TEMPLATES = Path(catalogue.__file__).parent / "templates"
HAN = re.compile(r"[\u4e00-\u9fff]")


def literal_values(alias: object) -> set[str]:
    """The values a generated ``Literal[...] | str`` alias of the client's models lists."""
    found: set[str] = set()
    for arg in typing.get_args(typing.get_args(alias.__value__)[0]):  # type: ignore[attr-defined]
        found |= {a for a in typing.get_args(arg) if isinstance(a, str)}
    return found


def test_every_alert_kind_tracking_raises_reads_in_chinese_and_english() -> None:
    kinds = {k.value for k in AlertKind}
    assert kinds == literal_values(models.AlertKind)  # what the API documents is what shared/ holds
    assert set(ALERT_KINDS) == kinds
    for kind in kinds:
        assert HAN.search(ALERT_KINDS[kind]["zh"]), kind
        assert not HAN.search(ALERT_KINDS[kind]["en"]), kind
        assert catalogue.alert_title(kind, "zh") != catalogue.alert_text(kind, "zh")
    assert catalogue.alert_title("not_collected", "zh") == "揽收超时"
    assert catalogue.alert_title("not_collected", "en") == "Not collected"


def test_an_alert_kind_added_later_still_reads_as_an_alert() -> None:
    assert catalogue.alert_text("lost_in_space", "zh") == "物流异常"
    assert catalogue.alert_text("lost_in_space", "en") == "Logistics alert"


def test_every_error_code_reads_in_both_languages() -> None:
    for known in ErrorCode:
        assert known.value in ERROR_CODES, known
    for code, text in ERROR_CODES.items():
        assert set(text) == set(LANGS), code
        assert HAN.search(text["zh"]), code
    assert catalogue.error_text("pool_exhausted", "zh") == "该快递的电子面单号已用完，请先购买单号。"
    # The client's own codes: no answer, or an answer without the error shape.
    assert catalogue.error_text("network_error", "zh") == ERROR_CODES["network_error"]["zh"]
    assert catalogue.error_text("http_502", "zh") == ERROR_CODES["unavailable"]["zh"]
    assert catalogue.error_text("never_heard_of_it", "zh") == "操作未成功。"


@pytest.mark.parametrize(
    ("of", "values"),
    [
        ("order", {s.value for s in OrderStatus}),
        ("shipment", {s.value for s in ShipmentStatus}),
        ("batch_item", {s.value for s in ItemStatus}),
        ("alert", {s.value for s in AlertState}),
        ("parcel", {s.value for s in ParcelStatus}),
        ("tracking", literal_values(models.TrackingStatus)),
    ],
)
def test_every_status_reads_in_both_languages(of: str, values: set[str]) -> None:
    assert set(STATUSES[of]) == values
    for value in values:
        assert HAN.search(catalogue.status_text(of, value, "zh")), (of, value)
        assert not HAN.search(catalogue.status_text(of, value, "en")), (of, value)
    assert catalogue.status_text(of, "new_in_a_later_version", "zh") == "new_in_a_later_version"


def template_texts() -> set[str]:
    found: set[str] = set()
    for path in TEMPLATES.glob("*.html"):
        found |= {m.group(2) for m in re.finditer(r"""_\((["'])(.*?)\1\)""", path.read_text())}
    return found


def test_every_text_of_the_templates_has_its_english() -> None:
    texts = template_texts()
    assert len(texts) > 100
    assert sorted(texts - set(EN)) == []
    assert sorted(set(EN) - texts) == []  # none left behind by a template change
    for zh, en in EN.items():
        assert HAN.search(zh), zh
        assert not HAN.search(en), zh


def test_no_chinese_outside_the_translated_texts() -> None:
    """A seller reading English sees no Chinese left untranslated in a template (data aside)."""
    for path in TEMPLATES.glob("*.html"):
        text = re.sub(r"""_\((["'])(.*?)\1\)""", "", path.read_text())
        text = re.sub(r"\{#.*?#\}", "", text, flags=re.S)
        text = text.replace(">中文<", "")  # the language switch names Chinese in Chinese, by design
        assert not HAN.search(text), (path.name, HAN.findall(text)[:10])


def test_every_channel_of_shipping_reads_in_both_languages() -> None:
    assert set(catalogue.CHANNELS) == {c.value for c in ChannelName}
    for channel in ChannelName:
        assert HAN.search(catalogue.channel_text(channel.value, "zh")), channel
        assert not HAN.search(catalogue.channel_text(channel.value, "en")), channel
    assert catalogue.channel_text("taobao", "zh") == "淘宝"
    assert catalogue.channel_text("jd", "zh") == "jd"  # a channel added later: as the API spells it


def test_a_shipment_failed_for_an_unbound_store_says_why() -> None:
    assert catalogue.error_text("store_unbound", "zh") == "店铺已解绑，无法在平台确认发货。"
    assert catalogue.error_text("store_unbound", "en").startswith("The store was unbound")


def test_every_order_alert_kind_reads_in_both_languages() -> None:
    kinds = {k.value for k in OrderAlertKind}
    assert kinds == set(typing.get_args(AlertKindName))  # what the API documents is what its model holds
    assert set(catalogue.ORDER_ALERT_KINDS) == kinds
    for kind in kinds:
        assert HAN.search(catalogue.order_alert_text(kind, "zh")), kind
        assert not HAN.search(catalogue.order_alert_text(kind, "en")), kind
        assert catalogue.order_alert_title(kind, "zh") != catalogue.order_alert_text(kind, "zh")
    assert catalogue.order_alert_title("late_to_ship", "zh") == "即将超时"
    assert catalogue.order_alert_text("lost_in_space", "en") == "Order alert"


def test_every_skip_reason_hold_flag_and_confirmation_mode_reads_in_both_languages() -> None:
    assert set(catalogue.SKIP_REASONS) == {r.value for r in SkipReason}
    assert {r.value for r in SkipReason} == literal_values(models.SkipReason)
    assert set(CONFIRM_MODES) == {m.value for m in ConfirmMode}
    assert {h.value for h in OrderHold} <= set(catalogue.ORDER_FLAGS)
    for table, read in (
        (catalogue.SKIP_REASONS, catalogue.skip_text),
        (catalogue.ORDER_FLAGS, catalogue.flag_text),
        (CONFIRM_MODES, catalogue.confirm_mode_text),
    ):
        for key in table:
            assert HAN.search(read(key, "zh")), key
            assert not HAN.search(read(key, "en")), key
    assert catalogue.skip_text("new_reason", "zh") == "new_reason"
    assert catalogue.flag_text("new_flag", "en") == "new_flag"
    assert catalogue.confirm_mode_title("at_collection", "zh") == "揽收后发货"


def test_every_flag_shipping_sets_on_an_order_reads_in_both_languages() -> None:
    """The kinds shipping's code flags an order with (``flag(order, "<kind>", ...)``), read from its source."""
    source = Path(catalogue.__file__).parents[1] / "shipping"
    kinds = {
        m.group(1)
        for path in source.rglob("*.py")
        for m in re.finditer(r'flag\(\w+, "([a-z_]+)"', path.read_text(encoding="utf-8"))
    }
    assert "label_outdated" in kinds
    assert sorted(kinds - set(catalogue.ORDER_FLAGS)) == []


def test_the_refusals_of_a_void_say_what_to_do() -> None:
    assert catalogue.error_text("cannot_withdraw", "zh") == "平台不能撤回已确认的发货：请改用换单号。"
    assert catalogue.error_text("already_collected", "zh").startswith("快递员已揽收")
    assert catalogue.status_text("shipment", "voided", "zh") == "已回收单号"
    assert catalogue.status_text("order", "partly_shipped", "en") == "partly shipped"
