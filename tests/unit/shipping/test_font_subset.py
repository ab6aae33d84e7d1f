"""The labels' own TrueType subsetter writes the file reportlab's makeSubset writes, byte for byte: for the codes
reportlab allocates to text, for composite glyphs (most of WenQuanYi's hanzi are), for characters the font lacks,
and for a subset's full 256 codes."""

from __future__ import annotations

import random

import pytest

from services.shipping.font_subset import Subsetter
from services.shipping.label_font import cjk_font, subsetter


class _Doc:
    """A document key for reportlab's code allocation."""


def _subsets(text: str) -> list[list[int]]:
    doc, font = _Doc(), cjk_font()
    font.splitString(text, doc)
    subsets: list[list[int]] = font.state.pop(doc).subsets
    return subsets


def test_composite_glyphs_are_there_to_be_tested() -> None:
    face = cjk_font().face
    composites = [c for c in (0x4E2D, 0x901A, 0x5FEB, 0x9012) if subsetter().glyph(face.charToGlyph[c])[1]]
    assert composites  # 中通快递: some are made of parts


@pytest.mark.parametrize("seed", range(12))
def test_a_subset_is_reportlabs_to_the_byte(seed: int) -> None:
    face = cjk_font().face
    rng = random.Random(seed)
    codes = sorted(face.charToGlyph)
    text = "".join(chr(c) for c in rng.sample(codes, rng.randint(1, 700)))
    text += "收件人: 王* 138****5678 \U0001f600\u0378"  # and two the font has no glyph for
    own = Subsetter(face)  # cold: every glyph read for the first time
    for subset in _subsets(text):
        assert own.program(subset) == face.makeSubset(subset)
        assert own.program(subset) == face.makeSubset(subset)  # and warm


def test_the_label_text_subset_is_reportlabs() -> None:
    face = cjk_font().face
    [subset] = _subsets("中通快递 ZTO 712345678901 收件人: 张* 138****8000 浙江省 杭州市 文一西路 969 号")
    assert subsetter().program(subset) == face.makeSubset(subset)
