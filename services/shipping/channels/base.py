"""The seam every sales channel implements: where an order comes from decides where its shipment is confirmed.

A channel reads its order messages (verified, parsed), fetches an order, maps its carrier codes to ours,
says whether an order may ship now, confirms a shipment with its number(s) (one order in several parcels,
or a split order's lines in parts), changes the numbers of a shipped one, and classifies every refusal it
can answer into one ``Refusal``. Neither marketplace can withdraw a confirmation: there is no call for it.
The rest of shipping speaks only these types; each channel's wire format stays a pure protocol module beside
its HTTP client (``channels/<name>/protocol.py``, ``client.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Any, Protocol

# Both marketplaces write their times as Beijing time without a zone ("2026-11-28 09:59:58").
BEIJING = timezone(timedelta(hours=8))


def beijing_time(value: object) -> datetime | None:
    """A marketplace's "yyyy-MM-dd HH:mm:ss" (Beijing time) as an aware datetime; None when absent or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
    except ValueError:
        return None


class ChannelName(StrEnum):
    OWN = "own"  # the shop's own web store or mini-program: orders created over REST
    TAOBAO = "taobao"
    PINDUODUO = "pinduoduo"


MARKETPLACES = (ChannelName.TAOBAO, ChannelName.PINDUODUO)


class Refusal(StrEnum):
    """What a channel's refusal means for a confirmation. Every code a channel can answer maps to one."""

    ALREADY_SHIPPED = "already_shipped"  # order-related: shipped already; success if with our number
    ORDER_CLOSED = "order_closed"  # order-related: refunded, cancelled or gone; the number was not used
    NUMBER_REJECTED = "number_rejected"  # number-related: quarantine it, take another, send again
    NUMBER_EXPIRED = "number_expired"  # number-related: mark it expired, take another, send again
    RETRY = "retry"  # the channel could not answer now: ask again with backoff
    PERMANENT = "permanent"  # anything else: fail with the channel's message

    @property
    def number_related(self) -> bool:
        return self in (Refusal.NUMBER_REJECTED, Refusal.NUMBER_EXPIRED)


class ChannelError(Exception):
    """A channel's refusal (or no answer), classified. ``code`` is the channel's own short code (Taobao's B60,
    a Pinduoduo error code), shown to the shop beside ``message``. ``number`` is the refused number of a
    number-related refusal when the answer names it (a call with several numbers refuses one of them)."""

    def __init__(
        self,
        channel: ChannelName,
        code: str,
        message: str,
        refusal: Refusal,
        *,
        session_invalid: bool = False,
        number: str | None = None,
    ) -> None:
        super().__init__(f"{channel.value} {code}: {message}")
        self.channel = channel
        self.code = code
        self.message = message
        self.refusal = refusal
        # The store's authorisation is missing, unknown or expired: binding answers 422, shipping fails.
        self.session_invalid = session_invalid
        self.number = number


def named_number(message: str, numbers: Sequence[str]) -> str | None:
    """The one of ``numbers`` a refusal's text names: the platforms put the refused number in their message.
    None when it names none, or several that are not parts of one another (we cannot tell which)."""
    named = {n for n in numbers if n and n in message}
    # A number inside a longer named one is not named itself (7123 in 71234).
    whole = [n for n in named if not any(n != other and n in other for other in named)]
    return whole[0] if len(whole) == 1 else None


def checked_numbers(channel: ChannelName, numbers: Sequence[str], lines: Sequence[str] | None) -> list[str]:
    """``numbers`` stripped, when there is at least one and each is there once, and ``lines`` is None or some
    distinct ids; ChannelError(PERMANENT) otherwise, before anything is sent."""
    found = [n.strip() for n in numbers]
    if not found or not all(found):
        raise ChannelError(channel, "no_number", "no tracking number to confirm", Refusal.PERMANENT)
    if len(set(found)) != len(found):
        raise ChannelError(channel, "duplicate_number", "a tracking number is given twice", Refusal.PERMANENT)
    if lines is not None and (not lines or len(set(lines)) != len(lines) or not all(lines)):
        raise ChannelError(channel, "lines", "lines must be distinct line ids, or None", Refusal.PERMANENT)
    return found


class MessageRefused(ValueError):
    """Not the channel's message: a bad or missing signature, another app's, or signed too long ago (401)."""


class BadMessage(ValueError):
    """Signed, but not a message we can read (400)."""


class OrderState(StrEnum):
    AWAITING_SHIPMENT = "awaiting_shipment"  # paid and ready: the only state we create an order in
    PARTLY_SHIPPED = "partly_shipped"  # a split order: some lines shipped, the others may still ship
    SHIPPED = "shipped"
    CLOSED = "closed"  # refunded, cancelled or closed
    OTHER = "other"  # unpaid, blocked, in after-sales: not to ship now


