"""The marketplace's state: sellers, their trades and the numbers trades shipped with, and every change to them.

Changes come from the control endpoints (a buyer pays, a trade closes...), from sends and resends, and from
the tracking simulation (a signed parcel); those that the real marketplace announces publish an order message.
Telling the marketplace a parcel shipped collects nothing: only the courier's pick-up (the tracking
simulation's 揽收) does.
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from services.sandbox import addresses
from services.sandbox.addresses import City
from services.sandbox.faults import FaultInjector
from services.sandbox.marketplace.messages import (
    TOPIC_ADDRESS,
    TOPIC_CLOSE,
    TOPIC_PAID,
    Outbox,
    address_content,
    close_content,
    paid_content,
)
from services.sandbox.marketplace.trades import (
    OPEN_UNSHIPPED,
    Consignment,
    OrderLine,
    Package,
    Seller,
    Trade,
    TradeStatus,
)
from services.sandbox.numbers import NumberRegistry
from services.sandbox.settings import SandboxSettings


@dataclass
class Marketplace:
    """Sellers, trades and the order-message outbox. A change the trade's status refuses raises ValueError."""

    settings: SandboxSettings
    faults: FaultInjector
    registry: NumberRegistry
    new_client: Callable[[], httpx.AsyncClient]
    # The sandbox clock (``SimClock.now``): the 24 h a resend is allowed counts on it, so a test can jump it.
    sim_now: Callable[[], float] = time.time
    rng: random.Random = field(init=False)
    sellers: dict[str, Seller] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)
    trades: dict[str, Trade] = field(default_factory=dict)
    used_numbers: dict[str, str] = field(default_factory=dict)  # out_sid -> tid it shipped (every package)
    outbox: Outbox = field(init=False)
    _tids: int = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.settings.seed)
        self.outbox = Outbox(self.settings, self.faults, self.new_client)
        # 19-digit ids like real Taobao tids: past 2^53, which is why every id goes on the wire as a string.
        self._tids = 3_000_000_000_000_000_000 + random.SystemRandom().randrange(10**17)

    def create_seller(self, nick: str | None = None) -> Seller:
        if nick is not None and nick in self.sellers:
            return self.sellers[nick]
        n = len(self.sellers) + 1
        seller = Seller(
            nick=nick or f"沙箱店铺{n:03d}",
            user_id=str(2_200_000_000_000 + self.rng.randrange(10**11)),
            session=f"6100{secrets.token_hex(20)}",
        )
        self.sellers[seller.nick] = seller
        self.sessions[seller.session] = seller.nick
        return seller

    def _next_tid(self) -> str:
        self._tids += self.rng.randint(1, 997)
        return str(self._tids)

    def _buyer_nick(self) -> str:
        return f"tb{self.rng.randrange(10**8, 10**11)}"

    def _order_lines(self, count: int | None) -> tuple[list[OrderLine], int]:
        lines: list[OrderLine] = []
        weight = 0
        for _ in range(count or self.rng.choices((1, 2, 3), weights=(70, 22, 8))[0]):
            title, (pmin, pmax), (wmin, wmax) = self.rng.choice(addresses.ITEMS)
            num = self.rng.choices((1, 2, 3), weights=(80, 15, 5))[0]
            price = self.rng.randrange(pmin, pmax + 1, 10)  # prices end in a 0 cent, like shop prices do
            lines.append(OrderLine(self._next_tid(), title, num, price))
            weight += self.rng.randint(wmin, wmax) * num
        return lines, min(20_000, max(100, weight))

    def create_trades(self, seller_nick: str, count: int, paid: bool, lines_each: int | None = None) -> list[str]:
        """``count`` trades of ``lines_each`` lines (random, mostly one, when None)."""
        now = time.time()
        tids: list[str] = []
        for _ in range(count):
            lines, weight = self._order_lines(lines_each)
            created = now - self.rng.uniform(60, 3600)
            trade = Trade(
                tid=self._next_tid(),
                seller_nick=seller_nick,
                buyer_nick=self._buyer_nick(),
                status=TradeStatus.WAIT_SELLER_SEND_GOODS if paid else TradeStatus.WAIT_BUYER_PAY,
                created=created,
                modified=now if paid else created,
                pay_time=now if paid else None,
                receiver=addresses.receiver(self.rng),
                orders=lines,
                weight_g=weight,
            )
            self.trades[trade.tid] = trade
            tids.append(trade.tid)
            if paid:
                self._publish(trade, TOPIC_PAID, paid_content(trade))
        return tids

    def own_trade(self, seller: str, tid: str) -> Trade | None:
        """The seller's trade; another seller's is as unknown as one that does not exist."""
        trade = self.trades.get(tid)
        return trade if trade is not None and trade.seller_nick == seller else None

    def pay(self, trade: Trade) -> None:
        if trade.status is not TradeStatus.WAIT_BUYER_PAY:
            raise ValueError(f"trade is {trade.status}, not WAIT_BUYER_PAY")
        trade.status = TradeStatus.WAIT_SELLER_SEND_GOODS
        trade.pay_time = trade.modified = time.time()
        self._publish(trade, TOPIC_PAID, paid_content(trade))

    def close(self, trade: Trade) -> None:
        if trade.status not in OPEN_UNSHIPPED:
            raise ValueError(f"a {trade.status} trade cannot be closed")
        self.set_status(trade, TradeStatus.TRADE_CLOSED)
        self._publish(trade, TOPIC_CLOSE, close_content(trade))

    def change_address(self, trade: Trade, changes: dict[str, str]) -> None:
        if trade.status not in OPEN_UNSHIPPED:
            raise ValueError(f"the address of a {trade.status} trade cannot change")
        base = addresses.receiver(self.rng) if not changes else trade.receiver
        trade.receiver = replace(base, **changes)
        trade.modified = time.time()
        self._publish(trade, TOPIC_ADDRESS, address_content(trade))

    def block(self, trade: Trade) -> None:
        if trade.status is not TradeStatus.WAIT_SELLER_SEND_GOODS:
            raise ValueError(f"only a WAIT_SELLER_SEND_GOODS trade can be blocked, not {trade.status}")
        self.set_status(trade, TradeStatus.PAID_FORBID_CONSIGN)

    def unblock(self, trade: Trade) -> None:
        if trade.status is not TradeStatus.PAID_FORBID_CONSIGN:
            raise ValueError(f"trade is {trade.status}, not blocked")
        self.set_status(trade, TradeStatus.WAIT_SELLER_SEND_GOODS)

    def set_status(self, trade: Trade, status: TradeStatus) -> None:
        """Any status, with no message: what the control endpoint that forces a status does."""
        trade.status = status
        trade.modified = time.time()

    def ship(self, trade: Trade, oids: Sequence[str], packages: list[Package]) -> None:
        """An accepted send of ``oids`` in ``packages``: the trade waits for the buyer once every line shipped,
        until then it is SELLER_CONSIGNED_PART."""
        now = time.time()
        trade.consignments.append(Consignment(tuple(oids), packages, now, self.sim_now()))
        for package in packages:
            self.used_numbers[package.out_sid] = trade.tid
        unshipped = bool(trade.unshipped)
        trade.status = TradeStatus.SELLER_CONSIGNED_PART if unshipped else TradeStatus.WAIT_BUYER_CONFIRM_GOODS
        trade.modified = now

    def resend(self, trade: Trade, consignment: Consignment, packages: list[Package]) -> None:
        """An accepted resend: the consignment's packages are ``packages`` now; numbers it no longer holds are
        free again. Its consign time stays: the 24 h count from the first send."""
        kept = {p.out_sid for p in packages}
        for number in consignment.numbers:
            if number not in kept:
                self.used_numbers.pop(number, None)
        consignment.packages = packages
        for number in kept:
            self.used_numbers[number] = trade.tid
        trade.modified = time.time()

    def _publish(self, trade: Trade, topic: str, content: dict[str, Any]) -> None:
        self.outbox.publish(self.sellers[trade.seller_nick], trade.tid, topic, content)

    def destination_of(self, number: str) -> City | None:
        tid = self.used_numbers.get(number)
        if tid is None:
            return None
        receiver = self.trades[tid].receiver
        return addresses.city_of(receiver.state, receiver.city)

    def parcel_signed(self, number: str) -> None:
        """The tracking simulation saw the buyer sign: the trade follows, as on the real marketplace."""
        tid = self.used_numbers.get(number)
        if tid is not None and self.trades[tid].status is TradeStatus.WAIT_BUYER_CONFIRM_GOODS:
            self.set_status(self.trades[tid], TradeStatus.TRADE_BUYER_SIGNED)
