"""The PDF label writer: each size's barcodes decode to the number at a thermal printer's 203 dpi, the text
extracts as drawn, and the Chinese is drawn by the embedded font (this machine has no CJK system font, so ink in
the receiver's box proves it is the label's own font), in one document or a batch of many subsets."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator

import pytest

from services.shipping import label_layout, labels
from services.shipping.models.base import LabelSize
from tests.label_support import SAMPLE_LABEL, barcodes, fonts, ink, page_texts, render

LABEL = SAMPLE_LABEL


def _lines(label: labels.LabelData, size: LabelSize) -> list[str]:
    """What the layout draws, line by line (as the text extraction reads it back)."""
    out = []
    for e in label_layout.layout(label, size).elements:
        if isinstance(e, label_layout.Text):
            out += [" ".join(line.split()) for line in e.lines]
    return out


def _receiver_box(label: labels.LabelData, size: LabelSize) -> label_layout.Text:
    found = [e for e in label_layout.layout(label, size).elements if isinstance(e, label_layout.Text)]
    return next(e for e in found if e.name == "receiver")


@pytest.mark.parametrize("size", list(LabelSize))
def test_each_size_has_its_page_its_barcodes_and_its_text(size: LabelSize) -> None:
    pdf = labels.render_one(LABEL, size)
    image = render(pdf)
    w, h = label_layout.page_size(size)
    assert abs(image.width - w / 25.4 * 203) < 1
    assert abs(image.height - h / 25.4 * 203) < 1
    # the two-part label repeats the number's barcode on the courier's stub
    assert barcodes(image) == [LABEL.number] * (2 if size == LabelSize.S100X180 else 1)
    [text] = page_texts(pdf)
    drawn = _lines(LABEL, size)
    for line in drawn:
        assert line in text, line
    # nothing else, and nothing lost (lines on one height may come out as one, in either order)
    assert sorted("".join(text.split())) == sorted("".join("".join(drawn).split()))
    for shown in ("中通快递", "380D-56-04", "集包地: 金华包", "收件人: 王* 137****5678", "订单号: 3000000000123456789"):
        assert shown in text, shown


@pytest.mark.parametrize("size", list(LabelSize))
def test_the_chinese_is_drawn_by_the_embedded_font(size: LabelSize) -> None:
    pdf = labels.render_one(LABEL, size)
    [font] = fonts(pdf)
    # TrueType with its program (FontFile2) inside the file: no viewer or printer needs a font of its own
    assert font["subtype"] == "/TrueType"
    assert font["embedded"]
    assert font["to_unicode"]
    assert font["name"].endswith("+WenQuanYiMicroHei")
    # ...and it draws: the receiver's "收件人" (its first three ems) carries ink, the space beside the line none
    box = _receiver_box(LABEL, size)
    image = render(pdf)
    assert ink(image, (box.x, box.y, box.x + 3 * box.size, box.y + box.size)) > 0.08
    assert ink(image, (box.x + box.max_width - 2, box.y, box.x + box.max_width, box.y + box.size)) == 0


def test_a_label_without_a_sort_code_leaves_its_place_blank() -> None:
    pdf = labels.render_one(dataclasses.replace(LABEL, sort_code="", package_center=""))
    [text] = page_texts(pdf)
    assert "380D" not in text
    assert "集包地" not in text
    assert barcodes(render(pdf)) == [LABEL.number]


def test_a_batch_of_many_distinct_characters_spans_several_subsets_and_every_page_reads_back() -> None:
    # 1,200 distinct hanzi: at most 256 codes per TrueType subset, so five subsets or more in one document
    pool = [chr(c) for c in range(0x4E00, 0x4E00 + 1200)]
    rng = random.Random(7)
    rng.shuffle(pool)
    batch = [
        dataclasses.replace(
            LABEL,
            number=f"7{i:011d}",
            receiver_address="".join(pool[i * 30 : i * 30 + 30]),
            receiver_name=pool[(i * 30 + 7) % len(pool)] + "*",
        )
        for i in range(40)
    ]
    pdf = b"".join(labels.stream(batch))
    used = fonts(pdf)
    assert len(used) >= 5
    assert all(f["embedded"] and f["to_unicode"] for f in used)
    assert len({f["name"] for f in used}) == len(used)  # each subset its own tag
    texts = page_texts(pdf)
    assert len(texts) == len(batch)
    for label, text in zip(batch, texts, strict=True):
        assert label.receiver_address in "".join(text.split())  # wrapped over lines
        assert label.number in text
    for page in (0, 39):
        assert barcodes(render(pdf, page)) == [batch[page].number]


def test_a_batch_streams_its_pages_before_the_labels_run_out() -> None:
    given = 0

    def labels_given() -> Iterator[labels.LabelData]:
        nonlocal given
        for i in range(2000):
            given += 1
            yield dataclasses.replace(LABEL, number=f"7{i:011d}")

    pieces = labels.stream(labels_given())
    next(pieces)  # the header
    next(pieces)  # the first 256 KiB of pages
    assert given < 2000
    rest = b"".join(pieces)
    assert rest.endswith(b"%%EOF\n")
    assert given == 2000
