"""The label routes' query parameters: the size (the shop's for the carrier unless named) and ZPL's dot density."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from services.shipping.label_formats import LabelDpi
from services.shipping.models import LabelSize

SizeQuery = Annotated[
    LabelSize | None,
    Query(
        description=(
            "The label size (width x height, mm), for this print only: `100x150`, `100x180` (two parts, the "
            "courier's stub below) or `76x130`. Not given: the shop's size for the carrier (`label_sizes`, "
            "else `label_size` in the settings)."
        ),
        examples=["100x180"],
    ),
]
DpiQuery = Annotated[
    LabelDpi,
    Query(description="ZPL only: the printer's dot density (203 dpi = 8 dots/mm, 300 dpi = 12 dots/mm)."),
]
