"""The sandbox's TMC frames: the binary codec and the connect check, as the published SDK writes them (see
``tmc`` for the sources and the sandbox's choices where the SDK says nothing)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import struct
from dataclasses import dataclass, field
from typing import Any, Literal

log = logging.getLogger("sandbox.tmc")

DeliveryMode = Literal["push", "tmc"]

CONNECT, CONNECTACK, SEND, SENDACK = 0, 1, 2, 3
H_END, H_CUSTOM, H_STATUS_CODE, H_STATUS_PHRASE, H_FLAG, H_TOKEN = 0, 1, 2, 3, 4, 5
F_VOID, F_STRING, F_BYTE, F_INT16, F_INT32, F_INT64, F_DATE, F_BYTES = range(8)
KIND_PULL, KIND_CONFIRM, KIND_DATA, KIND_FAILED = 1, 2, 3, 20
INT_FORMATS = {F_BYTE: "<b", F_INT16: "<h", F_INT32: "<i", F_INT64: "<q"}
MAX_FRAME = 64 * 1024  # consumers send small frames (confirm, pull): anything larger is refused unread
CONNECT_WAIT_S = 10.0


class BadFrame(ValueError):
    pass


@dataclass(frozen=True)
class Millis:
    """A Date value: epoch milliseconds."""

    value: int


@dataclass(frozen=True)
class Long:
    """An Int64 value (TMC's ids and user ids)."""

    value: int


@dataclass
class TmcFrame:
    kind: int  # the message type byte
    headers: dict[str, Any] = field(default_factory=dict)
    code: int = 0
    phrase: str = ""
    flag: int = 0
    token: str = ""


def _string(text: str) -> bytes:
    raw = text.encode("utf-8")
    return len(raw).to_bytes(4, "little", signed=True) + raw


def _value(value: Any) -> bytes:
    if value is None:
        return bytes((F_VOID,))
    if isinstance(value, Long):
        return bytes((F_INT64,)) + value.value.to_bytes(8, "little", signed=True)
    if isinstance(value, Millis):
        return bytes((F_DATE,)) + value.value.to_bytes(8, "little", signed=True)
    if isinstance(value, bytes):
        return bytes((F_BYTES,)) + len(value).to_bytes(4, "little", signed=True) + value
    return bytes((F_STRING,)) + _string(str(value))


def write_frame(frame: TmcFrame) -> bytes:
    parts = [bytes((2, frame.kind))]

    def tag(t: int) -> bytes:
        return t.to_bytes(2, "little", signed=True)

    if frame.code > 0:
        parts += [tag(H_STATUS_CODE), frame.code.to_bytes(4, "little", signed=True)]
    if frame.phrase:
        parts += [tag(H_STATUS_PHRASE), _string(frame.phrase)]
    if frame.flag > 0:
        parts += [tag(H_FLAG), frame.flag.to_bytes(4, "little", signed=True)]
    if frame.token:
        parts += [tag(H_TOKEN), _string(frame.token)]
    for name, value in frame.headers.items():
        parts += [tag(H_CUSTOM), _string(name), _value(value)]
    parts.append(tag(H_END))
    return b"".join(parts)


def read_frame(data: bytes) -> TmcFrame:
    """A consumer's frame; BadFrame for anything else (truncated, unknown tags, bad UTF-8)."""
    view = memoryview(data)
    pos = 0

    def take(n: int) -> bytes:
        nonlocal pos
        if n < 0 or pos + n > len(view):
            raise BadFrame("truncated frame")
        chunk = bytes(view[pos : pos + n])
        pos += n
        return chunk

    def number(fmt: str) -> int:
        result: int = struct.unpack(fmt, take(struct.calcsize(fmt)))[0]
        return result

    def text() -> str:
        size = number("<i")
        try:
            return take(size).decode("utf-8") if size > 0 else ""
        except UnicodeDecodeError:
            raise BadFrame("string is not UTF-8") from None

    def value(fmt: int) -> Any:
        if fmt == F_VOID:
            return None
        if fmt == F_STRING:
            return text()
        if fmt in INT_FORMATS:
            return number(INT_FORMATS[fmt])
        if fmt == F_DATE:
            return Millis(number("<q"))
        if fmt == F_BYTES:
            return take(number("<i"))
        raise BadFrame(f"unknown value format {fmt}")

    if take(1)[0] not in (1, 2):
        raise BadFrame("unknown protocol version")
    frame = TmcFrame(kind=take(1)[0])
    while (tag := number("<h")) != H_END:
        if tag == H_CUSTOM:
            name = text()
            fmt = take(1)[0]
            frame.headers[name] = value(fmt)
        elif tag in (H_STATUS_CODE, H_FLAG):
            setattr(frame, "code" if tag == H_STATUS_CODE else "flag", number("<i"))
        elif tag in (H_STATUS_PHRASE, H_TOKEN):
            setattr(frame, "phrase" if tag == H_STATUS_PHRASE else "token", text())
        else:
            raise BadFrame(f"unknown header type {tag}")
    return frame


def connect_sign(app_key: str, group: str, timestamp: str, secret: str) -> str:
    pairs = sorted({"app_key": app_key, "group_name": group, "timestamp": timestamp}.items())
    return hashlib.md5((secret + "".join(k + v for k, v in pairs if v) + secret).encode("utf-8")).hexdigest().upper()


def refusal(hello: TmcFrame, app_key: str, secret: str, window_s: float, now_ms: int) -> tuple[int, str] | None:
    """Why a CONNECT is refused (code, phrase), or None when it is the app's, signed, and fresh."""
    given = {k: hello.headers.get(k) for k in ("app_key", "group_name", "timestamp", "sign")}
    if not all(isinstance(v, str) and v for v in given.values()):
        return 40, "missing app_key, group_name, timestamp or sign"
    key, group, stamp, sign = (str(given[k]) for k in ("app_key", "group_name", "timestamp", "sign"))
    if key != app_key:
        return 29, "Invalid app Key"
    if not hmac.compare_digest(connect_sign(key, group, stamp, secret).encode(), sign.upper().encode()):
        return 25, "Invalid signature"
    try:
        sent_ms = int(stamp)
    except ValueError:
        return 31, "Invalid timestamp"
    if window_s > 0 and abs(now_ms - sent_ms) > window_s * 1000:
        return 31, "Invalid timestamp"
    return None
