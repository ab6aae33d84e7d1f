"""What shops read of their parcels."""

from __future__ import annotations

from fastapi import APIRouter

from runtime.app import UowDep
from runtime.auth import ShopIdDep
from runtime.openapi import responses
from services.tracking.schemas import OrderTrackingOut, TrackingOut
from services.tracking.service import reading
from shared.carriers import CarrierCode

router = APIRouter(prefix="/v1", tags=["trackings"])


@router.get(
    "/trackings/{waybill}",
    summary="A parcel's status, timeline and alerts",
    description=(
        "Status in the one normalised set, the full timeline (each event once, newest first, ordered by event "
        "time) and every alert. Another shop's waybill answers 404. When the same number is tracked with two "
        "carriers, name one with `carrier`."
    ),
    responses=responses(404, 409),
)
async def get_tracking(
    waybill: str, uow: UowDep, shop_id: ShopIdDep, carrier: CarrierCode | None = None
) -> TrackingOut:
    return await reading.tracking_for_number(uow, shop_id, waybill, carrier)


@router.get(
    "/orders/{order_id}/tracking",
    summary="Tracking of every parcel of an order",
    description="The order id carried in the subscription; another shop's order answers 404.",
    responses=responses(404),
)
async def get_order_tracking(order_id: str, uow: UowDep, shop_id: ShopIdDep) -> OrderTrackingOut:
    return await reading.tracking_for_order(uow, shop_id, order_id)
