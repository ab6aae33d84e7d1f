"""Apply every service's migrations: ``python -m devstack.migrate`` (uses DATABASE_URL)."""

from __future__ import annotations

import os
import sys

from runtime.migrations import upgrade

SERVICES = ("allocation", "shipping", "tracking")


def migrate_all(database_url: str) -> None:
    for service in SERVICES:
        upgrade(service, database_url)
        print(f"[migrate] {service}: at head", flush=True)


if __name__ == "__main__":
    url = os.environ.get("DATABASE_URL")
    if not url:
        print("DATABASE_URL is not set", file=sys.stderr)
        raise SystemExit(2)
    migrate_all(url)
