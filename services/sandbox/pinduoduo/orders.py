"""Malls and orders as the platform holds them, and an order as ``pdd.order.information.get`` shows it.

Field names and enumerations are the API's (lywzx/pdd-node-sdk
packages/pdd-origin-api/src/dingDan/PddOrderInformationGet.ts): ``order_status`` 1 待发货, 2 已发货待签收,
3 已签收; ``refund_status`` 1 无售后或售后关闭, 2 售后处理中, 3 退款中, 4 退款成功; ``confirm_status`` 0 未成交,
1 已成交, 2 已取消; ``address`` 收件详细地址 (here with province, city and town before it) and
``receiver_address`` 不拼接省市区; ``receiver_phone`` in clear only while the order awaits shipment, masked
(``1387677****``) otherwise; times ``yyyy-MM-dd HH:mm:ss`` (UTC+8). ``order_info`` has no ``mall_id``: the
access token says whose order it is. Unconfirmed: amounts as JSON numbers in yuan (the SDK types them as
strings), and an unshipped order's ``tracking_number`` "" / ``logistics_id`` 0 / ``shipping_time`` "".
``last_ship_time`` (承诺发货时间) is the paid time plus the order's ship-within (48 h unless set). Extra numbers
(``pdd.order.upload.extra.logistics``) show in ``extra_delivery_list`` (分包发货, 补发商品) and
``gift_delivery_list`` (发放赠品), each ``[{logistics_id, tracking_number}]`` as the pop SDK's
OrderInfoGetResponse has them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from services.sandbox.addresses import Receiver
from services.sandbox.clock import china_time


class OrderStatus(IntEnum):
    AWAITING_SHIPMENT = 1
    SHIPPED = 2
    RECEIVED = 3


class RefundStatus(IntEnum):
    NONE = 1
    IN_PROGRESS = 2
    REFUNDING = 3
    REFUNDED = 4


class ConfirmStatus(IntEnum):
    UNCONFIRMED = 0
    CONFIRMED = 1
    CANCELLED = 2


DEFAULT_SHIP_WITHIN_S = 48 * 3600.0
EXTRA_SPLIT, EXTRA_RESEND, EXTRA_GIFT = 1, 2, 3  # extra_track_type 分包发货, 补发商品, 发放赠品


def yuan(cents: int) -> float:
    return round(cents / 100, 2)


@dataclass
class Mall:
    mall_id: int
    mall_name: str
    access_token: str
    expired_tokens: set[str] = field(default_factory=set)

    def view(self) -> dict[str, Any]:
        return {"mall_id": self.mall_id, "mall_name": self.mall_name, "access_token": self.access_token}


@dataclass(slots=True)
class Item:
    goods_id: int
    sku_id: int
    goods_name: str
    goods_count: int
    price_cents: int

    def view(self) -> dict[str, Any]:
        return {
            "goods_id": self.goods_id,
            "sku_id": self.sku_id,
            "goods_name": self.goods_name,
            "goods_price": yuan(self.price_cents),
            "goods_count": self.goods_count,
            "goods_spec": "默认",
            "outer_id": "",
            "outer_goods_id": "",
        }


@dataclass(frozen=True, slots=True)
class ExtraTrack:
    track_type: int
    logistics_id: int
    tracking_number: str

    def view(self) -> dict[str, Any]:
        return {"logistics_id": self.logistics_id, "tracking_number": self.tracking_number}


@dataclass(slots=True)
class Order:
    order_sn: str
    mall_id: int
    receiver: Receiver
    items: list[Item]
    created: float
    confirm_status: ConfirmStatus
    confirmed: float | None = None
    order_status: OrderStatus = OrderStatus.AWAITING_SHIPMENT
    refund_status: RefundStatus = RefundStatus.NONE
    updated: float = 0.0
    tracking_number: str = ""
    logistics_id: int = 0
    shipped: float | None = None
    refund_id: int | None = None
    extra_tracks: list[ExtraTrack] = field(default_factory=list)
    ship_within_s: float = DEFAULT_SHIP_WITHIN_S

    @property
    def goods_cents(self) -> int:
        return sum(item.price_cents * item.goods_count for item in self.items)

    @property
    def shippable(self) -> bool:
        return (
            self.order_status is OrderStatus.AWAITING_SHIPMENT
            and self.refund_status is RefundStatus.NONE
            and self.confirm_status is ConfirmStatus.CONFIRMED
        )

    def phone_shown(self) -> str:
        phone = self.receiver.mobile
        return phone if self.order_status is OrderStatus.AWAITING_SHIPMENT else phone[:7] + "****"

    def order_info(self) -> dict[str, Any]:
        r = self.receiver
        amount = yuan(self.goods_cents)
        return {
            "order_sn": self.order_sn,
            "order_status": int(self.order_status),
            "refund_status": int(self.refund_status),
            "confirm_status": int(self.confirm_status),
            "group_status": 1,
            "trade_type": 0,
            "after_sales_status": 10 if self.refund_status is RefundStatus.REFUNDED else 0,
            "receiver_name": r.name,
            "receiver_phone": self.phone_shown(),
            "country": "中国",
            "province": r.state,
            "city": r.city,
            "town": r.district,
            "address": f"{r.state}{r.city}{r.district}{r.address}",
            "receiver_address": r.address,
            "item_list": [item.view() for item in self.items],
            "goods_amount": amount,
            "pay_amount": amount,
            "discount_amount": 0.0,
            "postage": 0.0,
            "tracking_number": self.tracking_number,
            "logistics_id": self.logistics_id,
            "created_time": china_time(self.created),
            "confirm_time": china_time(self.confirmed) if self.confirmed is not None else "",
            "pay_time": china_time(self.confirmed) if self.confirmed is not None else "",
            "shipping_time": china_time(self.shipped) if self.shipped is not None else "",
            "updated_at": china_time(self.updated or self.created),
            "last_ship_time": china_time((self.confirmed or self.created) + self.ship_within_s),
            "extra_delivery_list": [t.view() for t in self.extra_tracks if t.track_type != EXTRA_GIFT],
            "gift_delivery_list": [t.view() for t in self.extra_tracks if t.track_type == EXTRA_GIFT],
            "remark": "",
            "buyer_memo": "",
        }

    def control_view(self) -> dict[str, Any]:
        view = self.order_info()
        view["mall_id"] = self.mall_id
        view["receiver_phone"] = self.receiver.mobile  # the control side always sees the number in clear
        return view
