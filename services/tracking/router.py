"""Tracking HTTP routes: thin, they parse, authorise and call the service."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status

from runtime.app import RuntimeDep, UowDep
from runtime.auth import AdminDep, InternalShopIdDep, ShopIdDep
from runtime.logging import get_logger
from runtime.openapi import responses
from runtime.params import IdCursor, IdPath
from services.tracking import metrics, service
from services.tracking.clock import Clock, ClockSetting, StoredClock
from services.tracking.kuaidi100.protocol import ACK_BODY, failure_body, parse_form, push_number
from services.tracking.repository import AlertFilter, PushOutcome, WebhookStatements
from services.tracking.schemas import (
    AlertOut,
    AlertSettingIn,
    AlertSettingOut,
    ClockIn,
    ClockOut,
    OrderTrackingOut,
    TrackingOut,
)
from services.tracking.settings import TrackingSettings
from services.tracking.wake import Waker
from shared.carriers import CarrierCode
from shared.tracking import (
    AlertKind,
    AlertState,
    SubscriptionBatch,
    SubscriptionBatchResult,
    SubscriptionInfo,
    SubscriptionRequest,
)

log = get_logger(__name__)

webhooks = APIRouter(tags=["webhooks"])
trackings = APIRouter(prefix="/v1", tags=["trackings"])
alerts = APIRouter(prefix="/v1", tags=["alerts"])
internal = APIRouter(prefix="/internal/v1", tags=["internal"])

ROUTERS = [webhooks, trackings, alerts, internal]


async def get_clock(request: Request) -> Clock:
    found: Clock = request.app.state.runtime.extras["clock"]
    return found


ClockDep = Annotated[Clock, Depends(get_clock)]


def _defaults(rt: Any) -> service.AlertDefaults:
    s = rt.settings
    assert isinstance(s, TrackingSettings)
    return service.AlertDefaults(
        s.alert_not_collected_hours, s.alert_no_update_hours, s.alert_late_grace_hours, s.alert_transit_days
    )


# --- push ingestion -----------------------------------------------------------------------------------

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
_NOT_VERIFIED = failure_body("400", "bad sign")


@webhooks.post(
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
async def kuaidi100_push(request: Request) -> Response:
    """Served by the lean route of ``services.tracking.fastpath`` (this one documents it and does the same)."""
    return await handle_push(request)


async def handle_push(request: Request) -> Response:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/"):
        form: dict[str, Any] = dict(await request.form())
    else:
        form = parse_form(await request.body())
    param, sign = form.get("param"), form.get("sign")
    if not isinstance(param, str) or not isinstance(sign, str) or not param or not sign:
        metrics.INGEST_UNREADABLE.inc()
        return _refuse("400", "param and sign are required")
    found = push_number(param)
    if found is None:
        metrics.INGEST_UNREADABLE.inc()
        log.warning("push_refused", reason="unreadable param")
        return _refuse("400", "param is not a readable push")
    extras = request.app.state.runtime.extras
    statements: WebhookStatements = extras["webhook"]
    outcome = await statements.store(found[1], param, sign)
    if outcome is not PushOutcome.STORED:
        bad_sign = outcome is PushOutcome.BAD_SIGNATURE
        (metrics.INGEST_BAD_SIGNATURE if bad_sign else metrics.INGEST_UNKNOWN_NUMBER).inc()
        log.warning("push_refused", reason=outcome.value, com=found[0], number=found[1])
        return Response(_NOT_VERIFIED, status_code=400, media_type="application/json")
    # Stored and committed: safe to acknowledge. The workers' hint goes out in the background.
    metrics.INGEST_STORED.inc()
    waker: Waker = extras["waker"]
    waker.poke()
    return Response(ACK_BODY, media_type="application/json")


# --- subscriptions (shipping) ------------------------------------------------------------------------


@internal.post(
    "/subscriptions",
    status_code=status.HTTP_201_CREATED,
    summary="Follow a confirmed shipment",
    description=(
        "Shipping calls this after confirming a shipment. Idempotent on (carrier, number): a repeat answers 200 "
        "with the existing subscription. The provider subscription happens in a worker (callback URL, a "
        "per-parcel salt, the carrier's Kuaidi100 code); a refused or failed one is flagged, and asking again "
        "retries it. 409 when the number is tracked for another order or shop."
    ),
    responses={200: {"model": SubscriptionInfo, "description": "Already subscribed"}, **responses(403, 409)},
)
async def create_subscription(
    body: SubscriptionRequest, uow: UowDep, shop_id: InternalShopIdDep, response: Response
) -> SubscriptionInfo:
    info, created = await service.subscribe(uow, shop_id, body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return info


@internal.post(
    "/subscriptions/batch",
    summary="Follow many confirmed shipments at once",
    description=(
        "Shipping's handoff of a batch chunk: up to 1,000 shipments of one shop in one call, each answered as the "
        "single endpoint would (`created`, `existing` — a flagged one is retried —, or `conflict` when the number "
        "is tracked for another order or shop), in the request's order. The provider subscriptions follow in "
        "one worker job. Nothing is refused as a whole except a malformed request (422)."
    ),
    responses=responses(403),
)
async def create_subscriptions(
    body: SubscriptionBatch, uow: UowDep, shop_id: InternalShopIdDep
) -> SubscriptionBatchResult:
    return await service.subscribe_many(uow, shop_id, body.items)


# --- reading tracking --------------------------------------------------------------------------------


@trackings.get(
    "/trackings/{waybill}",
    summary="A parcel's status, timeline and alerts",
    description=(
        "Status in the one normalised set, the full timeline (each event once, newest first, ordered by event "
        "time) and every alert. Another shop's waybill answers 404. When the same number is tracked with two "
        "carriers, name one with `carrier`."
    ),
    responses=responses(404, 409),
)
async def get_tracking(
    waybill: str, uow: UowDep, shop_id: ShopIdDep, carrier: CarrierCode | None = None
) -> TrackingOut:
    return await service.tracking_for_number(uow, shop_id, waybill, carrier)


@trackings.get(
    "/orders/{order_id}/tracking",
    summary="Tracking of every parcel of an order",
    description="The order id carried in the subscription; another shop's order answers 404.",
    responses=responses(404),
)
async def get_order_tracking(order_id: str, uow: UowDep, shop_id: ShopIdDep) -> OrderTrackingOut:
    return await service.tracking_for_order(uow, shop_id, order_id)


# --- alerts ------------------------------------------------------------------------------------------


@alerts.get(
    "/alerts",
    summary="List the shop's logistics alerts (物流预警)",
    description="Newest first; filter by state, kind, carrier or number; page with `before_id`.",
)
async def list_alerts(
    uow: UowDep,
    shop_id: ShopIdDep,
    state: AlertState | None = None,
    kind: AlertKind | None = None,
    carrier: CarrierCode | None = None,
    number: str | None = None,
    before_id: IdCursor = None,
    limit: int = Query(100, ge=1, le=1000),
) -> list[AlertOut]:
    f = AlertFilter(state, kind, None if carrier is None else carrier.value, number, before_id, limit)
    return await service.list_alerts(uow, shop_id, f)


@alerts.post(
    "/alerts/{alert_id}/ack",
    summary="Acknowledge an alert",
    description=(
        "open -> acknowledged (repeating it is harmless). The alert still resolves by itself when the parcel "
        "moves on or is delivered; a resolved alert cannot be acknowledged (409)."
    ),
    responses=responses(404, 409),
)
async def acknowledge_alert(alert_id: IdPath, uow: UowDep, shop_id: ShopIdDep, clock: ClockDep) -> AlertOut:
    return await service.acknowledge_alert(uow, shop_id, alert_id, await clock.now())


@alerts.get(
    "/alert-settings",
    summary="Alert thresholds in force",
    description="The shop's default (`*`) and each carrier it has set, with fallbacks filled in.",
)
async def get_alert_settings(uow: UowDep, shop_id: ShopIdDep, rt: RuntimeDep) -> list[AlertSettingOut]:
    return await service.alert_settings(uow, shop_id, _defaults(rt))


@alerts.put(
    "/alert-settings",
    summary="Set alert thresholds for a carrier (or every carrier)",
    description="Fields left out fall back to the shop's all-carrier setting, then to the service defaults.",
)
async def put_alert_settings(body: AlertSettingIn, uow: UowDep, shop_id: ShopIdDep, rt: RuntimeDep) -> AlertSettingOut:
    return await service.put_alert_setting(uow, shop_id, body, _defaults(rt))


# --- operators ---------------------------------------------------------------------------------------


async def _clock_out(clock: Clock, uow: Any) -> ClockOut:
    setting = await service.get_clock(uow)
    return ClockOut(now=await clock.now(), factor=1.0 if setting is None else setting.factor, simulated=bool(setting))


@internal.get("/clock", summary="The service clock", description="Admin only.", responses=responses(403))
async def read_clock(uow: UowDep, _: AdminDep, clock: ClockDep) -> ClockOut:
    return await _clock_out(clock, uow)


@internal.put(
    "/clock",
    summary="Set a simulated clock (tests, demos)",
    description=(
        "Admin only. Every process of the service follows it within a second: alert thresholds and polling use "
        "it, e.g. to keep step with the sandbox's accelerated parcel journeys. `reset` goes back to real time."
    ),
    responses=responses(403),
)
async def put_clock(body: ClockIn, uow: UowDep, _: AdminDep, clock: ClockDep) -> ClockOut:
    if body.reset:
        await service.set_clock(uow, None)
        now, factor = datetime.now(UTC), 1.0
    else:
        now = body.now or await clock.now()
        factor = body.factor
        await service.set_clock(uow, ClockSetting(datetime.now(UTC), now, factor))
    if isinstance(clock, StoredClock):
        clock.forget()
    return ClockOut(now=now, factor=factor, simulated=not body.reset)
