"""Control endpoints: set the world up, inspect it, and turn faults on. No auth: it is a sandbox."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, HTTPException, Query, Request
from pydantic import BaseModel, Field, ValidationError

from services.sandbox.clock import china_time, utc_iso
from services.sandbox.faults import FaultConfig
from services.sandbox.marketplace import TRADE_STATES, Trade
from services.sandbox.tracking_provider import KINDS
from services.sandbox.world import World

router = APIRouter(prefix="/control", tags=["control"])


def world(request: Request) -> World:
    found: World = request.app.state.world
    return found


@router.post("/reset", summary="Forget everything: trades, numbers, parcels, messages, faults, clock")
async def reset(request: Request) -> dict[str, str]:
    await world(request).reset()
    return {"status": "reset"}


# -- faults and time ------------------------------------------------------------------------------------


def _faults_view(w: World) -> dict[str, Any]:
    view = w.faults.config.model_dump()
    view["courier_down_remaining_s"] = round(w.faults.courier_down_remaining(), 3)
    view["time_acceleration"] = w.clock.factor
    return view


@router.get("/faults", summary="Current fault settings")
async def get_faults(request: Request) -> dict[str, Any]:
    return _faults_view(world(request))


@router.put("/faults", summary="Change fault settings (fields not given keep their value)")
async def put_faults(request: Request, changes: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    w = world(request)
    acceleration = changes.pop("time_acceleration", None)
    down = changes.pop("courier_down_s", None)
    try:
        config = FaultConfig.model_validate({**w.faults.config.model_dump(), **changes})
    except ValidationError as exc:
        raise HTTPException(422, exc.errors(include_url=False, include_context=False)) from None
    if acceleration is not None:
        if not isinstance(acceleration, int | float) or acceleration <= 0:
            raise HTTPException(422, "time_acceleration must be a positive number")
        w.clock.set_factor(float(acceleration))
    if down is not None:
        if not isinstance(down, int | float) or down < 0:
            raise HTTPException(422, "courier_down_s must be a non-negative number")
        w.faults.courier_down_for(float(down))
    w.faults.configure(config)
    return _faults_view(w)


def _clock_view(w: World) -> dict[str, Any]:
    now = w.clock.now()
    return {"now": utc_iso(now), "now_epoch": now, "china_time": china_time(now), "acceleration": w.clock.factor}


class ClockChange(BaseModel):
    acceleration: float = Field(gt=0, description="Simulated seconds per real second.")


class Advance(BaseModel):
    seconds: float = Field(ge=0, description="Simulated seconds to jump ahead.")


@router.get("/clock", summary="The simulated clock (tracking journeys run on it)")
async def get_clock(request: Request) -> dict[str, Any]:
    return _clock_view(world(request))


@router.put("/clock", summary="Change the time acceleration")
async def put_clock(request: Request, change: ClockChange) -> dict[str, Any]:
    w = world(request)
    w.clock.set_factor(change.acceleration)
    return _clock_view(w)


@router.post("/clock/advance", summary="Jump the simulated clock ahead")
async def advance_clock(request: Request, advance: Advance) -> dict[str, Any]:
    w = world(request)
    w.clock.advance(advance.seconds)
    # Whatever became due has happened by the time this answers, so a caller can query right away.
    w.scheduler.run_due()
    return _clock_view(w)


# -- couriers -------------------------------------------------------------------------------------------


class Down(BaseModel):
    seconds: float = Field(ge=0, description="How long the couriers stay down; 0 brings them back.")


class NumberList(BaseModel):
    waybill_codes: list[str] = Field(max_length=100_000)


@router.post("/courier/down", summary="Take the couriers down for N seconds")
async def courier_down(request: Request, down: Down) -> dict[str, Any]:
    w = world(request)
    w.faults.courier_down_for(down.seconds)
    return {"down_for_s": round(w.faults.courier_down_remaining(), 3)}


@router.post("/courier/expire", summary="Make issued numbers expired now (for F01)")
async def courier_expire(request: Request, body: NumberList) -> dict[str, Any]:
    w = world(request)
    unknown = []
    past = time.time() - 1
    for code in body.waybill_codes:
        record = w.registry.numbers.get(code)
        if record is None:
            unknown.append(code)
        else:
            record.expire_at = past
    return {"expired": len(body.waybill_codes) - len(unknown), "unknown": unknown}


@router.get("/courier/numbers/{code}", summary="One issued number as the couriers know it")
async def courier_number(request: Request, code: str) -> dict[str, Any]:
    record = world(request).registry.numbers.get(code)
    if record is None:
        raise HTTPException(404, f"{code} was never issued")
    return {
        "number": record.number,
        "cp_code": record.cp_code,
        "seller_id": record.seller_id,
        "object_id": record.object_id,
        "expire_at": utc_iso(record.expire_at),
        "state": record.state.name.lower(),
    }


# -- marketplace ----------------------------------------------------------------------------------------


class NewSeller(BaseModel):
    seller_nick: str | None = Field(None, min_length=1, max_length=64, description="Generated when absent.")


class NewTrades(BaseModel):
    seller_nick: str
    count: int = Field(1, ge=1, le=20_000)
    paid: bool = Field(True, description="Paid trades wait for shipping and publish TradeBuyerPay.")


class AddressChange(BaseModel):
    name: str | None = None
    mobile: str | None = None
    state: str | None = None
    city: str | None = None
    district: str | None = None
    address: str | None = None
    zip: str | None = None


class StatusChange(BaseModel):
    status: Literal[TRADE_STATES]  # type: ignore[valid-type]


def _trade(w: World, tid: str) -> Trade:
    trade = w.marketplace.trades.get(tid)
    if trade is None:
        raise HTTPException(404, f"no trade {tid}")
    return trade


@router.post("/marketplace/sellers", summary="Create a seller (or return the existing one of that nick)")
async def create_seller(request: Request, body: NewSeller | None = None) -> dict[str, str]:
    seller = world(request).marketplace.create_seller(body.seller_nick if body else None)
    return {"seller_nick": seller.nick, "user_id": seller.user_id, "session": seller.session}


@router.get("/marketplace/sellers", summary="Every seller")
async def list_sellers(request: Request) -> list[dict[str, str]]:
    return [
        {"seller_nick": s.nick, "user_id": s.user_id, "session": s.session}
        for s in world(request).marketplace.sellers.values()
    ]


@router.post("/marketplace/trades", summary="Create trades with realistic receivers (paid ones publish messages)")
async def create_trades(request: Request, body: NewTrades) -> dict[str, Any]:
    market = world(request).marketplace
    if body.seller_nick not in market.sellers:
        raise HTTPException(404, f"no seller {body.seller_nick!r}: create it first")
    return {"tids": market.create_trades(body.seller_nick, body.count, body.paid)}


@router.get("/marketplace/trades/{tid}", summary="A trade, with what it shipped with")
async def get_trade(request: Request, tid: str) -> dict[str, Any]:
    return _trade(world(request), tid).control_view()


def _transition(request: Request, tid: str, action: str, extra: dict[str, str] | None = None) -> dict[str, Any]:
    w = world(request)
    trade = _trade(w, tid)
    market = w.marketplace
    try:
        if action == "pay":
            market.pay(trade)
        elif action == "close":
            market.close(trade)
        elif action == "address":
            market.change_address(trade, extra or {})
        elif action == "block":
            if trade.status != "WAIT_SELLER_SEND_GOODS":
                raise ValueError(f"only a WAIT_SELLER_SEND_GOODS trade can be blocked, not {trade.status}")
            market.set_status(trade, "PAID_FORBID_CONSIGN")
        elif action == "unblock":
            if trade.status != "PAID_FORBID_CONSIGN":
                raise ValueError(f"trade is {trade.status}, not blocked")
            market.set_status(trade, "WAIT_SELLER_SEND_GOODS")
    except ValueError as exc:
        raise HTTPException(409, str(exc)) from None
    return trade.control_view()


@router.post("/marketplace/trades/{tid}/pay", summary="The buyer pays (publishes TradeBuyerPay)")
async def pay_trade(request: Request, tid: str) -> dict[str, Any]:
    return _transition(request, tid, "pay")


@router.post("/marketplace/trades/{tid}/close", summary="Close the trade (publishes TradeClose)")
async def close_trade(request: Request, tid: str) -> dict[str, Any]:
    return _transition(request, tid, "close")


@router.post(
    "/marketplace/trades/{tid}/address",
    summary="Change the receiver (publishes TradeLogisticsAddressChanged); no body: a new random receiver",
)
async def change_address(request: Request, tid: str, body: AddressChange | None = None) -> dict[str, Any]:
    changes = body.model_dump(exclude_none=True) if body else {}
    return _transition(request, tid, "address", changes)


@router.post("/marketplace/trades/{tid}/block", summary="Block shipping: PAID_FORBID_CONSIGN")
async def block_trade(request: Request, tid: str) -> dict[str, Any]:
    return _transition(request, tid, "block")


@router.post("/marketplace/trades/{tid}/unblock", summary="Allow shipping again")
async def unblock_trade(request: Request, tid: str) -> dict[str, Any]:
    return _transition(request, tid, "unblock")


@router.put("/marketplace/trades/{tid}/status", summary="Force any trade status (no message published)")
async def set_trade_status(request: Request, tid: str, body: StatusChange) -> dict[str, Any]:
    w = world(request)
    trade = _trade(w, tid)
    w.marketplace.set_status(trade, body.status)
    return trade.control_view()


@router.get("/marketplace/messages/stats", summary="Order message delivery counters")
async def message_stats(request: Request) -> dict[str, int]:
    return world(request).marketplace.stats.view()


@router.get("/marketplace/messages", summary="Published messages, newest last")
async def list_messages(
    request: Request,
    tid: str | None = None,
    pending_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=20_000)] = 1000,
) -> list[dict[str, Any]]:
    found = []
    for message in world(request).marketplace.messages.values():
        if tid is not None and message.tid != tid:
            continue
        if pending_only and message.delivered_at is not None:
            continue
        found.append(message.view())
    return found[-limit:]


# -- tracking -------------------------------------------------------------------------------------------


class KindOverrides(BaseModel):
    kinds: dict[str, Literal[KINDS]] = Field(  # type: ignore[valid-type]
        description="Waybill number -> journey kind, for numbers subscribed from now on."
    )


@router.get("/tracking/parcels", summary="The simulated truth of parcels (given numbers, or all)")
async def tracking_parcels(
    request: Request,
    number: Annotated[list[str] | None, Query()] = None,
    include_events: Annotated[bool | None, Query(description="Default: only when numbers are given.")] = None,
) -> list[dict[str, Any]]:
    provider = world(request).tracking
    numbers = number if number else list(provider.parcels)
    views = [provider.truth(n) for n in numbers]
    if not (include_events if include_events is not None else bool(number)):
        for view in views:
            view.pop("events", None)
    return views


@router.get("/tracking/stats", summary="Parcel and push counters")
async def tracking_stats(request: Request) -> dict[str, Any]:
    return world(request).tracking.stats()


@router.put("/tracking/kinds", summary="Force the journey kind of given numbers (before they are subscribed)")
async def tracking_kinds(request: Request, body: KindOverrides) -> dict[str, int]:
    world(request).tracking.kind_overrides.update(body.kinds)
    return {"overrides": len(world(request).tracking.kind_overrides)}
