"""ship-by deadlines, order holds and order alerts

Every order carries its ship-by time (发货超时); orders taken before it get their creation time plus 48 hours,
the default every channel had. A shop says how long before that time a late_to_ship alert opens. An order may
be held (``held``: why it may not ship, e.g. an invalid address). Order alerts: at most one unresolved alert per
order and kind, which the partial unique index enforces.

Revision ID: s0009
Revises: s0008
Create Date: 2026-12-08 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "s0009"
down_revision: str | None = "s0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UNSHIPPED = "status IN ('label_printed', 'paid', 'waybill_assigned')"
_KINDS = (
    "'late_to_ship', 'ship_by_passed', 'not_collected_by_ship_by', 'address_change_after_collection', 'address_invalid'"
)


def upgrade() -> None:
    op.add_column("orders", sa.Column("ship_by", sa.DateTime(timezone=True), nullable=True), schema="shipping")
    op.execute("UPDATE shipping.orders SET ship_by = created_at + interval '48 hours'")
    op.alter_column("orders", "ship_by", nullable=False, schema="shipping")
    op.add_column("orders", sa.Column("held", sa.Text(), nullable=True), schema="shipping")
    op.create_check_constraint(
        op.f("ck_orders_held"), "orders", "held IS NULL OR held IN ('address_invalid')", schema="shipping"
    )
    op.create_index(
        "ix_orders_unshipped_ship_by", "orders", ["ship_by", "id"], unique=False, schema="shipping",
        postgresql_where=sa.text(_UNSHIPPED),
    )  # fmt: skip
    op.create_index("ix_orders_shop_ship_by", "orders", ["shop_id", "ship_by", "id"], unique=False, schema="shipping")
    op.add_column(
        "shop_settings",
        sa.Column("late_to_ship_lead_minutes", sa.Integer(), server_default="240", nullable=False),
        schema="shipping",
    )
    op.create_check_constraint(
        op.f("ck_shop_settings_late_to_ship_lead"),
        "shop_settings",
        "late_to_ship_lead_minutes BETWEEN 0 AND 10080",
        schema="shipping",
    )
    op.create_table(
        "order_alerts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("shop_id", sa.Text(), nullable=False),
        sa.Column("order_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), server_default="open", nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(f"kind IN ({_KINDS})", name=op.f("ck_order_alerts_kind")),
        sa.CheckConstraint(
            "state IN ('open', 'acknowledged', 'resolved')", name=op.f("ck_order_alerts_state")
        ),
        sa.ForeignKeyConstraint(["order_id"], ["shipping.orders.id"], name=op.f("fk_order_alerts_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_alerts")),
        schema="shipping",
    )  # fmt: skip
    op.create_index(
        "uq_order_alerts_unresolved", "order_alerts", ["order_id", "kind"], unique=True, schema="shipping",
        postgresql_where=sa.text("state <> 'resolved'"),
    )  # fmt: skip
    op.create_index("ix_order_alerts_shop", "order_alerts", ["shop_id", "id"], unique=False, schema="shipping")


def downgrade() -> None:
    op.drop_index("ix_order_alerts_shop", table_name="order_alerts", schema="shipping")
    op.drop_index("uq_order_alerts_unresolved", table_name="order_alerts", schema="shipping")
    op.drop_table("order_alerts", schema="shipping")
    op.drop_constraint(op.f("ck_shop_settings_late_to_ship_lead"), "shop_settings", schema="shipping", type_="check")
    op.drop_column("shop_settings", "late_to_ship_lead_minutes", schema="shipping")
    op.drop_index("ix_orders_shop_ship_by", table_name="orders", schema="shipping")
    op.drop_index("ix_orders_unshipped_ship_by", table_name="orders", schema="shipping")
    op.drop_constraint(op.f("ck_orders_held"), "orders", schema="shipping", type_="check")
    op.drop_column("orders", "held", schema="shipping")
    op.drop_column("orders", "ship_by", schema="shipping")
