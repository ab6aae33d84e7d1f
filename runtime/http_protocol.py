"""uvicorn's httptools protocol with what uvicorn (0.54) lacks: a deadline for a request's headers and a cap
on their size.

uvicorn times out only idle keep-alive connections between requests: a client that connects and sends
nothing, or sends its headers a byte at a time (slowloris), holds a connection and a slot of
``--limit-concurrency`` as long as it likes, and httptools buffers headers of any size. This protocol starts
a timer when a connection opens and when each request's first byte arrives, and stops it when the headers
are complete: past the deadline the answer is 408 and the connection closes. Headers (request line
included) larger than the cap answer 431. Written here because uvicorn offers neither for httptools (h11's
``--h11-max-incomplete-event-size`` bounds size only, and no timeout exists for either), and a proxy in front
is not always there (`make run`, docker compose).
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from prometheus_client import Counter
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

CONNECTIONS_CUT = Counter(
    "waybill_http_connections_cut_total",
    "Connections closed before their request's headers were complete (reason: slow, too_large)",
    ["reason"],
)


class _HeadersTooLarge(Exception):
    """Raised from a parser callback: httptools stops parsing and uvicorn answers (send_400_response)."""


def _answer(status: bytes, message: str) -> bytes:
    body = message.encode()
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: "
        + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body
    )  # fmt: skip


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    header_timeout_s: ClassVar[float] = 10.0
    max_header_bytes: ClassVar[int] = 16_384

    @classmethod
    def with_limits(cls, *, header_timeout_s: float, max_header_bytes: int) -> type[GuardedHttpToolsProtocol]:
        """A subclass carrying these limits (uvicorn builds protocols from a class and its own Config only)."""
        attrs = {"header_timeout_s": header_timeout_s, "max_header_bytes": max_header_bytes}
        return type(cls.__name__, (cls,), attrs)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._header_bytes = 0
        self._too_large = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._expect_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_timer()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._expect_headers()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)  # ": " and CRLF
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._stop_header_timer()
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        if not self._too_large:
            super().send_400_response(msg)
            return
        CONNECTIONS_CUT.labels("too_large").inc()
        self.transport.write(_answer(b"431 Request Header Fields Too Large", "request headers too large"))
        self.transport.close()

    def _expect_headers(self) -> None:
        self._header_bytes = 0
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_too_slow)

    def _stop_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _count(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > self.max_header_bytes:
            self._too_large = True
            raise _HeadersTooLarge

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        CONNECTIONS_CUT.labels("slow").inc()
        self.transport.write(_answer(b"408 Request Timeout", "request headers not received in time"))
        self.transport.close()
