"""Order messages: what each topic carries, and their delivery, in order per trade: pushed to the webhook until
a 2xx (mode ``push``, the default), or sent over TMC until a consumer confirms (mode ``tmc``, see ``tmc``)."""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from services.sandbox.clock import china_time
from services.sandbox.delivery import MessageStats, Timers, compact_json, failure_text, retry_wait, run_workers
from services.sandbox.faults import FaultInjector
from services.sandbox.marketplace import protocol
from services.sandbox.marketplace.tmc import Delivery, TmcHub
from services.sandbox.marketplace.tmc_frames import Long, Millis
from services.sandbox.marketplace.trades import Seller, Trade, TradeStatus, yuan
from services.sandbox.settings import SandboxSettings

log = logging.getLogger("sandbox.marketplace")

TOPIC_PAID = "taobao_trade_TradeBuyerPay"
TOPIC_CLOSE = "taobao_trade_TradeClose"
TOPIC_ADDRESS = "taobao_trade_TradeLogisticsAddressChanged"


def paid_content(trade: Trade) -> dict[str, Any]:
    """TradeBuyerPay: no address, as on the real marketplace; the receiver fetches the trade."""
    return {
        "tid": trade.tid,
        "oid": trade.orders[0].oid,
        "payment": yuan(trade.payment_cents),
        "buyer_nick": trade.buyer_nick,
        "seller_nick": trade.seller_nick,
        "type": "fixed",
    }


def close_content(trade: Trade) -> dict[str, Any]:
    # The fields of TradeBuyerPay plus the status, in the order the sandbox has always sent them.
    return {
        "tid": trade.tid,
        "oid": trade.orders[0].oid,
        "seller_nick": trade.seller_nick,
        "buyer_nick": trade.buyer_nick,
        "payment": yuan(trade.payment_cents),
        "status": TradeStatus.TRADE_CLOSED.value,
        "type": "fixed",
    }


def address_content(trade: Trade) -> dict[str, Any]:
    return {"tid": trade.tid, "seller_nick": trade.seller_nick, "buyer_nick": trade.buyer_nick}


@dataclass(slots=True)
class Message:
    id: str
    tid: str
    topic: str
    content: str
    pub_time: float
    user_id: str
    user_nick: str
    attempts: int = 0
    delivered_at: float | None = None
    last_result: str | None = None

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "tid": self.tid,
            "topic": self.topic,
            "content": self.content,
            "pub_time": china_time(self.pub_time),
            "attempts": self.attempts,
            "delivered": self.delivered_at is not None,
            "last_result": self.last_result,
        }


