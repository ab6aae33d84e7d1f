"""What the label routes share (not a router): the format a request's ``Accept`` asks for, the file answered
with its print count, and how both are documented."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from runtime.errors import AppError
from runtime.openapi import error_doc, responses
from services.shipping.label_formats import MEDIA_TYPES, NOT_ACCEPTABLE, LabelFormat, negotiate
from services.shipping.models import LabelSize
from services.shipping.service.label_pdfs import LabelAsk, LabelFile

PDF_ANSWER: dict[int | str, dict[str, Any]] = {200: {"content": {"application/pdf": {}}}}
ZPL_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/zpl": {"schema": {"type": "string"}}}},
}
NEGOTIATED: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"application/pdf": {}, "application/zpl": {"schema": {"type": "string"}}},
        "headers": {"Vary": {"description": "Accept", "schema": {"type": "string"}}},
    },
    406: error_doc(
        "Accept names neither application/pdf nor application/zpl",
        {NOT_ACCEPTABLE: "Accept: text/html: labels come as application/pdf or application/zpl"},
    ),
}
LABEL_ERRORS = responses(404, 422)
NEGOTIATION = (
    " The format follows `Accept`: `application/pdf` (also for `*/*` or none) or `application/zpl`; "
    "anything else answers 406 `not_acceptable`."
)


def asked(accept: str | None, size: LabelSize | None, dpi: int) -> LabelAsk:
    """The format ``Accept`` prefers (406 when it takes neither), with the size and dot density asked."""
    fmt = negotiate(accept)
    if fmt is None:
        offered = list(MEDIA_TYPES.values())
        raise AppError(
            f"Accept: {accept}: labels come as {' or '.join(offered)}",
            code=NOT_ACCEPTABLE,
            status_code=406,
            details={"accept": accept, "available": offered},
        )
    return LabelAsk(fmt, size, dpi)


def zpl(size: LabelSize | None, dpi: int) -> LabelAsk:
    return LabelAsk(LabelFormat.ZPL, size, dpi)


def label_file(found: LabelFile, *, negotiated: bool = False) -> Response:
    headers = {"Content-Disposition": f'inline; filename="{found.filename}"', "X-Label-Prints": str(found.prints)}
    if negotiated:
        headers["Vary"] = "Accept"  # the same URL answers either format: caches keep them apart
    return Response(found.content, media_type=found.media_type, headers=headers)
