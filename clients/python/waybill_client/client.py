"""The two clients: ``WaybillClient`` (httpx.Client) and ``AsyncWaybillClient`` (httpx.AsyncClient), the same
operations (``_operations.Operations``) over the two transports."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import httpx

from waybill_client._operations import Operations
from waybill_client._spec import Call, Operation, Replay, Service
from waybill_client._transport import UNSET, AsyncTransport, Retries, SyncTransport
from waybill_client.models import SpendGroup, SpendInterval

__all__ = ["AsyncWaybillClient", "WaybillClient"]


def _any(response: httpx.Response) -> Any:
    if response.status_code == 204 or not response.content:
        return None
    if response.headers.get("content-type", "").startswith("application/json"):
        return response.json()
    return response.content


def _raw(
    method: str, service: Service, path: str, params: Mapping[str, Any] | None, json: Any, idempotent: bool | None
) -> tuple[Operation[Any], Call]:
    method = method.upper()
    replay = Replay.of(method) if idempotent is None else (Replay.BY_DESIGN if idempotent else Replay.NEVER)
    op = Operation(f"raw {method} {path}", service, method, path, _any, None, replay)
    return op, Call(query=dict(params or {}), body=json)


CSV_HEADERS = {"Accept": "text/csv"}


def _spend_csv(
    from_date: date,
    to_date: date,
    interval: SpendInterval | None,
    group_by: SpendGroup | None,
    tz: str | None,
    shop_id: str | None,
) -> tuple[Operation[bytes], Call]:
    """``getSpendReport`` read as the CSV file it answers to ``Accept: text/csv``."""
    endpoint = Operations.get_spend_report
    src = endpoint.operation
    op = Operation(src.operation_id, src.service, src.method, src.path, _content, bytes, src.replay)
    call = endpoint.bind(from_date, to_date, interval=interval, group_by=group_by, tz=tz, shop_id=shop_id)
    return op, call


def _content(response: httpx.Response) -> bytes:
    return response.content


class WaybillClient(SyncTransport, Operations):
    """The waybill API (allocation, shipping, tracking), synchronous.

    ``api_key``: a shop key (``wbk_...``), the admin key or the internal key; ``shop_id``: the shop an
    admin or internal key acts for (``X-Shop-Id``). ``base_url``: one address for the three services (a
    gateway), or each service's own with ``allocation_url``, ``shipping_url``, ``tracking_url`` (these win).
    ``timeout``: seconds (or an ``httpx.Timeout``) per try. ``retries``: a ``Retries``, or the number of
    tries. ``http``: an ``httpx.Client`` of yours to send with (left open by ``close()``).

    Use it as a context manager, or call ``close()``."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        allocation_url: str | None = None,
        shipping_url: str | None = None,
        tracking_url: str | None = None,
        shop_id: str | None = None,
        timeout: float | httpx.Timeout = 30.0,
        retries: Retries | int = Retries(),
        headers: Mapping[str, str] | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        super().__init__(
            api_key,
            http=http,
            base_url=base_url,
            allocation_url=allocation_url,
            shipping_url=shipping_url,
            tracking_url=tracking_url,
            shop_id=shop_id,
            timeout=timeout,
            retries=retries,
            headers=headers,
        )

    def with_options(
        self,
        *,
        api_key: str | None = UNSET,
        shop_id: str | None = UNSET,
        timeout: float | httpx.Timeout = UNSET,
        retries: Retries | int = UNSET,
        headers: Mapping[str, str] | None = UNSET,
    ) -> WaybillClient:
        """The same client (and connection pool) with other options, e.g. another person's key, or the
        admin key acting for one shop: ``client.with_options(shop_id="s-1")``. Closing it closes nothing."""
        other = self._copy_with(api_key=api_key, shop_id=shop_id, timeout=timeout, retries=retries, headers=headers)
        other._owns_http = False
        return other

    def request(
        self,
        method: str,
        service: Service,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> Any:
        """Any call the operations do not cover (``/internal/...``): the answer's JSON (bytes when it is not
        JSON, None when empty), errors raised as for the operations. Retried when ``idempotent`` (by default:
        GET, PUT and DELETE)."""
        return self._send(*_raw(method, service, path, params, json, idempotent))

    def get_spend_report_csv(
        self,
        from_date: date,
        to_date: date,
        *,
        interval: SpendInterval | None = None,
        group_by: SpendGroup | None = None,
        tz: str | None = None,
        shop_id: str | None = None,
    ) -> bytes:
        """``get_spend_report`` as CSV: the file's bytes (a header row, money in yuan)."""
        op, call = _spend_csv(from_date, to_date, interval, group_by, tz, shop_id)
        return self.with_options(headers=CSV_HEADERS)._send(op, call)


class AsyncWaybillClient(AsyncTransport, Operations):
    """The waybill API (allocation, shipping, tracking), asynchronous: the methods of ``WaybillClient``, as
    coroutines (``iter_*`` as async iterators). ``http``: an ``httpx.AsyncClient`` of yours to send with
    (left open by ``aclose()``).

    Use it as an async context manager, or call ``aclose()``."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        allocation_url: str | None = None,
        shipping_url: str | None = None,
        tracking_url: str | None = None,
        shop_id: str | None = None,
        timeout: float | httpx.Timeout = 30.0,
        retries: Retries | int = Retries(),
        headers: Mapping[str, str] | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(
            api_key,
            http=http,
            base_url=base_url,
            allocation_url=allocation_url,
            shipping_url=shipping_url,
            tracking_url=tracking_url,
            shop_id=shop_id,
            timeout=timeout,
            retries=retries,
            headers=headers,
        )

    def with_options(
        self,
        *,
        api_key: str | None = UNSET,
        shop_id: str | None = UNSET,
        timeout: float | httpx.Timeout = UNSET,
        retries: Retries | int = UNSET,
        headers: Mapping[str, str] | None = UNSET,
    ) -> AsyncWaybillClient:
        """The same client (and connection pool) with other options (see ``WaybillClient.with_options``)."""
        other = self._copy_with(api_key=api_key, shop_id=shop_id, timeout=timeout, retries=retries, headers=headers)
        other._owns_http = False
        return other

    async def request(
        self,
        method: str,
        service: Service,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> Any:
        """Any call the operations do not cover (see ``WaybillClient.request``)."""
        return await self._send(*_raw(method, service, path, params, json, idempotent))

    async def get_spend_report_csv(
        self,
        from_date: date,
        to_date: date,
        *,
        interval: SpendInterval | None = None,
        group_by: SpendGroup | None = None,
        tz: str | None = None,
        shop_id: str | None = None,
    ) -> bytes:
        """``get_spend_report`` as CSV: the file's bytes (a header row, money in yuan)."""
        op, call = _spend_csv(from_date, to_date, interval, group_by, tz, shop_id)
        return await self.with_options(headers=CSV_HEADERS)._send(op, call)
