"""label settings and sort codes

A shop chooses its label size (the standard e-waybill sizes, 100x150 by default, per carrier where it differs) and
whether labels mask the receiver's name and phone (隐私面单, on by default: marketplaces require it). Each parcel
keeps the routing its courier returned for the number's destination: the sort code (三段码 / 大头笔), printed large,
and the consolidation centre (集包地).

Revision ID: s0012
Revises: s0011
Create Date: 2026-12-07 23:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "s0012"
down_revision: str | None = "s0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "shop_settings", sa.Column("label_size", sa.Text(), server_default="100x150", nullable=False), schema="shipping"
    )
    op.add_column(
        "shop_settings",
        sa.Column("label_sizes", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        schema="shipping",
    )
    op.add_column(
        "shop_settings",
        sa.Column("privacy_labels", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        schema="shipping",
    )
    op.create_check_constraint(
        op.f("ck_shop_settings_label_size"),
        "shop_settings",
        "label_size IN ('100x150', '100x180', '76x130')",
        schema="shipping",
    )
    op.add_column("parcels", sa.Column("sort_code", sa.Text(), nullable=True), schema="shipping")
    op.add_column("parcels", sa.Column("package_center", sa.Text(), nullable=True), schema="shipping")


def downgrade() -> None:
    op.drop_column("parcels", "package_center", schema="shipping")
    op.drop_column("parcels", "sort_code", schema="shipping")
    op.drop_constraint(op.f("ck_shop_settings_label_size"), "shop_settings", schema="shipping", type_="check")
    op.drop_column("shop_settings", "privacy_labels", schema="shipping")
    op.drop_column("shop_settings", "label_sizes", schema="shipping")
    op.drop_column("shop_settings", "label_size", schema="shipping")
