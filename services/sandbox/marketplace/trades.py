"""Sellers and trades as the marketplace holds them, and a trade as TOP shows it.

A trade ships by consignments: one send (or resend) ships some lines (all of them, or a split send's
``sub_tid``) in one or more packages. Each line shows its consignment's first package as ``invoice_no`` and
``logistics_company``, as TOP does, and every package in ``consign_pkgs`` (the sandbox's field: the real
platform's place for a multi-package trade's other numbers is unconfirmed). While some lines wait
(``SELLER_CONSIGNED_PART``) each line's ``status`` says whether it shipped."""

from __future__ import annotations

from dataclasses import dataclass, field
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


@dataclass(frozen=True, slots=True)
class Package:
    company_code: str
    out_sid: str

    def view(self) -> dict[str, str]:
        return {"company_code": self.company_code, "out_sid": self.out_sid}


@dataclass(slots=True)
class Consignment:
    """One accepted send: the lines it shipped, its packages (the first is the main one), and when."""

    oids: tuple[str, ...]
    packages: list[Package]
    consigned: float  # real time: what consign_time shows
    consigned_sim: float  # the sandbox clock: what the 24 h limit on a resend counts from

    @property
    def numbers(self) -> list[str]:
        return [p.out_sid for p in self.packages]


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
    consignments: list[Consignment] = field(default_factory=list)

    @property
    def payment_cents(self) -> int:
        return sum(line.total_cents for line in self.orders)

    def consignment_of(self, oid: str) -> Consignment | None:
        return next((c for c in self.consignments if oid in c.oids), None)

    @property
    def unshipped(self) -> list[str]:
        return [line.oid for line in self.orders if self.consignment_of(line.oid) is None]

    @property
    def main(self) -> Package | None:
        """The first consignment's main package: the trade's number as one number."""
        return self.consignments[0].packages[0] if self.consignments else None

    @property
    def consign_time(self) -> float | None:
        return self.consignments[0].consigned if self.consignments else None

    def _line_status(self, line: OrderLine) -> str:
        if self.status is TradeStatus.SELLER_CONSIGNED_PART:
            shipped = self.consignment_of(line.oid) is not None
            return TradeStatus.WAIT_BUYER_CONFIRM_GOODS if shipped else TradeStatus.WAIT_SELLER_SEND_GOODS
        return self.status

    def _order_view(self, line: OrderLine) -> dict[str, Any]:
        total = yuan(line.total_cents)
        order: dict[str, Any] = {
            "oid": line.oid,
            "title": line.title,
            "num": line.num,
            "price": yuan(line.price_cents),
            "total_fee": total,
            "payment": total,
            "status": self._line_status(line),
        }
        shipped = self.consignment_of(line.oid)
        if shipped is not None:
            order["logistics_company"] = shipped.packages[0].company_code
            order["invoice_no"] = shipped.packages[0].out_sid
            order["consign_time"] = china_time(shipped.consigned)
            order["consign_pkgs"] = [p.view() for p in shipped.packages]
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
        main = self.main
        view["shipping"] = (
            {"company_code": main.company_code, "out_sid": main.out_sid, "consign_time": view.get("consign_time")}
            if main is not None
            else None
        )
        view["consignments"] = [
            {"oids": list(c.oids), "packages": [p.view() for p in c.packages], "consign_time": china_time(c.consigned)}
            for c in self.consignments
        ]
        return view
