"""The ZPL writer's font mode: text as ^A@ fields in a TrueType font the printer holds. The field data is exactly
the layout's lines; the job is valid ZPL II; zplkit, given the labels' font by font_download(), prints the text
where the layout puts it and the barcodes decode; hostile text is escaped and never a command."""

from __future__ import annotations

import dataclasses
import io

import pytest
from PIL import Image, ImageChops, ImageFilter, ImageFont

from services.shipping import label_layout, zpl, zpl_font
from services.shipping.labels import LabelData
from services.shipping.models.base import LabelSize
from tests.label_support import SAMPLE_LABEL, barcodes
from tests.zpl_reference import parse
from tests.zpl_support import expected_text, inked, render, text_boxes

LABEL = dataclasses.replace(SAMPLE_LABEL, sender_phone="0571-****6666")
HOSTILE = dataclasses.replace(
    LABEL, receiver_name="^XZ~JR_41", receiver_address="~DGR:EVIL.GRF,1,1,FF\x00\x1b 收件\\^FS", store="\u200b_5E"
)
FONT = "E:WQY.TTF"


def _fields(label: LabelData, size: LabelSize, dpi: int) -> list[str]:
    """The field data the layout calls for, in order: each barcode's number, each line of text (bold ones as
    many times as they are overstruck)."""
    out: list[str] = []
    for e in label_layout.layout(label, size).elements:
        if isinstance(e, label_layout.Barcode):
            out.append(e.value)
        elif isinstance(e, label_layout.Text):
            times = max(1, round(round(e.size * zpl.DOTS_PER_MM[dpi]) / 24)) + 1 if e.bold else 1
            out += [line for line in e.lines for _ in range(times)]
    return out


@pytest.mark.parametrize("size", list(LabelSize))
def test_the_field_data_is_the_layouts_lines_and_every_command_is_valid(size: LabelSize) -> None:
    raw = zpl.render_zpl(LABEL, size, 300, font=FONT)
    doc = parse(raw)
    assert doc.formats == 1  # nothing stored, nothing to clean up
    assert doc.downloads == {}
    assert {p.rsplit(",", 1)[1] for c, p in doc.commands if c == "^A@"} == {FONT}
    assert [t for t in doc.field_data if t] == _fields(LABEL, size, 300)


def test_hostile_text_is_escaped_field_data() -> None:
    raw = zpl.render_zpl(HOSTILE, LabelSize.S100X150, font=FONT)
    doc = parse(raw)  # no ~JR, ~DG, stray ^XZ or ^FS: the table admits only ours, in place
    assert doc.formats == 1
    assert doc.downloads == {}
    assert {c for c, _ in doc.commands} == {"^XA", "^XZ", "^CI", "^PW", "^LL", "^LH", "^FO", "^FS", "^GB"} | {
        "^BY",
        "^BC",
        "^FH",
        "^FD",
        "^A@",
        "^FT",
    }
    shown = set(doc.field_data)
    assert any("^XZ~JR_41" in t for t in shown)  # printed as given
    assert zpl_font.text_data("^~_\\\x00\u200b王") == "_5E_7E_5F_5C_00_E2_80_8B王"


def test_a_printer_font_name_cannot_carry_a_command() -> None:
    for bad in ("E:WQY.TTF^XZ", "E:WQY.TTF,~JR", "WQY.TTF", "E:wqy.ttf", "E:WQY.GRF"):
        with pytest.raises(ValueError, match="printer font name"):
            zpl.render_zpl(LABEL, LabelSize.S100X150, font=bad)
    assert zpl_font.check_font_name("E:SIMSUN.TTF") == "E:SIMSUN.TTF"


def test_the_labels_font_comes_out_of_its_collection_whole() -> None:
    ttf = zpl_font.label_font_ttf()
    font = ImageFont.truetype(io.BytesIO(ttf), 40)
    assert font.getname() == ("WenQuanYi Micro Hei", "Regular")
    assert font.getlength("收件人 ZTO 0571") == pytest.approx(40 * label_layout.text_width("收件人 ZTO 0571", 1), abs=1)
    job = parse(zpl_font.font_download(FONT))  # ~DU with its size, Z64 data and CRC
    assert job.downloads["WQY"] == ttf


def _near(a: Image.Image, b: Image.Image) -> float:
    """Share of a's ink with ink of b within four dots (the printer rounds each advance to a dot)."""
    grown = b.filter(ImageFilter.MaxFilter(9))
    return inked(ImageChops.logical_and(a, grown)) / max(1, inked(a))


def test_a_printer_with_the_font_prints_the_text_where_the_layout_puts_it() -> None:
    size, dpi = LabelSize.S100X150, 203
    job = zpl_font.font_download("R:WQY.TTF") + b"".join(zpl.stream_zpl([LABEL, HOSTILE], size, dpi, font="R:WQY.TTF"))
    images = render(job, size, dpi)  # zplkit rasterizes the font itself
    assert len(images) == 2
    for label, image in zip([LABEL, HOSTILE], images, strict=True):
        assert barcodes(image) == [label.number]
        printed = image.point(lambda v: 255 if v < 128 else 0).convert("1")
        expected = expected_text(label, size, dpi)
        assert _near(expected, printed) > 0.9  # the expected text is printed...
        in_boxes = ImageChops.logical_and(printed, text_boxes(label, size, dpi))
        assert _near(in_boxes, expected) > 0.9  # ...and all that is printed where text goes is the expected text
