"""Taobao's message service (TMC) wire format as pure functions: one binary WebSocket frame <-> ``Frame``.

Facts from the official Taobao TOP Java SDK, as vendored (unchanged package ``com.taobao.api``) in
opendingtalk/alibaba-dingtalk-service-sdk:

- src/main/java/com/taobao/api/internal/toplink/endpoint/MessageType.java: message types CONNECT 0,
  CONNECTACK 1, SEND 2, SENDACK 3; header types EndOfHeaders 0, Custom 1, StatusCode 2, StatusPhrase 3,
  Flag 4, Token 5; value formats Void 0, CountedString 1, Byte 2, Int16 3, Int32 4, Int64 5, Date 6,
  ByteArray 7.
- .../toplink/endpoint/protocol/MessageEncoder02.java and MessageDecoder02.java (the layout below), and
  DefaultMessageDecoderFactory.java (the first byte picks the decoder: 1 is version 1, anything else 2).
- .../toplink/endpoint/Message.java: "version upgrade to 2 at 20130801"; the SDK writes version 2.

One frame, every number little-endian::

    u8  protocol version (2)
    u8  message type
    repeated:  i16 header type, then
        StatusCode, Flag:        i32
        StatusPhrase, Token:     counted string
        Custom:                  counted string name, u8 value format, value
    i16 0 (EndOfHeaders)

A counted string is an i32 byte length and that many UTF-8 bytes; length 0 (the encoder's empty string)
reads back as no value (null in the SDK, None here). Custom values: Void nothing, Byte 1 byte, Int16/32/64
2/4/8 bytes signed, Date an i64 of milliseconds since the epoch (``java.util.Date``), ByteArray an i32
length and bytes, CountedString as above. The encoder leaves out StatusCode and Flag when 0 and
StatusPhrase and Token when empty, as the SDK's does.

Where this is stricter than the SDK (it reads a hostile peer's bytes): an unknown header type or value
format, a length past the end of the frame, invalid UTF-8, or a version other than 1 or 2 raise
``FrameError`` (the SDK would skip an unknown header without reading its value, read an unknown format as
a counted string, and treat any version byte as 2). Version 1 frames (MessageDecoder01.java) share the
layout, without ByteArray. Bytes after EndOfHeaders are ignored, as the SDK ignores them.

The TMC meaning of a SEND's custom headers (``__kind`` and the fields of a message) is in
``services.shipping.channels.taobao.tmc``.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum

PROTOCOL_VERSION = 2
KNOWN_VERSIONS = frozenset({1, 2})


class MessageType(IntEnum):
    CONNECT = 0
    CONNECTACK = 1
    SEND = 2
    SENDACK = 3


class HeaderType(IntEnum):
    END_OF_HEADERS = 0
    CUSTOM = 1
    STATUS_CODE = 2
    STATUS_PHRASE = 3
    FLAG = 4
    TOKEN = 5


class ValueFormat(IntEnum):
    VOID = 0
    COUNTED_STRING = 1
    BYTE = 2
    INT16 = 3
    INT32 = 4
    INT64 = 5
    DATE = 6
    BYTE_ARRAY = 7


class Byte(int):
    """An int written as ValueFormat.Byte (the SDK's ``__kind`` is a Java Byte)."""


class Int16(int):
    """An int written as ValueFormat.Int16."""


class Int32(int):
    """An int written as ValueFormat.Int32. A plain int is written as Int64 (a Java Long)."""


# What a custom header holds once read: None (Void), str, an int (Byte/Int16/Int32 as their classes,
# Int64 as int), datetime (Date, UTC) or bytes (ByteArray).
Value = str | int | datetime | bytes | None


class FrameError(ValueError):
    """Bytes that are not a TMC frame."""


@dataclass(frozen=True)
class Frame:
    message_type: int
    content: Mapping[str, Value] = field(default_factory=dict)
    status_code: int = 0
    status_phrase: str | None = None
    flag: int = 0
    token: str | None = None
    protocol_version: int = PROTOCOL_VERSION

    @property
    def is_error(self) -> bool:
        # EndpointChannelHandler.isError: a status code above 0 or any status phrase.
        return self.status_code > 0 or bool(self.status_phrase)


_RANGES = {ValueFormat.BYTE: (1, "<b"), ValueFormat.INT16: (2, "<h"), ValueFormat.INT32: (4, "<i")}


def _counted(value: str | None) -> bytes:
    data = value.encode() if value else b""
    return struct.pack("<i", len(data)) + data


def _custom_value(value: Value) -> bytes:
    if value is None:
        return bytes([ValueFormat.VOID])
    if isinstance(value, bool):  # a bool is an int in Python, but nothing in the SDK writes one
        raise TypeError("TMC has no boolean value format")
    if isinstance(value, Byte):
        return bytes([ValueFormat.BYTE]) + struct.pack("<b", value)
    if isinstance(value, Int16):
        return bytes([ValueFormat.INT16]) + struct.pack("<h", value)
    if isinstance(value, Int32):
        return bytes([ValueFormat.INT32]) + struct.pack("<i", value)
    if isinstance(value, int):
        return bytes([ValueFormat.INT64]) + struct.pack("<q", value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("a TMC date must be timezone-aware")
        return bytes([ValueFormat.DATE]) + struct.pack("<q", round(value.timestamp() * 1000))
    if isinstance(value, bytes):
        return bytes([ValueFormat.BYTE_ARRAY]) + struct.pack("<i", len(value)) + value
    return bytes([ValueFormat.COUNTED_STRING]) + _counted(value)


def encode(frame: Frame) -> bytes:
    out = bytearray([frame.protocol_version, frame.message_type])
    if frame.status_code > 0:
        out += struct.pack("<hi", HeaderType.STATUS_CODE, frame.status_code)
    if frame.status_phrase:
        out += struct.pack("<h", HeaderType.STATUS_PHRASE) + _counted(frame.status_phrase)
    if frame.flag > 0:
        out += struct.pack("<hi", HeaderType.FLAG, frame.flag)
    if frame.token:
        out += struct.pack("<h", HeaderType.TOKEN) + _counted(frame.token)
    for name, value in frame.content.items():
        out += struct.pack("<h", HeaderType.CUSTOM) + _counted(name) + _custom_value(value)
    out += struct.pack("<h", HeaderType.END_OF_HEADERS)
    return bytes(out)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.at + n > len(self.data):
            raise FrameError(f"frame ends at byte {len(self.data)}, {n} more wanted at {self.at}")
        chunk = self.data[self.at : self.at + n]
        self.at += n
        return chunk

    def unpack(self, fmt: str, size: int) -> int:
        value: int = struct.unpack(fmt, self.take(size))[0]
        return value

    def counted(self) -> str | None:
        size = self.unpack("<i", 4)
        if size <= 0:  # the SDK reads 0 (and a negative length) as null
            return None
        try:
            return self.take(size).decode()
        except UnicodeDecodeError:
            raise FrameError("a string is not UTF-8") from None

    def value(self) -> Value:
        fmt = self.unpack("<B", 1)
        if fmt == ValueFormat.VOID:
            return None
        if fmt == ValueFormat.COUNTED_STRING:
            return self.counted()
        if fmt == ValueFormat.BYTE:
            return Byte(self.unpack("<b", 1))
        if fmt == ValueFormat.INT16:
            return Int16(self.unpack("<h", 2))
        if fmt == ValueFormat.INT32:
            return Int32(self.unpack("<i", 4))
        if fmt == ValueFormat.INT64:
            return self.unpack("<q", 8)
        if fmt == ValueFormat.DATE:
            millis = self.unpack("<q", 8)
            try:
                return datetime.fromtimestamp(millis / 1000, UTC)
            except (OverflowError, OSError, ValueError):
                raise FrameError(f"date {millis} out of range") from None
        if fmt == ValueFormat.BYTE_ARRAY:
            return self.take(self.unpack("<i", 4))
        raise FrameError(f"unknown value format {fmt}")


def decode(data: bytes) -> Frame:
    reader = _Reader(data)
    version = reader.unpack("<B", 1)
    if version not in KNOWN_VERSIONS:
        raise FrameError(f"unknown protocol version {version}")
    message_type = reader.unpack("<B", 1)
    content: dict[str, Value] = {}
    status_code = flag = 0
    status_phrase = token = None
    while (header := reader.unpack("<h", 2)) != HeaderType.END_OF_HEADERS:
        if header == HeaderType.CUSTOM:
            name = reader.counted()
            value = reader.value()
            if name is None:
                raise FrameError("a custom header has no name")
            content[name] = value
        elif header == HeaderType.STATUS_CODE:
            status_code = reader.unpack("<i", 4)
        elif header == HeaderType.STATUS_PHRASE:
            status_phrase = reader.counted()
        elif header == HeaderType.FLAG:
            flag = reader.unpack("<i", 4)
        elif header == HeaderType.TOKEN:
            token = reader.counted()
        else:
            raise FrameError(f"unknown header type {header}")
    return Frame(
        message_type=message_type,
        content=content,
        status_code=status_code,
        status_phrase=status_phrase,
        flag=flag,
        token=token,
        protocol_version=version,
    )
