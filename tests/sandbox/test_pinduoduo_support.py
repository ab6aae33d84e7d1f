"""Our side of the Pinduoduo protocol for the sandbox tests: signing written again here, and a message receiver.

Nothing here imports the sandbox's signing, so a bug there cannot be mirrored and pass. (No tests in this
module: it holds what the test_pinduoduo_* modules share.)
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.sandbox.main import create_app
from services.sandbox.settings import SandboxSettings

CLIENT_ID = "test-pdd-client"
CLIENT_SECRET = "test-pdd-secret"
MESSAGE_URL = "http://receiver/v1/channels/pinduoduo/messages"
REPLAY_WINDOW_S = 300


def by_hand_sign(params: dict[str, str], secret: str = CLIENT_SECRET) -> str:
    """secret + sorted name+value pairs (sign left out, empty values kept) + secret, MD5, uppercase hex."""
    joined = "".join(name + params[name] for name in sorted(params) if name != "sign")
    return hashlib.md5((secret + joined + secret).encode("utf-8")).hexdigest().upper()


def pdd_params(
    type_: str,
    access_token: str | None = None,
    *,
    secret: str = CLIENT_SECRET,
    timestamp: str | None = None,
    **extra: str,
) -> dict[str, str]:
    params = {
        "type": type_,
        "client_id": CLIENT_ID,
        "timestamp": timestamp if timestamp is not None else str(int(time.time())),
        "data_type": "JSON",
        "version": "V1",
        **extra,
    }
    if access_token is not None:
        params["access_token"] = access_token
    params["sign"] = by_hand_sign(params, secret)
    return params


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]
    sign_ok: bool

    @property
    def frame(self) -> dict[str, Any]:
        frame: dict[str, Any] = json.loads(self.body)
        return frame

    @property
    def content(self) -> dict[str, Any]:
        content: dict[str, Any] = json.loads(self.frame["message"]["content"])
        return content


@dataclass
class PddReceiver:
    """Our message endpoint as far as the sandbox can tell: checks the sign and the replay window by hand."""

    received: list[Received] = field(default_factory=list)
    fail_next: int = 0  # answer the next N well-signed messages with HTTP 503

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/channels/pinduoduo/messages")
        async def messages(request: Request) -> JSONResponse:
            body = await request.body()
            stamp = request.headers.get("x-pdd-timestamp", "")
            expected = hashlib.md5(CLIENT_SECRET.encode() + stamp.encode() + body + CLIENT_SECRET.encode())
            fresh = stamp.isdigit() and abs(time.time() - int(stamp)) <= REPLAY_WINDOW_S
            ok = fresh and request.headers.get("x-pdd-sign") == expected.hexdigest().upper()
            self.received.append(Received(body, dict(request.headers), ok))
            if not ok:
                return JSONResponse({"error": "bad sign"}, status_code=401)
            if self.fail_next > 0:
                self.fail_next -= 1
                return JSONResponse({"error": "busy"}, status_code=503)
            return JSONResponse({"ok": True})

        return app

    def good(self, type_: str | None = None) -> list[Received]:
        return [r for r in self.received if r.sign_ok and (type_ is None or r.frame["message"]["type"] == type_)]


@dataclass
class PddHarness:
    client: httpx.AsyncClient
    receiver: PddReceiver

    async def mall(self, name: str | None = None) -> tuple[int, str]:
        response = await self.client.post("/control/pinduoduo/malls", json={"mall_name": name} if name else None)
        assert response.status_code == 200, response.text
        body = response.json()
        return int(body["mall_id"]), str(body["access_token"])

    async def orders(self, mall_id: int, count: int = 1, **fields: Any) -> list[str]:
        response = await self.client.post(
            "/control/pinduoduo/orders", json={"mall_id": mall_id, "count": count, **fields}
        )
        assert response.status_code == 200, response.text
        sns: list[str] = response.json()["order_sns"]
        return sns

    async def order(self, order_sn: str) -> dict[str, Any]:
        response = await self.client.get(f"/control/pinduoduo/orders/{order_sn}")
        assert response.status_code == 200, response.text
        view: dict[str, Any] = response.json()
        return view

    async def post(self, params: dict[str, str]) -> dict[str, Any]:
        response = await self.client.post("/pinduoduo/api/router", data=params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def call(self, type_: str, access_token: str | None = None, **extra: str) -> dict[str, Any]:
        return await self.post(pdd_params(type_, access_token, **extra))

    async def faults(self, **changes: Any) -> dict[str, Any]:
        response = await self.client.put("/control/pinduoduo/faults", json=changes)
        assert response.status_code == 200, response.text
        view: dict[str, Any] = response.json()
        return view


def error_of(body: dict[str, Any]) -> int:
    assert "error_response" in body, body
    code: int = body["error_response"]["error_code"]
    return code


@asynccontextmanager
async def running_pdd(**overrides: Any) -> AsyncIterator[PddHarness]:
    receiver = PddReceiver()
    values: dict[str, Any] = {
        "seed": 11,
        "pinduoduo_client_id": CLIENT_ID,
        "pinduoduo_client_secret": CLIENT_SECRET,
        "pinduoduo_message_url": MESSAGE_URL,
        "pinduoduo_message_redelivery_s": [0.05],
        **overrides,
    }
    app = create_app(SandboxSettings(**values), transport=httpx.ASGITransport(app=receiver.app()))
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://sandbox") as client,
    ):
        yield PddHarness(client, receiver)
