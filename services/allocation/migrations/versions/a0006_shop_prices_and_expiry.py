"""Money a seller controls: negotiated prices per shop, partial refunds, expiry settings, a reason on every
ledger row.

- ``shop_prices``: an operator's price of a package for one shop, valid from ``valid_from`` up to
  ``valid_to`` (exclusive; null: open-ended), revoked rather than deleted (purchases name the price they were
  charged). Two periods of one shop and package that are not revoked never overlap: the trigger
  ``shop_prices_no_overlap`` refuses it (SQLSTATE 23P01, exclusion_violation). Not an exclusion constraint:
  ``EXCLUDE USING gist (shop_id WITH =, ...)`` needs the btree_gist extension, which the embedded PostgreSQL
  of ``make run`` and ``make test`` (pgserver) does not ship. The trigger takes a transaction-scoped advisory
  lock per (shop, package) before it looks, so two writers of one pair take turns and the second sees the
  first's committed row (READ COMMITTED: each statement of the function reads a fresh snapshot).
- ``purchases.price_source`` (``catalogue`` or ``negotiated``) and ``shop_price_id``: what a purchase was
  charged by. Purchases before this revision were charged the catalogue's. ``ix_purchases_expiring``: the
  worker's look for completed purchases about to expire.
- ``purchase_refunds``: refunds asked with an Idempotency-Key and their answers (a partial refund repeated
  returns the first answer instead of refunding again).
- ``shops.expiring_notice_days`` (7; 0 = no notice), ``on_expiry`` (``nothing``, ``extend``, ``refund``) and
  ``auto_extend_days`` (30): the shop's expiry settings.
- ``stock_events.expires_at``, ``numbers`` and ``details``, and ``uq_stock_events_expiry``: a purchase's
  expiry events (``expiring``, ``auto_extended``, ``auto_extend_failed``, ``auto_refunded``), one of each per
  purchase and expiry date, whatever the worker does twice.
- ``ledger_entries.note`` NOT NULL and not empty, ``kind`` one of the known kinds: every row says why. Rows
  before this revision without a note get their kind's words (a top-up, a purchase's package and count).

Revision ID: a0006
Revises: a0005
Create Date: 2026-12-09
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "a0006"
down_revision: str | None = "a0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "allocation"

# Snapshots, so that this revision means the same whatever the code says later.
LEDGER_KINDS = (
    "topup",
    "purchase",
    "purchase_refund",
    "refund",
    "extension",
    "number_taken_by_manual_entry",
    "number_issued_twice",
    "void_credit",
    "auto_extension",
    "auto_refund",
)
EXPIRY_EVENTS = ("expiring", "auto_extended", "auto_extend_failed", "auto_refunded")


def _one_of(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


REFUSE_OVERLAP = """
CREATE FUNCTION allocation.refuse_shop_price_overlap() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    clash bigint;
BEGIN
    IF NEW.revoked_at IS NOT NULL THEN
        RETURN NEW;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('allocation.shop_prices'), hashtext(NEW.shop_id || ':' || NEW.package_id));
    SELECT id INTO clash FROM allocation.shop_prices
    WHERE shop_id = NEW.shop_id AND package_id = NEW.package_id AND revoked_at IS NULL AND id <> NEW.id
      AND tstzrange(valid_from, valid_to, '[)') && tstzrange(NEW.valid_from, NEW.valid_to, '[)')
    LIMIT 1;
    IF clash IS NOT NULL THEN
        RAISE EXCEPTION 'shop % already has price % for package % in that period', NEW.shop_id, clash, NEW.package_id
            USING ERRCODE = 'exclusion_violation', CONSTRAINT = 'shop_prices_no_overlap', DETAIL = clash::text;
    END IF;
    RETURN NEW;
