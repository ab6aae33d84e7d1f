"""Refusals more than one domain gives."""

from __future__ import annotations

from runtime.errors import AppError
from services.shipping.channels.base import ChannelError
from shared.errors import ErrorCode


def channel_unavailable(doing: str, exc: ChannelError) -> AppError:
    """503 with Retry-After: the caller (the marketplace redelivering, a shop's system) tries again."""
    return AppError(
        f"marketplace unavailable while {doing}: {exc}",
        code=ErrorCode.UPSTREAM_ERROR,
        status_code=503,
        headers={"Retry-After": "2"},
    )
