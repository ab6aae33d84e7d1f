"""The provider's pushes (the webhook every push of every parcel takes)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.exceptions import HTTPException

from services.tracking import metrics
from services.tracking.domain.states import PushOutcome
from services.tracking.kuaidi100.protocol import ACK_BODY, failure_body, parse_form
from services.tracking.resources import TrackingResources
from services.tracking.service import ingestion

router = APIRouter(tags=["webhooks"])

_PUSH_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["param", "sign"],
                    "properties": {
                        "param": {"type": "string", "description": "The push as a JSON string (lastResult inside)."},
                        "sign": {"type": "string", "description": "Uppercase hex MD5(param + salt)."},
                    },
                }
            }
        },
    },
    "responses": {
        "400": {
            "description": (
                "Refused (bad signature, unknown number or unreadable param); the provider repeats it. A bad "
                "signature and a number we do not follow get the same answer, byte for byte."
            ),
            "content": {"application/json": {"example": {"result": False, "returnCode": "400", "message": "bad sign"}}},
        }
    },
}


def _refuse(code: str, message: str) -> Response:
    return Response(failure_body(code, message), status_code=400, media_type="application/json")


# One answer for a wrong sign and for a number we do not follow (for which no sign can be right): the
# webhook must not tell a stranger which numbers we track. Both cost the same one statement.
NOT_VERIFIED = failure_body("400", "bad sign")


@router.post(
    "/webhooks/tracking/kuaidi100",
    summary="Receive a tracking push (Kuaidi100 callback)",
    description=(
        "Form fields `param` (JSON) and `sign`. The sign must equal uppercase MD5(param + salt) with the salt of "
        "the subscription of the push's number; otherwise the push is refused and nothing is stored (the same "
        "answer whether the sign is wrong or the number is not followed). An accepted push is stored in PostgreSQL "
        'before the answer `{"result": true, "returnCode": "200", "message": "ok"}` and processed by the workers '
        "in batches; a push identical to one already stored for the parcel is acknowledged without a second row."
    ),
    response_class=Response,
    responses={200: {"content": {"application/json": {"example": {"result": True, "returnCode": "200"}}}}},
    openapi_extra=_PUSH_FORM,
)
async def receive_kuaidi100_push(request: Request) -> Response:
    """Served by the bare endpoint of ``services.tracking.fastpath`` (this one documents it and does the same)."""
    return await handle_push(request)


async def handle_push(request: Request) -> Response:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/"):
        try:
            form: dict[str, Any] = dict(await request.form())
        except HTTPException as exc:  # no boundary, a broken part: Starlette's 400, answered in the push's shape
            metrics.INGEST_UNREADABLE.inc()
            return _refuse("400", f"the form is not readable: {exc.detail}")
    else:
        form = parse_form(await request.body())
    param, sign = form.get("param"), form.get("sign")
    if not isinstance(param, str) or not isinstance(sign, str) or not param or not sign:
        metrics.INGEST_UNREADABLE.inc()
        return _refuse("400", "param and sign are required")
    res: TrackingResources = request.app.state.resources
    outcome = await ingestion.take_push(res.webhook, res.waker, param, sign)
    if outcome is PushOutcome.STORED:  # stored and committed: safe to acknowledge
        return Response(ACK_BODY, media_type="application/json")
    if outcome is PushOutcome.UNREADABLE:
        return _refuse("400", "param is not a readable push")
    return Response(NOT_VERIFIED, status_code=400, media_type="application/json")
