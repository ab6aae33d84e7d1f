"""Parameters for the batch statements."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ARRAY, BigInteger, bindparam


def id_array(ids: Iterable[int]) -> Any:
    """An id list as one array parameter (``= ANY``): an expanding ``IN`` renders and binds every id."""
    return bindparam(None, list(ids), type_=ARRAY(BigInteger))
