"""CLI configuration: environment variables, or a profile in ~/.config/waybill/config.toml.

    [default]
    allocation_url = "http://127.0.0.1:8001"
    shipping_url = "http://127.0.0.1:8002"
    tracking_url = "http://127.0.0.1:8003"
    api_key = "wbk_..."          # a shop's key
    admin_key = "..."            # operators only
    timezone = "Asia/Shanghai"   # the zone times are shown in (an IANA name)

Environment variables win: WAYBILL_ALLOCATION_URL, WAYBILL_SHIPPING_URL, WAYBILL_TRACKING_URL,
WAYBILL_API_KEY, WAYBILL_ADMIN_KEY, WAYBILL_TIMEZONE, WAYBILL_PROFILE (which profile), WAYBILL_CONFIG (file
path); the command line's ``--tz`` wins over them all.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

DEFAULT_TIMEZONE = "Asia/Shanghai"  # the shops' own zone: what a seller reads times in
DEFAULTS = {
    "allocation_url": "http://127.0.0.1:8001",
    "shipping_url": "http://127.0.0.1:8002",
    "tracking_url": "http://127.0.0.1:8003",
    "api_key": "",
    "admin_key": "",
    "timezone": DEFAULT_TIMEZONE,
}


@dataclass(frozen=True)
class Config:
    allocation_url: str
    shipping_url: str
    tracking_url: str
    api_key: str
    admin_key: str
    timezone: str = DEFAULT_TIMEZONE


def config_path() -> Path:
    return Path(os.environ.get("WAYBILL_CONFIG", Path.home() / ".config" / "waybill" / "config.toml"))


def load(profile: str | None = None) -> Config:
    values = dict(DEFAULTS)
    path = config_path()
    name = profile or os.environ.get("WAYBILL_PROFILE", "default")
    if path.exists():
        with path.open("rb") as fh:
            section = tomllib.load(fh).get(name, {})
        values.update({k: str(v) for k, v in section.items() if k in DEFAULTS})
    for key in DEFAULTS:
        env = os.environ.get(f"WAYBILL_{key.upper()}")
        if env:
            values[key] = env
    return Config(**values)
