"""The thin I/O half of the marketplace integration."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from services.shipping.channels.taobao import consign, protocol
from services.shipping.channels.taobao.protocol import Trade


class MarketplaceClient:
    def __init__(
        self, http: httpx.AsyncClient, url: str, app_key: str, secret: str, sign_method: str, timeout: float
    ) -> None:
        self._http = http
        self._url = url
        self._app_key = app_key
        self._secret = secret
        self._sign_method = sign_method
        self._timeout = timeout

    async def call(self, method: str, session: str | None, **params: str) -> dict[str, object]:
        form = protocol.build_params(
            method,
            app_key=self._app_key,
            secret=self._secret,
            sign_method=self._sign_method,
            session=session,
            now=datetime.now(UTC),
            **params,
        )
        try:
            resp = await self._http.post(self._url, data=form, timeout=self._timeout)
        except httpx.HTTPError as exc:
            raise protocol.network_error(exc) from exc
        return protocol.parse_response(method, resp.status_code, resp.content)

    async def fullinfo(self, session: str, tid: str) -> Trade:
        body = await self.call(protocol.FULLINFO, session, tid=tid, fields=protocol.TRADE_FIELDS)
        return protocol.parse_trade(body)

    async def sold_increment(
        self, session: str, start: datetime, end: datetime, status: str, page_no: int, fields: str
    ) -> tuple[list[dict[str, Any]], bool]:
        """One page of the seller's trades modified from ``start`` to ``end`` in ``status`` (unparsed: see
        ``protocol.parse_trades_page``), and whether another page follows (``use_has_next``: no total counted)."""
        body = await self.call(
            protocol.SOLD_INCREMENT,
            session,
            fields=fields,
            start_modified=protocol.china_time(start),
            end_modified=protocol.china_time(end),
            status=status,
            page_no=str(page_no),
            page_size=str(protocol.SOLD_PAGE_SIZE),
            use_has_next="true",
        )
        return protocol.parse_trades_page(body)

    async def seller_nick(self, session: str) -> str:
        """Whose session this is, as the marketplace says."""
        body = await self.call(protocol.USER_SELLER, session, fields="nick,user_id")
        return protocol.parse_seller_nick(body)

    async def offline_send(self, session: str, tid: str, number: str, company_code: str) -> bool:
        body = await self.call(protocol.OFFLINE_SEND, session, tid=tid, out_sid=number, company_code=company_code)
        return protocol.offline_send_ok(body)

    async def send(
        self, session: str, tid: str, numbers: Sequence[str], company_code: str, lines: Sequence[str] | None
    ) -> bool:
        """Confirm ``numbers`` for the trade (or its ``lines``): one offline send, or the multi-package one."""
        method, params = consign.send_request(tid, numbers, company_code, lines)
        return consign.answer_ok(method, await self.call(method, session, **params))

    async def resend(
        self, session: str, tid: str, numbers: Sequence[str], company_code: str, lines: Sequence[str] | None
    ) -> bool:
        """Replace the numbers the trade (or its ``lines``) shipped with by ``numbers``."""
        method, params = consign.resend_request(tid, numbers, company_code, lines)
        return consign.answer_ok(method, await self.call(method, session, **params))
