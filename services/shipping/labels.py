"""Thermal labels as PDF, in each label size (``LabelSize``): one per shipment, or a whole batch streamed page by
page. What goes where comes from ``label_layout`` (the ZPL renderer draws the same layout).

The pages are written here as PDF objects directly, because reportlab's document keeps every page in memory
until it is saved, and a batch of 10,000 labels must stream. reportlab encodes the Code 128 symbols and gives the
font's codes: every character is drawn in the embedded WenQuanYi Micro Hei (``label_font``), so the labels need
no font on the machine that shows or prints them. The font objects come last, when every character is known.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from reportlab.graphics.barcode.code128 import Code128

from services.shipping import label_layout
from services.shipping.label_font import FontSubsets
from services.shipping.metrics import LABELS
from services.shipping.models.base import LabelSize

MM = 72 / 25.4
DEFAULT_SIZE = LabelSize.S100X150

HEADER = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
# Objects 1-3 are fixed: catalog, pages and the pages' shared resources (both written last); the rest from 4.
FIRST_FREE_OBJ = 4
_CATALOG = b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
BOLD_STROKE = 0.025  # em: text filled and stroked this wide reads as bold (the font has no bold face)
MAX_MODULE = 0.56  # mm, a Code 128 module at most (a short number does not grow into wide bars)
QUIET_MODULES = 10  # each side of the symbol


@dataclass(frozen=True)
class LabelData:
    shipment_id: str
    order_ref: str
    carrier: str
    carrier_name: str
    number: str
    sender_name: str
    sender_phone: str
    sender_address: str
    receiver_name: str
    receiver_phone: str
    receiver_address: str
    weight_g: int
    reprint: int = 0
    store: str = ""  # where the order came from: "淘宝 杭州小铺", "拼多多 ...", "自有店铺"
    piece: int = 1  # this parcel's place among the shipment's parcels (一单多包)
    pieces: int = 1
    parent_number: str | None = None  # a child piece of multi-piece freight (子单) names its parent (母单)
    parent_child: bool = False
    # The courier's routing for the destination (from its e-waybill service): the sort code (三段码 / 大头笔),
    # printed largest, and the consolidation centre (集包地). Empty until the courier answered.
    sort_code: str = ""
    package_center: str = ""

    @property
    def piece_line(self) -> str:
        """ "第 2/3 件", with 母单/子单 for multi-piece freight; empty for a one-parcel shipment."""
        if self.pieces <= 1:
            return ""
        line = f"第 {self.piece}/{self.pieces} 件"
        if self.parent_child:
            line += f"  子单 母单号 {self.parent_number}" if self.parent_number else "  母单"
        return line


@lru_cache(maxsize=4096)
def code128_pattern(value: str) -> str:
    """Bar/space widths in modules, starting with a bar (reportlab's encoding: upper = bar, lower = space)."""
    symbol = Code128(value)
    symbol.validate()
    symbol.encode()
    symbol.decompose()
    return "".join(str(ord(ch.upper()) - ord("A") + 1) for ch in symbol.decomposed)


def _barcode(bar: label_layout.Barcode, page_h: float) -> str:
    pattern = code128_pattern(bar.value)
    modules = sum(int(d) for d in pattern)
    module = min(MAX_MODULE, bar.width / (modules + 2 * QUIET_MODULES)) * MM
    pos = bar.x * MM + (bar.width * MM - modules * module) / 2
    y, h = (page_h - bar.y - bar.height) * MM, bar.height * MM
    parts = []
    for i, d in enumerate(pattern):
        w = int(d) * module
        if i % 2 == 0:
            parts.append(f"{pos:.3f} {y:.2f} {w:.3f} {h:.2f} re")
        pos += w
    return "\n".join(parts) + "\nf\n"


def _text(text: label_layout.Text, page_h: float, fonts: FontSubsets) -> str:
    size = text.size * MM
    out = [f"q {BOLD_STROKE * size:.2f} w 2 Tr\n" if text.bold else ""]
    for x, y, line in text.placed():
        base = (page_h - y - label_layout.BASELINE * text.size) * MM
        out.append(f"BT {x * MM:.2f} {base:.2f} Td {fonts.shown(size, line)} ET\n")
    if text.bold:
        out.append("Q\n")
    return "".join(out)


def _rule(rule: label_layout.Rule, page_h: float) -> str:
    t = rule.thickness * MM
    if rule.vertical:
        x0 = x1 = (rule.x + rule.thickness / 2) * MM
        y0, y1 = (page_h - rule.y) * MM, (page_h - rule.y - rule.length) * MM
    else:
        x0, x1 = rule.x * MM, (rule.x + rule.length) * MM
        y0 = y1 = (page_h - rule.y - rule.thickness / 2) * MM
    dash = f"[{2 * MM:.2f} {1.5 * MM:.2f}] 0 d " if rule.dashed else ""
    return f"q {dash}{t:.2f} w {x0:.2f} {y0:.2f} m {x1:.2f} {y1:.2f} l S Q\n"


def _box(box: label_layout.Box, page_h: float) -> str:
    t = box.thickness
    x, y = (box.x + t / 2) * MM, (page_h - box.y - box.height + t / 2) * MM
    w, h = (box.width - t) * MM, (box.height - t) * MM
    return f"{t * MM:.2f} w {x:.2f} {y:.2f} {w:.2f} {h:.2f} re S\n"


def page_content(label: LabelData, size: LabelSize, fonts: FontSubsets) -> bytes:
    """The page's content stream, drawn from the layout (mm from the top-left) in PDF points from the bottom-left."""
    lay = label_layout.layout(label, size)
    out: list[str] = []
    for e in lay.elements:
        if isinstance(e, label_layout.Text):
            out.append(_text(e, lay.height, fonts))
        elif isinstance(e, label_layout.Barcode):
            out.append(_barcode(e, lay.height))
        elif isinstance(e, label_layout.Rule):
            out.append(_rule(e, lay.height))
        else:
            out.append(_box(e, lay.height))
    return "".join(out).encode("ascii")


class PdfStream:
    """Writes a PDF one page at a time: only byte offsets, page object numbers and the font's codes are kept."""

    def __init__(self) -> None:
        self.offset = 0
        self.offsets: dict[int, int] = {}
        self.pages: list[int] = []
        self.next_obj = FIRST_FREE_OBJ
        self.fonts = FontSubsets(self._reserve)

    def _reserve(self, count: int) -> int:
        first = self.next_obj
        self.next_obj += count
        return first

    def _emit(self, data: bytes, obj: int | None = None) -> bytes:
        if obj is not None:
            self.offsets[obj] = self.offset
        self.offset += len(data)
        return data

    def _object(self, obj: int, body: bytes) -> bytes:
        return self._emit(f"{obj} 0 obj\n".encode() + body + b"\nendobj\n", obj)

    def start(self) -> bytes:
        return self._emit(HEADER) + self._emit(_CATALOG, 1)

    def page(self, label: LabelData, size: LabelSize = DEFAULT_SIZE) -> bytes:
        content = zlib.compress(page_content(label, size, self.fonts), 6)
        content_obj, page_obj = self._reserve(2), self.next_obj - 1
        self.pages.append(page_obj)
        w, h = label_layout.page_size(size)
        out = self._object(
            content_obj,
            f"<< /Length {len(content)} /Filter /FlateDecode >>\nstream\n".encode() + content + b"\nendstream",
        )
        return out + self._object(
            page_obj,
            (
                f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {w * MM:.3f} {h * MM:.3f}] "
                f"/Resources 3 0 R /Contents {content_obj} 0 R >>"
            ).encode(),
        )

    def finish(self) -> bytes:
        out = b"".join(self._object(obj, body) for obj, body in self.fonts.finish())
        out += self._object(3, f"<< /Font {self.fonts.resources()} >>".encode())
        kids = " ".join(f"{p} 0 R" for p in self.pages)
        out += self._object(2, f"<< /Type /Pages /Kids [{kids}] /Count {len(self.pages)} >>".encode())
        size = self.next_obj
        xref_at = self.offset
        rows = ["xref", f"0 {size}", "0000000000 65535 f "]
        rows.extend(f"{self.offsets[i]:010d} 00000 n " for i in range(1, size))
        rows.append(f"trailer\n<< /Size {size} /Root 1 0 R >>\nstartxref\n{xref_at}\n%%EOF\n")
        return out + self._emit(("\n".join(rows[:-1]) + "\n" + rows[-1]).encode())


def render_one(label: LabelData, size: LabelSize = DEFAULT_SIZE) -> bytes:
    pdf = PdfStream()
    out = pdf.start() + pdf.page(label, size) + pdf.finish()
    LABELS.labels("single", "pdf").inc()
    return out


def stream(labels: Iterable[LabelData], size: LabelSize = DEFAULT_SIZE) -> Iterator[bytes]:
    """A multi-page PDF, yielded in pieces as the labels come."""
    pdf = PdfStream()
    pages = LABELS.labels("batch", "pdf")
    yield pdf.start()
    buffer: list[bytes] = []
    length = 0
    for label in labels:
        piece = pdf.page(label, size)
        pages.inc()
        buffer.append(piece)
        length += len(piece)
        if length >= 256 * 1024:
            yield b"".join(buffer)
            buffer, length = [], 0
    if buffer:
        yield b"".join(buffer)
    yield pdf.finish()
