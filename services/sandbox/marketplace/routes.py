"""The marketplace's endpoints: the TOP-style signed gateway, and the WebSocket of its message service (TMC)."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile

from services.sandbox.faults import endpoint_or_group
from services.sandbox.marketplace import methods
from services.sandbox.marketplace.protocol import TopError, response_key
from services.sandbox.marketplace.store import Marketplace
from services.sandbox.marketplace.tmc import serve_consumer

router = APIRouter(tags=["marketplace"])


async def gateway_params(request: Request) -> dict[str, str]:
    """Query and form parameters together (form wins), file parameters left out as TOP leaves them unsigned."""
    params = dict(request.query_params)
    if request.method == "POST":
        form = await request.form()
        for name, value in form.multi_items():
            if not isinstance(value, UploadFile):
                params[name] = value
    return params


@router.post("/router/rest", summary="TOP-style signed gateway", operation_id="router_rest_post")
@router.get("/router/rest", summary="TOP-style signed gateway (query parameters)", operation_id="router_rest_get")
async def router_rest(request: Request) -> JSONResponse:
    market: Marketplace = request.app.state.world.marketplace
    params = await gateway_params(request)
    request_id = secrets.token_hex(6)
    method = params.get("method", "")
    await market.faults.delay(endpoint_or_group(method, "marketplace"))
    try:
        body = methods.call(market, params)
    except TopError as exc:
        return JSONResponse(exc.body(request_id))
    body["request_id"] = request_id
    return JSONResponse({response_key(method): body})


@router.websocket("/tmc")
async def tmc(websocket: WebSocket) -> None:
    """TMC (production: ws://mc.api.taobao.com/): signed CONNECT, order messages while the delivery mode is tmc."""
    world = websocket.app.state.world
    s = world.settings
    await serve_consumer(
        websocket,
        world.marketplace.outbox.tmc,
        s.marketplace_app_key,
        s.marketplace_app_secret,
        s.marketplace_timestamp_window_s,
    )
