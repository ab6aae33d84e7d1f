"""The thin I/O half of the courier integration."""

from __future__ import annotations

from typing import Any

import httpx

from services.allocation.courier import protocol
from services.allocation.courier.protocol import CourierError, IssuedNumbers, IssueRequest, SubscriptionCounters


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

    async def update_recipient(self, carrier: str, seller_id: str, number: str, recipient: dict[str, Any]) -> None:
        """The waybill's new receiver (TMS_WAYBILL_UPDATE), accepted until the courier collects the parcel."""
        body = {"cp_code": carrier, "seller_id": seller_id, "waybill_code": number, "recipient": recipient}
        await self._call("TMS_WAYBILL_UPDATE", body)

    async def subscription(self, carrier: str, seller_id: str) -> list[SubscriptionCounters]:
        body = await self._call("TMS_WAYBILL_SUBSCRIPTION_QUERY", {"cp_code": carrier, "seller_id": seller_id})
        return protocol.parse_subscription(body)
