"""Voids before collection (回收单号): the courier is told, and the shop credited per the package's policy.

- ``carrier_packages.void_credit_percent`` and ``void_fee_cents``: what a printed number voided before the
  courier collected it earns back, ``percent`` of the price paid for it less the fee (never below 0). Seeded
  per carrier below; a purchase keeps its package's at the time it was bought (``purchases.void_*``), as it
  keeps the price, and purchases made before this revision get their package's.
- ``purchases.voids_credited`` and ``void_credited_cents``: its voided numbers the courier took back, and
  what they were credited.
- ``waybill_voids``: one row per number a release voided, with the courier's answer and the credit (unique
  per number: credited once).
- The trigger ``waybills_voided_is_final``: a voided number never changes status again (never back to the
  pool, never allocated), except to superseded (a typed entry never printed that a purchase takes over).
  Enforced by the database, whatever statement tries. Its WHEN clause is evaluated without calling the
  function, so the allocation hot path (available to allocated) pays nothing measurable.

The policy per carrier (unconfirmed: the couriers publish no terms; operators set each package's when it is
put on sale):

| carrier | void credit | why |
|---|---|---|
| YTO, ZTO, STO, YUNDA, JT, HTKY, UC, TTKDEX | full | Cainiao-network e-waybills: a number cancelled before collection goes back to the branch's quantity |
| EMS, EYB, POSTB | full | China Post's e-waybills are cancelled the same way |
| SF | full less 50 cents | SF keeps a handling fee per cancelled number |
| ZJS, DBKD | 50% | numbers are paid to the branch on issue; half is returned on cancellation |
| JD | none | a JD number is bound to its pickup order; a cancelled one is not returned |

Revision ID: a0004
Revises: a0003
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a0004"
down_revision: str | None = "a0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "allocation"

# (percent, fee in cents) per carrier: a snapshot, so that this revision means the same whatever the code
# says later. Carriers not listed keep the column default (full).
VOID_CREDIT = {
    "SF": (100, 50),
    "ZJS": (50, 0),
    "DBKD": (50, 0),
    "JD": (0, 0),
}

REFUSE_VOIDED_CHANGE = """
CREATE FUNCTION allocation.refuse_voided_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'waybill % is voided: its status cannot change to %', OLD.number, NEW.status
        USING ERRCODE = 'check_violation', CONSTRAINT = 'waybills_voided_is_final';
END
$$
"""

VOIDED_IS_FINAL = """
CREATE TRIGGER waybills_voided_is_final
BEFORE UPDATE OF status ON allocation.waybills
FOR EACH ROW WHEN (OLD.status = 4 AND NEW.status <> 4 AND NEW.status <> 7)
EXECUTE FUNCTION allocation.refuse_voided_change()
"""


def upgrade() -> None:
    for table in ("carrier_packages", "purchases"):
        op.add_column(
            table,
            sa.Column("void_credit_percent", sa.SmallInteger(), server_default="100", nullable=False),
            schema=SCHEMA,
        )
        op.add_column(
            table, sa.Column("void_fee_cents", sa.BigInteger(), server_default="0", nullable=False), schema=SCHEMA
        )
    op.create_check_constraint(
        op.f("ck_carrier_packages_void_credit_percent_range"),
        "carrier_packages",
        "void_credit_percent BETWEEN 0 AND 100",
        schema=SCHEMA,
    )
    op.create_check_constraint(
        op.f("ck_carrier_packages_void_fee_not_negative"), "carrier_packages", "void_fee_cents >= 0", schema=SCHEMA
    )
    for carrier, (percent, fee) in VOID_CREDIT.items():
        op.execute(
            sa.text(
                "UPDATE allocation.carrier_packages SET void_credit_percent = :percent, void_fee_cents = :fee "
                "WHERE carrier = :carrier"
            ).bindparams(percent=percent, fee=fee, carrier=carrier)
        )
    op.execute(
        "UPDATE allocation.purchases p SET void_credit_percent = c.void_credit_percent, "
        "void_fee_cents = c.void_fee_cents FROM allocation.carrier_packages c WHERE c.id = p.package_id"
    )
    op.add_column(
        "purchases", sa.Column("voids_credited", sa.Integer(), server_default="0", nullable=False), schema=SCHEMA
    )
    op.add_column(
        "purchases",
        sa.Column("void_credited_cents", sa.BigInteger(), server_default="0", nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "waybill_voids",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("waybill_id", sa.BigInteger(), nullable=False),
        sa.Column("shop_id", sa.Text(), nullable=False),
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("carrier", sa.Text(), nullable=False),
        sa.Column("purchase_id", sa.Text(), nullable=True),
        sa.Column("order_ref", sa.Text(), nullable=True),
        sa.Column("courier", sa.Text(), server_default="pending", nullable=False),
        sa.Column("courier_code", sa.Text(), nullable=True),
        sa.Column("credit_policy", sa.Text(), nullable=True),
        sa.Column("credited_cents", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("credited_cents >= 0", name=op.f("ck_waybill_voids_credited_not_negative")),
        sa.ForeignKeyConstraint(
            ["waybill_id"], ["allocation.waybills.id"], name=op.f("fk_waybill_voids_waybill_id_waybills")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waybill_voids")),
        sa.UniqueConstraint("waybill_id", name=op.f("uq_waybill_voids_waybill_id")),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_waybill_voids_pending",
        "waybill_voids",
        ["created_at"],
        unique=False,
        schema=SCHEMA,
        postgresql_where=sa.text("courier = 'pending'"),
    )
    op.execute(REFUSE_VOIDED_CHANGE)
    op.execute(VOIDED_IS_FINAL)


def downgrade() -> None:
    op.execute("DROP TRIGGER waybills_voided_is_final ON allocation.waybills")
    op.execute("DROP FUNCTION allocation.refuse_voided_change()")
    op.drop_index(
        "ix_waybill_voids_pending",
        table_name="waybill_voids",
        schema=SCHEMA,
        postgresql_where=sa.text("courier = 'pending'"),
    )
    op.drop_table("waybill_voids", schema=SCHEMA)
    op.drop_column("purchases", "void_credited_cents", schema=SCHEMA)
    op.drop_column("purchases", "voids_credited", schema=SCHEMA)
    op.drop_constraint(
        op.f("ck_carrier_packages_void_fee_not_negative"), "carrier_packages", schema=SCHEMA, type_="check"
    )
    op.drop_constraint(
        op.f("ck_carrier_packages_void_credit_percent_range"), "carrier_packages", schema=SCHEMA, type_="check"
    )
    for table in ("purchases", "carrier_packages"):
        op.drop_column(table, "void_fee_cents", schema=SCHEMA)
        op.drop_column(table, "void_credit_percent", schema=SCHEMA)
