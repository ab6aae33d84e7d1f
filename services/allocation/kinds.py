"""The values allocation stores as codes: number statuses and sources, purchase statuses, ledger and stock
event kinds, where a purchase's price came from, and what a shop has done with numbers about to expire.
(``models`` re-exports each, where they were first defined.)"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum, StrEnum


def one_of(column: str, values: Iterable[str]) -> str:
    """A CHECK (or a partial index's predicate) that ``column`` holds one of ``values``, as literals."""
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


class WaybillStatus(IntEnum):
    """Stored as a small integer: the free-number index's predicate is ``status = 0``, and it must be
    written as that literal in the hot statement (a bind parameter defeats the partial index)."""

    AVAILABLE = 0
    ALLOCATED = 1
    PRINTED = 2
    SHIPPED = 3
    VOIDED = 4
    EXPIRED = 5
    QUARANTINED = 6
    # Lost its number to another entry: a typed number a paid purchase received from the courier before it
    # was printed, or a purchase's number that a typed entry had already printed (the purchase is credited).
    # The only status outside uq_waybills_number: a superseded row holds no number and no order.
    SUPERSEDED = 7


class WaybillSource(StrEnum):
    """Where a number came from (``waybills.source``)."""

    COURIER = "courier"  # issued to this shop's purchase: verified
    MANUAL = "manual"  # typed by the shop: unverified


class PurchaseStatus(StrEnum):
    """``purchases.status``: pending until the courier issues the numbers, then completed, or failed (and
    refunded) when it never does."""

    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"


class PriceSource(StrEnum):
    """``purchases.price_source``: the price a purchase was charged, the catalogue's or the shop's own."""

    CATALOGUE = "catalogue"
    NEGOTIATED = "negotiated"  # a shop price (``shop_prices``) in force when it was bought


class LedgerKind(StrEnum):
    """``ledger_entries.kind``: why a balance changed (each row's ``note`` says it in words, with the
    particulars; ``ledger_reasons`` has each kind's meaning)."""

    TOPUP = "topup"
    PURCHASE = "purchase"
    PURCHASE_REFUND = "purchase_refund"  # the courier never issued the numbers
    REFUND = "refund"  # numbers never handed out, all of them or a given count
    EXTENSION = "extension"
    # A number a purchase paid for but a typed entry had already printed.
    NUMBER_TAKEN_BY_MANUAL_ENTRY = "number_taken_by_manual_entry"
    # A number the courier issued twice (quarantined: nobody can use it).
    NUMBER_ISSUED_TWICE = "number_issued_twice"
    # A printed number voided before collection, cancelled at the courier: the purchase's void-credit policy.
    VOID_CREDIT = "void_credit"
    # The shop's on_expiry setting acting before its numbers expire: an extension's fee, a refund.
    AUTO_EXTENSION = "auto_extension"
    AUTO_REFUND = "auto_refund"


class StockEventKind(StrEnum):
    """``stock_events.kind``."""

    LOW_STOCK = "low_stock"
    REPLENISH_ORDERED = "replenish_ordered"
    REPLENISH_FAILED = "replenish_failed"
    # A purchase took over one of the shop's typed numbers.
    MANUAL_SUPERSEDED = "manual_superseded"
    # A purchase's unused numbers expire within the shop's expiring_notice_days (once per expiry date).
    EXPIRING = "expiring"
    # The shop's on_expiry setting acted (once per purchase and expiry date), or could not pay the extension.
    AUTO_EXTENDED = "auto_extended"
    AUTO_EXTEND_FAILED = "auto_extend_failed"
    AUTO_REFUNDED = "auto_refunded"


# The kinds of one purchase's expiry, one each per purchase and expiry date (uq_stock_events_expiry).
EXPIRY_EVENTS = (
    StockEventKind.EXPIRING,
    StockEventKind.AUTO_EXTENDED,
    StockEventKind.AUTO_EXTEND_FAILED,
    StockEventKind.AUTO_REFUNDED,
)


class OnExpiry(StrEnum):
    """``shops.on_expiry``: what happens to a purchase's unused numbers shortly before they expire."""

    NOTHING = "nothing"  # they expire (the expiring notice still comes)
    EXTEND = "extend"  # extended by auto_extend_days, for the package's fee
    REFUND = "refund"  # refunded, as POST /v1/purchases/{id}/refund would
