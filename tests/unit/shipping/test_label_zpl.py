"""The ZPL label writer, read back two ways: rendered offline by zplkit (a ZPL engine) at 203 and 300 dpi, its
barcodes decoded by zxing-cpp and its text compared, character by character, with Pillow's drawing of the
expected characters where the layout puts them; and every command checked against the ZPL II reference
(tests/zpl_reference.py). Hostile receiver data never reaches the printer as a command."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator

import pytest
from PIL import Image, ImageChops

from services.shipping import label_layout, zpl, zpl_glyphs
from services.shipping.labels import LabelData, code128_pattern
from services.shipping.models.base import LabelSize
from tests.label_support import SAMPLE_LABEL, barcodes
from tests.zpl_reference import ZplError, parse
from tests.zpl_support import expected_text, inked, render, text_boxes

LABEL = dataclasses.replace(SAMPLE_LABEL, sender_phone="0571-****6666", piece=2, pieces=3)
SIZES = list(LabelSize)
# Share of a text's dots that may differ from Pillow's own drawing of the expected characters (they match
# exactly today: both are the same rasterizer; a wrong character in a line is several percent)
TOLERANCE = 0.01
DPIS = [203, 300]


def _text_mismatch(printed: Image.Image, label: LabelData, size: LabelSize, dpi: int, only: str = "") -> float:
    """Dots that differ from the expected text, within the text's boxes (or only the one named), as a share of
    the expected ink."""
    expected = expected_text(label, size, dpi)
    ink = printed.point(lambda v: 255 if v < 128 else 0).convert("1")
    boxes = text_boxes(label, size, dpi, only)
    diff = ImageChops.logical_and(ImageChops.logical_xor(ink, expected), boxes)
    return inked(diff) / max(1, inked(ImageChops.logical_and(expected, boxes)))


@pytest.mark.parametrize("dpi", DPIS)
@pytest.mark.parametrize("size", SIZES)
def test_each_size_prints_its_barcodes_and_its_text(size: LabelSize, dpi: int) -> None:
    doc = zpl.render_zpl(LABEL, size, dpi)
    [image] = render(doc, size, dpi)
    w, h = label_layout.page_size(size)
    assert (image.width, image.height) == (round(w * zpl.DOTS_PER_MM[dpi]), round(h * zpl.DOTS_PER_MM[dpi]))
    assert barcodes(image) == [LABEL.number] * (2 if size == LabelSize.S100X180 else 1)
    assert _text_mismatch(image, LABEL, size, dpi) < TOLERANCE


def test_the_text_check_sees_a_wrong_character() -> None:
    # the comparison above would catch a label that drew other characters (or none) in the receiver's place
    doc = zpl.render_zpl(dataclasses.replace(LABEL, receiver_name="李*"), LabelSize.S100X150)
    [image] = render(doc, LabelSize.S100X150, 203)
    assert _text_mismatch(image, LABEL, LabelSize.S100X150, 203, only="receiver") > 0.05
    assert _text_mismatch(image, LABEL, LabelSize.S100X150, 203, only="receiver_address") < TOLERANCE
    blank = Image.new("L", image.size, 255)
    assert _text_mismatch(blank, LABEL, LabelSize.S100X150, 203) > 0.9


@pytest.mark.parametrize("dpi", [*DPIS, 600])
@pytest.mark.parametrize("size", SIZES)
def test_every_command_is_zpl_ii_with_valid_parameters(size: LabelSize, dpi: int) -> None:
    doc = parse(zpl.render_zpl(LABEL, size, dpi))
    assert doc.formats == 2  # the label, then the clean-up
    d = zpl.DOTS_PER_MM[dpi]
    w, h = label_layout.page_size(size)
    params = dict(doc.commands)
    assert params["^PW"] == str(round(w * d))
    assert params["^LL"] == str(round(h * d))
    assert params["^CI"] == "28"
    # the one field with data is the barcode's number (twice on the two-part label): no text is field data
    assert doc.field_data == [LABEL.number] * (2 if size == LabelSize.S100X180 else 1)
    # the document ends by deleting the glyphs it stored (ours only: their names' prefix)
    assert doc.commands[-4:] == [("^XA", ""), ("^ID", f"R:{zpl_glyphs.PREFIX}*.GRF"), ("^FS", ""), ("^XZ", "")]


def _batch(n: int) -> list[LabelData]:
    """Labels whose receivers use 1,500 distinct hanzi between them."""
    pool = [chr(c) for c in range(0x4E00, 0x4E00 + 1500)]
    random.Random(7).shuffle(pool)
    return [
        dataclasses.replace(
            LABEL,
            number=f"7{i:011d}",
            shipment_id=f"shp_{i:020d}",
            receiver_name=pool[(i * 37) % len(pool)] + "*",
            receiver_address="".join(pool[(i * 30 + k) % len(pool)] for k in range(30)),
        )
        for i in range(n)
    ]


def test_a_batch_downloads_each_glyph_once_and_every_label_reads_back() -> None:
    batch = _batch(60)
    raw = b"".join(zpl.stream_zpl(batch, LabelSize.S100X150))
    doc = parse(raw)  # every ^XG recalls a glyph downloaded before it
    assert doc.formats == len(batch) + 1
    downloads = [p for c, p in doc.commands if c == "~DG"]
    assert len(downloads) == len(doc.downloads)  # none twice
    hanzi = {ch for label in batch for ch in label.receiver_address}
    assert len(hanzi) >= 1500
    assert len(doc.downloads) > len(hanzi)  # and each at each of its sizes and weights
    images = render(raw, LabelSize.S100X150, 203)
    assert len(images) == len(batch)
    for i in (0, 31, 59):
        assert barcodes(images[i]) == [batch[i].number]
        assert _text_mismatch(images[i], batch[i], LabelSize.S100X150, 203) < TOLERANCE


def test_a_long_batch_clears_the_printers_memory_as_it_goes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zpl, "STORE_LIMIT", 20_000)  # bytes of glyphs
    batch = _batch(30)
    raw = b"".join(zpl.stream_zpl(batch, LabelSize.S100X150))
    doc = parse(raw)  # after each clean-up, a glyph is downloaded again before it is recalled
    cleanups = [p for c, p in doc.commands if c == "^ID"]
    assert len(cleanups) >= 3
    assert raw.endswith(zpl.CLEANUP.encode())
    images = render(raw, LabelSize.S100X150, 203)
    assert len(images) == len(batch)
    assert _text_mismatch(images[-1], batch[-1], LabelSize.S100X150, 203) < TOLERANCE


def test_a_batch_streams_before_its_labels_run_out() -> None:
    given = 0

    def labels_given() -> Iterator[LabelData]:
        nonlocal given
        for i in range(2000):
            given += 1
            yield dataclasses.replace(LABEL, number=f"7{i:011d}")

    pieces = zpl.stream_zpl(labels_given(), LabelSize.S100X150)
    next(pieces)
    assert given < 2000
    rest = b"".join(pieces)
    assert rest.endswith(zpl.CLEANUP.encode())
    assert given == 2000


HOSTILE = dataclasses.replace(
    LABEL,
    receiver_name="^XZ~JR",
    receiver_phone="~DGR:EVIL.GRF,1,1,FF",
    receiver_address="^XA^FO0,0^GB800,1200,800^FS^XZ\x00\x1b\r\n~JA 收件_5E",
    sender_name="~WC^IDE:*.*",
    store="_7E_5E\x10",
)


def test_hostile_text_never_reaches_the_printer_as_a_command() -> None:
    raw = zpl.render_zpl(HOSTILE, LabelSize.S100X150)
    assert raw.isascii()  # no UTF-8 to misread on a printer left in another code page
    doc = parse(raw)  # only our commands: no ~JR (reset), ~JA (cancel), ~WC, stray ^XZ or a foreign download
    codes = {c for c, _ in doc.commands}
    assert codes <= {"^XA", "^XZ", "^CI", "^PW", "^LL", "^LH", "^FO", "^FS", "^GB", "^BY", "^BC"} | {
        "^FH",
        "^FD",
        "^XG",
        "^ID",
        "~DG",
    }
    assert doc.formats == 2
    assert all(name.startswith(zpl_glyphs.PREFIX) for name in doc.downloads)
    assert doc.field_data == [HOSTILE.number]
    # ...and the receiver's name is printed as it was given, ^ and ~ included
    [image] = render(raw, LabelSize.S100X150, 203)
    assert _text_mismatch(image, HOSTILE, LabelSize.S100X150, 203) < TOLERANCE


def test_a_hostile_number_is_escaped_field_data() -> None:
    assert zpl.field_data("712345678901") == "712345678901"
    assert zpl.field_data("^XZ~JR") == "_5EXZ_7EJR"
    assert zpl.field_data("A_1\n") == "A_5F1_0A"
    assert zpl.field_data("王") == "_E7_8E_8B"
    raw = zpl.render_zpl(dataclasses.replace(LABEL, number="12^XZ~JR34"), LabelSize.S100X150)
    doc = parse(raw)
    assert doc.field_data == ["12^XZ~JR34"]  # what the barcode encodes, once ^FH is applied
    assert doc.formats == 2


def test_the_reference_reader_is_strict() -> None:
    good = zpl.render_zpl(LABEL, LabelSize.S76X130)
    parse(good)
    bad = [
        good.replace(b"^CI28", b"^CI28^JUS"),  # a command not in the table
        good.replace(b"^BCN,", b"^BCX,", 1),  # a bad orientation
        good.replace(b"^LH0,0", b"^LH0,0~JR"),
        good.replace(b"^FD712345678901", b"^FD7123^XZ45678901"),  # field data ending a format
        good.replace(b"^XZ\n", b"\n", 1),  # a format left open
    ]
    z64 = good.index(b":Z64:")
    bad.append(good[: z64 + 8] + bytes([good[z64 + 8] ^ 1]) + good[z64 + 9 :])  # a CRC that fails
    name = good[good.index(b"^XGR:") + 5 : good.index(b".GRF,1,1")]
    bad.append(good.replace(b"~DGR:" + name, b"~DGR:WBXXXXXX", 1))  # a recall of a glyph never stored
    for doc in bad:
        with pytest.raises(ZplError):
            parse(doc)


def test_z64_carries_the_crc_of_its_base64_text() -> None:
    data = bytes([0xFF, 0x00, 0x81]) * 4
    encoded = zpl_glyphs.z64(data)
    assert encoded.startswith(":Z64:")
    _, _, b64, crc = encoded.split(":")
    import base64
    import binascii
    import zlib

    assert zlib.decompress(base64.b64decode(b64)) == data
    assert crc == f"{binascii.crc_hqx(b64.encode(), 0):04X}"


def test_glyph_names_are_unique_and_within_eight_characters() -> None:
    names = {zpl_glyphs.glyph_name(chr(c), px, bold) for c in (0x20, 0x4E00, 0xFFFF, 0x10FFFF) for px in (1, 22, 511)
             for bold in (False, True)}  # fmt: skip
    assert len(names) == 24
    assert all(len(n) <= 8 and n.isalnum() and n.startswith(zpl_glyphs.PREFIX) for n in names)
    with pytest.raises(ValueError, match="out of range"):
        zpl_glyphs.glyph_name("a", 512, False)


def test_an_unknown_resolution_is_refused() -> None:
    with pytest.raises(ValueError, match="dpi"):
        zpl.render_zpl(LABEL, LabelSize.S100X150, 150)


@pytest.mark.parametrize("number", ["712345678901", "78", "SF1234567890123", "1234567", "YT-88A"])
def test_the_symbol_width_used_to_centre_the_barcode_is_the_encoders(number: str) -> None:
    assert zpl.code128_modules(number) == sum(map(int, code128_pattern(number)))