@dataclass
class Outbox:
    """Every published message, and the loop that delivers them: a trade's messages strictly one after another."""

    settings: SandboxSettings
    faults: FaultInjector
    new_client: Callable[[], httpx.AsyncClient]
    messages: dict[str, Message] = field(default_factory=dict)
    stats: MessageStats = field(default_factory=MessageStats)
    _pending: dict[str, deque[Message]] = field(default_factory=dict)  # per trade, delivered in order
    _ready: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    _timers: Timers = field(default_factory=Timers)
    _ids: itertools.count[int] = field(init=False)
    tmc: TmcHub = field(init=False)

    def __post_init__(self) -> None:
        self._ids = itertools.count(1_000_000_000_000 + random.SystemRandom().randrange(10**12))
        self.tmc = TmcHub(self.faults)

    def publish(self, seller: Seller, tid: str, topic: str, content: dict[str, Any]) -> None:
        message = Message(
            id=str(next(self._ids)),
            tid=tid,
            topic=topic,
            content=compact_json(content),
            pub_time=time.time(),
            user_id=seller.user_id,
            user_nick=seller.nick,
        )
        self.messages[message.id] = message
        self.stats.published += 1
        queue = self._pending.get(tid)
        if queue is None:
            # Nothing of this trade is waiting: it becomes ready. Otherwise it follows the earlier messages.
            self._pending[tid] = deque([message])
            self._ready.put_nowait(tid)
        else:
            queue.append(message)

    def push_form(self, message: Message) -> dict[str, str]:
        form = {
            "id": message.id,
            "topic": message.topic,
            "content": message.content,
            "pub_time": china_time(message.pub_time),
            "user_id": message.user_id,
            "user_nick": message.user_nick,
            "app_key": self.settings.marketplace_app_key,
            "timestamp": china_time(time.time()),
            "sign_method": "hmac",
        }
        form["sign"] = protocol.top_sign(form, self.settings.marketplace_app_secret, "hmac")
        return form

    def tmc_headers(self, message: Message) -> dict[str, Any]:
        """The custom headers of the TMC frame that carries ``message`` (tmc/MessageFields.java's names)."""
        return {
            "id": Long(int(message.id)),
            "topic": message.topic,
            "content": message.content,
            "time": Millis(round(message.pub_time * 1000)),
            "nick": message.user_nick,
            "userid": Long(int(message.user_id)) if message.user_id.isdigit() else message.user_id,
            "dataid": message.tid,
            "outtime": Millis(round(time.time() * 1000)),
        }

    def _tmc_delivery(self, tid: str, message: Message) -> Delivery:
        def sent() -> None:
            message.attempts += 1
            self.stats.attempts += 1
            message.last_result = "TMC: sent, not confirmed yet"

        def confirmed() -> None:
            message.last_result = "TMC: confirmed"
            queue = self._pending.get(tid)
            if queue and queue[0] is message:
                self._settle(queue)
                self._advance(tid, queue)

        def unconfirmed(wait_s: float) -> None:
            self.stats.failed_attempts += 1
            message.last_result = f"TMC: not confirmed within {wait_s:g} s"

        return Delivery(
            id=message.id,
            frame_headers=lambda: self.tmc_headers(message),
            on_sent=sent,
            on_confirmed=confirmed,
            on_unconfirmed=unconfirmed,
            back_to_push=lambda: self._ready.put_nowait(tid),
        )

    async def _push(self, http: httpx.AsyncClient, message: Message) -> bool:
        message.attempts += 1
        self.stats.attempts += 1
        try:
            response = await http.post(
                self.settings.marketplace_webhook_url,
                data=self.push_form(message),
                timeout=self.settings.message_timeout_s,
            )
        except httpx.HTTPError as exc:
            message.last_result = failure_text(exc)
            return False
        message.last_result = f"HTTP {response.status_code}"
        return 200 <= response.status_code < 300

    async def _deliver(self, http: httpx.AsyncClient, tid: str) -> None:
        queue = self._pending.get(tid)
        if not queue:
            return
        message = queue[0]
        if self.tmc.mode == "tmc":
            self.tmc.offer(self._tmc_delivery(tid, message))  # the hub calls back when it is confirmed
            return
        if await self._push(http, message):
            await self._delivered(http, tid, queue)
            return
        self.stats.failed_attempts += 1
        self._timers.later(
            retry_wait(self.settings.message_redelivery_s, message.attempts), lambda: self._ready.put_nowait(tid)
        )

    async def _delivered(self, http: httpx.AsyncClient, tid: str, queue: deque[Message]) -> None:
        message = self._settle(queue)
        if self.faults.chance(self.faults.config.message_duplicate_rate):
            self.stats.duplicates += 1
            await self._push(http, message)
            message.attempts -= 1  # the duplicate is counted under duplicates, not as a retry
            self.stats.attempts -= 1
        self._advance(tid, queue)

    def _settle(self, queue: deque[Message]) -> Message:
        message = queue.popleft()
        message.delivered_at = time.time()
        self.stats.delivered += 1
        return message

    def _advance(self, tid: str, queue: deque[Message]) -> None:
        """The trade's next message, if any, becomes ready (after its earlier one was delivered)."""
        if queue:
            self._ready.put_nowait(tid)
        else:
            del self._pending[tid]

    async def dispatcher(self) -> None:
        await run_workers(
            self.settings.message_concurrency,
            self.new_client,
            self._ready,
            self._deliver,
            log,
            "message delivery failed for trade %s",
        )

    def cancel_timers(self) -> None:
        """The world stops: no more repeats, and TMC consumers are disconnected (they reconnect to the next)."""
        self._timers.cancel()
        self.tmc.shutdown()
