"""Alembic plumbing shared by every service's ``migrations/env.py``, and the migration command.

Each service migrates only its own schema and keeps its own version table there, so the services'
histories never interleave even when they share one database.

``python -m runtime.migrations`` brings every service's schema to head on ``DATABASE_URL``: the image's
``migrate`` role (deploy/entrypoint.sh, the Kubernetes Job and compose's migrate service) and ``make migrate``
(devstack/migrate.py) run it.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from runtime.settings import to_sqlalchemy_url

SERVICES_DIR = Path(__file__).resolve().parent.parent / "services"
# The services with a database schema, in the order they are migrated.
SERVICES = ("allocation", "shipping", "tracking")


def alembic_config(service: str, database_url: str) -> Config:
    cfg = Config(str(SERVICES_DIR / service / "alembic.ini"))
    cfg.set_main_option("script_location", str(SERVICES_DIR / service / "migrations"))
    cfg.attributes["database_url"] = database_url
    return cfg


def upgrade(service: str, database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(service, database_url), revision)


def migrate_all(database_url: str) -> None:
    """Every service's schema to head, one service after the other."""
    for service in SERVICES:
        upgrade(service, database_url)
        print(f"[migrate] {service}: at head", flush=True)


def main() -> int:
    url = os.environ.get("DATABASE_URL")
    if not url:
        print("DATABASE_URL is not set: it names the PostgreSQL database to migrate", file=sys.stderr)
        return 2
    migrate_all(url)
    return 0


def compare_options(schema: str) -> dict[str, Any]:
    """How autogenerate (and the drift test) sees a service: its own schema only."""

    def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
        if type_ == "schema":
            return name == schema
        return not (type_ == "table" and name == "alembic_version")

    return {
        "version_table_schema": schema,
        "include_schemas": True,
        "include_name": include_name,
        "compare_type": True,
        "compare_server_default": False,
    }


def run_env(metadata: MetaData, schema: str, default_url: str) -> None:
    """Body of a service's env.py."""
    url = context.config.attributes.get("database_url") or default_url

    def do_run(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            **compare_options(schema),
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = create_async_engine(to_sqlalchemy_url(url))
        try:
            async with engine.connect() as conn:
                # Concurrent migrators (several test workers, two replicas starting) take turns.
                await conn.execute(text("SELECT pg_advisory_lock(hashtext(:s))"), {"s": f"migrate:{schema}"})
                await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
                await conn.commit()
                await conn.run_sync(do_run)
                await conn.commit()
                await conn.execute(text("SELECT pg_advisory_unlock(hashtext(:s))"), {"s": f"migrate:{schema}"})
        finally:
            await engine.dispose()

    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, version_table_schema=schema, include_schemas=True)
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(run_async())


if __name__ == "__main__":
    sys.exit(main())
