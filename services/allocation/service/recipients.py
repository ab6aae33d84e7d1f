"""A number's receiver changed before the courier collected its parcel (改址): the courier's waybill is told
the new one (TMS_WAYBILL_UPDATE), the number stays the same, and the answer carries the new destination's
routing (sort code, consolidation centre) when the courier gave one. Only a live number of the shop's (allocated,
printed or shipped) is updated; a courier that already collected the parcel refuses (409 already_collected),
and one that cannot answer now is a 503 for the caller to retry (the update is idempotent)."""

from __future__ import annotations

from runtime.errors import AppError, Conflict
from services.allocation.courier.protocol import CourierError
from services.allocation.models import WaybillStatus
from services.allocation.resources import AllocationResources
from services.allocation.service.waybills import own_waybill
from shared.allocation import Recipient, RecipientUpdated
from shared.errors import ErrorCode

LIVE = (WaybillStatus.ALLOCATED, WaybillStatus.PRINTED, WaybillStatus.SHIPPED)
COLLECTED = "waybill.already-collected"


async def update_recipient(res: AllocationResources, shop_id: str, number: str, body: Recipient) -> RecipientUpdated:
    async with res.transaction() as uow:
        w = await own_waybill(uow, shop_id, number)
        if WaybillStatus(w.status) not in LIVE or (body.order_id is not None and w.order_ref != body.order_id):
            raise Conflict(
                f"waybill {w.number} is not on a parcel of this order: its receiver cannot change",
                code=ErrorCode.INVALID_TRANSITION,
                details={"number": w.number},
            )
        carrier = w.carrier
    recipient = {
        "name": body.name,
        "phone": body.phone,
        "address": {"province": body.province, "city": body.city, "district": body.district, "detail": body.address},
    }
    try:
        # Outside the transaction: no connection held across the courier's answer.
        routing = await res.courier.update_recipient(carrier, shop_id, w.number, recipient)
    except CourierError as exc:
        if exc.code == COLLECTED:
            raise Conflict(
                f"the courier has collected {w.number}: its receiver can no longer change",
                code=ErrorCode.ALREADY_COLLECTED,
                details={"number": w.number},
            ) from exc
        if exc.retryable:
            raise AppError(
                f"the courier could not answer now: {exc}",
                code=ErrorCode.UPSTREAM_ERROR,
                status_code=503,
                headers={"Retry-After": "2"},
            ) from exc
        raise Conflict(
            f"the courier refused the new receiver of {w.number}: {exc.code}",
            code=ErrorCode.UPSTREAM_ERROR,
            details={"number": w.number, "courier_code": exc.code},
        ) from exc
    return RecipientUpdated(
        number=w.number, carrier=carrier, sort_code=routing.sort_code, package_center=routing.package_center
    )
