"""The label layout both renderers draw: every element on the page, text boxes apart, rules between rows
(never through text or a barcode), lines within their width, and the wrap rules themselves."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from services.shipping import label_layout as L  # noqa: N812  (the layout vocabulary: L.Text, L.Rule...)
from services.shipping.labels import LabelData
from services.shipping.models.base import LabelSize
from tests.label_support import SAMPLE_LABEL

LABEL = dataclasses.replace(
    SAMPLE_LABEL,
    sender_address="浙江省杭州市余杭区文一西路969号 阿里巴巴西溪园区",
    receiver_name="王小明",
    receiver_address="广东省 深圳市 南山区 科技园南区高新南七道 深圳软件产业基地 4 栋 B 座 1201 室",
    reprint=2,
    piece=2,
    pieces=3,
    parent_number="712345678900",
    parent_child=True,
)
# Everything as long as it can get: wrapping and cutting must keep it all in its box.
LONG = dataclasses.replace(
    LABEL,
    carrier_name="中国邮政速递物流股份有限公司快递包裹",
    carrier="YUNDA_EXPRESS",
    receiver_name="欧阳" * 20,
    receiver_address="新疆维吾尔自治区" * 12,
    sender_name="WWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWW",
    sender_address="M" * 200,
    store="拼多多 " + "旗舰店" * 20,
    sort_code="721-A010-J9 47 WWW MMM",
    package_center="乌鲁木齐转运中心集包" * 5,
    order_ref="3" * 64,
    pieces=999,
    piece=999,
)
SIZES = list(LabelSize)


def _box(e: L.Element) -> tuple[float, float, float, float]:
    if isinstance(e, L.Text):
        return e.x, e.y, e.x + e.max_width, e.y + e.height
    if isinstance(e, L.Rule):
        return (
            (e.x, e.y, e.x + e.thickness, e.y + e.length)
            if e.vertical
            else (e.x, e.y, e.x + e.length, e.y + e.thickness)
        )
    return e.x, e.y, e.x + e.width, e.y + e.height


def _overlap(a: L.Element, b: L.Element) -> bool:
    ax0, ay0, ax1, ay1 = _box(a)
    bx0, by0, bx1, by1 = _box(b)
    return ax0 < bx1 and bx0 < ax1 and ay0 < by1 and by0 < ay1


@pytest.mark.parametrize("label", [LABEL, LONG], ids=["typical", "long"])
@pytest.mark.parametrize("size", SIZES)
def test_every_element_is_on_the_page(size: LabelSize, label: LabelData) -> None:
    lay = L.layout(label, size)
    assert (lay.width, lay.height) == L.page_size(size)
    for e in lay.elements:
        x0, y0, x1, y1 = _box(e)
        assert 0 <= x0 < x1 <= lay.width, e
        assert 0 <= y0 < y1 <= lay.height, e


@pytest.mark.parametrize("label", [LABEL, LONG], ids=["typical", "long"])
@pytest.mark.parametrize("size", SIZES)
def test_text_and_barcodes_do_not_overlap_each_other_or_a_rule(size: LabelSize, label: LabelData) -> None:
    lay = L.layout(label, size)
    solid = [e for e in lay.elements if isinstance(e, L.Text | L.Barcode)]
    rules = [e for e in lay.elements if isinstance(e, L.Rule)]
    for a, b in itertools.combinations(solid, 2):
        assert not _overlap(a, b), (a, b)
    for a, r in itertools.product(solid, rules):
        assert not _overlap(a, r), (a, r)


@pytest.mark.parametrize("label", [LABEL, LONG], ids=["typical", "long"])
@pytest.mark.parametrize("size", SIZES)
def test_text_stays_inside_its_border_and_its_width(size: LabelSize, label: LabelData) -> None:
    lay = L.layout(label, size)
    borders = [e for e in lay.elements if isinstance(e, L.Box)]
    for t in (e for e in lay.elements if isinstance(e, L.Text | L.Barcode)):
        assert any(_inside(t, b) for b in borders), t
        if isinstance(t, L.Text):
            for x, _, line in t.placed():
                assert t.x - 1e-9 <= x, (t.name, line)
                assert x + L.text_width(line, t.size) <= t.x + t.max_width + 1e-9, (t.name, line)


def _inside(e: L.Element, box: L.Box) -> bool:
    x0, y0, x1, y1 = _box(e)
    return box.x < x0 and box.y < y0 and x1 < box.x + box.width and y1 < box.y + box.height


@pytest.mark.parametrize("size", SIZES)
def test_every_field_is_shown_and_the_sort_code_is_largest(size: LabelSize) -> None:
    lay = L.layout(LABEL, size)
    texts = {e.name: e for e in lay.elements if isinstance(e, L.Text)}
    shown = "".join(line for t in texts.values() for line in t.lines)
    for part in ("中通快递", "ZTO", "380D-56-04", "金华包", "712345678901", "王小明", "137****5678", "杭州小铺"):
        assert part in shown
    for part in ("0571-88886666", "3000000000123456789", "淘宝 杭州小铺", "1.25 kg", "第 2/3 件", "reprint 2"):
        assert part in shown
    assert "".join(texts["receiver_address"].lines).replace(" ", "") == LABEL.receiver_address.replace(" ", "")
    largest = max(texts.values(), key=lambda t: t.size)
    assert largest.name == "sort_code"
    assert largest.bold
    # right under the carrier row: nothing but the carrier line above it
    assert all(t.y < largest.y for t in texts.values() if t.name in ("carrier", "carrier_name"))
    assert all(t.y > largest.y for t in texts.values() if t.name not in ("carrier", "carrier_name", "sort_code"))
    assert next(b.value for b in lay.elements if isinstance(b, L.Barcode)) == LABEL.number


def test_the_two_part_label_repeats_barcode_number_and_receiver_below_a_perforation() -> None:
    lay = L.layout(LABEL, LabelSize.S100X180)
    [perforation] = [e for e in lay.elements if isinstance(e, L.Rule) and e.dashed]
    assert perforation.length == lay.width
    below = [e for e in lay.elements if _box(e)[1] > perforation.y]
    assert [e.value for e in below if isinstance(e, L.Barcode)] == [LABEL.number]
    stub = {e.name: e for e in below if isinstance(e, L.Text)}
    assert stub["stub_number"].lines == (LABEL.number,)
    assert "王小明" in stub["stub_receiver"].lines[0]
    assert stub["stub_receiver_address"].lines
    for size in (LabelSize.S100X150, LabelSize.S76X130):
        assert not [e for e in L.layout(LABEL, size).elements if isinstance(e, L.Rule) and e.dashed]


def test_a_long_sort_code_shrinks_to_one_line_and_an_empty_one_moves_nothing() -> None:
    lay = L.layout(LONG, LabelSize.S100X150)
    [sort] = [e for e in lay.elements if isinstance(e, L.Text) and e.name == "sort_code"]
    assert sort.lines == (LONG.sort_code,)
    assert sort.size < 14
    plain = dataclasses.replace(LABEL, sort_code="", package_center="", store="", pieces=1, reprint=0)
    names = {e.name for e in L.layout(plain, LabelSize.S100X150).elements if isinstance(e, L.Text)}
    assert not names & {"sort_code", "package_center", "store", "piece_line"}

    def barcode_y(label: LabelData) -> float:
        return next(e.y for e in L.layout(label, LabelSize.S100X150).elements if isinstance(e, L.Barcode))

    assert barcode_y(plain) == barcode_y(LABEL)


def test_widths_come_from_the_font_table() -> None:
    assert L.text_width("中通", 10) == 20
    assert L.char_width("0") == pytest.approx(0.551)
    assert L.char_width("M") > L.char_width("i")
    assert L.char_width("é") == 1.0  # not tabulated: one em, never narrower than drawn


def test_wrap_breaks_anywhere_drops_leading_spaces_and_marks_a_cut() -> None:
    assert L.wrap("一二三四五六", 1, 3, 5) == ("一二三", "四五六")
    assert L.wrap("一二三 四五六", 1, 3, 5) == ("一二三", "四五六")
    cut = L.wrap("一二三四五六七八九十", 1, 3, 2)
    assert cut == ("一二三", "四五…")
    assert L.wrap("", 1, 3, 2) == ()
    assert L.wrap("一二三", 1, 0.5, 2) == ("一", "…")  # wider than the line: still placed, and ends


def test_control_characters_become_spaces() -> None:
    assert L.clean("王\n小\t明\x1b[0m  先生\x00") == "王 小 明 [0m 先生"
    assert L.wrap("a\r\nb", 10, 100, 1) == ("a b",)


def test_fit_size() -> None:
    assert L.fit_size("一二", 10, 100, 5) == 10
    assert L.fit_size("一二", 10, 10, 2) == 5
    assert L.fit_size("一二", 10, 1, 2) == 2
    assert L.fit_size("", 10, 1, 2) == 10


def test_rows_that_do_not_change_are_the_same_objects_label_after_label() -> None:
    """Renderers remember what they drew for an element by identity (the ZPL batch rate rests on it)."""
    a = L.layout(LABEL, LabelSize.S100X150).elements
    b = L.layout(dataclasses.replace(LABEL, number="712345678902"), LabelSize.S100X150).elements
    by_name = {getattr(e, "name", None): e for e in b}
    for e in a:
        if isinstance(e, L.Text) and e.name in ("sender", "sender_address", "receiver", "carrier_name", "weight"):
            assert by_name[e.name] is e
    assert [e for e in a if isinstance(e, L.Rule)] == [e for e in b if isinstance(e, L.Rule)]
    assert all(x is y for x, y in zip(a, b, strict=True) if isinstance(x, L.Rule | L.Box))
    changed = {e.name for e in a if isinstance(e, L.Text | L.Barcode)} - {
        e.name for e in a if isinstance(e, L.Text) and by_name[e.name] is e
    }
    assert changed == {"barcode", "number"}
