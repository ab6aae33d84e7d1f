"""The platform's one HTTP endpoint: the signed gateway ``POST /pinduoduo/api/router``."""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile

from services.sandbox.pinduoduo import methods
from services.sandbox.pinduoduo.errors import PddError, parameter_error
from services.sandbox.pinduoduo.protocol import RESPONSE_KEYS
from services.sandbox.pinduoduo.store import Pinduoduo

router = APIRouter(tags=["pinduoduo"])
MAX_BODY_BYTES = 1_000_000


def _scalar(value: Any) -> str | None:
    # A JSON body's values are signed as the SDKs send them: numbers and booleans as text, objects as JSON.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return None


async def gateway_params(request: Request) -> dict[str, str]:
    """Query, form and JSON-body parameters together (the body wins); files are not parameters."""
    params = dict(request.query_params)
    if "json" in request.headers.get("content-type", ""):
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            raise parameter_error("body", "请求体过大 (body too large)")
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise parameter_error("body", "请求体不是合法的JSON (body is not JSON)") from None
        if not isinstance(body, dict):
            raise parameter_error("body", "请求体须为JSON对象 (body must be an object)")
        for name, value in body.items():
            text = _scalar(value)
            if text is not None:
                params[str(name)] = text
        return params
    form = await request.form()
    for name, value in form.multi_items():
        if not isinstance(value, UploadFile):
            params[name] = value
    return params


@router.post("/pinduoduo/api/router", summary="Pinduoduo-style signed gateway", operation_id="pinduoduo_router")
async def api_router(request: Request) -> JSONResponse:
    pdd: Pinduoduo = request.app.state.world.pinduoduo
    request_id = f"{secrets.randbelow(10**17):017d}"
    try:
        params = await gateway_params(request)
        method = params.get("type", "")
        delay = pdd.faults.latency_s(method)
        if delay > 0:
            await asyncio.sleep(delay)
        body = methods.call(pdd, params)
    except PddError as exc:
        return JSONResponse(exc.body(request_id))
    body["request_id"] = request_id
    return JSONResponse({RESPONSE_KEYS[method]: body})
