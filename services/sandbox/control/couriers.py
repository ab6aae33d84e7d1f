"""Control of the couriers: an outage, expired numbers, what they know of a number, and how they route a
destination."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from services.sandbox.clock import utc_iso
from services.sandbox.couriers import routing_of
from services.sandbox.numbers import CARRIERS
from services.sandbox.routing import Destination, routing_info
from services.sandbox.world import world_of

router = APIRouter(prefix="/control", tags=["control"])


class Down(BaseModel):
    seconds: float = Field(ge=0, description="How long the couriers stay down; 0 brings them back.")


class NumberList(BaseModel):
    waybill_codes: list[str] = Field(max_length=100_000)


class Place(BaseModel):
    cp_code: str = Field(description="The carrier, e.g. ZTO.")
    province: str = Field(min_length=1, max_length=50)
    city: str = Field(min_length=1, max_length=50)
    district: str = Field("", max_length=50)


@router.post("/courier/down", summary="Take the couriers down for N seconds")
async def courier_down(request: Request, down: Down) -> dict[str, Any]:
    w = world_of(request)
    w.faults.courier_down_for(down.seconds)
    return {"down_for_s": round(w.faults.courier_down_remaining(), 3)}


@router.post("/courier/expire", summary="Make issued numbers expired now (for F01)")
async def courier_expire(request: Request, body: NumberList) -> dict[str, Any]:
    w = world_of(request)
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
    record = world_of(request).registry.numbers.get(code)
    if record is None:
        raise HTTPException(404, f"{code} was never issued")
    return {
        "number": record.number,
        "cp_code": record.cp_code,
        "seller_id": record.seller_id,
        "object_id": record.object_id,
        "expire_at": utc_iso(record.expire_at),
        "state": record.state.name.lower(),
        "recipient": record.recipient,
        "destination": record.destination,
        "routing": routing_of(record),
    }


@router.post("/courier/routing", summary="How a carrier routes a destination (its routingInfo)")
async def courier_routing(place: Place) -> dict[str, Any]:
    if place.cp_code not in CARRIERS:
        raise HTTPException(404, f"unknown cp_code {place.cp_code!r}")
    return routing_info(place.cp_code, Destination(place.province.strip(), place.city.strip(), place.district.strip()))
