"""``make bench``: every benchmark, each beside its reference measured in the same run."""

from __future__ import annotations

import os
import sys

from bench import allocation, channels, shipping, tracking
from bench.common import bench_database, drop, stop_cleanly_on_sigterm


def main() -> int:
    stop_cleanly_on_sigterm()
    sections = ("allocation", "tracking", "shipping", "channels")
    only = set(sys.argv[1:]) or set(sections)
    if unknown := only - set(sections):
        print(f"no such bench section: {', '.join(sorted(unknown))} (sections: {', '.join(sections)})")
        return 2
    print(f"bench on {os.cpu_count()} cores; DATABASE_URL server, REDIS_URL; figures are ratios within this run")
    if "allocation" in only:
        db = bench_database("alloc")
        try:
            allocation.run(db)
        finally:
            drop(db)
    if "tracking" in only:
        db = bench_database("track")
        try:
            tracking.run(db)
        finally:
            drop(db)
    if "shipping" in only:
        db = bench_database("ship")
        try:
            shipping.run(db)
        finally:
            drop(db)
    if "channels" in only:
        db = bench_database("chan")
        try:
            channels.run(db)
        finally:
            drop(db)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
