"""Control of the marketplace: sellers, trades and what happens to them, the order messages and how they travel."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from services.sandbox.marketplace.store import Marketplace
from services.sandbox.marketplace.trades import TRADE_STATES, Trade, TradeStatus
from services.sandbox.world import World, world_of

router = APIRouter(prefix="/control", tags=["control"])


class NewSeller(BaseModel):
    seller_nick: str | None = Field(None, min_length=1, max_length=64, description="Generated when absent.")


class NewTrades(BaseModel):
    seller_nick: str
    count: int = Field(1, ge=1, le=20_000)
    paid: bool = Field(True, description="Paid trades wait for shipping and publish TradeBuyerPay.")
    lines: int | None = Field(None, ge=1, le=20, description="Order lines per trade (random, mostly 1, when absent).")


class AddressChange(BaseModel):
    name: str | None = None
    mobile: str | None = None
    state: str | None = None
    city: str | None = None
    district: str | None = None
    address: str | None = None
    zip: str | None = None


class DeliveryChange(BaseModel):
    """Fields left out keep their value. A reset of the sandbox goes back to push and the defaults."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["push", "tmc"] | None = Field(
        None, description="push: HTTP form to the webhook (the default); tmc: queued for TMC consumers."
    )
    tmc_group: str | None = Field(
        None, min_length=1, max_length=64, description="The TMC group order messages go to (default: default)."
    )
    tmc_redelivery_s: float | None = Field(
        None, gt=0, le=3600, description="A TMC message not confirmed within this many seconds is sent again (30)."
    )
    tmc_drop_connection_after: int | None = Field(
        None,
        ge=0,
        le=1_000_000,
        description="Fault: close the TMC connection right after the next N-th message sent (once); 0: off.",
    )


class StatusChange(BaseModel):
    status: Literal[TRADE_STATES]  # type: ignore[valid-type]


def _trade(w: World, tid: str) -> Trade:
    trade = w.marketplace.trades.get(tid)
    if trade is None:
        raise HTTPException(404, f"no trade {tid}")
    return trade


@router.post("/marketplace/sellers", summary="Create a seller (or return the existing one of that nick)")
async def create_seller(request: Request, body: NewSeller | None = None) -> dict[str, str]:
    seller = world_of(request).marketplace.create_seller(body.seller_nick if body else None)
    return {"seller_nick": seller.nick, "user_id": seller.user_id, "session": seller.session}


@router.get("/marketplace/sellers", summary="Every seller")
async def list_sellers(request: Request) -> list[dict[str, str]]:
    return [
        {"seller_nick": s.nick, "user_id": s.user_id, "session": s.session}
        for s in world_of(request).marketplace.sellers.values()
    ]


@router.post("/marketplace/trades", summary="Create trades with realistic receivers (paid ones publish messages)")
async def create_trades(request: Request, body: NewTrades) -> dict[str, Any]:
    market = world_of(request).marketplace
    if body.seller_nick not in market.sellers:
        raise HTTPException(404, f"no seller {body.seller_nick!r}: create it first")
    return {"tids": market.create_trades(body.seller_nick, body.count, body.paid, body.lines)}


@router.get("/marketplace/trades/{tid}", summary="A trade, with what it shipped with (each consignment's packages)")
async def get_trade(request: Request, tid: str) -> dict[str, Any]:
    return _trade(world_of(request), tid).control_view()


def _change(request: Request, tid: str, change: Callable[[Marketplace, Trade], None]) -> dict[str, Any]:
    """The trade after ``change``; 404 for an unknown trade, 409 for a change its status refuses."""
    w = world_of(request)
    trade = _trade(w, tid)
    try:
        change(w.marketplace, trade)
    except ValueError as exc:
        raise HTTPException(409, str(exc)) from None
    return trade.control_view()


@router.post("/marketplace/trades/{tid}/pay", summary="The buyer pays (publishes TradeBuyerPay)")
async def pay_trade(request: Request, tid: str) -> dict[str, Any]:
    return _change(request, tid, Marketplace.pay)


@router.post("/marketplace/trades/{tid}/close", summary="Close the trade (publishes TradeClose)")
async def close_trade(request: Request, tid: str) -> dict[str, Any]:
    return _change(request, tid, Marketplace.close)


@router.post(
    "/marketplace/trades/{tid}/address",
    summary="Change the receiver (publishes TradeLogisticsAddressChanged); no body: a new random receiver",
)
async def change_address(request: Request, tid: str, body: AddressChange | None = None) -> dict[str, Any]:
    changes = body.model_dump(exclude_none=True) if body else {}
    return _change(request, tid, lambda market, trade: market.change_address(trade, changes))


@router.post("/marketplace/trades/{tid}/block", summary="Block shipping: PAID_FORBID_CONSIGN")
async def block_trade(request: Request, tid: str) -> dict[str, Any]:
    return _change(request, tid, Marketplace.block)


@router.post("/marketplace/trades/{tid}/unblock", summary="Allow shipping again")
async def unblock_trade(request: Request, tid: str) -> dict[str, Any]:
    return _change(request, tid, Marketplace.unblock)


@router.put("/marketplace/trades/{tid}/status", summary="Force any trade status (no message published)")
async def set_trade_status(request: Request, tid: str, body: StatusChange) -> dict[str, Any]:
    w = world_of(request)
    trade = _trade(w, tid)
    w.marketplace.set_status(trade, TradeStatus(body.status))
    return trade.control_view()


@router.get("/marketplace/messages/stats", summary="Order message delivery counters")
async def message_stats(request: Request) -> dict[str, int]:
    return world_of(request).marketplace.outbox.stats.view()


@router.get("/marketplace/messages", summary="Published messages, newest last")
async def list_messages(
    request: Request,
    tid: str | None = None,
    pending_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=20_000)] = 1000,
) -> list[dict[str, Any]]:
    found = []
    for message in world_of(request).marketplace.outbox.messages.values():
        if tid is not None and message.tid != tid:
            continue
        if pending_only and message.delivered_at is not None:
            continue
        found.append(message.view())
    return found[-limit:]


@router.get("/marketplace/messages/delivery", summary="How order messages travel: push or tmc, and TMC's knobs")
async def get_delivery(request: Request) -> dict[str, Any]:
    return world_of(request).marketplace.outbox.tmc.config_view()


@router.put("/marketplace/messages/delivery", summary="Set the delivery mode (push or tmc) and TMC's knobs")
async def set_delivery(request: Request, body: DeliveryChange) -> dict[str, Any]:
    hub = world_of(request).marketplace.outbox.tmc
    hub.configure(
        mode=body.mode,
        group=body.tmc_group,
        redelivery_s=body.tmc_redelivery_s,
        drop_after=body.tmc_drop_connection_after,
    )
    return hub.config_view()


@router.get("/marketplace/messages/tmc", summary="TMC counters: connects, refusals, sends, confirms, repeats")
async def tmc_stats(request: Request) -> dict[str, int]:
    return world_of(request).marketplace.outbox.tmc.stats_view()
