"""What operators do: the service clock."""

from __future__ import annotations

from fastapi import APIRouter

from runtime.app import UowDep
from runtime.auth import AdminDep
from runtime.openapi import responses
from services.tracking.resources import ClockDep
from services.tracking.schemas import ClockIn, ClockOut
from services.tracking.service import clock as clock_service

router = APIRouter(prefix="/internal/v1", tags=["internal"])


@router.get("/clock", summary="The service clock", description="Admin only.", responses=responses(403))
async def get_clock(uow: UowDep, _: AdminDep, clock: ClockDep) -> ClockOut:
    return await clock_service.read_clock(uow, clock)


@router.put(
    "/clock",
    summary="Set a simulated clock (tests, demos)",
    description=(
        "Admin only. Every process of the service follows it within a second: alert thresholds and polling use "
        "it, e.g. to keep step with the sandbox's accelerated parcel journeys. `reset` goes back to real time."
    ),
    responses=responses(403),
)
async def put_clock(body: ClockIn, uow: UowDep, _: AdminDep, clock: ClockDep) -> ClockOut:
    return await clock_service.set_clock(uow, clock, body)
