"""Pinduoduo as a ``base.Channel``: the seam's calls over ``PinduoduoClient``, every PddError classified."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TypeVar

from services.shipping.channels.base import (
    ChannelError,
    ChannelMessage,
    ChannelName,
    ChannelOrder,
    OrderState,
    Refusal,
    StoreAccess,
)
from services.shipping.channels.pinduoduo import carriers, errors, messages
from services.shipping.channels.pinduoduo.client import PinduoduoClient
from services.shipping.channels.pinduoduo.errors import PddError
from shared.carriers import CarrierCode

T = TypeVar("T")


def channel_error(exc: PddError) -> ChannelError:
    return ChannelError(
        ChannelName.PINDUODUO, exc.short_code, exc.message, exc.refusal, session_invalid=exc.session_invalid
    )


async def _classified(call: Awaitable[T]) -> T:
    try:
        return await call
    except PddError as exc:
        raise channel_error(exc) from exc


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

    async def confirm(self, store: StoreAccess, external_id: str, numbers: Sequence[str], carrier: str) -> None:
        if not numbers:
            raise ChannelError(self.name, "no_number", "no tracking number to confirm", Refusal.PERMANENT)
        if len(numbers) > 1:
            # pdd.logistics.online.send takes one tracking_number.
            raise ChannelError(self.name, "multi_parcel", "multi-parcel not supported yet", Refusal.PERMANENT)
        logistics_id = await self._logistics_id(self._carrier(carrier))
        ok = await _classified(self._client.online_send(store.token, external_id, logistics_id, numbers[0]))
        if not ok:
            message = "online send answered is_success=false"
            raise ChannelError(self.name, "is_success_false", message, Refusal.PERMANENT)