@dataclass(frozen=True)
class ChannelOrder:
    """An order as its channel says it is, read back (a message is a hint, never the truth)."""

    external_id: str
    state: OrderState
    status: str  # the channel's own status text, for messages
    seller_id: str
    buyer_nick: str
    receiver_name: str
    receiver_phone: str
    receiver_state: str
    receiver_city: str
    receiver_district: str
    receiver_address: str
    receiver_zip: str
    weight_g: int
    payment_cents: int
    items: list[dict[str, Any]] = field(default_factory=list)
    shipped_number: str | None = None  # the main one (the first line's, or the order's first parcel's)
    shipped_carrier: str | None = None  # ours (a CarrierCode value) when the channel's code is known
    # Every number the channel holds for the order, main one first: all lines' and parcels' (Taobao), the
    # tracking number and the extra ones (Pinduoduo).
    shipped_numbers: tuple[str, ...] = ()
    # The channel's ship-by deadline (Pinduoduo's last_ship_time); None where the channel gives none (Taobao).
    ship_by: datetime | None = None
    # When the buyer paid (Taobao's and Pinduoduo's pay_time): a default ship-by counts from it, not from when
    # the paid message happened to reach us (a redelivered or late message would push the deadline back).
    paid_at: datetime | None = None

    @property
    def has_address(self) -> bool:
        return bool(self.receiver_name and self.receiver_state and self.receiver_address)


class MessageKind(StrEnum):
    PAID = "paid"
    ADDRESS_CHANGED = "address_changed"
    CLOSED = "closed"  # a close or refund: the order read back decides
    OTHER = "other"


@dataclass(frozen=True)
class ChannelMessage:
    """One order message, verified and parsed: whose (``seller_id``), about which order, and what kind."""

    channel: ChannelName
    id: str
    topic: str
    kind: MessageKind
    seller_id: str
    external_id: str | None
    content: dict[str, Any]
    # When the channel published it (Taobao's pub_time), or, for Pinduoduo, when we received it; what a grouped
    # read of the orders of several messages lists around. None when neither is known.
    published: datetime | None = None


@dataclass(frozen=True)
class StoreAccess:
    """What a channel needs to act for one bound store."""

    store_id: str
    seller_id: str
    token: str


class Channel(Protocol):
    """A marketplace's side of shipping. The shop's own channel has none of it: see ``own``."""

    name: ChannelName

    def carrier_code(self, carrier: str) -> str:
        """Our carrier code as the channel names it; ChannelError(PERMANENT) when it has no such carrier."""
        ...

    def our_carrier(self, code: str) -> str | None:
        """The channel's carrier code as ours, when we know it."""
        ...

    def may_ship(self, order: ChannelOrder) -> bool:
        """Whether the channel lets this order (or, partly shipped, its other lines) ship now."""
        ...

    def line_ids(self, order_items: Sequence[Mapping[str, Any]]) -> list[str]:
        """The channel's id of each of the order's lines, in order: line n (1-based) is ``[n - 1]``; what
        ``confirm(lines=...)`` takes."""
        ...

    def read_message(self, headers: Mapping[str, str], body: bytes) -> ChannelMessage:
        """One pushed order message, verified: MessageRefused or BadMessage when it is not one."""
        ...

    async def seller_id(self, token: str) -> str:
        """Whose authorisation ``token`` is, as the channel says (binding a store proves it)."""
        ...

    async def fetch_order(self, store: StoreAccess, external_id: str) -> ChannelOrder | None:
        """The order read from the channel; None when the channel says it does not exist."""
        ...

    async def fetch_orders(
        self, store: StoreAccess, published: Mapping[str, datetime | None]
    ) -> dict[str, ChannelOrder]:
        """As many of the orders (external id: when its message was published, None when unsaid) as the
        channel's list calls give, each read after its message was published; one missing from the answer is
        the caller's to read with ``fetch_order``. ChannelError when the channel cannot answer."""
        ...

    async def confirm(
        self,
        store: StoreAccess,
        external_id: str,
        numbers: Sequence[str],
        carrier: str,
        *,
        lines: Sequence[str] | None = None,
        first: bool = True,
    ) -> None:
        """Tell the channel the order shipped with ``numbers`` (``carrier`` is our code): ``numbers[0]`` the
        main number, the rest the order's other parcels. ``lines`` (``line_ids`` values): only those lines
        ship, a part of a split order; None: the whole order. ``first`` False: a later part of a split order.
        ChannelError on a refusal."""
        ...

    async def change_numbers(
        self,
        store: StoreAccess,
        external_id: str,
        numbers: Sequence[str],
        carrier: str,
        *,
        lines: Sequence[str] | None = None,
        first: bool = True,
    ) -> None:
        """Replace the numbers a shipped order (or its ``lines``: a part of a split order) holds on the channel
        with ``numbers`` (main one first); ``first`` False: a later part of a split order, whose numbers are not
        the order's main one. ChannelError on a refusal."""
        ...
