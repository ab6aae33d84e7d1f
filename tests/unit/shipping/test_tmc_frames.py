"""TMC frames (tmc_frames) and what the consumer makes of them (tmc): vectors written byte by byte from the
layout of the Taobao SDK's MessageEncoder02/MessageDecoder02 (little-endian; see tmc_frames' docstring),
round trips, hostile bytes, and the consumer against a scripted server."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import random
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime

import pytest
from structlog.testing import CapturingLogger
from websockets.asyncio.server import ServerConnection, serve

from runtime.backoff import Backoff
from services.shipping.channels.taobao import protocol
from services.shipping.channels.taobao import tmc as tmc_module
from services.shipping.channels.taobao.tmc import (
    MESSAGES,
    TmcConsumer,
    confirm_frame,
    connect_frame,
    message_of,
)
from services.shipping.channels.taobao.tmc_frames import (
    Byte,
    Frame,
    FrameError,
    Int16,
    Int32,
    MessageType,
    decode,
    encode,
)

# A confirm of message 0x0102030405060708 on token "tok", as MessageEncoder02 lays it out.
CONFIRM_BYTES = bytes.fromhex(
    "02"  # protocol version 2
    "02"  # message type SEND
    "0500"
    "03000000"
    "746f6b"  # Token header (5): counted string "tok"
    "0100"
    "06000000"
    "5f5f6b696e64"
    "02"
    "02"  # Custom (1) "__kind", format Byte (2), Confirm (2)
    "0100"
    "02000000"
    "6964"
    "05"
    "0807060504030201"  # Custom "id", format Int64 (5), little-endian
    "0000"  # EndOfHeaders
)


def test_a_confirm_is_written_as_the_sdk_writes_it() -> None:
    assert encode(confirm_frame("tok", 0x0102030405060708)) == CONFIRM_BYTES


def test_a_connectack_with_flag_and_token_is_read() -> None:
    # 02 version, 01 CONNECTACK; 0400 Flag, 07000000 = 7; 0500 Token, 05000000 = 5 bytes, "tk-42"; 0000 end
    raw = bytes.fromhex("0201040007000000050005000000" + b"tk-42".hex() + "0000")
    frame = decode(raw)
    assert frame.message_type == MessageType.CONNECTACK
    assert (frame.flag, frame.token, frame.status_code, dict(frame.content)) == (7, "tk-42", 0, {})
    assert not frame.is_error


def test_a_refusal_is_read_as_an_error() -> None:
    phrase = b"Invalid signature"
    raw = bytes.fromhex(
        "02010200190000000300" + len(phrase).to_bytes(4, "little").hex() + phrase.hex() + "0400010000000000"
    )
    frame = decode(raw)
    assert (frame.status_code, frame.status_phrase, frame.flag) == (25, "Invalid signature", 1)
    assert frame.is_error


def _counted(text: str) -> str:
    data = text.encode()
    return len(data).to_bytes(4, "little").hex() + data.hex()


def test_a_data_message_from_tmc_becomes_the_intakes_message() -> None:
    content = '{"tid":"3000000000000000001","seller_nick":"店铺"}'
    raw = bytes.fromhex(
        "02" "02" "0500" + _counted("tok")
        + "0100" + _counted("id") + "05" + (1234567890123).to_bytes(8, "little").hex()
        + "0100" + _counted("topic") + "01" + _counted("taobao_trade_TradeBuyerPay")
        + "0100" + _counted("content") + "01" + _counted(content)
        + "0100" + _counted("time") + "06" + (1_700_000_000_000).to_bytes(8, "little").hex()
        + "0100" + _counted("nick") + "01" + "06000000" "e5ba97e993ba"  # 店铺 in UTF-8
        + "0100" + _counted("userid") + "05" + (22).to_bytes(8, "little").hex()
        + "0100" + _counted("publisher") + "00"  # Void
        + "0000"
    )  # fmt: skip
    frame = decode(raw)
    assert frame.token == "tok"
    assert frame.content["time"] == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    tmc_id, message = message_of(frame.content)
    assert tmc_id == 1234567890123
    assert message == protocol.Message(
        id="1234567890123",
        topic="taobao_trade_TradeBuyerPay",
        content={"tid": "3000000000000000001", "seller_nick": "店铺"},
        user_nick="店铺",
        user_id="22",
        pub_time="2023-11-15 06:13:20",  # China time, as the webhook's pub_time
        timestamp=None,
    )


def test_the_connect_is_signed_as_sign_top_request_md5() -> None:
    frame = connect_frame("AK", "s3cr3t", "default", flag=3, now_ms=1_700_000_000_000)
    expected = hashlib.md5(b"s3cr3tapp_keyAKgroup_namedefaulttimestamp1700000000000s3cr3t").hexdigest().upper()
    assert frame.message_type == MessageType.CONNECT
    assert frame.flag == 3
    assert frame.content["sign"] == expected
    assert (frame.content["app_key"], frame.content["group_name"], frame.content["timestamp"]) == (
        "AK",
        "default",
        "1700000000000",
    )
    assert "token" not in frame.content
    with_token = connect_frame("AK", "s3cr3t", "default", flag=3, now_ms=1, auth_token="from-tmc-auth-get")
    assert with_token.content["token"] == "from-tmc-auth-get"


@pytest.mark.parametrize(
    "frame",
    [
        Frame(MessageType.CONNECT, {"app_key": "AK", "group_name": "default"}, flag=1),
        Frame(MessageType.CONNECTACK, status_code=25, status_phrase="坏签名", flag=2_000_000_000),
        Frame(
            MessageType.SEND,
            {
                "void": None,
                "s": "中文 text",
                "b": Byte(-5),
                "h": Int16(-30000),
                "i": Int32(-2_000_000_000),
                "q": -(2**62),
                "d": datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
                "bytes": b"\x00\xff\x10",
            },
            token="t",
        ),
        Frame(MessageType.SENDACK, protocol_version=1),
    ],
)
def test_round_trips(frame: Frame) -> None:
    back = decode(encode(frame))
    assert back == frame
    assert [type(v) for v in back.content.values()] == [type(v) for v in frame.content.values()]


def test_an_empty_string_reads_back_as_no_value_as_in_the_sdk() -> None:
    assert decode(encode(Frame(MessageType.SEND, {"x": ""}))).content == {"x": None}


def test_values_tmc_has_no_format_for_are_refused() -> None:
    with pytest.raises(TypeError):
        encode(Frame(MessageType.SEND, {"flag": True}))
    with pytest.raises(ValueError, match="timezone"):
        encode(Frame(MessageType.SEND, {"at": datetime(2026, 1, 1)}))


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"", "ends"),
        (bytes.fromhex("03020000"), "version"),
        (bytes.fromhex("02020900"), "header type 9"),
        (bytes.fromhex("02020100" + _counted("k") + "090000"), "value format 9"),
        (bytes.fromhex("0202050002000000ffff0000"), "UTF-8"),
        (bytes.fromhex("02020100" + _counted("k") + "07ffffffff0000"), "ends"),  # negative length
        (bytes.fromhex("02020500ffffff7f0000"), "ends"),  # 2 GiB string in a 10-byte frame
        (bytes.fromhex("0202010000000000000000"), "no name"),
        (bytes.fromhex("02020100" + _counted("d") + "06ffffffffffffff7f0000"), "out of range"),
    ],
)
def test_hostile_bytes_raise_frame_error(raw: bytes, why: str) -> None:
    with pytest.raises(FrameError, match=why):
        decode(raw)


def test_every_truncation_and_random_bytes_raise_frame_error_or_decode() -> None:
    for end in range(len(CONFIRM_BYTES)):
        with pytest.raises(FrameError):
            decode(CONFIRM_BYTES[:end])
    rng = random.Random(7)
    for _ in range(3000):  # anything other than FrameError escaping fails the test
        with suppress(FrameError):
            assert isinstance(decode(bytes([2, 2]) + rng.randbytes(rng.randrange(0, 40))), Frame)


def _data(**overrides: object) -> dict[str, object]:
    content: dict[str, object] = {
        "id": 5,
        "topic": protocol.TOPIC_PAID,
        "content": json.dumps({"tid": "1"}),
        "nick": "shop",
    }
    content.update(overrides)
    return {k: v for k, v in content.items() if v is not None}


def test_gzip_content_is_inflated() -> None:
    _, message = message_of(_data(content=gzip.compress(b'{"tid":"9"}')))  # type: ignore[arg-type]
    assert message.tid == "9"


@pytest.mark.parametrize(
    ("overrides", "why"),
    [
        ({"__kind": Byte(2)}, "not a data message"),
        ({"id": None}, "no message id"),
        ({"id": "5"}, "no message id"),
        ({"id": 0}, "no message id"),
        ({"content": "not json"}, "JSON"),
        ({"content": "[1]"}, "object"),
        ({"nick": None}, "user_nick"),
        ({"content": b"not gzip"}, "gzip"),
        ({"content": gzip.compress(b"\0" * (2 << 20))}, "inflates past"),
        ({"content": gzip.compress(b"\xff\xfe")}, "UTF-8"),
    ],
)
def test_frames_that_are_not_messages_are_refused(overrides: dict[str, object], why: str) -> None:
    with pytest.raises(protocol.BadMessage, match=why):
        message_of(_data(**overrides))  # type: ignore[arg-type]


def test_a_data_kind_is_accepted() -> None:
    assert message_of(_data(__kind=Byte(3)))[0] == 5  # type: ignore[arg-type]


# The consumer against a scripted server (websockets' own): what it sends, what it skips, what it confirms.


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _message_frame(token: str, tmc_id: int) -> bytes:
    return encode(Frame(MessageType.SEND, _data(id=tmc_id), token=token))  # type: ignore[arg-type]


@asynccontextmanager
async def scripted(port: int, frames: list[bytes | str], received: list[Frame]) -> AsyncIterator[None]:
    """Accepts the CONNECT (token "T"), sends ``frames``, records what the consumer sends."""

    async def session(ws: ServerConnection) -> None:
        hello = decode(bytes(await ws.recv()))  # type: ignore[arg-type]
        await ws.send(encode(Frame(MessageType.CONNECTACK, flag=hello.flag, token="T")))
        for raw in frames:
            await ws.send(raw)
        async for raw in ws:
            received.append(decode(bytes(raw)))  # type: ignore[arg-type]

    async with serve(session, "127.0.0.1", port):
        yield


async def test_malformed_frames_are_skipped_and_only_stored_messages_confirmed() -> None:
    port = _free_port()
    received: list[Frame] = []
    frames: list[bytes | str] = [
        b"\x02\x02\x09\x00",  # unknown header
        "text is not a frame",
        _message_frame("other-token", 1),  # not this connection's
        encode(Frame(MessageType.SEND, {"topic": "no id"}, token="T")),
        _message_frame("T", 2),  # handle declines it
        _message_frame("T", 3),  # handle raises
        _message_frame("T", 4),  # stored
        encode(Frame(MessageType.SENDACK, token="T")),  # passed over silently
    ]
    handled: list[str] = []

    async def handle(message: protocol.Message) -> bool:
        handled.append(message.id)
        if message.id == "3":
            raise RuntimeError("database down")
        return message.id == "4"

    malformed_before = MESSAGES.labels("malformed")._value.get()
    async with scripted(port, frames, received):
        consumer = TmcConsumer(f"ws://127.0.0.1:{port}/", "AK", "s", "default", handle, pull_interval_s=60)
        task = asyncio.create_task(consumer.run())
        for _ in range(200):
            if any(f.content.get("__kind") == 2 for f in received):
                break
            await asyncio.sleep(0.02)
        consumer.stop()
        await asyncio.wait_for(task, 10)
    assert handled == ["2", "3", "4"]
    confirms = [f for f in received if f.content.get("__kind") == 2]
    assert [(f.content["id"], f.token) for f in confirms] == [(4, "T")]
    pulls = [f for f in received if f.content.get("__kind") == 1]
    assert pulls, "a pull request right after the connect"
    assert pulls[0].token == "T"
    assert MESSAGES.labels("malformed")._value.get() - malformed_before == 4


async def test_an_outage_is_logged_once_and_its_end_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # The module's own logger, replaced: structlog caches a logger on first use, so capture_logs() misses it
    # once another test has configured logging (seen in the whole suite).
    logs = CapturingLogger()
    monkeypatch.setattr(tmc_module, "log", logs)
    port = _free_port()  # nothing listens yet
    received: list[Frame] = []

    async def handle(message: protocol.Message) -> bool:
        return True

    consumer = TmcConsumer(
        f"ws://127.0.0.1:{port}/", "AK", "s", "default", handle, backoff=Backoff(base_s=0.01, cap_s=0.02)
    )
    task = asyncio.create_task(consumer.run())
    await asyncio.sleep(0.3)
    assert consumer._failures >= 3
    async with scripted(port, [], received):
        for _ in range(200):
            if consumer.connections:
                break
            await asyncio.sleep(0.02)
        consumer.stop()
        await asyncio.wait_for(task, 10)
    events = [str(c.args[0]) for c in logs.calls if c.args and str(c.args[0]).startswith("tmc_")]
    assert events == ["tmc_unavailable", "tmc_recovered"]
    assert consumer.connections == 1
