"""The couriers' e-waybill gateway as allocation calls it, behind http://courier.test for the shipping tests:
TMS_WAYBILL_ROUTE binds each number to its destination and answers its routing, TMS_WAYBILL_UPDATE records the
new receiver and answers the new destination's routing; a number in ``collected`` is refused for a change, and
while ``down`` every call answers 503. Routing is this fake's own rule (``route_of``), one per destination.
Purchases, discards and queries are answered as allocation's own tests' courier does."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

import httpx

from tests.integration.allocation_support import FakeCourier as IssuingCourier


def route_of(address: dict[str, Any]) -> dict[str, Any]:
    """A sort code and centre that differ by city and district, and never by street."""
    city, district = str(address["city"]), str(address.get("district") or "")
    code = f"{sum(map(ord, city)) % 1000:03d}-{sum(map(ord, district)) % 100:02d} {len(district):02d}"
    centre = city.removesuffix("市")
    return {"routeCode": code, "sortation": {"name": centre}, "consolidation": {"name": f"{centre}包", "code": "1"}}


class FakeCourier:
    def __init__(self) -> None:
        self.updates: list[dict[str, Any]] = []  # every TMS_WAYBILL_UPDATE taken
        self.routed: list[dict[str, Any]] = []  # every TMS_WAYBILL_ROUTE message
        self.bound: dict[str, dict[str, Any]] = {}  # number -> the address it is bound to
        self.collected: set[str] = set()
        self.down = False
        self.calls = 0
        self.issuing = IssuingCourier()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.down:
            return httpx.Response(503, text="Service Unavailable")
        form = dict(parse_qsl(request.content.decode()))
        body = json.loads(form["logistics_interface"])
        kind = form.get("msg_type")
        if kind == "TMS_WAYBILL_ROUTE":
            self.routed.append(body)
            return httpx.Response(
                200, json={"success": True, "waybill_route_cols": [self._route(w) for w in body["waybills"]]}
            )
        if kind != "TMS_WAYBILL_UPDATE":
            return self.issuing(request)
        number = body["waybill_code"]
        if number in self.collected:
            return httpx.Response(
                200, json={"success": False, "errorCode": "waybill.already-collected", "errorMsg": "collected"}
            )
        self.updates.append(body)
        address = body["recipient"]["address"]
        self.bound[number] = address
        return httpx.Response(200, json={"success": True, "routingInfo": route_of(address)})

    def _route(self, waybill: dict[str, Any]) -> dict[str, Any]:
        number, address = waybill["waybill_code"], waybill["address"]
        if number in self.collected and route_of(self.bound.get(number, address)) != route_of(address):
            return {"waybill_code": number, "success": False, "errorCode": "waybill.already-collected"}
        self.bound[number] = address
        return {"waybill_code": number, "success": True, "routingInfo": route_of(address)}

    def sort_code(self, number: str) -> str:
        """What this courier would print for ``number`` now (it must have been bound)."""
        code: str = route_of(self.bound[number])["routeCode"]
        return code
