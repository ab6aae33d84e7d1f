"""The marketplace's message service (TMC): order messages over a WebSocket, sent again until confirmed.

Written here from the published SDK, not shared with shipping's consumer: a misreading on one side must
show as a failure, not sign and read identically on both. Source: the official Taobao TOP Java SDK as
vendored (package ``com.taobao.api`` unchanged) in opendingtalk/alibaba-dingtalk-service-sdk,
src/main/java/com/taobao/api/internal/:

- toplink/endpoint/MessageType.java, protocol/MessageEncoder02.java, MessageDecoder02.java: a frame is a
  version byte (2), a message-type byte (CONNECT 0, CONNECTACK 1, SEND 2, SENDACK 3), then headers, each an
  int16 type (Custom 1: name + format byte + value; StatusCode 2 and Flag 4: int32; StatusPhrase 3 and
  Token 5: counted string) ended by int16 0. Little-endian throughout. Counted string: int32 byte count +
  UTF-8 (0 = none). Value formats: Void 0, CountedString 1, Byte 2, Int16 3, Int32 4, Int64 5, Date 6
  (int64 epoch milliseconds), ByteArray 7.
- tmc/TmcClient.java: the consumer's CONNECT holds ``app_key``, ``group_name``, ``timestamp`` (epoch
  milliseconds) and ``sign``: uppercase hex MD5 of secret + the three sorted name+value pairs + secret
  (util/TaobaoUtils.java signTopRequest).
- toplink/endpoint/EndpointChannelHandler.java: the CONNECTACK echoes the CONNECT's flag and carries a token
  (or a status code and phrase when refused); the token goes on every SEND after it, both ways.
- tmc/MessageFields.java, MessageKind.java, TmcHandler.java: a message is a SEND whose custom headers are
  ``id`` (Int64), ``topic``, ``content``, ``time`` (Date), ``nick``, ``userid`` (Int64), ``dataid``,
  ``outtime`` (Date); the consumer answers ``{__kind: Byte 2 (Confirm), id}``, asks for messages with
  ``{__kind: 1}`` (PullRequest) and may report ``{__kind: 20 (Failed), id, msg}``.

Sandbox choices where the SDK says nothing (unconfirmed against the real server): the refusal codes (TOP's
25 invalid signature, 29 invalid app key, 31 invalid timestamp), the timestamp window (the gateway's), that
our SENDs carry no ``__kind``, that ``dataid`` is the tid, that a confirm from any connection of the group
counts, and the WebSocket close code after a refusal (1008).

Delivery: a message handed to the hub waits for a consumer of the message group, is sent to one (round
robin), and is sent again if no confirm came within ``redelivery_s``; a confirmed message is never sent
again. Faults: ``message_duplicate_rate`` sends a message twice; ``drop_after`` closes the connection
right after its next N-th message (once).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from services.sandbox.faults import FaultInjector
from services.sandbox.marketplace.tmc_frames import (
    CONNECT,
    CONNECT_WAIT_S,
    CONNECTACK,
    KIND_CONFIRM,
    KIND_FAILED,
    KIND_PULL,
    MAX_FRAME,
    SEND,
    BadFrame,
    DeliveryMode,
    TmcFrame,
    read_frame,
    refusal,
    write_frame,
)

log = logging.getLogger("sandbox.tmc")


@dataclass
class TmcStats:
    connects: int = 0
    refused: int = 0
    sent: int = 0
    redelivered: int = 0
    duplicates: int = 0
    confirmed: int = 0
    unknown_confirms: int = 0
    failed_reports: int = 0
    pull_requests: int = 0
    bad_frames: int = 0
    dropped_connections: int = 0

    def view(self) -> dict[str, int]:
        return dict(vars(self))


_CLOSE = b""  # in a connection's queue: close it (a fault, or the world stopping)


@dataclass(eq=False)
class Consumer:
    group: str
    token: str
    outgoing: asyncio.Queue[bytes] = field(default_factory=asyncio.Queue)


@dataclass
class Delivery:
    """A message handed to TMC: what the outbox needs back from it."""

    id: str
    frame_headers: Callable[[], dict[str, Any]]
    on_sent: Callable[[], None]
    on_confirmed: Callable[[], None]
    on_unconfirmed: Callable[[float], None]
    back_to_push: Callable[[], None]


@dataclass
class TmcHub:
    """Consumers by group, messages waiting for one, messages sent and not yet confirmed."""

    faults: FaultInjector
    mode: DeliveryMode = "push"
    group: str = "default"  # the group order messages are routed to
    redelivery_s: float = 30.0
    drop_after: int | None = None
    stats: TmcStats = field(default_factory=TmcStats)
    consumers: list[Consumer] = field(default_factory=list)
    waiting: deque[Delivery] = field(default_factory=deque)
    in_flight: dict[str, tuple[Delivery, asyncio.TimerHandle]] = field(default_factory=dict)
    confirmed_ids: set[str] = field(default_factory=set)
    _turn: itertools.count[int] = field(default_factory=itertools.count)

    def config_view(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "tmc_group": self.group,
            "tmc_redelivery_s": self.redelivery_s,
            "tmc_drop_connection_after": self.drop_after,
        }

    def stats_view(self) -> dict[str, int]:
        return {
            **self.stats.view(),
            "consumers": len(self.consumers),
            "waiting": len(self.waiting),
            "in_flight": len(self.in_flight),
        }

    def attach(self, group: str) -> Consumer:
        consumer = Consumer(group=group, token=secrets.token_hex(16))
        self.consumers.append(consumer)
        self.stats.connects += 1
        self.dispatch()
        return consumer

    def detach(self, consumer: Consumer) -> None:
        # What it had been sent stays in flight: TMC cannot know it was lost; the timer sends it again.
        if consumer in self.consumers:
            self.consumers.remove(consumer)

    def offer(self, delivery: Delivery) -> None:
        self.waiting.append(delivery)
        self.dispatch()

    def configure(
        self,
        mode: DeliveryMode | None = None,
        group: str | None = None,
        redelivery_s: float | None = None,
        drop_after: int | None = None,
    ) -> None:
        """Change what is given; ``drop_after`` 0 turns the fault off. Back to push: the waiting go back."""
        if group is not None:
            self.group = group
        if redelivery_s is not None:
            self.redelivery_s = redelivery_s
        if drop_after is not None:
            self.drop_after = drop_after or None
        if mode is not None:
            self.mode = mode
        if self.mode == "push":
            while self.waiting:
                self.waiting.popleft().back_to_push()
        self.dispatch()

    def dispatch(self) -> None:
        while self.waiting:
            ready = [c for c in self.consumers if c.group == self.group]
            if not ready:
                return
            consumer = ready[next(self._turn) % len(ready)]
            self._send(consumer, self.waiting.popleft())

    def _send(self, consumer: Consumer, delivery: Delivery) -> None:
        frame = write_frame(TmcFrame(SEND, delivery.frame_headers(), token=consumer.token))
        consumer.outgoing.put_nowait(frame)
        self.stats.sent += 1
        delivery.on_sent()
        if self.faults.chance(self.faults.config.message_duplicate_rate):
            self.stats.duplicates += 1
            consumer.outgoing.put_nowait(frame)
        timer = asyncio.get_running_loop().call_later(self.redelivery_s, self._expire, delivery.id)
        self.in_flight[delivery.id] = (delivery, timer)
        if self.drop_after is not None:
            self.drop_after -= 1
            if self.drop_after <= 0:
                self.drop_after = None
                self.stats.dropped_connections += 1
                consumer.outgoing.put_nowait(_CLOSE)

    def _expire(self, message_id: str) -> None:
        found = self.in_flight.pop(message_id, None)
        if found is None:
            return
        delivery = found[0]
        self.stats.redelivered += 1
        delivery.on_unconfirmed(self.redelivery_s)
        if self.mode == "tmc":
            self.waiting.appendleft(delivery)
            self.dispatch()
        else:
            delivery.back_to_push()

    def on_frame(self, consumer: Consumer, frame: TmcFrame) -> None:
        if frame.kind != SEND or frame.token != consumer.token:
            self.stats.bad_frames += 1
            return
        kind = frame.headers.get("__kind")
        message_id = frame.headers.get("id")
        if kind == KIND_PULL:
            self.stats.pull_requests += 1
            self.dispatch()
        elif kind == KIND_CONFIRM and isinstance(message_id, int):
            self._confirm(consumer, str(message_id))
        elif kind == KIND_FAILED and isinstance(message_id, int):
            self.stats.failed_reports += 1  # stays in flight: sent again when its timer fires
        else:
            self.stats.bad_frames += 1

    def _confirm(self, consumer: Consumer, message_id: str) -> None:
        found = self.in_flight.get(message_id)
        if found is None or consumer.group != self.group:
            self.stats.unknown_confirms += 1
            return
        del self.in_flight[message_id]
        delivery, timer = found
        timer.cancel()
        self.stats.confirmed += 1
        self.confirmed_ids.add(message_id)
        delivery.on_confirmed()

    def shutdown(self) -> None:
        for _, timer in self.in_flight.values():
            timer.cancel()
        self.in_flight.clear()
        self.waiting.clear()
        for consumer in self.consumers:
            consumer.outgoing.put_nowait(_CLOSE)


async def serve_consumer(websocket: WebSocket, hub: TmcHub, app_key: str, secret: str, window_s: float) -> None:
    """One consumer connection: the signed CONNECT, then frames both ways until either side closes."""
    await websocket.accept()
    try:
        first = await asyncio.wait_for(websocket.receive(), CONNECT_WAIT_S)
    except TimeoutError:
        await websocket.close(1008)
        return
    data = first.get("bytes")
    try:
        if not isinstance(data, bytes) or len(data) > MAX_FRAME:
            raise BadFrame("the first frame is not a binary frame")
        hello = read_frame(data)
        if hello.kind != CONNECT:
            raise BadFrame("the first frame is not a CONNECT")
    except BadFrame as exc:
        hub.stats.bad_frames += 1
        if first.get("type") != "websocket.disconnect":
            await websocket.close(1008, str(exc)[:100])
        return
    refused = refusal(hello, app_key, secret, window_s, int(time.time() * 1000))
    if refused is not None:
        hub.stats.refused += 1
        code, phrase = refused
        await websocket.send_bytes(write_frame(TmcFrame(CONNECTACK, code=code, phrase=phrase, flag=hello.flag)))
        await websocket.close(1008, phrase)
        return
    consumer = hub.attach(str(hello.headers["group_name"]))
    try:
        await websocket.send_bytes(write_frame(TmcFrame(CONNECTACK, flag=hello.flag, token=consumer.token)))
        async with asyncio.TaskGroup() as group:
            reader = group.create_task(_read(websocket, hub, consumer))
            group.create_task(_write(websocket, consumer, reader))
    except* (OSError, RuntimeError, WebSocketDisconnect):  # the consumer went away mid-send
        pass
    finally:
        hub.detach(consumer)
        await _close(websocket, 1011)


async def _read(websocket: WebSocket, hub: TmcHub, consumer: Consumer) -> None:
    while True:
        event = await websocket.receive()
        if event["type"] == "websocket.disconnect":
            consumer.outgoing.put_nowait(_CLOSE)  # ends the writer
            return
        data = event.get("bytes")
        try:
            if not isinstance(data, bytes) or len(data) > MAX_FRAME:
                raise BadFrame("not a binary frame")
            frame = read_frame(data)
        except BadFrame:
            hub.stats.bad_frames += 1
            continue
        hub.on_frame(consumer, frame)


async def _write(websocket: WebSocket, consumer: Consumer, reader: asyncio.Task[None]) -> None:
    while True:
        data = await consumer.outgoing.get()
        if data == _CLOSE:
            reader.cancel()
            await _close(websocket, 1011, "connection dropped")
            return
        await websocket.send_bytes(data)


async def _close(websocket: WebSocket, code: int, reason: str = "") -> None:
    if websocket.client_state != WebSocketState.CONNECTED:
        return
    with contextlib.suppress(OSError, RuntimeError, WebSocketDisconnect):  # already gone
        await websocket.close(code, reason)
