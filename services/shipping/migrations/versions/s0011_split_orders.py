"""split orders

A split order (拆单) ships its lines in several shipments: each shipment records the lines it carries, and a
partial unique index refuses one line of an order on two live shipments (it replaces the one live shipment per
order index, which a split order outgrows). An order some of whose lines are confirmed is ``partly_shipped``.
Every live shipment so far carried its whole order: all its lines (one for an order without items).

Revision ID: s0011
Revises: s0010
Create Date: 2026-12-07 18:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "s0011"
down_revision: str | None = "s0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATUSES = (
    "'paid', 'waybill_assigned', 'label_printed', 'shipped', 'in_transit', 'delivered', 'exception', 'returned', "
    "'cancelled'"
)
_LIVE = "status IN ('pending', 'confirming', 'held', 'confirmed')"


def upgrade() -> None:
    op.create_table(
        "shipment_lines",
        sa.Column("shipment_id", sa.Text(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Text(), nullable=False),
        sa.Column("live", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.CheckConstraint("line >= 1", name=op.f("ck_shipment_lines_line")),
        sa.ForeignKeyConstraint(["order_id"], ["shipping.orders.id"], name=op.f("fk_shipment_lines_order_id_orders")),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipping.shipments.id"], name=op.f("fk_shipment_lines_shipment_id_shipments")
        ),
        sa.PrimaryKeyConstraint("shipment_id", "line", name=op.f("pk_shipment_lines")),
        schema="shipping",
    )
    op.create_index(
        "uq_shipment_lines_live", "shipment_lines", ["order_id", "line"], unique=True, schema="shipping",
        postgresql_where=sa.text("live"),
    )  # fmt: skip
    op.execute(
        """
        INSERT INTO shipping.shipment_lines (shipment_id, line, order_id, live)
        SELECT s.id, g.line, s.order_id, s.status IN ('pending', 'confirming', 'held', 'confirmed')
          FROM shipping.shipments s JOIN shipping.orders o ON o.id = s.order_id,
               generate_series(1, greatest(1, jsonb_array_length(o.items))) AS g(line)
        """
    )
    op.drop_index("uq_shipments_live_order", table_name="shipments", schema="shipping")
    op.create_index("ix_shipments_order", "shipments", ["order_id"], unique=False, schema="shipping")
    op.drop_constraint(op.f("ck_orders_status"), "orders", schema="shipping", type_="check")
    op.create_check_constraint(
        op.f("ck_orders_status"), "orders", f"status IN ({_STATUSES}, 'partly_shipped')", schema="shipping"
    )


def downgrade() -> None:
    # A partly shipped order counts as shipped; its later live shipments lose their place (one per order).
    op.execute("UPDATE shipping.orders SET status = 'shipped' WHERE status = 'partly_shipped'")
    op.drop_constraint(op.f("ck_orders_status"), "orders", schema="shipping", type_="check")
    op.create_check_constraint(op.f("ck_orders_status"), "orders", f"status IN ({_STATUSES})", schema="shipping")
    op.drop_index("ix_shipments_order", table_name="shipments", schema="shipping")
    op.execute(
        """
        UPDATE shipping.shipments s SET status = 'cancelled'
         WHERE s.status IN ('pending', 'confirming', 'held', 'confirmed') AND EXISTS (
               SELECT 1 FROM shipping.shipments t
                WHERE t.order_id = s.order_id AND t.status IN ('pending', 'confirming', 'held', 'confirmed') AND t.created_at < s.created_at)
        """
    )
    op.create_index(
        "uq_shipments_live_order", "shipments", ["order_id"], unique=True, schema="shipping",
        postgresql_where=sa.text(_LIVE),
    )  # fmt: skip
    op.drop_index("uq_shipment_lines_live", table_name="shipment_lines", schema="shipping")
    op.drop_table("shipment_lines", schema="shipping")
