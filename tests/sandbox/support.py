"""Test side of each protocol: signing written again, independently of the sandbox, plus a callback receiver.

Nothing here imports the sandbox's signing code, so a bug there cannot be mirrored here and pass unnoticed.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.sandbox.main import create_app
from services.sandbox.settings import SandboxSettings

APP_KEY = "sandbox-app"
APP_SECRET = "sandbox-secret"
COURIER_KEY = "sandbox-courier"
COURIER_SECRET = "sandbox-courier-secret"
K100_KEY = "sandbox-key"
SALT = "test-salt-42"
RECEIVER = "http://receiver"
UTC8 = timezone(timedelta(hours=8))


def top_timestamp(offset_s: float = 0.0) -> str:
    return (datetime.now(UTC8) + timedelta(seconds=offset_s)).strftime("%Y-%m-%d %H:%M:%S")


def top_sign(params: dict[str, str], secret: str, method: str) -> str:
    # Empty values are not signed, as the official TOP SDK does (TopUtils.signTopRequest).
    joined = "".join(k + v for k, v in sorted(params.items()) if k != "sign" and k and v)
    if method == "md5":
        return hashlib.md5((secret + joined + secret).encode("utf-8")).hexdigest().upper()
    return hmac.new(secret.encode("utf-8"), joined.encode("utf-8"), "md5").hexdigest().upper()


def top_params(
    method: str,
    session: str | None = None,
    *,
    secret: str = APP_SECRET,
    sign_method: str = "md5",
    timestamp: str | None = None,
    app_key: str = APP_KEY,
    **extra: str,
) -> dict[str, str]:
    params = {
        "method": method,
        "app_key": app_key,
        "sign_method": sign_method,
        "timestamp": timestamp or top_timestamp(),
        "format": "json",
        "v": "2.0",
        **extra,
    }
    if session is not None:
        params["session"] = session
    params["sign"] = top_sign(params, secret, sign_method)
    return params


def courier_form(msg_type: str, body: dict[str, Any], secret: str = COURIER_SECRET) -> dict[str, str]:
    text = json.dumps(body)
    digest = base64.b64encode(hashlib.md5((text + secret).encode("utf-8")).digest()).decode()
    return {
        "msg_type": msg_type,
        "logistic_provider_id": COURIER_KEY,
        "logistics_interface": text,
        "data_digest": digest,
    }


def md5_upper(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest().upper()


def s10_valid(number: str) -> bool:
    if len(number) != 13 or not (number[:2].isalpha() and number[2:11].isdigit() and number[11:].isalpha()):
        return False
    weights = [8, 6, 4, 2, 3, 5, 9, 7]
    r = sum(int(number[2 + i]) * weights[i] for i in range(8)) % 11
    check = {0: 5, 1: 0}.get(r, 11 - r)
    return int(number[10]) == check


def gs1_valid(number: str) -> bool:
    digits = [int(c) for c in number]
    body, check = digits[:-1], digits[-1]
    total = 0
    for position, digit in enumerate(reversed(body)):
        total += digit * (3 if position % 2 == 0 else 1)
    return (10 - total % 10) % 10 == check


@dataclass
class Receiver:
    """Our side, as far as the sandbox can tell: the marketplace webhook and a tracking callback."""

    messages: list[dict[str, str]] = field(default_factory=list)
    message_sign_ok: list[bool] = field(default_factory=list)
    pushes: list[dict[str, Any]] = field(default_factory=list)
    fail_messages: int = 0  # answer the next N messages with HTTP 500
    fail_pushes: int = 0  # answer the next N pushes with returnCode 500

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/webhooks/marketplace")
        async def webhook(request: Request) -> JSONResponse:
            form = {k: str(v) for k, v in (await request.form()).items()}
            self.messages.append(form)
            self.message_sign_ok.append(top_sign(form, APP_SECRET, "hmac") == form.get("sign"))
            if self.fail_messages > 0:
                self.fail_messages -= 1
                return JSONResponse({"error": "down"}, status_code=500)
            return JSONResponse({"ok": True})

        @app.post("/callback")
        async def callback(request: Request) -> JSONResponse:
            form = await request.form()
            param, sign = str(form["param"]), str(form["sign"])
            valid = md5_upper(param + SALT) == sign
            self.pushes.append({"param": json.loads(param), "raw": param, "sign_ok": valid})
            if not valid:
                return JSONResponse({"result": False, "returnCode": "400", "message": "bad sign"})
            if self.fail_pushes > 0:
                self.fail_pushes -= 1
                return JSONResponse({"result": False, "returnCode": "500", "message": "busy"})
            return JSONResponse({"result": True, "returnCode": "200", "message": "ok"})

        return app

    def good_pushes(self) -> list[dict[str, Any]]:
        return [p["param"] for p in self.pushes if p["sign_ok"]]


@dataclass
class Harness:
    client: httpx.AsyncClient
    receiver: Receiver
    app: FastAPI

    async def seller(self, nick: str = "shop-a") -> str:
        response = await self.client.post("/control/marketplace/sellers", json={"seller_nick": nick})
        assert response.status_code == 200, response.text
        session: str = response.json()["session"]
        return session

    async def trades(self, nick: str, count: int = 1, paid: bool = True) -> list[str]:
        response = await self.client.post(
            "/control/marketplace/trades", json={"seller_nick": nick, "count": count, "paid": paid}
        )
        assert response.status_code == 200, response.text
        tids: list[str] = response.json()["tids"]
        return tids

    async def top(self, method: str, session: str | None = None, **kwargs: Any) -> dict[str, Any]:
        response = await self.client.post("/router/rest", data=top_params(method, session, **kwargs))
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        return body

    async def courier(self, msg_type: str, body: dict[str, Any]) -> httpx.Response:
        return await self.client.post("/courier/gateway", data=courier_form(msg_type, body))

    async def issue(self, cp_code: str, seller_id: str, object_id: str, quantity: int, **extra: Any) -> list[str]:
        dtos = [{"object_id": object_id, "quantity": quantity}]
        response = await self.courier(
            "TMS_WAYBILL_GET", {"cp_code": cp_code, "seller_id": seller_id, "trade_order_info_dtos": dtos, **extra}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["success"] is True, body
        codes: list[str] = body["waybill_apply_new_cols"][0]["waybill_codes"]
        return codes

    async def faults(self, **changes: Any) -> dict[str, Any]:
        response = await self.client.put("/control/faults", json=changes)
        assert response.status_code == 200, response.text
        view: dict[str, Any] = response.json()
        return view

    async def subscribe(self, company: str, number: str, **parameters: str) -> dict[str, Any]:
        param = {
            "company": company,
            "number": number,
            "key": K100_KEY,
            "parameters": {"callbackurl": f"{RECEIVER}/callback", "salt": SALT, "resultv2": "1", **parameters},
        }
        response = await self.client.post("/kuaidi100/poll", data={"schema": "json", "param": json.dumps(param)})
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        return body

    async def collect(self, company: str, number: str) -> None:
        """The courier picks the parcel up: a normal journey subscribed (``company`` is Kuaidi100's name), the
        sandbox clock moved past its 揽收 (0.5 to 6 simulated hours in)."""
        response = await self.client.put("/control/tracking/kinds", json={"kinds": {number: "normal"}})
        assert response.status_code == 200, response.text
        assert (await self.subscribe(company, number))["returnCode"] == "200"
        await self.client.post("/control/clock/advance", json={"seconds": 7 * 3600})
        assert (await self.number_state(number)) == "collected"

    async def number_state(self, number: str) -> str:
        """What the couriers say of an issued number: issued, discarded or collected."""
        response = await self.client.get(f"/control/courier/numbers/{number}")
        assert response.status_code == 200, response.text
        state: str = response.json()["state"]
        return state


async def wait_for(predicate: Callable[[], bool], within: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def sandbox_settings(**overrides: Any) -> SandboxSettings:
    values: dict[str, Any] = {
        "seed": 7,
        "marketplace_webhook_url": f"{RECEIVER}/webhooks/marketplace",
        "message_redelivery_s": [0.05],
        "tracking_push_retry_s": [0.05],
        **overrides,
    }
    return SandboxSettings(**values)


@asynccontextmanager
async def running(**overrides: Any) -> AsyncIterator[Harness]:
    receiver = Receiver()
    app = create_app(sandbox_settings(**overrides), transport=httpx.ASGITransport(app=receiver.app()))
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://sandbox") as client,
    ):
        yield Harness(client, receiver, app)
