"""Order messages: what each type carries, their frame, and their delivery over HTTP until a 2xx.

The frame is the message service's (wss://message-api.pinduoduo.com; lywzx/pdd-node-sdk
packages/core/src/libs/pdd-ws-client.ts): ``{"id", "commandType": "Common", "time", "sendTime", "message":
{"type", "mallID", "content"}}`` with ``content`` a JSON string. Types (Java SDK users' message handlers in
public code): pdd_trade_TradeConfirmed 交易确认, pdd_trade_TradeSellerShip 卖家发货,
pdd_trade_TradeLogisticsAddressChanged 修改交易收货地址, pdd_refund_RefundCreated 退款创建,
pdd_refund_RefundAgreeAgreement 同意退款协议. A refund's content is the shape of a captured real one
(``{"mall_id", "refund_fee" (fen), "bill_type": 1, "modified" (ms), "refund_id", "operation": 1000, "tid"}``);
the others carry ``{"mall_id", "tid", "modified"}`` (``modified`` there unconfirmed). Ids may exceed 2^53, as
real ones do.

Delivery is the sandbox's webhook in place of the WebSocket: POST of the frame (UTF-8 JSON) to
``SANDBOX_PINDUODUO_MESSAGE_URL`` with ``X-Pdd-Client-Id``, ``X-Pdd-Timestamp`` (unix seconds, at each attempt)
and ``X-Pdd-Sign``; a 2xx acknowledges, anything else or no answer is redelivered (same id) after
``SANDBOX_PINDUODUO_MESSAGE_REDELIVERY_S``. Faults: duplicates, delays, reordering, dropped attempts, bad signs.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from services.sandbox.delivery import MessageStats, Timers, compact_json, failure_text, retry_wait, run_workers
from services.sandbox.pinduoduo.faults import PddFaults
from services.sandbox.pinduoduo.signing import message_sign
from services.sandbox.settings import SandboxSettings

log = logging.getLogger("sandbox.pinduoduo")

TRADE_CONFIRMED = "pdd_trade_TradeConfirmed"
SELLER_SHIP = "pdd_trade_TradeSellerShip"
ADDRESS_CHANGED = "pdd_trade_TradeLogisticsAddressChanged"
REFUND_CREATED = "pdd_refund_RefundCreated"
REFUND_AGREED = "pdd_refund_RefundAgreeAgreement"
KEPT_ATTEMPTS = 20  # per message, for the control view


def ms(epoch: float) -> int:
    return int(epoch * 1000)


@dataclass(slots=True)
class Attempt:
    at: float
    result: str
    duplicate: bool

    def view(self) -> dict[str, Any]:
        return {"at_ms": ms(self.at), "result": self.result, "duplicate": self.duplicate}


@dataclass(slots=True)
class PddMessage:
    id: int
    order_sn: str
    mall_id: int
    type: str
    content: str
    created: float
    attempts: list[Attempt] = field(default_factory=list)
    delivered_at: float | None = None

    def frame(self, send_time: float) -> dict[str, Any]:
        return {
            "id": self.id,
            "commandType": "Common",
            "time": ms(self.created),
            "sendTime": ms(send_time),
            "message": {"type": self.type, "mallID": self.mall_id, "content": self.content},
        }

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "order_sn": self.order_sn,
            "mall_id": self.mall_id,
            "type": self.type,
            "content": self.content,
            "time_ms": ms(self.created),
            "delivered": self.delivered_at is not None,
            "attempts": len(self.attempts),
            "deliveries": [attempt.view() for attempt in self.attempts[-KEPT_ATTEMPTS:]],
        }


@dataclass
class PddMessageStats(MessageStats):
    delayed: int = 0
    reordered: int = 0
    dropped: int = 0
    bad_signs: int = 0

    def view(self) -> dict[str, int]:
        extra = {"delayed": self.delayed, "reordered": self.reordered, "dropped": self.dropped}
        return super().view() | extra | {"bad_signs": self.bad_signs}


@dataclass
class PddOutbox:
    """Every published message and the workers that deliver them; each message is redelivered until a 2xx."""

    settings: SandboxSettings
    faults: PddFaults
    new_client: Callable[[], httpx.AsyncClient]
    messages: dict[str, PddMessage] = field(default_factory=dict)
    stats: PddMessageStats = field(default_factory=PddMessageStats)
    _ready: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    _timers: Timers = field(default_factory=Timers)
    _held: dict[int, str] = field(default_factory=dict)  # mall_id -> a message held back (reordering)
    _releases: dict[str, str] = field(default_factory=dict)  # message -> the held one its first attempt frees
    _ids: itertools.count[int] = field(init=False)

    def __post_init__(self) -> None:
        self._ids = itertools.count(9_100_000_000_000_000 + random.SystemRandom().randrange(10**14))

    def publish(self, mall_id: int, order_sn: str, type_: str, content: dict[str, Any]) -> PddMessage:
        message = PddMessage(next(self._ids), order_sn, mall_id, type_, compact_json(content), time.time())
        key = str(message.id)
        self.messages[key] = message
        self.stats.published += 1
        faults = self.faults
        held = self._held.pop(mall_id, None)
        if held is not None:
            # This one overtakes the held one: the held one goes once this one has been tried.
            self._releases[key] = held
        elif faults.chance(faults.config.message_reorder_rate):
            self._held[mall_id] = key
            self.stats.reordered += 1
            self._timers.later(faults.config.message_delay_s, lambda: self._release_held(mall_id, key))
            return message
        if faults.chance(faults.config.message_delay_rate):
            self.stats.delayed += 1
            self._timers.later(faults.config.message_delay_s, lambda: self._ready.put_nowait(key))
        else:
            self._ready.put_nowait(key)
        return message

    def _release_held(self, mall_id: int, key: str) -> None:
        # No later message came in time: the held one is not kept back for ever.
        if self._held.get(mall_id) == key:
            del self._held[mall_id]
            self._ready.put_nowait(key)

    def request(self, message: PddMessage, bad_sign: bool = False) -> tuple[bytes, dict[str, str]]:
        """The body and headers of one delivery attempt, signed now."""
        body = compact_json(message.frame(time.time())).encode()
        stamp = str(int(time.time()))
        sign = message_sign(self.settings.pinduoduo_client_secret, stamp, body)
        if bad_sign:
            sign = sign[::-1]
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Pdd-Client-Id": self.settings.pinduoduo_client_id,
            "X-Pdd-Timestamp": stamp,
            "X-Pdd-Sign": sign,
        }
        return body, headers

    async def _attempt(self, http: httpx.AsyncClient, message: PddMessage, duplicate: bool = False) -> bool:
        self.stats.attempts += 1
        faults = self.faults
        if faults.chance(faults.config.message_drop_rate):
            self.stats.dropped += 1
            message.attempts.append(Attempt(time.time(), "dropped", duplicate))
            return False
        bad_sign = faults.chance(faults.config.message_bad_sign_rate)
        if bad_sign:
            self.stats.bad_signs += 1
        body, headers = self.request(message, bad_sign)
        try:
            response = await http.post(
                self.settings.pinduoduo_message_url,
                content=body,
                headers=headers,
                timeout=self.settings.pinduoduo_message_timeout_s,
            )
        except httpx.HTTPError as exc:
            message.attempts.append(Attempt(time.time(), failure_text(exc), duplicate))
            return False
        message.attempts.append(Attempt(time.time(), f"HTTP {response.status_code}", duplicate))
        return 200 <= response.status_code < 300

    async def _deliver(self, http: httpx.AsyncClient, key: str) -> None:
        message = self.messages.get(key)
        if message is None or message.delivered_at is not None:
            return
        ok = await self._attempt(http, message)
        released = self._releases.pop(key, None)
        if released is not None:
            self._ready.put_nowait(released)
        if not ok:
            self.stats.failed_attempts += 1
            wait = retry_wait(self.settings.pinduoduo_message_redelivery_s, len(message.attempts))
            self._timers.later(wait, lambda: self._ready.put_nowait(key))
            return
        message.delivered_at = time.time()
        self.stats.delivered += 1
        if self.faults.chance(self.faults.config.message_duplicate_rate):
            self.stats.duplicates += 1
            await self._attempt(http, message, duplicate=True)

    async def dispatcher(self) -> None:
        await run_workers(
            self.settings.pinduoduo_message_concurrency,
            self.new_client,
            self._ready,
            self._deliver,
            log,
            "pinduoduo message delivery failed for %s",
        )

    def cancel_timers(self) -> None:
        self._timers.cancel()
