"""Labels as ZPL II, for thermal printers at 203, 300 or 600 dpi: one label, or a whole batch streamed label by
label. It draws ``label_layout``'s elements, like the PDF: rules and boxes as ``^GB``, the number as a native
Code 128 (``^BC``, automatic code sets: subset C for digits), and all text as stored graphics of the labels' font
(``zpl_glyphs``), downloaded once per document, so a printer without a Chinese font prints it all the same.

No text of a label reaches the printer as field data: names and addresses are pictures, whatever they hold. The
one field, the barcode's number, is hex-escaped (``^FH``) but for letters and digits, so a ``^`` or ``~`` in it
can never start a command. (The other mode, text in a font the printer holds, is ``zpl_font``'s: faster and
smaller, for printers that have the font.)
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from operator import attrgetter

from services.shipping.label_layout import Barcode, Element, Layout, Rule, Text, layout, page_size
from services.shipping.labels import LabelData, code128_pattern
from services.shipping.metrics import LABELS
from services.shipping.models.base import LabelSize
from services.shipping.zpl_font import check_font_name, text_fields
from services.shipping.zpl_glyphs import PREFIX, Glyph, cells

DOTS_PER_MM = {203: 8.0, 300: 300 / 25.4, 600: 600 / 25.4}
MODULE = 0.375  # mm, the widest Code 128 module we print (3 dots at 203 dpi)
DASH, GAP = 2.0, 1.5  # mm, of the perforation line on a two-part label
# Bytes of glyphs a document keeps stored in the printer's RAM before it deletes them and starts again: far below
# any ZPL printer's free DRAM, and rarely reached (a batch's distinct characters are a few thousand at most).
STORE_LIMIT = 1 << 20
# Deletes our glyphs only (their names start with PREFIX): ZPL II Programming Guide, ^ID Object Delete.
CLEANUP = f"^XA^IDR:{PREFIX}*.GRF^FS^XZ\n"
_PLAIN = frozenset(string.ascii_letters + string.digits + "-")
_CHUNK = 256 * 1024


def field_data(value: str) -> str:
    """For ``^FH`` field data: all but letters, digits and ``-`` as ``_hh`` (each UTF-8 byte)."""
    return "".join(c if c in _PLAIN else "".join(f"_{b:02X}" for b in c.encode()) for c in value)


def code128_modules(value: str) -> int:
    """The symbol's width in modules: start, data, check and stop. All digits in even count (most waybill
    numbers) go in subset C, two to a symbol character; anything else is encoded (reportlab's encoder picks the
    same code sets as the printer's automatic mode)."""
    if value.isdigit() and value.isascii() and len(value) % 2 == 0:
        return 11 * (len(value) // 2 + 2) + 13
    return sum(map(int, code128_pattern(value)))


@dataclass(frozen=True, slots=True)
class _Drawn:
    zpl: str
    glyphs: tuple[Glyph, ...]  # the stored graphics it places
    names: tuple[str, ...]  # theirs


_NOTHING: tuple[Glyph, ...] = ()


# What each element drew, by identity: the layout hands out the same objects for rows that do not change, so a
# batch draws its rules, captions and sender once. Each entry holds its element, so an id is never reused under it.
_MEMO: dict[tuple[int, float, str], tuple[Element, _Drawn]] = {}
_MEMO_SIZE = 8192


def _draw(e: Element, d: float, font: str) -> _Drawn:
    key = (id(e), d, font)
    hit = _MEMO.get(key)
    if hit is not None and hit[0] is e:
        return hit[1]
    if isinstance(e, Text):
        drawn = _text(e, d) if not font else _Drawn(text_fields(e, d, font), _NOTHING, ())
    elif isinstance(e, Barcode):
        drawn = _Drawn(_barcode(e, d), _NOTHING, ())
    elif isinstance(e, Rule):
        drawn = _Drawn(_rule(e, d), _NOTHING, ())
    else:
        t = max(1, round(e.thickness * d))
        zpl = f"^FO{round(e.x * d)},{round(e.y * d)}^GB{round(e.width * d)},{round(e.height * d)},{t}^FS\n"
        drawn = _Drawn(zpl, _NOTHING, ())
    if len(_MEMO) >= _MEMO_SIZE:
        _MEMO.clear()
    _MEMO[key] = (e, drawn)
    return drawn


def _text(e: Text, d: float) -> _Drawn:
    """Each character a recalled glyph; positions from the layout's advances at the true size (the glyphs are
    drawn at the nearest whole pixel size), so a ZPL line is exactly as long as the PDF's."""
    scale = e.size * d
    table = cells(round(scale), e.bold)
    parts: list[str] = []
    glyphs: list[Glyph] = []
    for x, y, text in e.placed():
        x0, y0, at = round(x * d), round(y * d), 0.0
        for advance, g in map(table.__getitem__, text):
            if g is not None:
                parts.append(f"^FO{x0 + round(at * scale) + g.dx},{y0 + g.dy}{g.recall}")
                glyphs.append(g)
            at += advance
    parts.append("\n")
    return _Drawn("".join(parts), tuple(glyphs), tuple(map(attrgetter("name"), glyphs)))


def _barcode(e: Barcode, d: float) -> str:
    # centred in its box, with the widest module that fits (up to MODULE)
    modules = code128_modules(e.value)
    box, height = round(e.width * d), round(e.height * d)
    module = max(1, min(box // modules, round(MODULE * d)))
    x = round(e.x * d) + (box - modules * module) // 2
    return f"^FO{x},{round(e.y * d)}^BY{module},3,{height}^BCN,{height},N,N,N,A^FH_^FD{field_data(e.value)}^FS\n"


def _rule(e: Rule, d: float) -> str:
    t = max(1, round(e.thickness * d))
    x, y, length = round(e.x * d), round(e.y * d), round(e.length * d)
    if not e.dashed:
        w, h = (t, length) if e.vertical else (length, t)
        return f"^FO{x},{y}^GB{w},{h},{t}^FS\n"
    dash, step = round(DASH * d), round((DASH + GAP) * d)
    parts = []
    for at in range(0, length, step):
        run = min(dash, length - at)
        w, h = (t, run) if e.vertical else (run, t)
        parts.append(f"^FO{x if e.vertical else x + at},{y + at if e.vertical else y}^GB{w},{h},{t}^FS")
    return "".join(parts) + "\n"


class ZplDocument:
    """One printer job: remembers which glyphs it stored, so each is downloaded once. With ``font`` (a TrueType
    font's name on the printer, see ``zpl_font``) text is drawn in that font instead, and nothing is stored."""

    def __init__(self, size: LabelSize, dpi: int = 203, font: str | None = None) -> None:
        if dpi not in DOTS_PER_MM:
            raise ValueError(f"dpi must be one of {sorted(DOTS_PER_MM)}")
        self.font = check_font_name(font) if font is not None else ""
        self.size = size
        self.d = DOTS_PER_MM[dpi]
        width, height = page_size(size)
        self.header = f"^XA^CI28^PW{round(width * self.d)}^LL{round(height * self.d)}^LH0,0\n"
        self.stored: set[str] = set()
        self.stored_bytes = 0

    def label(self, label: LabelData) -> str:
        return self.draw(layout(label, self.size))

    def draw(self, lay: Layout) -> str:
        downloads: list[str] = []
        if self.stored_bytes > STORE_LIMIT:
            downloads.append(CLEANUP)
            self.stored.clear()
            self.stored_bytes = 0
        body = [self.header]
        d, font, stored = self.d, self.font, self.stored
        for e in lay.elements:
            drawn = _draw(e, d, font)
            body.append(drawn.zpl)
            if drawn.names and not stored.issuperset(drawn.names):
                for g in drawn.glyphs:
                    if g.name not in stored:
                        stored.add(g.name)
                        self.stored_bytes += g.size
                        downloads.append(g.download)
        body.append("^XZ\n")
        return "".join(downloads) + "".join(body)

    def finish(self) -> str:
        return CLEANUP if self.stored else ""


def render_zpl(label: LabelData, size: LabelSize, dpi: int = 203, *, font: str | None = None) -> bytes:
    doc = ZplDocument(size, dpi, font)
    out = doc.label(label) + doc.finish()
    LABELS.labels("single", "zpl").inc()
    return out.encode()


def stream_zpl(
    labels: Iterable[LabelData], size: LabelSize, dpi: int = 203, *, font: str | None = None
) -> Iterator[bytes]:
    """A batch as one ZPL job, yielded in pieces as the labels come."""
    doc = ZplDocument(size, dpi, font)
    counted = LABELS.labels("batch", "zpl")
    buffer: list[str] = []
    held = 0
    for label in labels:
        piece = doc.label(label)
        counted.inc()
        buffer.append(piece)
        held += len(piece)
        if held >= _CHUNK:
            yield "".join(buffer).encode()
            buffer, held = [], 0
    buffer.append(doc.finish())
    yield "".join(buffer).encode()
