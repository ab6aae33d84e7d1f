"""The push webhook served by a plain Starlette route.

``POST /webhooks/tracking/kuaidi100`` takes every push of every parcel. FastAPI's per-request machinery
(matching through every route, dependency solving, the endpoint's wrapping) costs more CPU than the
handler itself on this path, so the same handler is mounted here as a Starlette route ahead of FastAPI's
routes. The FastAPI route of the same path stays for the OpenAPI documentation and is never reached; both
call ``routes.webhook.handle_push``, so behaviour, answers and error bodies are the same. The middleware (request
ids, latency metrics, body limit) runs as for any route.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.tracking.router.webhook import handle_push

PATH = "/webhooks/tracking/kuaidi100"


async def push(request: Request) -> Response:
    request.scope["route"] = ROUTE  # for the latency metric's route label, as FastAPI routes do
    return await handle_push(request)


ROUTE = Route(PATH, push, methods=["POST"])


def install(app_routes: list[object]) -> None:
    """Put the lean route first, ahead of FastAPI's documented route of the same path."""
    app_routes.insert(0, ROUTE)
