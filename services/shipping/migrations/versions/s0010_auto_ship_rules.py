"""auto-ship rules and their runs

A shop's rules for shipping its paid orders in batches by themselves (自动发货规则), and a record per rule of
each sweep that took orders. Batch items get an index by order: the sweep leaves out orders in an open batch or
failed by one a moment ago.

Revision ID: s0010
Revises: s0009
Create Date: 2026-12-08 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "s0010"
down_revision: str | None = "s0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "auto_ship_rules",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("shop_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("carrier", sa.Text(), nullable=False),
        sa.Column(
            "conditions", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("min_age_minutes", sa.Integer(), server_default="0", nullable=False),
        sa.Column("max_batch", sa.Integer(), server_default="500", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("priority >= 0", name=op.f("ck_auto_ship_rules_priority")),
        sa.CheckConstraint("min_age_minutes >= 0", name=op.f("ck_auto_ship_rules_min_age")),
        sa.CheckConstraint("max_batch >= 1", name=op.f("ck_auto_ship_rules_max_batch")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auto_ship_rules")),
        schema="shipping",
    )  # fmt: skip
    op.create_index(
        "ix_auto_ship_rules_shop", "auto_ship_rules", ["shop_id", "priority", "created_at"], schema="shipping"
    )
    op.create_index(
        "ix_auto_ship_rules_active", "auto_ship_rules", ["shop_id"], schema="shipping",
        postgresql_where=sa.text("active"),
    )  # fmt: skip
    op.create_table(
        "auto_ship_runs",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("shop_id", sa.Text(), nullable=False),
        sa.Column("rule_id", sa.Text(), nullable=False),
        sa.Column("batch_id", sa.Text(), nullable=False),
        sa.Column("carrier", sa.Text(), nullable=False),
        sa.Column("taken", sa.Integer(), nullable=False),
        sa.Column(
            "order_ids", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("skipped", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "skipped_by_reason", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "skipped_orders", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["rule_id"], ["shipping.auto_ship_rules.id"], name=op.f("fk_auto_ship_runs_rule_id_auto_ship_rules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["shipping.shipment_batches.id"],
            name=op.f("fk_auto_ship_runs_batch_id_shipment_batches"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auto_ship_runs")),
        schema="shipping",
    )  # fmt: skip
    op.create_index("ix_auto_ship_runs_rule", "auto_ship_runs", ["rule_id", "at", "id"], schema="shipping")
    op.create_index("ix_batch_items_order", "batch_items", ["order_id", "updated_at"], schema="shipping")


def downgrade() -> None:
    op.drop_index("ix_batch_items_order", table_name="batch_items", schema="shipping")
    op.drop_index("ix_auto_ship_runs_rule", table_name="auto_ship_runs", schema="shipping")
    op.drop_table("auto_ship_runs", schema="shipping")
    op.drop_index("ix_auto_ship_rules_active", table_name="auto_ship_rules", schema="shipping")
    op.drop_index("ix_auto_ship_rules_shop", table_name="auto_ship_rules", schema="shipping")
    op.drop_table("auto_ship_rules", schema="shipping")