END
$$
"""

NO_OVERLAP = """
CREATE TRIGGER shop_prices_no_overlap
BEFORE INSERT OR UPDATE OF shop_id, package_id, valid_from, valid_to, revoked_at ON allocation.shop_prices
FOR EACH ROW EXECUTE FUNCTION allocation.refuse_shop_price_overlap()
"""

NOTE_BACKFILL = (
    "UPDATE allocation.ledger_entries l SET note = 'bought package ' || p.package_id || ': ' || p.quantity "
    "|| ' numbers at the catalogue price' FROM allocation.purchases p "
    "WHERE l.note IS NULL AND l.kind = 'purchase' AND p.id = l.reference",
    "UPDATE allocation.ledger_entries SET note = 'top-up by an operator' WHERE note IS NULL AND kind = 'topup'",
    "UPDATE allocation.ledger_entries SET note = kind WHERE note IS NULL OR note = ''",
)


def upgrade() -> None:
    op.create_table(
        "shop_prices",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("shop_id", sa.Text(), nullable=False),
        sa.Column("package_id", sa.Text(), nullable=False),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("price_cents >= 0", name=op.f("ck_shop_prices_price_not_negative")),
        sa.CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name=op.f("ck_shop_prices_validity_ordered")),
        sa.ForeignKeyConstraint(
            ["package_id"], ["allocation.carrier_packages.id"], name=op.f("fk_shop_prices_package_id_carrier_packages")
        ),
        sa.ForeignKeyConstraint(["shop_id"], ["allocation.shops.id"], name=op.f("fk_shop_prices_shop_id_shops")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_prices")),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_shop_prices_shop_package", "shop_prices", ["shop_id", "package_id", "valid_from"], schema=SCHEMA
    )
    op.execute(REFUSE_OVERLAP)
    op.execute(NO_OVERLAP)

    op.add_column(
        "purchases", sa.Column("price_source", sa.Text(), server_default="catalogue", nullable=False), schema=SCHEMA
    )
    op.add_column("purchases", sa.Column("shop_price_id", sa.BigInteger(), nullable=True), schema=SCHEMA)
    op.create_foreign_key(
        op.f("fk_purchases_shop_price_id_shop_prices"),
        "purchases",
        "shop_prices",
        ["shop_price_id"],
        ["id"],
        source_schema=SCHEMA,
        referent_schema=SCHEMA,
    )
    op.create_check_constraint(
        op.f("ck_purchases_price_source_known"),
        "purchases",
        _one_of("price_source", ("catalogue", "negotiated")),
        schema=SCHEMA,
    )

    op.create_index(
        "ix_purchases_expiring",
        "purchases",
        ["expires_at"],
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'completed'"),
    )

    op.create_table(
        "purchase_refunds",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("shop_id", sa.Text(), nullable=False),
        sa.Column("purchase_id", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.Text(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=True),
        sa.Column("refunded_quantity", sa.Integer(), nullable=False),
        sa.Column("refunded_cents", sa.BigInteger(), nullable=False),
        sa.Column("balance_cents", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["purchase_id"], ["allocation.purchases.id"], name=op.f("fk_purchase_refunds_purchase_id_purchases")
        ),
        sa.ForeignKeyConstraint(["shop_id"], ["allocation.shops.id"], name=op.f("fk_purchase_refunds_shop_id_shops")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_refunds")),
        sa.UniqueConstraint("shop_id", "idempotency_key", name=op.f("uq_purchase_refunds_shop_id_idempotency_key")),
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_allocation_purchase_refunds_purchase_id"), "purchase_refunds", ["purchase_id"], schema=SCHEMA
    )

    op.add_column(
        "shops", sa.Column("expiring_notice_days", sa.SmallInteger(), server_default="7", nullable=False), schema=SCHEMA
    )
    op.add_column("shops", sa.Column("on_expiry", sa.Text(), server_default="nothing", nullable=False), schema=SCHEMA)
    op.add_column(
        "shops", sa.Column("auto_extend_days", sa.SmallInteger(), server_default="30", nullable=False), schema=SCHEMA
    )
    op.create_check_constraint(
        op.f("ck_shops_expiring_notice_days_range"), "shops", "expiring_notice_days BETWEEN 0 AND 90", schema=SCHEMA
    )
    op.create_check_constraint(
        op.f("ck_shops_on_expiry_known"), "shops", _one_of("on_expiry", ("nothing", "extend", "refund")), schema=SCHEMA
    )
    op.create_check_constraint(
        op.f("ck_shops_auto_extend_days_range"), "shops", "auto_extend_days BETWEEN 1 AND 365", schema=SCHEMA
    )

    op.add_column("stock_events", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True), schema=SCHEMA)
    op.add_column("stock_events", sa.Column("numbers", sa.Integer(), nullable=True), schema=SCHEMA)
    op.add_column(
        "stock_events",
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        schema=SCHEMA,
    )
    op.create_index(
        "uq_stock_events_expiry",
        "stock_events",
        ["purchase_id", "kind", "expires_at"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text(_one_of("kind", EXPIRY_EVENTS)),
    )

    for statement in NOTE_BACKFILL:
        op.execute(statement)
    op.alter_column("ledger_entries", "note", existing_type=sa.Text(), nullable=False, schema=SCHEMA)
    op.create_check_constraint(
        op.f("ck_ledger_entries_kind_known"), "ledger_entries", _one_of("kind", LEDGER_KINDS), schema=SCHEMA
    )
    op.create_check_constraint(op.f("ck_ledger_entries_note_not_empty"), "ledger_entries", "note <> ''", schema=SCHEMA)


def downgrade() -> None:
    op.drop_constraint(op.f("ck_ledger_entries_note_not_empty"), "ledger_entries", schema=SCHEMA, type_="check")
    op.drop_constraint(op.f("ck_ledger_entries_kind_known"), "ledger_entries", schema=SCHEMA, type_="check")
    op.alter_column("ledger_entries", "note", existing_type=sa.Text(), nullable=True, schema=SCHEMA)
    op.drop_index(
        "uq_stock_events_expiry",
        table_name="stock_events",
        schema=SCHEMA,
        postgresql_where=sa.text(_one_of("kind", EXPIRY_EVENTS)),
    )
    for column in ("details", "numbers", "expires_at"):
        op.drop_column("stock_events", column, schema=SCHEMA)
    for name in ("auto_extend_days_range", "on_expiry_known", "expiring_notice_days_range"):
        op.drop_constraint(op.f(f"ck_shops_{name}"), "shops", schema=SCHEMA, type_="check")
    for column in ("auto_extend_days", "on_expiry", "expiring_notice_days"):
        op.drop_column("shops", column, schema=SCHEMA)
    op.drop_index(op.f("ix_allocation_purchase_refunds_purchase_id"), table_name="purchase_refunds", schema=SCHEMA)
    op.drop_table("purchase_refunds", schema=SCHEMA)
    op.drop_index(
        "ix_purchases_expiring",
        table_name="purchases",
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'completed'"),
    )
    op.drop_constraint(op.f("ck_purchases_price_source_known"), "purchases", schema=SCHEMA, type_="check")
    op.drop_constraint(op.f("fk_purchases_shop_price_id_shop_prices"), "purchases", schema=SCHEMA, type_="foreignkey")
    op.drop_column("purchases", "shop_price_id", schema=SCHEMA)
    op.drop_column("purchases", "price_source", schema=SCHEMA)
    op.execute("DROP TRIGGER shop_prices_no_overlap ON allocation.shop_prices")
    op.execute("DROP FUNCTION allocation.refuse_shop_price_overlap()")
    op.drop_index("ix_shop_prices_shop_package", table_name="shop_prices", schema=SCHEMA)
    op.drop_table("shop_prices", schema=SCHEMA)
