"""Sellers and trades as the marketplace holds them, and a trade as TOP shows it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from services.sandbox.addresses import Receiver
from services.sandbox.clock import china_time


class TradeStatus(StrEnum):
    WAIT_BUYER_PAY = "WAIT_BUYER_PAY"
    WAIT_SELLER_SEND_GOODS = "WAIT_SELLER_SEND_GOODS"
    SELLER_CONSIGNED_PART = "SELLER_CONSIGNED_PART"
    WAIT_BUYER_CONFIRM_GOODS = "WAIT_BUYER_CONFIRM_GOODS"
    TRADE_BUYER_SIGNED = "TRADE_BUYER_SIGNED"
    TRADE_FINISHED = "TRADE_FINISHED"
    TRADE_CLOSED = "TRADE_CLOSED"
    TRADE_CLOSED_BY_TAOBAO = "TRADE_CLOSED_BY_TAOBAO"
    PAID_FORBID_CONSIGN = "PAID_FORBID_CONSIGN"


# The wire values, for the control endpoint that forces a status.
TRADE_STATES = tuple(status.value for status in TradeStatus)
SHIPPABLE = frozenset({TradeStatus.WAIT_SELLER_SEND_GOODS, TradeStatus.SELLER_CONSIGNED_PART})
# Not shipped and not over: such a trade can still be closed, and its address can still change.
OPEN_UNSHIPPED = frozenset(
    {TradeStatus.WAIT_BUYER_PAY, TradeStatus.WAIT_SELLER_SEND_GOODS, TradeStatus.PAID_FORBID_CONSIGN}
)


def yuan(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


@dataclass
class Seller:
    nick: str
    user_id: str
    session: str


@dataclass(slots=True)
class OrderLine:
    oid: str
    title: str
    num: int
    price_cents: int

    @property
    def total_cents(self) -> int:
        return self.price_cents * self.num


@dataclass(slots=True)
class Trade:
    tid: str
    seller_nick: str
    buyer_nick: str
    status: TradeStatus
    created: float
    modified: float
    pay_time: float | None
    receiver: Receiver
    orders: list[OrderLine]
    weight_g: int
    company_code: str | None = None
    out_sid: str | None = None
    consign_time: float | None = None

    @property
    def payment_cents(self) -> int:
        return sum(line.total_cents for line in self.orders)

    def _order_view(self, line: OrderLine) -> dict[str, Any]:
        total = yuan(line.total_cents)
        order: dict[str, Any] = {
            "oid": line.oid,
            "title": line.title,
            "num": line.num,
            "price": yuan(line.price_cents),
            "total_fee": total,
            "payment": total,
            "status": self.status,
        }
        if self.out_sid is not None:
            order["logistics_company"] = self.company_code
            order["invoice_no"] = self.out_sid
        return order

    def to_top(self) -> dict[str, Any]:
        payment = yuan(self.payment_cents)
        trade: dict[str, Any] = {
            "tid": self.tid,
            "type": "fixed",
            "status": self.status,
            "seller_nick": self.seller_nick,
            "buyer_nick": self.buyer_nick,
            "payment": payment,
            "total_fee": payment,
            "post_fee": "0.00",
            "num": sum(line.num for line in self.orders),
            "created": china_time(self.created),
            "modified": china_time(self.modified),
            "receiver_name": self.receiver.name,
            "receiver_mobile": self.receiver.mobile,
            "receiver_state": self.receiver.state,
            "receiver_city": self.receiver.city,
            "receiver_district": self.receiver.district,
            "receiver_address": self.receiver.address,
            "receiver_zip": self.receiver.zip,
            "weight_g": self.weight_g,
            "orders": {"order": [self._order_view(line) for line in self.orders]},
        }
        if self.pay_time is not None:
            trade["pay_time"] = china_time(self.pay_time)
        if self.consign_time is not None:
            trade["consign_time"] = china_time(self.consign_time)
        return trade

    def control_view(self) -> dict[str, Any]:
        view = self.to_top()
        view["shipping"] = (
            {"company_code": self.company_code, "out_sid": self.out_sid, "consign_time": view.get("consign_time")}
            if self.out_sid is not None
            else None
        )
        return view
