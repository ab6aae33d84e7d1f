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
from services.dashboard.ui_text_en import EN
from services.shipping.channels.base import ChannelName
from services.shipping.models import ItemStatus, ShipmentStatus
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
