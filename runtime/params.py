"""Bounded integer query and path parameters for the services' routers.

FastAPI accepts any integer for a plain ``int``; one beyond PostgreSQL's bigint reaches the database and is
refused there (or by asyncpg encoding it). Bounding every integer parameter answers 422 ``validation_error``
naming the parameter instead, before any query runs. tests/integration/test_integer_params.py walks the route
tables and sends each integer parameter a huge and a negative value.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

# PostgreSQL's bigint, the type of every generated id.
BIGINT_MAX = 2**63 - 1
# Deepest row an offset may skip to: far beyond the pages a client walks (a shipment batch holds at most
# 10,000 orders), and far inside bigint.
MAX_OFFSET = 10_000_000

# The paging of 0.1 (offsets, id cursors), kept beside `cursor` until 0.3.0 (see CHANGELOG.md).
Offset = Annotated[
    int,
    Query(
        ge=0,
        le=MAX_OFFSET,
        deprecated=True,
        description=f"Until 0.3.0 (use `cursor`): rows to skip (0 to {MAX_OFFSET:,}).",
    ),
]
# An optional id cursor in the query (``before_id``): the next page holds smaller ids.
IdCursor = Annotated[
    int | None,
    Query(ge=1, le=BIGINT_MAX, deprecated=True, description="Until 0.3.0 (use `cursor`): only rows with a smaller id."),
]
# A generated id in the path (``/alerts/{alert_id}``).
IdPath = Annotated[int, Path(ge=1, le=BIGINT_MAX, description="The row's id.")]
