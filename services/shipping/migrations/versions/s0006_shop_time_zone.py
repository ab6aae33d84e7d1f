"""shop time zone

Each shop's own time zone (an IANA name), in which its seller reads times. Shops set up before it read Beijing
time, as the dashboard showed them until now: the server default fills their rows.

Revision ID: s0006
Revises: s0005
Create Date: 2026-12-07 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "s0006"
down_revision: str | None = "s0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "shop_settings",
        sa.Column("time_zone", sa.Text(), server_default="Asia/Shanghai", nullable=False),
        schema="shipping",
    )


def downgrade() -> None:
    op.drop_column("shop_settings", "time_zone", schema="shipping")
