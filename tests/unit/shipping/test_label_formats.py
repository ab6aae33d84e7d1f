"""Choosing a label's format from Accept (RFC 9110 qualities, PDF on a tie, None for neither) and the writers:
a PDF's pages each at their own size, a ZPL job at one size, one shipment's labels as one file of each."""

from __future__ import annotations

import io

import pypdf
import pytest

from services.shipping import label_formats
from services.shipping.label_formats import LabelFormat, negotiate
from services.shipping.models.base import LabelSize
from tests.label_support import barcodes
from tests.unit.shipping.test_label_pdf import LABEL
from tests.zpl_support import render as zpl_render

PDF, ZPL = LabelFormat.PDF, LabelFormat.ZPL


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, PDF),
        ("", PDF),
        ("*/*", PDF),
        ("application/*", PDF),
        ("application/pdf", PDF),
        ("application/zpl", ZPL),
        ("APPLICATION/ZPL", ZPL),
        ("application/zpl, application/pdf", PDF),  # a tie: PDF
        ("application/zpl, application/pdf;q=0.5", ZPL),
        ("application/pdf;q=0.5, application/zpl", ZPL),
        ("text/html, application/zpl;q=0.1", ZPL),
        ("image/png, */*;q=0.1", PDF),
        ("application/pdf;q=0, */*", ZPL),  # the most specific range names PDF's quality
        ("application/zpl;q=0, */*", PDF),
        (" application/zpl ; q=1.0 ", ZPL),
        ("text/html", None),
        ("application/json", None),
        ("application/zpl;q=0", None),
        ("application/pdf;q=0, application/zpl;q=0", None),
        ("application/pdf;q=nope", None),  # an unreadable quality is none
    ],
)
def test_the_format_accept_asks_for(accept: str | None, chosen: LabelFormat | None) -> None:
    assert negotiate(accept) == chosen


def _sizes_mm(pdf: bytes) -> list[tuple[int, int]]:
    pages = pypdf.PdfReader(io.BytesIO(pdf)).pages
    return [(round(float(p.mediabox.width) / 72 * 25.4), round(float(p.mediabox.height) / 72 * 25.4)) for p in pages]


def test_a_pdf_document_takes_each_pages_size_and_a_zpl_job_its_own() -> None:
    sizes = [LabelSize.S100X180, LabelSize.S76X130]
    pdf = label_formats.writer(PDF, LabelSize.S100X150)
    document = pdf.start() + b"".join(pdf.page(LABEL, s) for s in sizes) + pdf.finish()
    assert _sizes_mm(document) == [(100, 180), (76, 130)]
    job = label_formats.writer(ZPL, LabelSize.S76X130, 203)
    printed = zpl_render(job.start() + b"".join(job.page(LABEL, s) for s in sizes) + job.finish(), sizes[1], 203)
    assert [barcodes(p) for p in printed] == [[LABEL.number]] * 2  # both on the job's roll, 76x130


@pytest.mark.parametrize("count", [1, 3])
def test_one_shipments_labels_are_one_file_of_either_format(count: int) -> None:
    pages = [LABEL] * count
    pdf = label_formats.render(pages, LabelSize.S100X180, PDF)
    assert _sizes_mm(pdf) == [(100, 180)] * count
    zpl = label_formats.render(pages, LabelSize.S100X180, ZPL, 300)
    assert [barcodes(p) for p in zpl_render(zpl, LabelSize.S100X180, 300)] == [[LABEL.number] * 2] * count
