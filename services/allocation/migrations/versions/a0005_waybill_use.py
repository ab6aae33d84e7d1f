"""Where and when a number was used, for spend reports.

- ``waybills.shipped_at``: when the number was first marked shipped (the parcel handed over), the day a report
  counts it as used.
- ``waybills.store_id`` and ``channel``: the store and sales channel the number shipped for, as shipping says
  when it marks the number (allocation knows no stores: its pools are per shop and carrier). Null for numbers
  shipped before this revision and for marks that do not say.

Numbers shipped before this revision keep a null ``shipped_at``; reports count them by ``updated_at``.

Revision ID: a0005
Revises: a0004
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a0005"
down_revision: str | None = "a0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("waybills", sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True), schema="allocation")
    op.add_column("waybills", sa.Column("store_id", sa.Text(), nullable=True), schema="allocation")
    op.add_column("waybills", sa.Column("channel", sa.Text(), nullable=True), schema="allocation")


def downgrade() -> None:
    op.drop_column("waybills", "channel", schema="allocation")
    op.drop_column("waybills", "store_id", schema="allocation")
    op.drop_column("waybills", "shipped_at", schema="allocation")
