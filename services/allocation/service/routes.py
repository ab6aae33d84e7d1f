"""Routing a shop's numbers (``POST /v1/waybills/routes``): each live number of the shop's (allocated, printed
or shipped) bound to its destination at its courier, which answers the sort code (三段码 / 大头笔) and the
consolidation centre (集包地) the label prints.

The numbers are grouped per carrier and sent MAX_WAYBILLS_PER_REQUEST a message, a few messages at once. A
courier that cannot answer (the client's retryable errors: network, 5xx, busy) is asked again after a short
pause, ROUTE_TRIES times in all; still not answering, the whole call is a 503 for the caller to retry later
(binding is idempotent). Anything else is answered per number: not the shop's or not live, refused by the
courier, or no usable routing in its answer.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence

from runtime.backoff import Backoff
from runtime.errors import AppError
from services.allocation.courier.client import CourierClient
from services.allocation.courier.protocol import CourierError
from services.allocation.courier.routing import MAX_WAYBILLS_PER_REQUEST, Destination, RouteRefusal, Routing
from services.allocation.models import WaybillStatus
from services.allocation.repository.routable import RoutableRepository
from services.allocation.resources import AllocationResources
from services.allocation.service.recipients import COLLECTED, LIVE
from shared.errors import ErrorCode
from shared.routing import RoutesRequest, RoutesResult, WaybillDestination, WaybillRoute

ROUTE_TRIES = 2
ROUTE_BACKOFF = Backoff(base_s=0.2, cap_s=1.0)
# Courier messages in flight at once for one call (a batch chunk of 1,000 numbers is 10 messages).
ROUTE_CONCURRENCY = 4


def _refused(number: str, code: str, message: str) -> WaybillRoute:
    return WaybillRoute(number=number, error_code=code, error=message)


def _courier_refused(number: str, refusal: RouteRefusal) -> WaybillRoute:
    if refusal.code == COLLECTED:
        return _refused(number, ErrorCode.ALREADY_COLLECTED, f"the courier has collected {number}: {refusal.message}")
    return _refused(
        number, ErrorCode.UPSTREAM_ERROR, f"the courier refused {number}: {refusal.code}: {refusal.message}"
    )


def _answer(number: str, found: Routing | RouteRefusal | None) -> WaybillRoute:
    if isinstance(found, RouteRefusal):
        return _courier_refused(number, found)
    if found is None or (found.sort_code is None and found.package_center is None):
        return _refused(number, ErrorCode.UPSTREAM_ERROR, f"the courier gave no usable routing for {number}")
    return WaybillRoute(number=number, sort_code=found.sort_code, package_center=found.package_center)


async def _ask(
    courier: CourierClient, carrier: str, shop_id: str, part: Sequence[Destination]
) -> dict[str, Routing | RouteRefusal]:
    for attempt in range(1, ROUTE_TRIES + 1):
        try:
            return await courier.route(carrier, shop_id, part)
        except CourierError as exc:
            if not exc.retryable:
                refusal = RouteRefusal(exc.code, exc.message)
                return {d.number: refusal for d in part}
            if attempt == ROUTE_TRIES:
                raise AppError(
                    f"the courier could not answer now: {exc}",
                    code=ErrorCode.UPSTREAM_ERROR,
                    status_code=503,
                    headers={"Retry-After": "2"},
                    details={"carrier": carrier},
                ) from exc
            await asyncio.sleep(ROUTE_BACKOFF.delay(attempt))
    raise AssertionError("unreachable")


def _destination(item: WaybillDestination) -> Destination:
    return Destination(item.number, item.province, item.city, item.district, item.address)


async def route_waybills(res: AllocationResources, shop_id: str, body: RoutesRequest) -> RoutesResult:
    async with res.transaction() as uow:
        found = await RoutableRepository(uow.session).of_shop([w.number for w in body.waybills], shop_id)
    # Outside the transaction: no connection held across the courier's answers.
    answers: dict[str, WaybillRoute] = {}
    by_carrier: dict[str, list[Destination]] = defaultdict(list)
    for item in body.waybills:
        row = found.get(item.number)
        if row is None:
            answers[item.number] = _refused(item.number, ErrorCode.NOT_FOUND, f"waybill {item.number} not found")
        elif WaybillStatus(row.status) not in LIVE:
            state = WaybillStatus(row.status).name.lower()
            message = f"waybill {item.number} is {state}: only a live number (allocated, printed, shipped) routes"
            answers[item.number] = _refused(item.number, ErrorCode.INVALID_TRANSITION, message)
        else:
            by_carrier[row.carrier].append(_destination(item))
    parts = [
        (carrier, group[start : start + MAX_WAYBILLS_PER_REQUEST])
        for carrier, group in by_carrier.items()
        for start in range(0, len(group), MAX_WAYBILLS_PER_REQUEST)
    ]
    gate = asyncio.Semaphore(ROUTE_CONCURRENCY)

    async def one(carrier: str, part: Sequence[Destination]) -> None:
        async with gate:
            got = await _ask(res.courier, carrier, shop_id, part)
        answers.update({d.number: _answer(d.number, got.get(d.number)) for d in part})

    # Not a TaskGroup: on a failure it cancels the task awaiting it, which an in-process (ASGI) caller shares
    # (a stray cancellation found in the shipping tests).
    tasks = [asyncio.create_task(one(carrier, part)) for carrier, part in parts]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        # A part the courier cannot answer ends the call (its 503): the others stop asking.
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    routes = [answers[w.number] for w in body.waybills]
    refused = sum(1 for r in routes if r.error_code)
    return RoutesResult(routed=len(routes) - refused, refused=refused, routes=routes)
