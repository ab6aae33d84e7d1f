"""The formats a label comes in (PDF for any printer driver, ZPL II for Zebra-language thermal printers), the
choice between them from a request's ``Accept`` header, and one writer per format for a document of labels
(``labels`` draws the PDF, ``zpl`` the ZPL, both from ``label_layout``)."""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum, StrEnum
from typing import Final, Protocol

from services.shipping import labels, zpl
from services.shipping.labels import LabelData
from services.shipping.metrics import LABELS
from services.shipping.models.base import LabelSize


class LabelFormat(StrEnum):
    PDF = "pdf"
    ZPL = "zpl"


MEDIA_TYPES = {LabelFormat.PDF: "application/pdf", LabelFormat.ZPL: "application/zpl"}


class LabelDpi(IntEnum):
    """ZPL's dot density: the common thermal heads (8 and 12 dots per mm). PDF is resolution-free."""

    D203 = 203
    D300 = 300


DEFAULT_DPI: Final = LabelDpi.D203
NOT_ACCEPTABLE = "not_acceptable"  # an HTTP-level code, like unsupported_media_type


def negotiate(accept: str | None) -> LabelFormat | None:
    """The format the client prefers among those offered, PDF on a tie or without a preference (no header,
    ``*/*``, ``application/*``); None when it accepts neither. Each format takes the quality of the most specific
    range naming it (RFC 9110: ``application/pdf;q=0, */*`` refuses PDF)."""
    if accept is None or not accept.strip():
        return LabelFormat.PDF
    ranges = []
    for part in accept.split(","):
        media, _, params = part.strip().partition(";")
        ranges.append((media.strip().lower(), _quality(params)))
    best: tuple[float, LabelFormat] | None = None
    for fmt in LabelFormat:  # PDF first: it wins a tie
        matching = [(_matches(media, MEDIA_TYPES[fmt]), q) for media, q in ranges]
        specificity, q = max(matching, default=(-1, 0.0))
        if specificity >= 0 and q > 0 and (best is None or q > best[0]):
            best = (q, fmt)
    return best[1] if best else None


def _matches(media_range: str, media_type: str) -> int:
    """How specifically a range names the type: 2 exactly, 1 by ``type/*``, 0 by ``*/*``; -1 not at all."""
    if media_range == media_type:
        return 2
    kind, _, sub = media_range.partition("/")
    if sub == "*" and media_type.startswith(kind + "/"):
        return 1
    return 0 if media_range == "*/*" else -1


def _quality(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                return min(1.0, max(0.0, float(value)))
            except ValueError:
                return 0.0
    return 1.0


class LabelWriter(Protocol):
    """A document of labels written page by page: only what the next page needs is kept."""

    def start(self) -> bytes: ...
    def page(self, label: LabelData, size: LabelSize) -> bytes: ...
    def finish(self) -> bytes: ...


class PdfWriter:
    """Each page at its own size (a page's MediaBox is its own)."""

    def __init__(self) -> None:
        self.pdf = labels.PdfStream()

    def start(self) -> bytes:
        return self.pdf.start()

    def page(self, label: LabelData, size: LabelSize) -> bytes:
        return self.pdf.page(label, size)

    def finish(self) -> bytes:
        return self.pdf.finish()


class ZplWriter:
    """One printer job: every label at the job's size (the roll in the printer), whatever a page asks."""

    def __init__(self, size: LabelSize, dpi: int) -> None:
        self.doc = zpl.ZplDocument(size, dpi)

    def start(self) -> bytes:
        return b""

    def page(self, label: LabelData, size: LabelSize) -> bytes:
        return self.doc.label(label).encode()

    def finish(self) -> bytes:
        return self.doc.finish().encode()


def writer(fmt: LabelFormat, size: LabelSize, dpi: int = DEFAULT_DPI) -> LabelWriter:
    """A document's writer; ``size`` is a ZPL job's (a PDF's pages take theirs)."""
    return PdfWriter() if fmt == LabelFormat.PDF else ZplWriter(size, dpi)


def render(pages: Sequence[LabelData], size: LabelSize, fmt: LabelFormat, dpi: int = DEFAULT_DPI) -> bytes:
    """One shipment's labels as one file (a page each), counted as prints of single labels or of a batch."""
    if len(pages) == 1:
        one = pages[0]
        return labels.render_one(one, size) if fmt == LabelFormat.PDF else zpl.render_zpl(one, size, dpi)
    out = writer(fmt, size, dpi)
    body = [out.start(), *(out.page(p, size) for p in pages), out.finish()]
    LABELS.labels("batch", str(fmt)).inc(len(pages))
    return b"".join(body)
