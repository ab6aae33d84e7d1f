"""Times as the seller reads them: in the shop's time zone (its settings' ``time_zone``; DASHBOARD_TIME_ZONE,
Asia/Shanghai by default, where no shop's is known; the services answer UTC), to the minute."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo


def local(when: datetime | None, tz: tzinfo, *, seconds: bool = False) -> str:
    """``2026-11-28 13:05`` in ``tz``; an empty string for no time. A naive time is taken as UTC, as the
    services store every time in UTC."""
    if when is None:
        return ""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
