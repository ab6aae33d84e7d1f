"""A rate limit per client address, applied before any key lookup.

A request that could cost a key lookup (no key, a made-up key, a shop key this process has not confirmed
yet) books a slot in its client address's budget (GCRA in Redis, shared by every process of the service:
runtime.ratelimit) before the key is looked up, so a flood from one address, of one made-up key or of
many, is answered 429 without costing a lookup each. Like the key limiter it fails open: while Redis
cannot be reached, requests go through. Not counted:

- ``/healthz``, ``/readyz``, ``/metrics``: probes and scrapers must never be refused.
- Requests whose key is known good without a lookup: the admin and internal keys (compared in constant
  time) and shop keys this process has confirmed and still trusts (an in-memory look). They cost no lookup,
  the key limit already bounds each shop key, and the hot path pays no second Redis call. So an address
  serving many shops (a NAT, the dashboard) is limited only in what it sends that is not known good.
- The inbound webhooks (``/webhooks/...``: marketplace messages, tracking-provider pushes). Their senders
  are a few addresses that legitimately send thousands of messages a second when they replay a backlog,
  so a per-address limit low enough to stop a flood would refuse them, and every refused message comes
  back as a retry: more load, later data. They need no key lookup (a signature authenticates them), so
  their refusals are already cheap, and the body size limit bounds each.

The address is the one uvicorn puts in the ASGI scope: the TCP peer's, or, when the peer is listed in
``--forwarded-allow-ips`` (``FORWARDED_ALLOW_IPS``, 127.0.0.1 by default) and ``--proxy-headers`` is on (the
default), the client the proxy names in ``X-Forwarded-For``. Behind a load balancer not listed there, every
client counts as the balancer. IPv6 clients count per /64 (one subscriber's usual allocation, which hands
out more addresses than a limit could follow); an IPv4-mapped IPv6 address counts as its IPv4 address.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from runtime.auth import AuthConfig, read_key_headers
from runtime.errors import error_body
from runtime.metrics import REQUESTS_REJECTED
from runtime.ratelimit import RateLimited

EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
WEBHOOK_PREFIX = "/webhooks/"


def address_bucket(host: str) -> str:
    """The budget a client address draws on: the IPv4 address itself, or an IPv6 address's /64."""
    if ":" not in host:
        return host
    try:
        ip = ipaddress.IPv6Address(host)
    except ValueError:
        return host
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))


class AddressLimitMiddleware:
    """Reads the limiter from ``app.state.auth`` (built in the lifespan, with the Redis client)."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self._rejected = REQUESTS_REJECTED.labels(service, "address_rate_limited")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = await self._check(scope)
            if refusal is not None:
                self._rejected.inc()
                await _reply(send, refusal)
                return
        await self.app(scope, receive, send)

    async def _check(self, scope: Scope) -> RateLimited | None:
        path: str = scope["path"]
        if path in EXEMPT_PATHS or path.startswith(WEBHOOK_PREFIX):
            return None
        app: Any = scope.get("app")
        auth: AuthConfig | None = getattr(app.state, "auth", None) if app is not None else None
        client = scope.get("client")
        if auth is None or auth.address_limiter is None or not client:
            return None  # no limiter configured, or no address to count against (a Unix socket)
        key, _ = read_key_headers(scope["headers"])
        if key and auth.vouched_for(key):
            return None
        try:
            await auth.address_limiter.check(address_bucket(str(client[0])))
        except RateLimited as exc:
            return exc
        return None


async def _reply(send: Send, exc: RateLimited) -> None:
    body = orjson.dumps(error_body(exc.code, exc.message, exc.details))
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in (exc.headers or {}).items()
    ]
    await send({"type": "http.response.start", "status": exc.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})
