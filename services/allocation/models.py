"""Allocation's tables, all in the ``allocation`` schema."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    SmallInteger,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from runtime.db import service_metadata
from runtime.jobs import outbox_table
from services.allocation.kinds import EXPIRY_EVENTS, one_of
from services.allocation.kinds import LedgerKind as LedgerKind
from services.allocation.kinds import OnExpiry as OnExpiry
from services.allocation.kinds import PriceSource as PriceSource
from services.allocation.kinds import PurchaseStatus as PurchaseStatus
from services.allocation.kinds import StockEventKind as StockEventKind
from services.allocation.kinds import WaybillSource as WaybillSource
from services.allocation.kinds import WaybillStatus as WaybillStatus
from services.allocation.voids import VoidPolicy

SCHEMA = "allocation"


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


Outbox = outbox_table(Base.metadata)


class Carrier(Base):
    __tablename__ = "carriers"

    code: Mapped[str] = mapped_column(Text, primary_key=True)
    name_zh: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    marketplace_code: Mapped[str] = mapped_column(Text)
    kdniao_code: Mapped[str] = mapped_column(Text)
    kuaidi100_code: Mapped[str] = mapped_column(Text)
    # [{"pattern": "...", "check": "none|s10|gs1_mod10", "description": "..."}]
    number_rule: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    coverage: Mapped[list[str]] = mapped_column(ARRAY(Text))
    # {"default": 3, "广东省": 2, ...}: typical transit days by destination province.
    transit_days: Mapped[dict[str, int]] = mapped_column(JSONB)
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CarrierPackage(Base):
    __tablename__ = "carrier_packages"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("price_cents >= 0", name="price_not_negative"),
        CheckConstraint("validity_days > 0", name="validity_positive"),
        CheckConstraint("void_credit_percent BETWEEN 0 AND 100", name="void_credit_percent_range"),
        CheckConstraint("void_fee_cents >= 0", name="void_fee_not_negative"),
    )

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    carrier: Mapped[str] = mapped_column(ForeignKey(Carrier.code), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    price_cents: Mapped[int] = mapped_column(BigInteger)
    validity_days: Mapped[int] = mapped_column(Integer)
    extension_fee_cents_per_30_days: Mapped[int] = mapped_column(BigInteger, server_default="0")
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    # What a printed number voided before collection earns back (a VoidPolicy); a purchase keeps its copy.
    void_credit_percent: Mapped[int] = mapped_column(SmallInteger, server_default="100")
    void_fee_cents: Mapped[int] = mapped_column(BigInteger, server_default="0")

    @property
    def void_credit(self) -> VoidPolicy:
        return VoidPolicy(self.void_credit_percent, self.void_fee_cents)


class Shop(Base):
    __tablename__ = "shops"
    __table_args__ = (
        CheckConstraint("balance_cents >= 0", name="balance_not_negative"),
        CheckConstraint("expiring_notice_days BETWEEN 0 AND 90", name="expiring_notice_days_range"),
        CheckConstraint(one_of("on_expiry", OnExpiry), name="on_expiry_known"),
        CheckConstraint("auto_extend_days BETWEEN 1 AND 365", name="auto_extend_days_range"),
    )

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    balance_cents: Mapped[int] = mapped_column(BigInteger, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # The shop's expiry settings (GET/PUT /v1/expiry-settings): the `expiring` notice this many days before a
    # purchase's numbers expire (0: none), and what happens to them then (an OnExpiry).
    expiring_notice_days: Mapped[int] = mapped_column(SmallInteger, server_default="7")
    on_expiry: Mapped[str] = mapped_column(Text, server_default="nothing")
    auto_extend_days: Mapped[int] = mapped_column(SmallInteger, server_default="30")


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey(Shop.id), index=True)
    secret_hash: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(Text, server_default="default")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LedgerEntry(Base):
    """Every change to a balance, written in the same transaction as the change."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint(one_of("kind", LedgerKind), name="kind_known"),
        CheckConstraint("note <> ''", name="note_not_empty"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey(Shop.id), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    balance_after_cents: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(Text)  # a LedgerKind
    reference: Mapped[str | None] = mapped_column(Text)
    # Why, in words, with the particulars (the package, the count, the number): never empty (a0006).
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Pool(Base):
    """A shop's stock of one carrier's numbers."""

    __tablename__ = "pools"
    __table_args__ = (UniqueConstraint("shop_id", "carrier"),)

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey(Shop.id))
    carrier: Mapped[str] = mapped_column(ForeignKey(Carrier.code))
    low_stock_threshold: Mapped[int] = mapped_column(Integer, server_default="100")
    auto_replenish_package: Mapped[str | None] = mapped_column(ForeignKey(CarrierPackage.id))
    low_stock_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ShopPrice(Base):
    """A shop's negotiated price of a package (an operator's override of the catalogue) for a period:
    ``valid_from`` up to ``valid_to`` (exclusive; None: open-ended). Two periods of one shop and package never
    overlap among prices not revoked: the trigger ``shop_prices_no_overlap`` (migration a0006) refuses it,
    whatever statement tries. A revoked price stays, as the record of what purchases were charged."""

    __tablename__ = "shop_prices"
    __table_args__ = (
        CheckConstraint("price_cents >= 0", name="price_not_negative"),
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="validity_ordered"),
        Index("ix_shop_prices_shop_package", "shop_id", "package_id", "valid_from"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey(Shop.id))
    package_id: Mapped[str] = mapped_column(ForeignKey(CarrierPackage.id))
    price_cents: Mapped[int] = mapped_column(BigInteger)
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    valid_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Purchase(Base):
    __tablename__ = "purchases"
    __table_args__ = (
        UniqueConstraint("shop_id", "idempotency_key"),
        CheckConstraint(one_of("price_source", PriceSource), name="price_source_known"),
        # The worker's look for purchases about to expire (their notice, the shop's on_expiry).
        Index("ix_purchases_expiring", "expires_at", postgresql_where=text("status = 'completed'")),
    )

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey(Shop.id), index=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey(Pool.id))
    carrier: Mapped[str] = mapped_column(ForeignKey(Carrier.code))
    package_id: Mapped[str] = mapped_column(ForeignKey(CarrierPackage.id))
    quantity: Mapped[int] = mapped_column(Integer)
    price_cents: Mapped[int] = mapped_column(BigInteger)
    # Where the price came from (a PriceSource), and the shop price when negotiated.
    price_source: Mapped[str] = mapped_column(Text, server_default="catalogue")
    shop_price_id: Mapped[int | None] = mapped_column(ForeignKey(ShopPrice.id))
    validity_days: Mapped[int] = mapped_column(Integer)
    idempotency_key: Mapped[str] = mapped_column(Text)
    request_hash: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="pending")  # a PurchaseStatus
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    numbers_received: Mapped[int] = mapped_column(Integer, server_default="0")
    numbers_quarantined: Mapped[int] = mapped_column(Integer, server_default="0")
    # Numbers paid back, by refund or credit; refunded_cents is always price * refunded_quantity // quantity.
    refunded_quantity: Mapped[int] = mapped_column(Integer, server_default="0")
    refunded_cents: Mapped[int] = mapped_column(BigInteger, server_default="0")
    # Numbers the courier issued that a typed entry had already printed: never in the pool, credited.
    numbers_credited: Mapped[int] = mapped_column(Integer, server_default="0")
    # The package's void-credit policy when it was bought (the terms of the sale, as price and validity), and
    # its printed numbers voided before collection that the courier took back, with what they were credited.
    # Their prices come from their own running total (voids.number_price), apart from refunded_*: a voided
    # number is never also refunded or credited otherwise, and two running totals never pay more than one.
    void_credit_percent: Mapped[int] = mapped_column(SmallInteger, server_default="100")
    void_fee_cents: Mapped[int] = mapped_column(BigInteger, server_default="0")
    voids_credited: Mapped[int] = mapped_column(Integer, server_default="0")
    void_credited_cents: Mapped[int] = mapped_column(BigInteger, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def void_credit(self) -> VoidPolicy:
        return VoidPolicy(self.void_credit_percent, self.void_fee_cents)


class Waybill(Base):
    """One waybill number. ``number`` is unique among live rows (uq_waybills_number: every status but
    superseded): a number is held once. A superseded row is the record of an entry that lost the number.

    One live number per (pool, order): the partial unique index ``uq_waybills_order`` refuses a
    second allocated/printed/shipped number for the same order, whatever the application does.

    A voided number stays voided: the trigger ``waybills_voided_is_final`` (migration a0004) refuses any
    status change of a voided row but supersession (a typed entry never printed, taken over by a purchase).
    """

    __tablename__ = "waybills"
    __table_args__ = (
        # The free list: only available rows, in the order they are handed out (soonest expiry first).
        Index("ix_waybills_free", "pool_id", "expires_at", "id", postgresql_where=text("status = 0")),
        Index(
            "uq_waybills_order",
            "pool_id",
            "order_ref",
            unique=True,
            postgresql_where=text("order_ref IS NOT NULL AND status IN (1, 2, 3)"),
        ),
        Index("uq_waybills_number", "number", unique=True, postgresql_where=text("status <> 7")),
        # Numbers a shop lost, looked up when it asks about one (few rows; allocation never touches it).
        Index("ix_waybills_superseded", "number", postgresql_where=text("status = 7")),
        Index("ix_waybills_purchase", "purchase_id"),
        Index("ix_waybills_pool_status", "pool_id", "status"),
        # Typed numbers not yet shipped, counted against ALLOCATION_MANUAL_UNVERIFIED_MAX per shop.
        Index("ix_waybills_manual_open", "pool_id", postgresql_where=text("source = 'manual' AND status IN (1, 2)")),
        {
            # Allocation turns rows over fast; vacuum this table early (the worker also vacuums it).
            "postgresql_with": {
                "autovacuum_vacuum_scale_factor": "0.0",
                "autovacuum_vacuum_threshold": "2000",
                "autovacuum_vacuum_cost_delay": "0",
                "fillfactor": "90",
            }
        },
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    number: Mapped[str] = mapped_column(Text)
    carrier: Mapped[str] = mapped_column(ForeignKey(Carrier.code))
    pool_id: Mapped[int] = mapped_column(ForeignKey(Pool.id))
    purchase_id: Mapped[str | None] = mapped_column(ForeignKey(Purchase.id))
    status: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    order_ref: Mapped[str | None] = mapped_column(Text)
    allocated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    source: Mapped[str] = mapped_column(Text, server_default="courier")  # a WaybillSource
    # Set when marked printed or shipped: a label with the number may exist. Read for typed numbers only
    # (a purchase takes over a typed number never printed), so a0003 backfilled it for those alone.
    ever_printed: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # Last release back to the pool: the number was handed out before, so a refund does not count it as
    # unused (a released number may have been given out anyway). Unknown for releases before a0003.
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # First marked shipped, and for which store and channel (shipping says so in the mark): spend reports.
    shipped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    store_id: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str | None] = mapped_column(Text)


class WaybillVoid(Base):
    """A number voided by a release (printed, or typed), and the courier's answer to its cancellation: one per
    number (``uq`` on waybill_id). It is credited once, in the transaction that moves it out of ``pending``
    (a conditional update: of racing settlements one moves it, the others find it settled)."""

    __tablename__ = "waybill_voids"
    __table_args__ = (
        UniqueConstraint("waybill_id"),
        CheckConstraint("credited_cents >= 0", name="credited_not_negative"),
        # Voids the courier has not answered, for the worker's resend (few rows: most settle within seconds).
        Index("ix_waybill_voids_pending", "created_at", postgresql_where=text("courier = 'pending'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    waybill_id: Mapped[int] = mapped_column(ForeignKey(Waybill.id))
    shop_id: Mapped[str] = mapped_column(Text)
    number: Mapped[str] = mapped_column(Text)
    carrier: Mapped[str] = mapped_column(Text)
    purchase_id: Mapped[str | None] = mapped_column(Text)
    order_ref: Mapped[str | None] = mapped_column(Text)
    courier: Mapped[str] = mapped_column(Text, server_default="pending")  # a VoidCourierOutcome
    courier_code: Mapped[str | None] = mapped_column(Text)
    # The purchase's policy by name when the number was voided (None: from no purchase, nothing to credit).
    credit_policy: Mapped[str | None] = mapped_column(Text)
    credited_cents: Mapped[int] = mapped_column(BigInteger, server_default="0")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    # When the courier was last asked (or the ask queued): the resend waits for ALLOCATION_VOID_RESEND_AFTER_S.
    last_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class QuarantineIncident(Base):
    """A number that turned up twice: recorded, and never handed out."""

    __tablename__ = "quarantine_incidents"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    number: Mapped[str] = mapped_column(Text, index=True)
    carrier: Mapped[str] = mapped_column(Text)
    shop_id: Mapped[str | None] = mapped_column(Text)
    purchase_id: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class StockEvent(Base):
    """Low-stock crossings and replenishments, typed numbers taken over, and each purchase's expiry (its
    notice and what the shop's on_expiry did), for notification and the dashboard. The expiry kinds are one
    per purchase and expiry date (uq_stock_events_expiry): however often the worker looks, a shop is told
    once, and its numbers extended or refunded once."""

    __tablename__ = "stock_events"
    __table_args__ = (
        Index(
            "uq_stock_events_expiry",
            "purchase_id",
            "kind",
            "expires_at",
            unique=True,
            postgresql_where=text(one_of("kind", EXPIRY_EVENTS)),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    shop_id: Mapped[str] = mapped_column(Text, index=True)
    carrier: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)  # a StockEventKind
    available: Mapped[int] = mapped_column(Integer)
    threshold: Mapped[int] = mapped_column(Integer)
    purchase_id: Mapped[str | None] = mapped_column(Text)
    # manual_superseded: the shop's typed number and the order it was typed for.
    number: Mapped[str | None] = mapped_column(Text)
    order_ref: Mapped[str | None] = mapped_column(Text)
    # The expiry kinds: the purchase's expiry date concerned, its numbers concerned, and the particulars of
    # the kind (notice days, the action and when; the fee, the refund, the new expiry).
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    numbers: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PurchaseRefund(Base):
    """A refund asked with an ``Idempotency-Key``: its answer, returned again for the same key and body
    (a partial refund repeated must not refund another ``count``)."""

    __tablename__ = "purchase_refunds"
    __table_args__ = (UniqueConstraint("shop_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    shop_id: Mapped[str] = mapped_column(ForeignKey(Shop.id))
    purchase_id: Mapped[str] = mapped_column(ForeignKey(Purchase.id), index=True)
    idempotency_key: Mapped[str] = mapped_column(Text)
    request_hash: Mapped[str] = mapped_column(Text)
    count: Mapped[int | None] = mapped_column(Integer)  # asked for; None: every unused number
    refunded_quantity: Mapped[int] = mapped_column(Integer)
    refunded_cents: Mapped[int] = mapped_column(BigInteger)
    balance_cents: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
