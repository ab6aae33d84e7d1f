"""Control of the world as a whole: forget everything, turn faults on, run the simulated clock."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Request
from pydantic import BaseModel, Field, ValidationError

from services.sandbox.clock import china_time, utc_iso
from services.sandbox.faults import FaultConfig
from services.sandbox.world import World, world_of

router = APIRouter(prefix="/control", tags=["control"])


@router.post("/reset", summary="Forget everything: trades, numbers, parcels, messages, faults, clock")
async def reset(request: Request) -> dict[str, str]:
    await world_of(request).reset()
    return {"status": "reset"}


def _faults_view(w: World) -> dict[str, Any]:
    view = w.faults.config.model_dump()
    view["courier_down_remaining_s"] = round(w.faults.courier_down_remaining(), 3)
    view["time_acceleration"] = w.clock.factor
    return view


@router.get("/faults", summary="Current fault settings")
async def get_faults(request: Request) -> dict[str, Any]:
    return _faults_view(world_of(request))


@router.put("/faults", summary="Change fault settings (fields not given keep their value)")
async def put_faults(request: Request, changes: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    w = world_of(request)
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
    return _clock_view(world_of(request))


@router.put("/clock", summary="Change the time acceleration")
async def put_clock(request: Request, change: ClockChange) -> dict[str, Any]:
    w = world_of(request)
    w.clock.set_factor(change.acceleration)
    return _clock_view(w)


@router.post("/clock/advance", summary="Jump the simulated clock ahead")
async def advance_clock(request: Request, advance: Advance) -> dict[str, Any]:
    w = world_of(request)
    w.clock.advance(advance.seconds)
    # Whatever became due has happened by the time this answers, so a caller can query right away.
    w.scheduler.run_due()
    return _clock_view(w)
