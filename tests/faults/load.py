"""Clients that keep calling while a fault happens, and remember every answer they got."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

UNAVAILABLE = 503


@dataclass
class Answers:
    """Every answer of a load run: status counts, the bad ones kept whole, successes by key."""

    statuses: Counter[int] = field(default_factory=Counter)
    transport_errors: int = 0
    # Each 503: its body, its Retry-After and its X-Request-ID header.
    unavailable_bodies: list[tuple[dict[str, Any], str | None, str | None]] = field(default_factory=list)
    unexpected: list[tuple[int, str]] = field(default_factory=list)
    results: dict[str, list[Any]] = field(default_factory=dict)
    last_success: float = 0.0

    def success(self, key: str, value: Any) -> None:
        self.results.setdefault(key, []).append(value)
        self.last_success = time.monotonic()

    def unavailable(self, resp: httpx.Response) -> None:
        self.unavailable_bodies.append((resp.json(), resp.headers.get("retry-after"), resp.headers.get("x-request-id")))


def assert_error_shape_503(answers: Answers) -> None:
    """Every 503 in the one error shape, naming its request (the X-Request-ID header), with a Retry-After the
    client can follow."""
    for body, retry_after, request_id in answers.unavailable_bodies:
        assert set(body) == {"error"}, body
        assert set(body["error"]) == {"code", "message", "details", "request_id"}, body
        assert body["error"]["code"] == "unavailable", body
        assert request_id is not None, body
        assert body["error"]["request_id"] == request_id, (body, request_id)
        assert retry_after is not None, body
        assert int(retry_after) > 0, retry_after


async def call_until_done(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    answers: Answers,
    *,
    ok: tuple[int, ...] = (200, 201, 202),
    pause_s: float = 0.2,
    give_up_s: float = 300.0,
    **kwargs: Any,
) -> httpx.Response:
    """Repeat the same request (same body, same Idempotency-Key) until it succeeds, as a careful client
    would: on 503, on a dropped connection and on a refused one. Anything else is recorded as unexpected."""
    deadline = time.monotonic() + give_up_s
    while True:
        try:
            resp = await http.request(method, url, **kwargs)
        except httpx.TransportError:
            answers.transport_errors += 1
        else:
            answers.statuses[resp.status_code] += 1
            if resp.status_code in ok:
                return resp
            if resp.status_code == UNAVAILABLE:
                answers.unavailable(resp)
            else:
                answers.unexpected.append((resp.status_code, resp.text[:300]))
                return resp
        if time.monotonic() > deadline:
            raise AssertionError(f"{method} {url} did not succeed within {give_up_s:.0f} s")
        await asyncio.sleep(pause_s)
