"""Shared bench plumbing: a database of its own, printing figures."""

from __future__ import annotations

import asyncio
import os
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
