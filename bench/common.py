"""Shared bench plumbing: a database of its own, printing figures."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import dataclass

from tests.support import drop_database, migrate, recreate_database


@dataclass
class BenchDb:
    base_url: str
    name: str
    url: str


def bench_database(tag: str) -> BenchDb:
    base = os.environ["DATABASE_URL"]
    name = f"waybill_bench_{tag}_{os.getpid()}"
    url = asyncio.run(recreate_database(base, name))
    migrate(url)
    return BenchDb(base, name, url)


def drop(db: BenchDb) -> None:
    asyncio.run(drop_database(db.base_url, db.name))


def seconds(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def heading(title: str) -> None:
    print(f"\n== {title} ==", flush=True)


def row(label: str, value: str, note: str = "") -> None:
    print(f"  {label:<58} {value:>16}  {note}", flush=True)


def stop_cleanly_on_sigterm() -> None:
    """SIGTERM ends a bench as Ctrl-C does: through its finally blocks, which stop the processes it started
    and drop its database. Python's default SIGTERM ends at once, leaving its servers and workers running
    with their parent gone (found: a stopped bench's workers took the next run's jobs)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))


def production_leases() -> dict[str, str]:
    """Shipping's lease and sweep settings at their production defaults, as environment for the processes a
    bench starts (the e2e harness's are short so that crash tests run fast)."""
    from services.shipping.settings import ShippingSettings

    fields = ShippingSettings.model_fields
    names = ("batch_lease_s", "batch_sweep_s", "confirm_lease_s")
    return {f"SHIPPING_{n.upper()}": str(fields[n].default) for n in names}
