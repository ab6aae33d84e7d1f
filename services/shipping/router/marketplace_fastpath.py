"""The marketplace message webhooks served by plain Starlette routes.

The channels push one message a request, many at once: FastAPI's per-request machinery (matching through
every route, solving the unit-of-work and resources dependencies, serialising the answer) was a large part of
the little CPU a grouped message costs. These routes do the same work in the same order as the documented
FastAPI routes of the same paths (``marketplace``), which stay for the OpenAPI description and are never
reached: verify (401/400 before anything is stored), then a paid message joins its group
(``intake_batch``), any other is applied in its own transaction. Errors go through the app's handlers: the
one error shape.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from services.shipping.channels.base import ChannelName, MessageKind
from services.shipping.resources import ShippingResources
from services.shipping.service import channel_messages, intake_batch


async def _receive(channel: ChannelName, request: Request) -> Response:
    res: ShippingResources = request.app.state.resources
    message = channel_messages.read(res.channels.marketplace(channel), request.headers, await request.body())
    if message.kind is MessageKind.PAID:
        answer = await intake_batch.for_app(request.app.state, res, res.channels).submit(message)
    else:
        async with res.transaction() as uow:
            answer = await channel_messages.receive(uow, res.channels, message)
    return Response(json.dumps(answer, ensure_ascii=False), media_type="application/json")


async def taobao(request: Request) -> Response:
    request.scope["route"] = TAOBAO  # for the latency metric's route label, as FastAPI routes do
    return await _receive(ChannelName.TAOBAO, request)


async def pinduoduo(request: Request) -> Response:
    request.scope["route"] = PINDUODUO
    return await _receive(ChannelName.PINDUODUO, request)


TAOBAO = Route("/webhooks/marketplace", taobao, methods=["POST"])
PINDUODUO = Route("/webhooks/pinduoduo", pinduoduo, methods=["POST"])


def install(app_routes: list[BaseRoute]) -> None:
    """Put the lean routes first, ahead of FastAPI's documented routes of the same paths."""
    app_routes[0:0] = [TAOBAO, PINDUODUO]
