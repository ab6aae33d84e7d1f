"""The allocation hot path served by a plain Starlette route.

``POST /v1/allocations`` is the one endpoint shops call per parcel at peak. FastAPI's per-request
machinery (route matching through every route, dependency solving, response-model validation) cost
about a third of this endpoint's CPU, so the same path is served here by a Starlette route placed
before FastAPI's routes. It does the same work in the same order: authorise, validate the body with
the same pydantic model, allocate, answer with the same model. The FastAPI route of the same path
stays for the OpenAPI documentation and is never reached. Errors go through the app's handlers, so
the error shape is the same, validation errors included.
"""

from __future__ import annotations

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from runtime.auth import require_shop
from services.allocation.resources import AllocationResources
from services.allocation.service import allocations
from shared.allocation import AllocateRequest

PATH = "/v1/allocations"


async def allocate(request: Request) -> Response:
    request.scope["route"] = ROUTE  # for the latency metric's route label, as FastAPI routes do
    shop_id = await require_shop(request)
    try:
        body = AllocateRequest.model_validate_json(await request.body())
    except ValidationError as exc:
        # The same 422 as FastAPI's: locations start with "body".
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from None
    res: AllocationResources = request.app.state.resources
    allocation = await allocations.allocate(res.statements, shop_id, body.carrier, body.order_id, res.coalescer)
    return Response(allocation.model_dump_json(), media_type="application/json")


ROUTE = Route(PATH, allocate, methods=["POST"])


def install(app_routes: list[object]) -> None:
    """Put the lean route first, ahead of FastAPI's documented route of the same path."""
    app_routes.insert(0, ROUTE)
