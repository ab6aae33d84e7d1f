"""Thermal labels (100 x 150 mm) as PDF: one per shipment, or a whole batch streamed page by page.

reportlab encodes the Code 128 symbol (code sets, check character) and gives the font metrics; the pages
are written here as PDF objects directly, because reportlab's document keeps every page in memory until
it is saved, and a batch of 10,000 labels must stream. Chinese text uses the CID font STSong-Light
(one of the PDF viewers' built-in Asian fonts, so nothing is embedded) with the UniGB-UCS2-H encoding.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from reportlab.graphics.barcode.code128 import Code128

from services.shipping.metrics import LABELS

MM = 72 / 25.4
PAGE_W = round(100 * MM, 3)
PAGE_H = round(150 * MM, 3)
MARGIN = 4 * MM

HEADER = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
# Objects 1-4 are fixed: catalog, pages (written last), Helvetica, STSong-Light; pages start at 5.
FIRST_PAGE_OBJ = 5
_CATALOG = b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
_HELVETICA = b"3 0 obj\n<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>\nendobj\n"
_CJK = (
    b"4 0 obj\n<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H /DescendantFonts [ "
    b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
    b"/CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> /DW 1000 "
    b"/W [ 1 [ 207 270 342 467 462 797 710 239 374 ] 10 [ 374 423 605 238 375 238 334 462 ] 18 26 462 27 28 238 "
    b"29 31 605 32 [ 344 748 684 560 695 739 563 511 729 793 318 312 666 526 896 758 772 544 772 628 465 607 753 "
    b"711 972 647 620 607 374 333 374 606 500 239 417 503 427 529 415 264 444 518 241 230 495 228 793 527 524 ] "
    b"81 [ 524 504 338 336 277 517 450 652 466 452 407 370 258 370 605 ] ] "
    b"/FontDescriptor << /Type /FontDescriptor /FontName /STSongStd-Light /Flags 6 "
    b"/FontBBox [ -25 -254 1000 880 ] /ItalicAngle 0 /Ascent 752 /Descent -271 /CapHeight 737 /StemV 58 >> "
    b">> ] >>\nendobj\n"
)


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


def _ascii_text(text: str) -> str:
    safe = text.encode("latin-1", "replace").decode("latin-1")
    return "(" + safe.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def _cjk_text(text: str) -> str:
    # UCS-2: characters beyond the BMP have no code in this encoding.
    return "<" + "".join(f"{ord(c):04X}" if ord(c) < 0x10000 else "003F" for c in text) + ">"


def _width(text: str, size: float) -> float:
    return sum(size * (0.5 if ord(c) < 0x2E80 else 1.0) for c in text)


def _wrap(text: str, size: float, width: float, max_lines: int) -> list[str]:
    lines: list[str] = []
    line = ""
    for ch in text:
        if _width(line + ch, size) > width:
            lines.append(line)
            line = ch
            if len(lines) == max_lines:
                break
        else:
            line += ch
    else:
        if line:
            lines.append(line)
    return lines[:max_lines]


def _text(font: str, size: float, x: float, y: float, text: str) -> str:
    encoded = _cjk_text(text) if font == "F2" else _ascii_text(text)
    return f"BT /{font} {size:g} Tf {x:.2f} {y:.2f} Td {encoded} Tj ET\n"


def _barcode(number: str, x: float, y: float, width: float, height: float) -> tuple[str, float]:
    pattern = code128_pattern(number)
    modules = sum(int(d) for d in pattern)
    module = min(1.6, width / (modules + 20))  # 10 modules of quiet zone each side
    start = x + (width - modules * module) / 2
    parts = []
    pos = start
    for i, d in enumerate(pattern):
        w = int(d) * module
        if i % 2 == 0:
            parts.append(f"{pos:.3f} {y:.2f} {w:.3f} {height:.2f} re")
        pos += w
    return "\n".join(parts) + "\nf\n", module


def page_content(label: LabelData) -> bytes:
    inner_w = PAGE_W - 2 * MARGIN
    top = PAGE_H - MARGIN
    out: list[str] = ["0.8 w\n", f"{MARGIN:.2f} {MARGIN:.2f} {inner_w:.2f} {PAGE_H - 2 * MARGIN:.2f} re S\n"]
    # carrier
    out.append(_text("F2", 18, MARGIN + 6, top - 24, label.carrier_name))
    out.append(_text("F1", 12, PAGE_W - MARGIN - 6 - _width(label.carrier, 12), top - 22, label.carrier))
    out.append(f"{MARGIN:.2f} {top - 32:.2f} m {PAGE_W - MARGIN:.2f} {top - 32:.2f} l S\n")
    # barcode and number
    bars, _ = _barcode(label.number, MARGIN, top - 112, inner_w, 72)
    out.append(bars)
    out.append(_text("F1", 14, (PAGE_W - _width(label.number, 14) * 1.12) / 2, top - 128, label.number))
    out.append(f"{MARGIN:.2f} {top - 136:.2f} m {PAGE_W - MARGIN:.2f} {top - 136:.2f} l S\n")
    # receiver
    y = top - 154
    out.append(_text("F2", 11, MARGIN + 6, y, f"收件人: {label.receiver_name}  {label.receiver_phone}"))
    for line in _wrap(label.receiver_address, 11, inner_w - 12, 3):
        y -= 15
        out.append(_text("F2", 11, MARGIN + 6, y, line))
    y -= 12
    out.append(f"{MARGIN:.2f} {y:.2f} m {PAGE_W - MARGIN:.2f} {y:.2f} l S\n")
    # sender
    y -= 16
    out.append(_text("F2", 9, MARGIN + 6, y, f"寄件人: {label.sender_name}  {label.sender_phone}"))
    for line in _wrap(label.sender_address, 9, inner_w - 12, 2):
        y -= 12
        out.append(_text("F2", 9, MARGIN + 6, y, line))
    y -= 10
    out.append(f"{MARGIN:.2f} {y:.2f} m {PAGE_W - MARGIN:.2f} {y:.2f} l S\n")
    # order and weight
    y -= 16
    out.append(
        _text("F2", 9, MARGIN + 6, y, f"订单号: {label.order_ref}" + (f"  {label.store}" if label.store else ""))
    )
    y -= 13
    out.append(_text("F2", 9, MARGIN + 6, y, f"重量: {label.weight_g / 1000:.2f} kg"))
    if label.piece_line:
        y -= 13
        out.append(_text("F2", 10, MARGIN + 6, y, label.piece_line))
    footer = f"{label.shipment_id}" + (f"  reprint {label.reprint}" if label.reprint else "")
    out.append(_text("F1", 7, MARGIN + 6, MARGIN + 6, footer))
    return "".join(out).encode("latin-1")


class PdfStream:
    """Writes a PDF one page at a time: only byte offsets and page object numbers are kept."""

    def __init__(self) -> None:
        self.offset = 0
        self.offsets: dict[int, int] = {}
        self.pages: list[int] = []
        self.next_obj = FIRST_PAGE_OBJ

    def _emit(self, data: bytes, obj: int | None = None) -> bytes:
        if obj is not None:
            self.offsets[obj] = self.offset
        self.offset += len(data)
        return data

    def start(self) -> bytes:
        out = self._emit(HEADER)
        out += self._emit(_CATALOG, 1)
        out += self._emit(_HELVETICA, 3)
        out += self._emit(_CJK, 4)
        return out

    def page(self, label: LabelData) -> bytes:
        content = zlib.compress(page_content(label), 6)
        content_obj, page_obj = self.next_obj, self.next_obj + 1
        self.next_obj += 2
        self.pages.append(page_obj)
        out = self._emit(
            f"{content_obj} 0 obj\n<< /Length {len(content)} /Filter /FlateDecode >>\nstream\n".encode()
            + content
            + b"\nendstream\nendobj\n",
            content_obj,
        )
        out += self._emit(
            (
                f"{page_obj} 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_W} {PAGE_H}] "
                f"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {content_obj} 0 R >>\nendobj\n"
            ).encode(),
            page_obj,
        )
        return out

    def finish(self) -> bytes:
        kids = " ".join(f"{p} 0 R" for p in self.pages)
        out = self._emit(f"2 0 obj\n<< /Type /Pages /Kids [{kids}] /Count {len(self.pages)} >>\nendobj\n".encode(), 2)
        size = self.next_obj
        xref_at = self.offset
        rows = ["xref", f"0 {size}", "0000000000 65535 f "]
        rows.extend(f"{self.offsets[i]:010d} 00000 n " for i in range(1, size))
        rows.append(f"trailer\n<< /Size {size} /Root 1 0 R >>\nstartxref\n{xref_at}\n%%EOF\n")
        return out + self._emit(("\n".join(rows[:-1]) + "\n" + rows[-1]).encode())


def render_one(label: LabelData) -> bytes:
    pdf = PdfStream()
    out = pdf.start() + pdf.page(label) + pdf.finish()
    LABELS.labels("single").inc()
    return out


def stream(labels: Iterable[LabelData]) -> Iterator[bytes]:
    """A multi-page PDF, yielded in pieces as the labels come."""
    pdf = PdfStream()
    pages = LABELS.labels("batch")
    yield pdf.start()
    buffer: list[bytes] = []
    size = 0
    for label in labels:
        piece = pdf.page(label)
        pages.inc()
        buffer.append(piece)
        size += len(piece)
        if size >= 256 * 1024:
            yield b"".join(buffer)
            buffer, size = [], 0
    if buffer:
        yield b"".join(buffer)
    yield pdf.finish()
