"""The platform's state: malls and their access tokens, orders, the numbers orders shipped with, and every
change to them (from the control endpoints, ``pdd.logistics.online.send`` and
``pdd.order.upload.extra.logistics``), with the messages those changes publish. A change an order's state
refuses raises ValueError. Shipping an order collects none of its numbers: only the courier's pick-up (the
tracking simulation's 揽收) does.
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import httpx

from services.sandbox import addresses
from services.sandbox.clock import CHINA
from services.sandbox.numbers import NumberRegistry
from services.sandbox.pinduoduo.carriers import Company
from services.sandbox.pinduoduo.faults import PddFaults, TokenBucket
from services.sandbox.pinduoduo.messages import (
    ADDRESS_CHANGED,
    REFUND_AGREED,
    REFUND_CREATED,
    SELLER_SHIP,
    TRADE_CONFIRMED,
    PddOutbox,
    ms,
)
from services.sandbox.pinduoduo.orders import (
    ConfirmStatus,
    ExtraTrack,
    Item,
    Mall,
    Order,
    OrderStatus,
    RefundStatus,
)
from services.sandbox.settings import SandboxSettings

# Control-side names of receiver fields -> the sandbox's Receiver fields.
RECEIVER_FIELDS = {
    "receiver_name": "name",
    "receiver_phone": "mobile",
    "province": "state",
    "city": "city",
    "town": "district",
    "address": "address",
}


@dataclass
class Pinduoduo:
    settings: SandboxSettings
    registry: NumberRegistry
    new_client: Callable[[], httpx.AsyncClient]
    faults: PddFaults = field(init=False)
    bucket: TokenBucket = field(init=False)
    rng: random.Random = field(init=False)
    malls: dict[int, Mall] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=dict)  # access_token -> mall_id, expired ones included
    orders: dict[str, Order] = field(default_factory=dict)
    used_numbers: dict[str, str] = field(default_factory=dict)  # tracking_number (or extra one) -> order_sn
    outbox: PddOutbox = field(init=False)
    _refund_ids: int = field(init=False)

    def __post_init__(self) -> None:
        self.faults = PddFaults(self.settings.pinduoduo_faults.model_copy(deep=True))
        self.bucket = TokenBucket(self.settings.pinduoduo_rate_limit_per_s)
        self.rng = random.Random(self.settings.seed)
        self.outbox = PddOutbox(self.settings, self.faults, self.new_client)
        self._refund_ids = 7_000_000_000 + random.SystemRandom().randrange(10**9)

    # Malls and tokens

    def _token(self) -> str:
        return secrets.token_hex(20)

    def create_mall(self, name: str | None = None) -> Mall:
        while True:
            # Not from the seeded rng: a restarted sandbox must not hand out the mall ids of its last run, which
            # shipping may still hold bound to an earlier shop (a second `make demo` on one database met 409).
            mall_id = 100_000_000 + secrets.randbelow(900_000_000)
            if mall_id not in self.malls:
                break
        mall = Mall(mall_id, name or f"沙箱拼多多店铺{len(self.malls) + 1:03d}", self._token())
        self.malls[mall_id] = mall
        self.tokens[mall.access_token] = mall_id
        return mall

    def renew_token(self, mall: Mall) -> Mall:
        """A new access token; the old one answers 10019 (expired) from now on."""
        mall.expired_tokens.add(mall.access_token)
        mall.access_token = self._token()
        self.tokens[mall.access_token] = mall.mall_id
        return mall

    # Orders

    def _order_sn(self, created: float) -> str:
        day = datetime.fromtimestamp(created, CHINA).strftime("%y%m%d")
        while True:
            sn = f"{day}-{self.rng.randrange(10**15):015d}"
            if sn not in self.orders:
                return sn

    def _items(self, overrides: dict[str, Any]) -> list[Item]:
        items = []
        for _ in range(self.rng.choices((1, 2, 3), weights=(75, 20, 5))[0]):
            name, (pmin, pmax), _weight = self.rng.choice(addresses.ITEMS)
            items.append(
                Item(
                    goods_id=self.rng.randrange(10**11, 10**12),
                    sku_id=self.rng.randrange(10**12, 10**13),
                    goods_name=overrides.get("goods_name", name),
                    goods_count=overrides.get("goods_count", self.rng.choices((1, 2, 3), weights=(80, 15, 5))[0]),
                    price_cents=overrides.get("goods_price_cents", self.rng.randrange(pmin, pmax + 1, 10)),
                )
            )
        return items

    def create_orders(self, mall: Mall, count: int, confirmed: bool, overrides: dict[str, Any]) -> list[str]:
        """``count`` orders; confirmed ones (paid, group formed) await shipment and publish TradeConfirmed."""
        receiver_changes = {RECEIVER_FIELDS[k]: v for k, v in overrides.items() if k in RECEIVER_FIELDS}
        now = time.time()
        created: list[str] = []
        for _ in range(count):
            made = now - self.rng.uniform(60, 1800)
            order = Order(
                order_sn=self._order_sn(made),
                mall_id=mall.mall_id,
                receiver=replace(addresses.receiver(self.rng), **receiver_changes),
                items=self._items(overrides),
                created=made,
                confirm_status=ConfirmStatus.UNCONFIRMED,
                updated=made,
            )
            if "ship_within_hours" in overrides:
                order.ship_within_s = float(overrides["ship_within_hours"]) * 3600
            self.orders[order.order_sn] = order
            created.append(order.order_sn)
            if confirmed:
                self.confirm(order)
        return created

    def confirm(self, order: Order) -> None:
        if order.confirm_status is not ConfirmStatus.UNCONFIRMED:
            raise ValueError(f"the order is {order.confirm_status.name.lower()}, not unconfirmed")
        order.confirm_status = ConfirmStatus.CONFIRMED
        order.confirmed = order.updated = time.time()
        self._publish(order, TRADE_CONFIRMED, self._trade_content(order))

    def refund(self, order: Order, agree: bool) -> None:
        """The buyer asks for a refund (RefundCreated); ``agree``: the refund succeeds (RefundAgreeAgreement)."""
        if order.confirm_status is not ConfirmStatus.CONFIRMED:
            raise ValueError("only a confirmed order can be refunded")
        if order.refund_status is RefundStatus.REFUNDED:
            raise ValueError("the order is already refunded")
        if order.refund_status is RefundStatus.NONE:
            order.refund_status = RefundStatus.IN_PROGRESS
            order.refund_id = self._next_refund_id()
            self._publish(order, REFUND_CREATED, self._refund_content(order))
        elif not agree:
            raise ValueError("a refund is already in progress")
        if agree:
            order.refund_status = RefundStatus.REFUNDED
            self._publish(order, REFUND_AGREED, self._refund_content(order))
        order.updated = time.time()

    def cancel(self, order: Order) -> None:
        """Cancelled before shipment: an unconfirmed order is just cancelled, a confirmed one refunded in full."""
        if order.order_status is not OrderStatus.AWAITING_SHIPMENT:
            raise ValueError("a shipped order cannot be cancelled; refund it instead")
        if order.confirm_status is ConfirmStatus.UNCONFIRMED:
            order.confirm_status = ConfirmStatus.CANCELLED
            order.updated = time.time()
            return
        self.refund(order, agree=True)

    def change_address(self, order: Order, changes: dict[str, str]) -> None:
        if order.order_status is not OrderStatus.AWAITING_SHIPMENT:
            raise ValueError("the address of a shipped order cannot change")
        fields = {RECEIVER_FIELDS[k]: v for k, v in changes.items() if k in RECEIVER_FIELDS}
        base = order.receiver if fields else addresses.receiver(self.rng)
        order.receiver = replace(base, **fields)
        order.updated = time.time()
        self._publish(order, ADDRESS_CHANGED, self._trade_content(order))

    def ship(self, order: Order, company: Company, tracking_number: str) -> None:
        now = time.time()
        order.order_status = OrderStatus.SHIPPED
        order.tracking_number, order.logistics_id, order.shipped, order.updated = tracking_number, company.id, now, now
        self.used_numbers[tracking_number] = order.order_sn
        self._publish(order, SELLER_SHIP, self._trade_content(order))

    def redeliver(self, order: Order, company: Company, tracking_number: str) -> None:
        """修改发货: the shipped order's number is ``tracking_number`` now; the old one is free again. Extra
        numbers stay (the platform has no call that removes one)."""
        if order.tracking_number != tracking_number:
            self.used_numbers.pop(order.tracking_number, None)
        order.tracking_number, order.logistics_id, order.updated = tracking_number, company.id, time.time()
        self.used_numbers[tracking_number] = order.order_sn

    def add_extras(self, order: Order, tracks: list[ExtraTrack]) -> None:
        """Extra numbers added to a shipped order; one it holds already is not added twice."""
        held = {t.tracking_number for t in order.extra_tracks}
        for track in tracks:
            if track.tracking_number not in held:
                order.extra_tracks.append(track)
                held.add(track.tracking_number)
                self.used_numbers[track.tracking_number] = order.order_sn
        order.updated = time.time()

    # Messages

    def _next_refund_id(self) -> int:
        self._refund_ids += self.rng.randint(1, 97)
        return self._refund_ids

    def _trade_content(self, order: Order) -> dict[str, Any]:
        return {"mall_id": order.mall_id, "tid": order.order_sn, "modified": ms(order.updated or time.time())}

    def _refund_content(self, order: Order) -> dict[str, Any]:
        return {
            "mall_id": order.mall_id,
            "refund_fee": order.goods_cents,
            "bill_type": 1,
            "modified": ms(time.time()),
            "refund_id": order.refund_id,
            "operation": 1000,
            "tid": order.order_sn,
        }

    def _publish(self, order: Order, type_: str, content: dict[str, Any]) -> None:
        self.outbox.publish(order.mall_id, order.order_sn, type_, content)
