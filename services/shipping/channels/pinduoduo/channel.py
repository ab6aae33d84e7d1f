"""Pinduoduo as a ``base.Channel``: the seam's calls over ``PinduoduoClient``, every PddError classified.

Pinduoduo ships a whole order with one number (``pdd.logistics.online.send``) and has no per-line split: an
order's other parcels, and every later part of a split order, are extra numbers of type 分包发货
(``pdd.order.upload.extra.logistics``) on the order once shipped. There is no call that removes an extra
number: a change of numbers replaces the main one (redelivery_type 2) and adds the others."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from services.shipping.channels.base import (
    ChannelError,
    ChannelMessage,
    ChannelName,
    ChannelOrder,
    OrderState,
    Refusal,
    StoreAccess,
    checked_numbers,
    named_number,
)
from services.shipping.channels.pinduoduo import carriers, errors, messages, protocol
from services.shipping.channels.pinduoduo.client import PinduoduoClient
from services.shipping.channels.pinduoduo.errors import PddError
from shared.carriers import CarrierCode

T = TypeVar("T")
# How far before the earliest message of a group its list call starts (clocks apart, the order updated a
# moment before its message was sent), and how many pages of 100 it reads at most.
LIST_SLACK = timedelta(seconds=60)
LIST_PAGES = 20


def channel_error(exc: PddError, numbers: Sequence[str] = ()) -> ChannelError:
    """``exc`` classified; a number-related refusal names the number of ``numbers`` the answer names (the
    only one, when one was sent)."""
    number = None
    if exc.refusal.number_related:
        text = f"{exc.msg} {exc.sub_msg or ''}"
        number = named_number(text, numbers) or (numbers[0] if len(numbers) == 1 else None)
    return ChannelError(
        ChannelName.PINDUODUO,
        exc.short_code,
        exc.message,
        exc.refusal,
        session_invalid=exc.session_invalid,
        number=number,
    )


async def _classified(call: Awaitable[T], numbers: Sequence[str] = ()) -> T:
    try:
        return await call
    except PddError as exc:
        raise channel_error(exc, numbers) from exc


class PinduoduoChannel:
    name = ChannelName.PINDUODUO

    def __init__(self, client: PinduoduoClient, message_window_s: float = 300.0) -> None:
        self._client = client
        self._message_window_s = message_window_s

    def read_message(self, headers: Mapping[str, str], body: bytes) -> ChannelMessage:
        """A message frame pushed over HTTP: MessageRefused (BadSignature) or BadMessage when it is not one."""
        return messages.verify_message(
            headers, body, self._client.client_id, self._client.secret, self._message_window_s, datetime.now(UTC)
        )

    def _carrier(self, carrier: str) -> CarrierCode:
        ours = carriers.ours(carrier)
        if ours is None or ours not in carriers.LOGISTICS_IDS:
            raise ChannelError(
                self.name, "unknown_carrier", f"Pinduoduo has no carrier for {carrier!r}", Refusal.PERMANENT
            )
        return ours

    def carrier_code(self, carrier: str) -> str:
        return str(carriers.LOGISTICS_IDS[self._carrier(carrier)])

    def our_carrier(self, code: str) -> str | None:
        """A logistics_id (digits) or Pinduoduo's company code as ours."""
        key = code.strip()
        found = carriers.CARRIER_OF_ID.get(int(key)) if key.isdigit() and len(key) <= 12 else None
        found = found or carriers.CARRIER_OF_PDD_CODE.get(key.upper())
        return found.value if found else None

    def may_ship(self, order: ChannelOrder) -> bool:
        return order.state is OrderState.AWAITING_SHIPMENT

    def line_ids(self, order_items: Sequence[Mapping[str, Any]]) -> list[str]:
        """Positions "1", "2"...: Pinduoduo names no line (and ships no line apart from the order)."""
        return [str(n) for n in range(1, len(order_items) + 1)]

    async def seller_id(self, token: str) -> str:
        return await _classified(self._client.mall_id(token))

    async def fetch_order(self, store: StoreAccess, external_id: str) -> ChannelOrder | None:
        try:
            order = await self._client.order(store.token, external_id)
        except PddError as exc:
            if exc.short_code == str(errors.ORDER_NOT_FOUND):
                return None
            raise channel_error(exc) from exc
        # order_info names no mall: the order is the store's whose token read it.
        return order if order.seller_id else dataclasses.replace(order, seller_id=store.seller_id)

    async def _logistics_id(self, carrier: CarrierCode) -> int:
        # The live list's id for the carrier's Pinduoduo code wins over our table's.
        wanted = carriers.PDD_CODES[carrier]
        live = await self._client.companies()
        return next((i for i, code in sorted(live.items()) if code == wanted), carriers.LOGISTICS_IDS[carrier])

    async def fetch_orders(
        self, store: StoreAccess, published: Mapping[str, datetime | None]
    ) -> dict[str, ChannelOrder]:
        """The orders awaiting shipment (order_status 1, any refund_status, so an order in after-sales is
        answered too, as not to ship) that ``pdd.order.number.list.increment.get`` lists as updated from
        ``LIST_SLACK`` before the earliest message to now. ``published`` is when we received each message
        (Pinduoduo's frame gives no publication time we take): the list is read after every one of them, so
        it bears each out as a read on arrival would. Pages from the last backwards, as the docs advise (an
        order updated meanwhile leaves the window; read this way, none is skipped), at most ``LIST_PAGES``
        pages and no more than the orders asked for, and stops once every one is found. A single order is not
        listed: it is the caller's to read. Orders not listed (older than the window or than
        30 minutes, another status, on pages not read) are the caller's to read one by one."""
        wanted = {tid for tid, when in published.items() if when is not None}
        if len(wanted) < 2:
            return {}  # one order: its own read is one call, and exact
        now = datetime.now(UTC)
        earliest = min(when for when in published.values() if when is not None)
        # At most 30 minutes back (the call's span): older orders are read one by one.
        start = max(earliest - LIST_SLACK, now - timedelta(seconds=protocol.INCREMENT_SPAN_S))
        found: dict[str, ChannelOrder] = {}

        async def page(number: int) -> int | None:
            rows, total, _ = await _classified(self._client.orders_updated(store.token, start, now, number))
            for row in rows:
                sn = str(row.get("order_sn") or "")
                if sn in wanted:
                    order = protocol.parse_order({"order_info": row})
                    # order_info names no mall: the order is the store's whose token listed it.
                    found[sn] = order if order.seller_id else dataclasses.replace(order, seller_id=store.seller_id)
            return total

        # Page 1 first for the total (has_next cannot say where the last page is), then the last backwards:
        # the orders of messages just received were updated last, so they are on the last pages.
        total = await page(1) or 0
        last = -(-total // protocol.INCREMENT_PAGE_SIZE)
        # No more calls than reading each order would take (a busy mall's minute can fill many pages).
        budget = min(LIST_PAGES, len(wanted))
        for number in range(last, max(1, last - budget + 1), -1):
            if wanted <= found.keys():
                break
            await page(number)
        return found

    async def confirm(
        self,
        store: StoreAccess,
        external_id: str,
        numbers: Sequence[str],
        carrier: str,
        *,
        lines: Sequence[str] | None = None,
        first: bool = True,
    ) -> None:
        """First part: online.send with ``numbers[0]``, then the rest as extra numbers; a later part: all of
        them as extra numbers. ``lines`` is not sent: the platform takes none."""
        found = checked_numbers(self.name, numbers, lines)
        logistics_id = await self._logistics_id(self._carrier(carrier))
        extra = found
        if first:
            await self._first_send(store, external_id, logistics_id, found)
            extra = found[1:]
        if extra:
            await self._upload_extra(store, external_id, logistics_id, extra)

    async def change_numbers(
        self,
        store: StoreAccess,
        external_id: str,
        numbers: Sequence[str],
        carrier: str,
        *,
        lines: Sequence[str] | None = None,
        first: bool = True,
    ) -> None:
        """online.send with redelivery_type 2 (修改发货) replaces the main number with ``numbers[0]``; the rest
        are added as extra numbers (extra numbers sent before stay: Pinduoduo cannot remove one). A later part of
        a split order (``first`` False) never held the main number: its new numbers are uploaded as extras only,
        the first part's main number left as it is."""
        found = checked_numbers(self.name, numbers, lines)
        logistics_id = await self._logistics_id(self._carrier(carrier))
        if not first:
            await self._upload_extra(store, external_id, logistics_id, found)
            return
        sent = self._client.online_send(store.token, external_id, logistics_id, found[0], protocol.REDELIVERY_CHANGE)
        self._succeeded(await _classified(sent, found[:1]), "online send (redelivery)")
        if len(found) > 1:
            await self._upload_extra(store, external_id, logistics_id, found[1:])

    async def _first_send(self, store: StoreAccess, external_id: str, logistics_id: int, numbers: list[str]) -> None:
        try:
            ok = await self._client.online_send(store.token, external_id, logistics_id, numbers[0])
        except PddError as exc:
            # Several numbers and "already shipped": a repeat whose extra upload failed, when the order holds
            # our main number. Then only the extra upload is left to do.
            if len(numbers) > 1 and exc.refusal is Refusal.ALREADY_SHIPPED:
                order = await self.fetch_order(store, external_id)
                if order is not None and order.shipped_number == numbers[0]:
                    return
            raise channel_error(exc, numbers[:1]) from exc
        self._succeeded(ok, "online send")

    async def _upload_extra(self, store: StoreAccess, external_id: str, logistics_id: int, numbers: list[str]) -> None:
        sent = self._client.upload_extra(store.token, external_id, protocol.EXTRA_SPLIT, logistics_id, numbers)
        self._succeeded(await _classified(sent, numbers), "extra logistics upload")

    def _succeeded(self, ok: bool, call: str) -> None:
        if not ok:
            raise ChannelError(self.name, "is_success_false", f"{call} answered without success", Refusal.PERMANENT)
