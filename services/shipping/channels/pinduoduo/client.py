"""The thin I/O half of the Pinduoduo integration: one signed form POST per call to the router."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from services.shipping.channels.base import ChannelOrder
from services.shipping.channels.pinduoduo import carriers, protocol
from services.shipping.channels.pinduoduo.errors import PddError, network_error


class PinduoduoClient:
    def __init__(self, http: httpx.AsyncClient, url: str, client_id: str, secret: str, timeout: float) -> None:
        self._http = http
        self._url = url
        self._client_id = client_id
        self._secret = secret
        self._timeout = timeout
        # The companies list changes rarely and needs no seller: read once per process.
        self._companies: dict[int, str] | None = None

    @property
    def client_id(self) -> str:
        return self._client_id

    @property
    def secret(self) -> str:
        return self._secret

    async def call(self, type: str, access_token: str | None, **params: str | int | None) -> dict[str, Any]:
        form = protocol.build_params(type, self._client_id, self._secret, access_token, datetime.now(UTC), **params)
        try:
            resp = await self._http.post(self._url, data=form, timeout=self._timeout)
        except httpx.HTTPError as exc:
            raise network_error(f"{exc.__class__.__name__}: {exc}") from exc
        return protocol.parse_response(type, resp.status_code, resp.content)

    async def mall_id(self, token: str) -> str:
        """Whose access_token this is: the mall it was granted for."""
        return protocol.parse_mall_id(await self.call(protocol.MALL_INFO, token))

    async def order(self, token: str, order_sn: str) -> ChannelOrder:
        return protocol.parse_order(await self.call(protocol.ORDER_INFO, token, order_sn=order_sn))

    async def orders_updated(
        self,
        token: str,
        start: datetime,
        end: datetime,
        page: int,
        *,
        order_status: int = protocol.AWAITING_SHIPMENT,
        refund_status: int = protocol.ALL_STATUSES,
        page_size: int = protocol.INCREMENT_PAGE_SIZE,
        use_has_next: bool = False,
    ) -> tuple[list[dict[str, Any]], int | None, bool | None]:
        """One page of the mall's orders updated within [start, end] (``protocol.parse_order_page``)."""
        body = await self.call(
            protocol.ORDER_INCREMENT,
            token,
            start_updated_at=int(start.timestamp()),
            end_updated_at=int(end.timestamp()),
            order_status=order_status,
            refund_status=refund_status,
            page=page,
            page_size=page_size,
            use_has_next="true" if use_has_next else None,
        )
        return protocol.parse_order_page(body)

    async def companies(self) -> dict[int, str]:
        """``{logistics_id: code}`` from the platform, cached; the protocol's table when it cannot answer
        (not cached, so a later call asks again)."""
        if self._companies is not None:
            return self._companies
        try:
            found = protocol.parse_companies(await self.call(protocol.COMPANIES, None))
        except PddError:
            return carriers.table_ids()
        if not found:
            return carriers.table_ids()
        self._companies = found
        return found

    async def online_send(
        self, token: str, order_sn: str, logistics_id: int, tracking_number: str, redelivery_type: int | None = None
    ) -> bool:
        """Ship the order with ``tracking_number``; ``redelivery_type`` 2 replaces a shipped order's number."""
        body = await self.call(
            protocol.ONLINE_SEND,
            token,
            order_sn=order_sn,
            logistics_id=logistics_id,
            tracking_number=tracking_number,
            redelivery_type=redelivery_type,
        )
        return protocol.online_send_ok(body)

    async def upload_extra(
        self, token: str, order_sn: str, track_type: int, logistics_id: int, numbers: Sequence[str]
    ) -> bool:
        """Add ``numbers`` to a shipped order as extra numbers of ``track_type`` (1: its other parcels)."""
        body = await self.call(
            protocol.UPLOAD_EXTRA,
            token,
            order_sn=order_sn,
            extra_track_type=track_type,
            extra_track_list=protocol.extra_track_list(logistics_id, numbers),
        )
        return protocol.upload_extra_ok(body)
