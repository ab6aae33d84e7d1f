"""push body hash: identical pushes kept once

Revision ID: t0003
Revises: t0002
Create Date: 2026-12-01 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "t0003"
down_revision: str | None = "t0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable and not backfilled: existing rows may hold identical pushes already (the unique constraint
    # would refuse a backfill), and a repeat of an old push is harmless (processing keeps each event once).
    op.add_column("raw_pushes", sa.Column("body_hash", sa.UUID(), nullable=True), schema="tracking")
    op.create_unique_constraint(
        op.f("uq_raw_pushes_subscription_id_body_hash"),
        "raw_pushes",
        ["subscription_id", "body_hash"],
        schema="tracking",
    )
    # The constraint's index leads with subscription_id: this one would only cost every insert.
    op.drop_index("ix_raw_pushes_subscription_id", table_name="raw_pushes", schema="tracking")


def downgrade() -> None:
    op.create_index("ix_raw_pushes_subscription_id", "raw_pushes", ["subscription_id"], unique=False, schema="tracking")
    op.drop_constraint(op.f("uq_raw_pushes_subscription_id_body_hash"), "raw_pushes", schema="tracking", type_="unique")
    op.drop_column("raw_pushes", "body_hash", schema="tracking")
