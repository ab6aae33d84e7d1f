"""Typed numbers lose to paid purchases; refunds skip released numbers.

- ``waybills.number`` is unique among live rows only (every status but 7, superseded): a typed number that a
  purchase receives before it was printed stays as a superseded record for its shop while the purchase's row
  holds the number. The new index is built before the old constraint goes, so uniqueness never lapses.
- ``waybills.ever_printed``: a label with the number may exist (decides whether a purchase may take a typed
  number over). Backfilled for typed numbers only, as the only rows it is read for; voided, expired and
  quarantined typed numbers count as printed, since whether they were is not known (the safe side: the buyer
  is credited rather than handed a number that may be on a parcel).
- ``waybills.released_at``: handed out and released back to the pool, not refundable as unused. Releases
  before this revision are not known and stay refundable.
- ``ix_waybills_superseded``: looking up a number a shop lost (the live-number index no longer covers it).
- ``ix_waybills_manual_open``: typed numbers not yet shipped per pool, for the per-shop limit.
- ``purchases.numbers_credited``; ``stock_events.number`` and ``order_ref`` (the ``manual_superseded`` notice).

Revision ID: a0003
Revises: a0002
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a0003"
down_revision: str | None = "a0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "allocation"


def upgrade() -> None:
    op.add_column(
        "waybills",
        sa.Column("ever_printed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        schema=SCHEMA,
    )
    op.add_column("waybills", sa.Column("released_at", sa.DateTime(timezone=True), nullable=True), schema=SCHEMA)
    op.execute(
        "UPDATE allocation.waybills SET ever_printed = true WHERE source = 'manual' AND status IN (2, 3, 4, 5, 6)"
    )
    op.create_index(
        "uq_waybills_number_live",
        "waybills",
        ["number"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("status <> 7"),
    )
    op.drop_constraint("uq_waybills_number", "waybills", schema=SCHEMA, type_="unique")
    op.execute("ALTER INDEX allocation.uq_waybills_number_live RENAME TO uq_waybills_number")
    op.create_index(
        "ix_waybills_superseded",
        "waybills",
        ["number"],
        unique=False,
        schema=SCHEMA,
        postgresql_where=sa.text("status = 7"),
    )
    op.create_index(
        "ix_waybills_manual_open",
        "waybills",
        ["pool_id"],
        unique=False,
        schema=SCHEMA,
        postgresql_where=sa.text("source = 'manual' AND status IN (1, 2)"),
    )
    op.add_column(
        "purchases",
        sa.Column("numbers_credited", sa.Integer(), server_default="0", nullable=False),
        schema=SCHEMA,
    )
    op.add_column("stock_events", sa.Column("number", sa.Text(), nullable=True), schema=SCHEMA)
    op.add_column("stock_events", sa.Column("order_ref", sa.Text(), nullable=True), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("stock_events", "order_ref", schema=SCHEMA)
    op.drop_column("stock_events", "number", schema=SCHEMA)
    op.drop_column("purchases", "numbers_credited", schema=SCHEMA)
    op.drop_index(
        "ix_waybills_manual_open",
        table_name="waybills",
        schema=SCHEMA,
        postgresql_where=sa.text("source = 'manual' AND status IN (1, 2)"),
    )
    op.drop_index(
        "ix_waybills_superseded", table_name="waybills", schema=SCHEMA, postgresql_where=sa.text("status = 7")
    )
    # Superseded rows share their number with the live row that took it: they cannot survive the old constraint.
    op.execute("DELETE FROM allocation.waybills WHERE status = 7")
    op.drop_index("uq_waybills_number", table_name="waybills", schema=SCHEMA, postgresql_where=sa.text("status <> 7"))
    op.create_unique_constraint("uq_waybills_number", "waybills", ["number"], schema=SCHEMA)
    op.drop_column("waybills", "released_at", schema=SCHEMA)
    op.drop_column("waybills", "ever_printed", schema=SCHEMA)
