"""Where everything on a label goes, for each label size: a list of positioned elements that the PDF and the
ZPL renderers both draw, so the two formats look alike and wrap text at the same characters.

All lengths are in mm from the page's top-left corner, y growing downwards. A text's ``y`` is the top of its
first line's em box; the baseline is ``BASELINE`` em below it (the ideographic em box of CJK fonts: 0.88 above
the baseline, 0.12 below). Widths come from the label font, WenQuanYi Micro Hei: every CJK character is one em,
and the printable ASCII advances are tabulated below (so no font file is read here).
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate, repeat
from typing import TYPE_CHECKING, Literal

from services.shipping.models.base import LabelSize

if TYPE_CHECKING:  # labels.py draws these layouts: a runtime import would be circular
    from services.shipping.labels import LabelData

BASELINE = 0.88
LEADING = 1.25  # line pitch, in em
ELLIPSIS = "…"

# WenQuanYi Micro Hei's advance widths of " " .. "~", in 1/1000 em (rounded up, so a measured line never
# comes out narrower than the font draws it).
_ASCII_WIDTHS = (
    260, 270, 402, 646, 551, 826, 703, 227, 301, 301, 551, 551, 250, 322, 269, 374,
    551, 551, 551, 551, 551, 551, 551, 551, 551, 551, 269, 269, 551, 551, 551, 426,
    867, 608, 622, 604, 685, 528, 492, 690, 702, 339, 271, 580, 492, 871, 730, 743,
    577, 742, 590, 520, 520, 699, 568, 884, 547, 527, 540, 304, 374, 304, 533, 412,
    578, 531, 586, 463, 586, 536, 330, 519, 589, 259, 259, 497, 259, 896, 589, 578,
    586, 586, 399, 452, 339, 589, 480, 747, 500, 489, 441, 355, 551, 355, 551,
)  # fmt: skip

WIDTHS = {chr(32 + i): w / 1000 for i, w in enumerate(_ASCII_WIDTHS)}

Align = Literal["left", "center", "right"]


@dataclass(frozen=True, slots=True)
class Text:
    x: float  # left edge of the box the lines are aligned in
    y: float  # top of the first line
    size: float  # em height, mm
    lines: tuple[str, ...]
    max_width: float  # the box's width: no line is wider
    bold: bool = False
    align: Align = "left"
    name: str = ""  # what it shows ("sort_code", "receiver_address"...): for tests and debugging

    @property
    def leading(self) -> float:
        return self.size * LEADING

    @property
    def height(self) -> float:
        return self.size + self.leading * (len(self.lines) - 1) if self.lines else 0.0

    def placed(self) -> Iterator[tuple[float, float, str]]:
        """Each line with the top-left corner it is drawn at (alignment applied)."""
        leading = self.leading
        for i, line in enumerate(self.lines):
            x = self.x
            if self.align != "left":
                slack = self.max_width - text_width(line, self.size)
                x += slack if self.align == "right" else slack / 2
            yield x, self.y + i * leading, line


@dataclass(frozen=True, slots=True)
class Barcode:
    """A Code 128 symbol of ``value``, bars centred in the box (the box includes the quiet zones)."""

    x: float
    y: float
    width: float
    height: float
    value: str
    name: str = "barcode"


@dataclass(frozen=True, slots=True)
class Rule:
    x: float
    y: float  # top edge of the line
    length: float
    thickness: float
    vertical: bool = False
    dashed: bool = False  # the perforation between the parts of a two-part label


@dataclass(frozen=True, slots=True)
class Box:
    x: float
    y: float
    width: float
    height: float
    thickness: float


Element = Text | Barcode | Rule | Box


@dataclass(frozen=True, slots=True)
class Layout:
    width: float
    height: float
    elements: tuple[Element, ...]


_SIZES = {size: (float(size.value.split("x")[0]), float(size.value.split("x")[1])) for size in LabelSize}


def page_size(size: LabelSize) -> tuple[float, float]:
    return _SIZES[size]


def char_width(ch: str) -> float:
    """Advance width in em. Characters outside the table count as one em (never narrower than drawn)."""
    return WIDTHS.get(ch, 1.0)


def text_width(text: str, size: float) -> float:
    return sum(map(WIDTHS.get, text, repeat(1.0))) * size


def clean(text: str) -> str:
    """Control characters (a newline in an address, a stray tab or escape) become spaces, runs of spaces one."""
    if not text.isprintable():
        text = "".join(" " if unicodedata.category(c)[0] == "C" else c for c in text)
    return " ".join(text.split())


@lru_cache(maxsize=8192)  # a batch repeats its sender, store and carrier lines on every label
def wrap(text: str, size: float, width: float, max_lines: int) -> tuple[str, ...]:
    """Breaks anywhere (Chinese has no spaces to break at); a line never starts with a space. Text that
    needs more lines is cut, and its last line ends in an ellipsis so it is seen to be cut."""
    text = clean(text)
    if not text:
        return ()
    limit = width / size
    ends = list(accumulate(map(WIDTHS.get, text, repeat(1.0))))  # em from the start to each character's end
    if ends[-1] <= limit:
        return (text,)
    lines: list[str] = []
    start = 0
    while start < len(text) and len(lines) < max_lines:
        if text[start] == " ":  # clean() left single spaces only
            start += 1
            continue
        base = ends[start - 1] if start else 0.0
        end = max(bisect_right(ends, base + limit, lo=start), start + 1)  # a character wider than the line
        lines.append(text[start:end].rstrip())
        start = end
    if start < len(text):
        last = lines[-1]
        while last and text_width(last + ELLIPSIS, size) > width:
            last = last[:-1]
        lines[-1] = last.rstrip() + ELLIPSIS
    return tuple(lines)


def fit_size(text: str, size: float, width: float, min_size: float) -> float:
    """The largest size up to ``size`` at which the text is one line (never below ``min_size``)."""
    natural = text_width(clean(text), 1.0)
    return max(min_size, min(size, width / natural)) if natural else size


@dataclass(frozen=True, slots=True)
class _Spec:
    scale: float  # of fonts, gaps and margins, against the 100 mm wide design
    barcode_h: float  # mm, not scaled: scanners need the height
    address_lines: int
    part_h: float  # height of the main part (less than the page's on a two-part label)


_SPECS = {
    LabelSize.S100X150: _Spec(scale=1.0, barcode_h=22, address_lines=3, part_h=150),
    LabelSize.S100X180: _Spec(scale=1.0, barcode_h=18, address_lines=3, part_h=136),
    LabelSize.S76X130: _Spec(scale=0.8, barcode_h=18, address_lines=4, part_h=130),
}

RULE = 0.3  # mm: 2-3 dots on a thermal printer
STUB_GAP = 2.0  # between the perforation and either part's border

# Rows that do not change from label to label come out as the same objects, so a renderer can remember what it
# drew for them by identity (the ZPL batch rate rests on it).
_text = lru_cache(maxsize=4096)(Text)
_rule = lru_cache(maxsize=256)(Rule)
_box = lru_cache(maxsize=64)(Box)


@dataclass
class _Stack:
    """Rows placed top to bottom; each reserves the height of its longest allowed text."""

    x: float
    width: float
    y: float
    s: float
    out: list[Element] = field(default_factory=list)

    def text(
        self, text: str, size: float, name: str, *, bold: bool = False, align: Align = "left", max_lines: int = 1
    ) -> None:
        size *= self.s
        lines = wrap(text, size, self.width, max_lines)
        if lines:
            self.out.append(_text(self.x, self.y, size, lines, self.width, bold, align, name))
        self.y += size + size * LEADING * (max_lines - 1) + 0.8 * self.s

    def rule(self, page_x: float, page_w: float) -> None:
        self.y += 0.7 * self.s
        self.out.append(_rule(page_x, self.y, page_w, RULE))
        self.y += RULE + 1.5 * self.s


def _main_part(label: LabelData, width: float, spec: _Spec) -> list[Element]:
    s = spec.scale
    margin, pad = 3 * s, 2 * s
    x, w = margin + pad, width - 2 * (margin + pad)
    bottom = spec.part_h - margin
    st = _Stack(x, w, margin + pad, s)
    out = st.out
    out.append(_box(margin, margin, width - 2 * margin, bottom - margin, RULE))
    # carrier: its name on the left, its code on the right of the same row
    code_w = text_width(label.carrier, 4 * s) + 0.5
    if label.carrier:
        carrier = wrap(label.carrier, 4 * s, code_w, 1)
        out.append(_text(x + w - code_w, st.y + 1.5 * s, 4 * s, carrier, code_w, False, "left", "carrier"))
    st.width = w - code_w - 2 * s
    st.text(label.carrier_name, 6, "carrier_name", bold=True)
    st.width = w
    st.rule(margin, width - 2 * margin)
    # the sort code (三段码), largest: sorting centres read it from afar
    sort_size = fit_size(label.sort_code, 14 * s, w, 7 * s) / s
    reserve = 14 - sort_size
    st.text(label.sort_code, sort_size, "sort_code", bold=True, align="center")
    st.y += reserve * s
    st.rule(margin, width - 2 * margin)
    st.text(f"集包地: {label.package_center}" if label.package_center else "", 5, "package_center", bold=True)
    st.rule(margin, width - 2 * margin)
    out.append(Barcode(x, st.y, w, spec.barcode_h, label.number))
    st.y += spec.barcode_h + 1 * s
    st.text(label.number, 4.5, "number", align="center")
    st.rule(margin, width - 2 * margin)
    st.text(f"收件人: {label.receiver_name}  {label.receiver_phone}", 4.5, "receiver", bold=True)
    st.text(label.receiver_address, 4.2, "receiver_address", max_lines=spec.address_lines)
    st.rule(margin, width - 2 * margin)
    st.text(f"寄件人: {label.sender_name}  {label.sender_phone}", 3.2, "sender")
    st.text(label.sender_address, 3.2, "sender_address", max_lines=2)
    st.rule(margin, width - 2 * margin)
    st.text(f"订单号: {label.order_ref}", 3.2, "order_ref")
    st.text(f"店铺: {label.store}" if label.store else "", 3.2, "store")
    st.text(f"重量: {label.weight_g / 1000:.2f} kg", 3.2, "weight")
    st.text(label.piece_line, 4, "piece_line", bold=True)
    footer = label.shipment_id + (f"  reprint {label.reprint}" if label.reprint else "")
    size = 2.8 * s
    if lines := wrap(footer, size, w, 1):
        out.append(_text(x, bottom - pad - size, size, lines, w, False, "left", "footer"))
    return out


def _stub(label: LabelData, width: float, top: float, bottom: float) -> list[Element]:
    """The courier's stub of a two-part label: a small barcode, the number and the receiver again."""
    margin, pad = 3.0, 2.0
    x, w = margin + pad, width - 2 * (margin + pad)
    st = _Stack(x, w, top + pad, 1.0)
    st.out.append(_box(margin, top, width - 2 * margin, bottom - top, RULE))
    st.out.append(Barcode(x, st.y, w, 9, label.number, name="stub_barcode"))
    st.y += 10
    st.text(label.number, 3.5, "stub_number", align="center")
    st.text(f"收件人: {label.receiver_name}  {label.receiver_phone}", 3.2, "stub_receiver", bold=True)
    st.text(label.receiver_address, 3.2, "stub_receiver_address", max_lines=2)
    return st.out


def layout(label: LabelData, size: LabelSize) -> Layout:
    width, height = _SIZES[size]
    spec = _SPECS[size]
    elements = _main_part(label, width, spec)
    if spec.part_h < height:
        elements.append(_rule(0, spec.part_h, width, RULE, False, True))
        elements += _stub(label, width, spec.part_h + STUB_GAP, height - 3.0)
    return Layout(width, height, tuple(elements))
