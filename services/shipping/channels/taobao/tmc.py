"""Taobao's message service (TMC): order messages over a WebSocket, each confirmed once it is stored.

``TmcConsumer`` connects, signs its CONNECT, reads the messages TMC sends, hands each to ``handle`` as a
``protocol.Message`` (the same intake as the webhook's) and confirms those ``handle`` stored. Unconfirmed
messages come again later (TMC's at-least-once delivery), so the intake deduplicates by message id, as it
does for the webhook. Any failure (refused connect, dropped connection, a server that stops answering
pings) is followed by a reconnect after a jittered backoff; an outage is logged once when it starts and
once when it ends, and counted in metrics in between.

The frames are ``tmc_frames``. What the TMC layer puts in them, from the official Taobao TOP Java SDK as
vendored (package ``com.taobao.api`` unchanged) in opendingtalk/alibaba-dingtalk-service-sdk,
src/main/java/com/taobao/api/internal/:

- tmc/TmcClient.java: production URL ``ws://mc.api.taobao.com/``; the connect headers are ``timestamp``
  (milliseconds since the epoch, as a string), ``app_key``, ``group_name`` and ``sign`` =
  ``TaobaoUtils.signTopRequest(those three, secret, md5)`` (util/TaobaoUtils.java: uppercase hex
  MD5 of secret + the sorted name+value pairs + secret), plus ``sdk`` and, unsigned, ``intranet_ip``,
  ``minor_group``/``filter_exp`` (TmcIdentity.java) and ``token``: the result of the API
  ``taobao.tmc.auth.get`` for the group, fetched only when the URL is production's (``auth_token`` here).
  Defaults there: pull request every 15 s, heartbeat 45 s, reconnect every 10 s.
- toplink/endpoint/Endpoint.java, EndpointChannelHandler.java, EndpointProxy.java: the CONNECT carries a
  flag (a counter) that the CONNECTACK echoes; a CONNECTACK with a status code above 0 or a status phrase
  is a refusal, one without a token an error; the token it carries goes on every later SEND, both ways, and
  a SEND whose token is not the connection's is refused by the SDK. Messages arrive as SEND frames.
- toplink/channel/embedded/EmbeddedWebSocketClientChannel.java: the heartbeat is a WebSocket ping.
- tmc/MessageFields.java, MessageKind.java, TmcHandler.java: a SEND's custom headers hold ``__kind``
  (a Byte: PullRequest 1, Confirm 2, Data 3, Failed 20); a message's ``id`` (Int64), ``topic``,
  ``content`` (a string, or gzip bytes), ``time`` (Date, published), ``publisher``, ``nick``, ``userid``
  (Int64), ``dataid``, ``outtime`` (Date). A confirm is a SEND of ``{__kind: 2, id}``; a pull request
  ``{__kind: 1}``. The SDK confirms one message per frame.

Unconfirmed (the SDK leaves it implicit): whether TMC's own SENDs carry ``__kind`` (TmcHandler reads every
SEND as a message; here one whose ``__kind`` is present and not Data is skipped); the status codes of a
refused connect (read, logged, not interpreted); how TMC treats the timestamp (the .NET SDK sends .NET
ticks, the Java SDK milliseconds); any batch confirm (none in the SDK: one frame per confirm, as here).
``handle`` answering False sends nothing: the message stays unconfirmed and TMC sends it again (the SDK's
``Failed`` kind, which reports a reason, is not used).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import time
import zlib
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime

from prometheus_client import Counter, Gauge
from websockets.asyncio.client import ClientConnection, connect

from runtime.backoff import Backoff
from runtime.logging import get_logger
from services.shipping.channels.taobao import protocol
from services.shipping.channels.taobao.tmc_frames import Byte, Frame, FrameError, MessageType, Value, decode, encode

log = get_logger(__name__)

PRODUCTION_URL = "ws://mc.api.taobao.com/"
SDK_NAME = "waybill-tmc-python"
KIND = "__kind"


class Kind:
    """MessageKind.java."""

    PULL_REQUEST = 1
    CONFIRM = 2
    DATA = 3
    FAILED = 20


MAX_FRAME_BYTES = 1 << 20
MAX_CONTENT_BYTES = 1 << 20  # gzip content inflated past this is refused (a small frame can hold a zip bomb)

MESSAGES = Counter(
    "waybill_tmc_messages_total",
    "TMC messages by outcome: confirmed (stored and confirmed), unconfirmed (handle declined: TMC sends it "
    "again), failed (handle raised), unsent_confirm (stored, but the confirm could not be sent), malformed "
    "(frame skipped)",
    ["outcome"],
)
CONNECTS = Counter(
    "waybill_tmc_connects_total",
    "TMC connection attempts by outcome: connected, refused (CONNECTACK with an error), failed (network, "
    "timeout, protocol)",
    ["outcome"],
)
OUTAGES = Counter("waybill_tmc_outages_total", "TMC outages this process saw begin (one per run of failures)")
CONNECTED = Gauge("waybill_tmc_connected", "1 while the TMC consumer holds an accepted connection")

Handle = Callable[[protocol.Message], Awaitable[bool]]


class TmcRefused(Exception):
    """TMC answered the CONNECT with an error (a bad signature, an unknown app or group)."""

    def __init__(self, status_code: int, status_phrase: str | None) -> None:
        super().__init__(f"connect refused: {status_code} {status_phrase or ''}".strip())
        self.status_code = status_code
        self.status_phrase = status_phrase


class TmcProtocolError(Exception):
    """The server broke the protocol during the connect (no CONNECTACK, no token, a foreign flag)."""


def connect_sign(params: Mapping[str, str], secret: str) -> str:
    """TaobaoUtils.signTopRequest with md5: secret + sorted name+value pairs (empty values left out) + secret."""
    joined = "".join(f"{k}{params[k]}" for k in sorted(params) if k and params[k])
    return hashlib.md5(f"{secret}{joined}{secret}".encode()).hexdigest().upper()


def connect_frame(
    app_key: str, secret: str, group: str, flag: int, now_ms: int, auth_token: str | None = None
) -> Frame:
    signed = {"timestamp": str(now_ms), "app_key": app_key, "group_name": group}
    content: dict[str, Value] = {**signed, "sign": connect_sign(signed, secret), "sdk": SDK_NAME}
    if auth_token:
        content["token"] = auth_token
    return Frame(MessageType.CONNECT, content, flag=flag)


def confirm_frame(token: str, message_id: int) -> Frame:
    return Frame(MessageType.SEND, {KIND: Byte(Kind.CONFIRM), "id": message_id}, token=token)


def pull_frame(token: str) -> Frame:
    return Frame(MessageType.SEND, {KIND: Byte(Kind.PULL_REQUEST)}, token=token)


def _inflate(data: bytes) -> str:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # gzip header, as GZIPHelper.unzip reads
    try:
        text = inflater.decompress(data, MAX_CONTENT_BYTES)
    except zlib.error:
        raise protocol.BadMessage("content is not gzip") from None
    if inflater.unconsumed_tail:
        raise protocol.BadMessage(f"content inflates past {MAX_CONTENT_BYTES} bytes")
    try:
        return text.decode()
    except UnicodeDecodeError:
        raise protocol.BadMessage("content is not UTF-8") from None


def message_of(content: Mapping[str, Value]) -> tuple[int, protocol.Message]:
    """The TMC id (to confirm with) and the message, as the webhook's intake takes it; BadMessage if not one."""
    kind = content.get(KIND)
    if kind is not None and kind != Kind.DATA:
        raise protocol.BadMessage(f"not a data message (__kind {kind!r})")
    raw_id = content.get("id")
    if not isinstance(raw_id, int) or isinstance(raw_id, bool) or raw_id <= 0:
        raise protocol.BadMessage("no message id")
    body = content.get("content")
    if isinstance(body, bytes):
        body = _inflate(body)
    published = content.get("time")
    user_id = content.get("userid")
    form = {
        "id": str(raw_id),
        "topic": _text(content.get("topic")),
        "content": _text(body),
        "user_nick": _text(content.get("nick")),
        "user_id": str(user_id) if isinstance(user_id, int | str) else "",
        "pub_time": protocol.china_time(published) if isinstance(published, datetime) else "",
    }
    return raw_id, protocol.parse_message(form)


