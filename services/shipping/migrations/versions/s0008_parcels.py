"""parcels and confirmation modes

An order ships in one or more parcels (一单多包), each with its own number, label and tracking; a shipment's
parcel 1 carries the number the shipment always had. Every existing shipment becomes a shipment of one parcel
(live when the shipment is). A shipment may be held until the courier collects it (confirmation mode
``at_collection``, set per shop or per store) and voided before collection. Each order counts the parcel
ordinals it handed out: a parcel's allocation reference derives from its ordinal.

Revision ID: s0008
Revises: s0007
Create Date: 2026-12-07 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "s0008"
down_revision: str | None = "s0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_STATUSES = "'pending', 'confirming', 'confirmed', 'failed', 'cancelled'"
_NEW_STATUSES = "'pending', 'confirming', 'held', 'confirmed', 'failed', 'cancelled', 'voided'"
_OLD_LIVE = "status IN ('pending', 'confirming', 'confirmed')"
_NEW_LIVE = "status IN ('pending', 'confirming', 'held', 'confirmed')"
_MODES = "'at_print', 'at_collection'"


def _live_indexes(live: str) -> None:
    op.create_index(
        "uq_shipments_live_order", "shipments", ["order_id"], unique=True, schema="shipping",
        postgresql_where=sa.text(live),
    )  # fmt: skip
    op.create_index(
        "uq_shipments_live_number", "shipments", ["number"], unique=True, schema="shipping",
        postgresql_where=sa.text(live),
    )  # fmt: skip


def _drop_live_indexes() -> None:
    op.drop_index("uq_shipments_live_number", table_name="shipments", schema="shipping")
    op.drop_index("uq_shipments_live_order", table_name="shipments", schema="shipping")


def upgrade() -> None:
    op.drop_constraint(op.f("ck_shipments_status"), "shipments", schema="shipping", type_="check")
    op.create_check_constraint(
        op.f("ck_shipments_status"), "shipments", f"status IN ({_NEW_STATUSES})", schema="shipping"
    )
    _drop_live_indexes()
    _live_indexes(_NEW_LIVE)
    op.add_column(
        "shipments", sa.Column("parcel_count", sa.Integer(), server_default="1", nullable=False), schema="shipping"
    )
    op.add_column(
        "shipments",
        sa.Column("confirm_mode", sa.Text(), server_default="at_print", nullable=False),
        schema="shipping",
    )
    op.add_column(
        "shipments", sa.Column("confirm_due_at", sa.DateTime(timezone=True), nullable=True), schema="shipping"
    )
    op.add_column("shipments", sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True), schema="shipping")
    op.create_index(
        "ix_shipments_held_due", "shipments", ["confirm_due_at"], unique=False, schema="shipping",
        postgresql_where=sa.text("status = 'held'"),
    )  # fmt: skip
    op.create_check_constraint(
        op.f("ck_shipments_confirm_mode"), "shipments", f"confirm_mode IN ({_MODES})", schema="shipping"
    )
    op.add_column(
        "shop_settings",
        sa.Column("confirm_mode", sa.Text(), server_default="at_print", nullable=False),
        schema="shipping",
    )
    op.add_column("shop_settings", sa.Column("confirm_time", sa.Text(), nullable=True), schema="shipping")
    op.add_column("stores", sa.Column("confirm_mode", sa.Text(), nullable=True), schema="shipping")
    op.create_check_constraint(
        op.f("ck_stores_confirm_mode"),
        "stores",
        f"confirm_mode IS NULL OR confirm_mode IN ({_MODES})",
        schema="shipping",
    )
    op.add_column(
        "orders", sa.Column("parcel_seq", sa.Integer(), server_default="1", nullable=False), schema="shipping"
    )
    op.create_table(
        "parcels",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("shop_id", sa.Text(), nullable=False),
        sa.Column("order_id", sa.Text(), nullable=False),
        sa.Column("shipment_id", sa.Text(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("carrier", sa.Text(), nullable=False),
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("parent_number", sa.Text(), nullable=True),
        sa.Column("weight_g", sa.Integer(), nullable=True),
        sa.Column("lines", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"),
                  nullable=False),
        sa.Column("status", sa.Text(), server_default="live", nullable=False),
        sa.Column("label_prints", sa.Integer(), server_default="0", nullable=False),
        sa.Column("tracking_status", sa.Text(), nullable=True),
        sa.Column("collected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("status IN ('live', 'released', 'voided')", name=op.f("ck_parcels_status")),
        sa.CheckConstraint("seq >= 1 AND ordinal >= 1", name=op.f("ck_parcels_seq")),
        sa.CheckConstraint("weight_g IS NULL OR weight_g >= 0", name=op.f("ck_parcels_weight")),
        sa.ForeignKeyConstraint(["order_id"], ["shipping.orders.id"], name=op.f("fk_parcels_order_id_orders")),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipping.shipments.id"], name=op.f("fk_parcels_shipment_id_shipments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parcels")),
        schema="shipping",
    )  # fmt: skip
    op.create_index(
        "uq_parcels_live_seq", "parcels", ["shipment_id", "seq"], unique=True, schema="shipping",
        postgresql_where=sa.text("status = 'live'"),
    )  # fmt: skip
    op.create_index(
        "uq_parcels_live_number", "parcels", ["number"], unique=True, schema="shipping",
        postgresql_where=sa.text("status = 'live'"),
    )  # fmt: skip
    op.create_index(
        "uq_parcels_live_ordinal", "parcels", ["order_id", "ordinal"], unique=True, schema="shipping",
        postgresql_where=sa.text("status = 'live'"),
    )  # fmt: skip
    op.create_index("ix_parcels_shop_number", "parcels", ["shop_id", "number"], unique=False, schema="shipping")
    # Every shipment so far was one parcel: its number, its label prints, live while the shipment is.
    op.execute(
        """
        INSERT INTO shipping.parcels (id, shop_id, order_id, shipment_id, seq, ordinal, carrier, number, weight_g,
                                      status, label_prints, created_at, updated_at)
        SELECT 'pcl_' || substr(md5(s.id), 1, 20), s.shop_id, s.order_id, s.id, 1, 1, s.carrier, s.number,
               o.weight_g,
               CASE WHEN s.status IN ('pending', 'confirming', 'confirmed') THEN 'live' ELSE 'released' END,
               s.label_prints,
               s.created_at, s.updated_at
          FROM shipping.shipments s JOIN shipping.orders o ON o.id = s.order_id
        """
    )


def downgrade() -> None:
    # Only parcel 1 of each shipment existed before: the others' numbers stay recorded in shipment history.
    op.drop_index("ix_parcels_shop_number", table_name="parcels", schema="shipping")
    op.drop_index("uq_parcels_live_ordinal", table_name="parcels", schema="shipping")
    op.drop_index("uq_parcels_live_number", table_name="parcels", schema="shipping")
    op.drop_index("uq_parcels_live_seq", table_name="parcels", schema="shipping")
    op.drop_table("parcels", schema="shipping")
    op.drop_column("orders", "parcel_seq", schema="shipping")
    op.drop_constraint(op.f("ck_stores_confirm_mode"), "stores", schema="shipping", type_="check")
    op.drop_column("stores", "confirm_mode", schema="shipping")
    op.drop_column("shop_settings", "confirm_time", schema="shipping")
    op.drop_column("shop_settings", "confirm_mode", schema="shipping")
    op.drop_constraint(op.f("ck_shipments_confirm_mode"), "shipments", schema="shipping", type_="check")
    op.drop_index("ix_shipments_held_due", table_name="shipments", schema="shipping")
    op.drop_column("shipments", "voided_at", schema="shipping")
    op.drop_column("shipments", "confirm_due_at", schema="shipping")
    op.drop_column("shipments", "confirm_mode", schema="shipping")
    op.drop_column("shipments", "parcel_count", schema="shipping")
    # Held shipments were never confirmed: pending again, their confirmation job asks the marketplace.
    op.execute("UPDATE shipping.shipments SET status = 'pending' WHERE status = 'held'")
    op.execute("UPDATE shipping.shipments SET status = 'cancelled' WHERE status = 'voided'")
    _drop_live_indexes()
    _live_indexes(_OLD_LIVE)
    op.drop_constraint(op.f("ck_shipments_status"), "shipments", schema="shipping", type_="check")
    op.create_check_constraint(
        op.f("ck_shipments_status"), "shipments", f"status IN ({_OLD_STATUSES})", schema="shipping"
    )
