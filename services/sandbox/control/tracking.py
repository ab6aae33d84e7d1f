"""Control of the tracking simulation: the truth of parcels, their counters, forced journey kinds."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from services.sandbox.tracking_provider.journeys import KINDS, JourneyKind
from services.sandbox.world import world_of

router = APIRouter(prefix="/control", tags=["control"])


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
    provider = world_of(request).tracking
    numbers = number if number else list(provider.parcels)
    views = [provider.truth(n) for n in numbers]
    if not (include_events if include_events is not None else bool(number)):
        for view in views:
            view.pop("events", None)
    return views


@router.get("/tracking/stats", summary="Parcel and push counters")
async def tracking_stats(request: Request) -> dict[str, Any]:
    return world_of(request).tracking.stats()


@router.post(
    "/tracking/push-latencies/drain",
    summary="The acknowledged pushes' latencies since the last drain, and forget them",
)
async def tracking_push_latencies(request: Request) -> dict[str, list[tuple[float, float]]]:
    """Each acknowledged push as ``[answered_at, seconds]`` (answered_at: Unix time), oldest first: what a
    load run needs to judge the subscriber's acknowledgement latency minute by minute."""
    return {"latencies": world_of(request).tracking.pushes.drain_latencies()}


@router.put("/tracking/kinds", summary="Force the journey kind of given numbers (before they are subscribed)")
async def tracking_kinds(request: Request, body: KindOverrides) -> dict[str, int]:
    provider = world_of(request).tracking
    provider.kind_overrides.update({n: JourneyKind(kind) for n, kind in body.kinds.items()})
    return {"overrides": len(provider.kind_overrides)}