def _text(value: Value) -> str:
    return value if isinstance(value, str) else ""


class TmcConsumer:
    """One TMC connection for ``app_key``'s ``group``, kept up until ``stop()``; see the module docstring.

    ``handle`` answers True once the message is stored (it is confirmed) and False to have it sent again;
    an exception counts as False. Up to ``concurrency`` messages are handled at once.
    """

    def __init__(
        self,
        url: str,
        app_key: str,
        secret: str,
        group: str,
        handle: Handle,
        *,
        auth_token: Callable[[], Awaitable[str | None]] | None = None,
        concurrency: int = 8,
        pull_interval_s: float = 15.0,
        heartbeat_s: float = 45.0,
        connect_timeout_s: float = 10.0,
        stop_timeout_s: float = 10.0,
        backoff: Backoff = Backoff(base_s=1.0, cap_s=30.0),
        rng: random.Random | None = None,
    ) -> None:
        self.url = url
        self.app_key = app_key
        self.group = group
        self._secret = secret
        self._handle = handle
        self._auth_token = auth_token
        self._slots = asyncio.Semaphore(max(1, concurrency))
        self._pull_interval_s = pull_interval_s
        self._heartbeat_s = heartbeat_s
        self._connect_timeout_s = connect_timeout_s
        self._stop_timeout_s = stop_timeout_s
        self._backoff = backoff
        self._rng = rng
        self._stopping = asyncio.Event()
        self._flags = 0
        self._failures = 0
        self._down_since: float | None = None
        self.connections = 0  # accepted connections so far (one more after each reconnect)
        self.last_error: str | None = None

    def stop(self) -> None:
        """End ``run()`` (for good): messages being handled finish and confirm, then the connection closes."""
        self._stopping.set()

    async def run(self) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    await self._session()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    self._failed(exc)
                else:
                    if self._stopping.is_set():
                        break
                    self._failed(ConnectionError("TMC closed the connection"))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self._backoff.delay(self._failures, self._rng))
        finally:
            CONNECTED.set(0)

    def _failed(self, exc: BaseException) -> None:
        CONNECTED.set(0)
        self._failures += 1
        self.last_error = f"{type(exc).__name__}: {exc}"
        if self._down_since is None:
            self._down_since = time.monotonic()
            OUTAGES.inc()
            log.warning("tmc_unavailable", url=self.url, group=self.group, error=self.last_error)

    def _connected(self) -> None:
        CONNECTS.labels("connected").inc()
        CONNECTED.set(1)
        self.connections += 1
        if self._down_since is not None:
            outage_s = round(time.monotonic() - self._down_since, 1)
            log.warning("tmc_recovered", url=self.url, group=self.group, outage_s=outage_s, failures=self._failures)
        self._down_since = None
        self._failures = 0

    async def _session(self) -> None:
        accepted = False
        try:
            async with connect(
                self.url,
                open_timeout=self._connect_timeout_s,
                ping_interval=self._heartbeat_s,
                ping_timeout=self._heartbeat_s,
                max_size=MAX_FRAME_BYTES,
                compression=None,
            ) as ws:
                token = await self._handshake(ws)
                accepted = True
                self._connected()
                await self._serve(ws, token)
        except TmcRefused:
            CONNECTS.labels("refused").inc()
            raise
        except Exception:
            if not accepted:
                CONNECTS.labels("failed").inc()
            raise

    async def _handshake(self, ws: ClientConnection) -> str:
        self._flags += 1
        flag = self._flags
        auth_token = await self._auth_token() if self._auth_token else None
        hello = connect_frame(self.app_key, self._secret, self.group, flag, int(time.time() * 1000), auth_token)
        await ws.send(encode(hello))
        raw = await asyncio.wait_for(ws.recv(), self._connect_timeout_s)
        if not isinstance(raw, bytes):
            raise TmcProtocolError("the answer to CONNECT is a text frame")
        try:
            ack = decode(raw)
        except FrameError as exc:
            raise TmcProtocolError(f"the answer to CONNECT is not a frame: {exc}") from None
        if ack.message_type != MessageType.CONNECTACK or ack.flag != flag:
            raise TmcProtocolError(f"expected CONNECTACK with flag {flag}, got type {ack.message_type} flag {ack.flag}")
        if ack.is_error:
            raise TmcRefused(ack.status_code, ack.status_phrase)
        if not ack.token:
            raise TmcProtocolError("CONNECTACK without a token")
        return ack.token

    async def _serve(self, ws: ClientConnection, token: str) -> None:
        handling: set[asyncio.Task[None]] = set()
        reader = asyncio.create_task(self._read(ws, token, handling))
        puller = asyncio.create_task(self._pull(ws, token))
        stopping = asyncio.create_task(self._stopping.wait())
        try:
            await asyncio.wait({reader, puller, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (reader, puller, stopping):
                task.cancel()
            await asyncio.gather(reader, puller, stopping, return_exceptions=True)
            # Messages being handled finish and confirm while the connection may still be open.
            if handling:
                await asyncio.wait(handling, timeout=self._stop_timeout_s)
            for task in handling:
                task.cancel()
        if reader.done() and not reader.cancelled() and reader.exception() is not None:
            raise reader.exception()  # type: ignore[misc]
        if puller.done() and not puller.cancelled() and puller.exception() is not None:
            raise puller.exception()  # type: ignore[misc]

    async def _pull(self, ws: ClientConnection, token: str) -> None:
        # A pull request right away, then periodically: TMC pushes, pulls only catch up what it held back.
        while True:
            await ws.send(encode(pull_frame(token)))
            await asyncio.sleep(self._pull_interval_s)

    async def _read(self, ws: ClientConnection, token: str, handling: set[asyncio.Task[None]]) -> None:
        async for raw in ws:  # ends when the connection closes; raises ConnectionClosedError on a drop
            try:
                found = self._message(raw, token)
            except protocol.BadMessage as exc:  # never confirmed: logged, counted, passed over
                MESSAGES.labels("malformed").inc()
                log.warning("tmc_frame_skipped", reason=str(exc)[:200])
                continue
            if found is None:
                continue
            await self._slots.acquire()
            task = asyncio.create_task(self._process(ws, token, *found))
            handling.add(task)
            task.add_done_callback(handling.discard)
        raise ConnectionError("TMC closed the connection")

    def _message(self, raw: str | bytes, token: str) -> tuple[int, protocol.Message] | None:
        """The message a frame carries; None for one to pass over; BadMessage for one that is wrong."""
        if not isinstance(raw, bytes):
            raise protocol.BadMessage("text frame")
        try:
            frame = decode(raw)
        except FrameError as exc:
            raise protocol.BadMessage(str(exc)) from None
        if frame.message_type == MessageType.SENDACK:
            return None
        if frame.message_type != MessageType.SEND:
            raise protocol.BadMessage(f"unexpected message type {frame.message_type}")
        if frame.token != token:
            raise protocol.BadMessage("token is not this connection's")
        if frame.is_error:
            log.warning("tmc_error_frame", status_code=frame.status_code, status_phrase=frame.status_phrase)
            return None
        return message_of(frame.content)

    async def _process(self, ws: ClientConnection, token: str, tmc_id: int, message: protocol.Message) -> None:
        try:
            try:
                stored = await self._handle(message)
            except Exception:
                MESSAGES.labels("failed").inc()
                log.exception("tmc_handle_failed", message_id=message.id, topic=message.topic)
                return
            if not stored:
                MESSAGES.labels("unconfirmed").inc()
                return
            try:
                await ws.send(encode(confirm_frame(token, tmc_id)))
            except Exception as exc:  # the connection went: TMC sends it again, the intake deduplicates
                MESSAGES.labels("unsent_confirm").inc()
                log.info("tmc_confirm_unsent", message_id=message.id, error=type(exc).__name__)
                return
            MESSAGES.labels("confirmed").inc()
        finally:
            self._slots.release()
