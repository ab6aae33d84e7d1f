"""The thin I/O half of the courier integration."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from services.allocation.courier import protocol, routing
from services.allocation.courier.protocol import CourierError, IssuedNumbers, IssueRequest, SubscriptionCounters
from services.allocation.courier.routing import Destination, RouteRefusal, Routing


class CourierClient:
    def __init__(self, http: httpx.AsyncClient, base_url: str, app_key: str, secret: str, timeout: float) -> None:
        self._http = http
        self._url = base_url.rstrip("/") + "/gateway"
        self._app_key = app_key
        self._secret = secret
        self._timeout = timeout

    async def _call(self, msg_type: str, body: dict[str, Any]) -> dict[str, Any]:
        form = protocol.build_form(msg_type, body, self._app_key, self._secret)
        try:
            resp = await self._http.post(self._url, data=form, timeout=self._timeout)
        except httpx.HTTPError as exc:
            raise CourierError("network", f"{type(exc).__name__}: {exc}", retryable=True) from exc
        return protocol.parse_envelope(resp.status_code, resp.content)

    async def issue(
        self, carrier: str, seller_id: str, validity_days: int, requests: list[IssueRequest]
    ) -> list[IssuedNumbers]:
        body = protocol.issue_body(carrier, seller_id, validity_days, requests)
        return protocol.parse_issue(await self._call("TMS_WAYBILL_GET", body))

    async def query_object(self, carrier: str, seller_id: str, object_id: str) -> IssuedNumbers | None:
        try:
            body = await self._call(
                "TMS_WAYBILL_QUERY_BY_OBJECT", {"cp_code": carrier, "seller_id": seller_id, "object_id": object_id}
            )
        except CourierError as exc:
            if exc.code == "object.not-exist":
                return None
            raise
        found = protocol.parse_issue(body)
        return found[0] if found else None

    async def discard(self, carrier: str, seller_id: str, number: str) -> None:
        await self._call("TMS_WAYBILL_DISCARD", {"cp_code": carrier, "seller_id": seller_id, "waybill_code": number})

    async def update_recipient(self, carrier: str, seller_id: str, number: str, recipient: dict[str, Any]) -> Routing:
        """The waybill's new receiver (TMS_WAYBILL_UPDATE), accepted until the courier collects the parcel; the
        answer's routing for the new destination (empty when the courier gave none)."""
        body = {"cp_code": carrier, "seller_id": seller_id, "waybill_code": number, "recipient": recipient}
        return routing.parse_routing((await self._call("TMS_WAYBILL_UPDATE", body)).get("routingInfo"))

    async def route(
        self, carrier: str, seller_id: str, waybills: Sequence[Destination]
    ) -> dict[str, Routing | RouteRefusal]:
        """Bind up to MAX_WAYBILLS_PER_REQUEST numbers to their destinations (TMS_WAYBILL_ROUTE): each one's
        routing, or the courier's refusal of it; a number the courier left out of its answer has no entry."""
        body = routing.route_body(carrier, seller_id, waybills)
        return routing.parse_routes(await self._call("TMS_WAYBILL_ROUTE", body), [w.number for w in waybills])

    async def subscription(self, carrier: str, seller_id: str) -> list[SubscriptionCounters]:
        body = await self._call("TMS_WAYBILL_SUBSCRIPTION_QUERY", {"cp_code": carrier, "seller_id": seller_id})
        return protocol.parse_subscription(body)
