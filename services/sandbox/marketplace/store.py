"""The marketplace's state: sellers, their trades and the numbers trades shipped with, and every change to them.

Changes come from the control endpoints (a buyer pays, a trade closes...), from an offline send, and from the
tracking simulation (a signed parcel); those that the real marketplace announces publish an order message.
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable
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
from services.sandbox.marketplace.trades import OPEN_UNSHIPPED, OrderLine, Seller, Trade, TradeStatus
from services.sandbox.numbers import NumberRegistry
from services.sandbox.settings import SandboxSettings


@dataclass
class Marketplace:
    """Sellers, trades and the order-message outbox. A change the trade's status refuses raises ValueError."""

    settings: SandboxSettings
    faults: FaultInjector
    registry: NumberRegistry
    new_client: Callable[[], httpx.AsyncClient]
    rng: random.Random = field(init=False)
    sellers: dict[str, Seller] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)
    trades: dict[str, Trade] = field(default_factory=dict)
    used_numbers: dict[str, str] = field(default_factory=dict)  # out_sid -> tid it shipped
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

    def _order_lines(self) -> tuple[list[OrderLine], int]:
        lines: list[OrderLine] = []
        weight = 0
        for _ in range(self.rng.choices((1, 2, 3), weights=(70, 22, 8))[0]):
            title, (pmin, pmax), (wmin, wmax) = self.rng.choice(addresses.ITEMS)
            num = self.rng.choices((1, 2, 3), weights=(80, 15, 5))[0]
            price = self.rng.randrange(pmin, pmax + 1, 10)  # prices end in a 0 cent, like shop prices do
            lines.append(OrderLine(self._next_tid(), title, num, price))
            weight += self.rng.randint(wmin, wmax) * num
        return lines, min(20_000, max(100, weight))

    def create_trades(self, seller_nick: str, count: int, paid: bool) -> list[str]:
        now = time.time()
        tids: list[str] = []
        for _ in range(count):
            lines, weight = self._order_lines()
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

    def ship(self, trade: Trade, company_code: str, out_sid: str) -> None:
        """An accepted offline send: the trade waits for the buyer, the number counts as collected."""
        now = time.time()
        trade.status = TradeStatus.WAIT_BUYER_CONFIRM_GOODS
        trade.company_code, trade.out_sid, trade.consign_time, trade.modified = company_code, out_sid, now, now
        self.used_numbers[out_sid] = trade.tid
        self.registry.collect(out_sid)

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
