"""Control of the Pinduoduo imitation: malls and tokens, orders and what happens to them, faults, messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query, Request
from pydantic import BaseModel, Field, ValidationError

from services.sandbox.pinduoduo.faults import PddFaultConfig
from services.sandbox.pinduoduo.orders import Mall, Order
from services.sandbox.pinduoduo.store import Pinduoduo
from services.sandbox.world import world_of

router = APIRouter(prefix="/control/pinduoduo", tags=["control"])

Text = Annotated[str, Field(min_length=1, max_length=200)]


class NewMall(BaseModel):
    mall_name: str | None = Field(None, min_length=1, max_length=64, description="Generated when absent.")


class ReceiverFields(BaseModel):
    receiver_name: Text | None = None
    receiver_phone: Annotated[str, Field(pattern=r"^1\d{10}$")] | None = None
    province: Text | None = None
    city: Text | None = None
    town: Text | None = None
    address: Text | None = None


class NewOrders(ReceiverFields):
    mall_id: int
    count: int = Field(1, ge=1, le=20_000)
    confirmed: bool = Field(
        True, description="Confirmed (paid, 成交) orders await shipment and publish TradeConfirmed."
    )
    goods_name: Text | None = None
    goods_count: int | None = Field(None, ge=1, le=10_000)
    goods_price_cents: int | None = Field(None, ge=1, le=100_000_000, description="Unit price, in fen.")
    ship_within_hours: float | None = Field(
        None, gt=0, le=24 * 30, description="last_ship_time = paid time + this (48 h when absent)."
    )


class Refund(BaseModel):
    agree: bool = Field(True, description="false: the buyer asks (售后处理中); true: the refund succeeds (退款成功).")


def _pdd(request: Request) -> Pinduoduo:
    return world_of(request).pinduoduo


def _mall(pdd: Pinduoduo, mall_id: int) -> Mall:
    mall = pdd.malls.get(mall_id)
    if mall is None:
        raise HTTPException(404, f"no mall {mall_id}")
    return mall


def _order(pdd: Pinduoduo, order_sn: str) -> Order:
    order = pdd.orders.get(order_sn)
    if order is None:
        raise HTTPException(404, f"no order {order_sn[:64]}")
    return order


@router.post("/malls", summary="Create a mall (seller) with its access token")
async def create_mall(request: Request, body: NewMall | None = None) -> dict[str, Any]:
    return _pdd(request).create_mall(body.mall_name if body else None).view()


@router.get("/malls", summary="Every mall")
async def list_malls(request: Request) -> list[dict[str, Any]]:
    return [mall.view() for mall in _pdd(request).malls.values()]


@router.post("/malls/{mall_id}/token", summary="Issue a new access token; the old one answers 10019 from now on")
async def renew_token(request: Request, mall_id: int) -> dict[str, Any]:
    pdd = _pdd(request)
    return pdd.renew_token(_mall(pdd, mall_id)).view()


@router.post("/orders", summary="Create orders with realistic receivers (confirmed ones publish messages)")
async def create_orders(request: Request, body: NewOrders) -> dict[str, Any]:
    pdd = _pdd(request)
    mall = _mall(pdd, body.mall_id)
    overrides = body.model_dump(exclude_none=True, exclude={"mall_id", "count", "confirmed"})
    return {"order_sns": pdd.create_orders(mall, body.count, body.confirmed, overrides)}


@router.get("/orders/{order_sn}", summary="An order as the platform holds it (with mall_id and what it shipped with)")
async def get_order(request: Request, order_sn: str) -> dict[str, Any]:
    return _order(_pdd(request), order_sn).control_view()


def _change(request: Request, order_sn: str, change: Callable[[Pinduoduo, Order], None]) -> dict[str, Any]:
    """The order after ``change``; 404 for an unknown order, 409 for a change its state refuses."""
    pdd = _pdd(request)
    order = _order(pdd, order_sn)
    try:
        change(pdd, order)
    except ValueError as exc:
        raise HTTPException(409, str(exc)) from None
    return order.control_view()


@router.post("/orders/{order_sn}/confirm", summary="The order is confirmed (成交): publishes TradeConfirmed")
async def confirm_order(request: Request, order_sn: str) -> dict[str, Any]:
    return _change(request, order_sn, Pinduoduo.confirm)


@router.post("/orders/{order_sn}/refund", summary="A refund: RefundCreated, then RefundAgreeAgreement when agreed")
async def refund_order(request: Request, order_sn: str, body: Refund | None = None) -> dict[str, Any]:
    agree = body.agree if body else True
    return _change(request, order_sn, lambda pdd, order: pdd.refund(order, agree))


@router.post("/orders/{order_sn}/cancel", summary="Cancel before shipment (a confirmed order is refunded in full)")
async def cancel_order(request: Request, order_sn: str) -> dict[str, Any]:
    return _change(request, order_sn, Pinduoduo.cancel)


@router.post(
    "/orders/{order_sn}/address",
    summary="Change the receiver (publishes TradeLogisticsAddressChanged); no fields: a new random receiver",
)
async def change_address(request: Request, order_sn: str, body: ReceiverFields | None = None) -> dict[str, Any]:
    changes = body.model_dump(exclude_none=True) if body else {}
    return _change(request, order_sn, lambda pdd, order: pdd.change_address(order, changes))


@router.get("/faults", summary="Current Pinduoduo fault settings")
async def get_faults(request: Request) -> dict[str, Any]:
    return _pdd(request).faults.config.model_dump()


@router.put("/faults", summary="Change Pinduoduo fault settings (fields not given keep their value)")
async def put_faults(request: Request, changes: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    faults = _pdd(request).faults
    try:
        config = PddFaultConfig.model_validate({**faults.config.model_dump(), **changes})
    except ValidationError as exc:
        raise HTTPException(422, exc.errors(include_url=False, include_context=False)) from None
    faults.configure(config)
    return config.model_dump()


@router.get("/messages/stats", summary="Message delivery counters")
async def message_stats(request: Request) -> dict[str, int]:
    return _pdd(request).outbox.stats.view()


@router.get("/messages", summary="Published messages and their delivery attempts, oldest first")
async def list_messages(
    request: Request,
    order_sn: str | None = None,
    pending_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=20_000)] = 1000,
) -> list[dict[str, Any]]:
    found = []
    for message in _pdd(request).outbox.messages.values():
        if order_sn is not None and message.order_sn != order_sn:
            continue
        if pending_only and message.delivered_at is not None:
            continue
        found.append(message.view())
    return found[-limit:]
