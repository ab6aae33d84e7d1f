"""Couriers' electronic waybill service (Cainiao style): one signed gateway, six message types.

Request: form POST with ``msg_type``, ``logistic_provider_id``, ``logistics_interface`` (a JSON string) and
``data_digest`` = base64(md5(logistics_interface + secret)). Answers are JSON with ``success`` and, on failure,
``errorCode`` and ``errorMsg``; business failures come with HTTP 200, a transient failure with HTTP 500, an
outage with a bare 502 or 503.
"""

from __future__ import annotations

import hmac
import json
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.datastructures import FormData

from services.sandbox.clock import china_midnight_after_days, iso_china
from services.sandbox.faults import COURIER_ENDPOINTS, FaultInjector, endpoint_or_group
from services.sandbox.numbers import CARRIERS, Issue, IssuedNumber, NumberRegistry, NumberState
from services.sandbox.routing import Destination, routing_info
from services.sandbox.settings import SandboxSettings
from services.sandbox.signing import courier_digest

MAX_OBJECTS = 10
MAX_QUANTITY = 100_000
MAX_VALIDITY_DAYS = 3650
MAX_ROUTE_WAYBILLS = 100

router = APIRouter(prefix="/courier", tags=["couriers"])


class CourierError(Exception):
    def __init__(self, code: str, message: str, status: int = 200) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status

    def response(self) -> JSONResponse:
        return JSONResponse(
            {"success": False, "errorCode": self.code, "errorMsg": self.message}, status_code=self.status
        )


def _issue_view(issue: Issue) -> dict[str, Any]:
    return {"object_id": issue.object_id, "waybill_codes": issue.codes, "expire_time": iso_china(issue.expire_at)}


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise CourierError("isv.invalid-parameter", f"{name} is required (a non-empty string)")
    return value.strip()


def _cp_code(body: dict[str, Any]) -> str:
    cp_code = _text(body, "cp_code")
    if cp_code not in CARRIERS:
        raise CourierError("isv.cp-not-supported", f"unknown cp_code {cp_code!r}")
    return cp_code


def _int(body: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise CourierError("isv.invalid-parameter", f"{name} must be an integer from {low} to {high}")
    return value


class Couriers:
    def __init__(self, settings: SandboxSettings, faults: FaultInjector, registry: NumberRegistry) -> None:
        self.settings = settings
        self.faults = faults
        self.registry = registry

    def handle(self, msg_type: str, body: dict[str, Any]) -> dict[str, Any]:
        """The answer to a checked message of a known type, unless a transient error is injected."""
        if self.faults.error(msg_type):
            raise CourierError("S01", "system busy", status=500)
        handlers = {
            "TMS_WAYBILL_GET": self.get,
            "TMS_WAYBILL_SUBSCRIPTION_QUERY": self.subscription,
            "TMS_WAYBILL_DISCARD": self.discard,
            "TMS_WAYBILL_QUERY_BY_OBJECT": self.query_by_object,
            "TMS_WAYBILL_UPDATE": self.update,
            "TMS_WAYBILL_ROUTE": self.route,
        }
        return handlers[msg_type](body)

    def get(self, body: dict[str, Any]) -> dict[str, Any]:
        cp_code = _cp_code(body)
        seller_id = _text(body, "seller_id")
        validity = _int(body, "validity_days", self.settings.courier_validity_days, 1, MAX_VALIDITY_DAYS)
        dtos = body.get("trade_order_info_dtos")
        if not isinstance(dtos, list) or not dtos:
            raise CourierError("isv.invalid-parameter", "trade_order_info_dtos must be a non-empty list")
        if len(dtos) > MAX_OBJECTS:
            raise CourierError("isv.too-many-objects", f"at most {MAX_OBJECTS} trade_order_info_dtos per request")
        wanted: list[tuple[str, int]] = []
        for dto in dtos:
            if not isinstance(dto, dict):
                raise CourierError("isv.invalid-parameter", "each trade_order_info_dto must be an object")
            wanted.append((_text(dto, "object_id"), _int(dto, "quantity", 1, 1, MAX_QUANTITY)))
        # Validate everything before issuing anything, so a bad request never half-issues.
        expire_at = china_midnight_after_days(time.time(), validity)
        cols = [
            _issue_view(self.registry.issue(cp_code, seller_id, object_id, quantity, expire_at))
            for object_id, quantity in wanted
        ]
        return {"success": True, "waybill_apply_new_cols": cols}

    def subscription(self, body: dict[str, Any]) -> dict[str, Any]:
        cp_code = _cp_code(body)
        branch = self.registry.branch(cp_code, _text(body, "seller_id"))
        col = {
            "cp_code": cp_code,
            "branch_code": branch.branch_code,
            "segment_code": branch.segment_code,
            "quantity": branch.remaining,
            "allocated_quantity": branch.allocated,
            "cancel_quantity": branch.cancelled,
            "print_quantity": branch.printed,
        }
        return {"success": True, "waybill_apply_subscription_cols": [col]}

    def discard(self, body: dict[str, Any]) -> dict[str, Any]:
        cp_code = _cp_code(body)
        seller_id = _text(body, "seller_id")
        code = _text(body, "waybill_code")
        record = self.registry.numbers.get(code)
        if record is None or record.cp_code != cp_code or record.seller_id != seller_id:
            raise CourierError("waybill.not-exist", f"waybill {code} was not issued to {seller_id} at {cp_code}")
        if record.state is NumberState.COLLECTED:
            raise CourierError(
                "waybill.already-collected", f"waybill {code} has been collected and cannot be cancelled"
            )
        # Cancelling twice is not an error: the number is cancelled either way.
        self.registry.discard(code)
        return {"success": True}

    def update(self, body: dict[str, Any]) -> dict[str, Any]:
        """The waybill's receiver changed (the buyer moved the address): recorded while the courier has not
        collected the parcel; once collected the label on it is what the courier goes by."""
        cp_code = _cp_code(body)
        seller_id = _text(body, "seller_id")
        code = _text(body, "waybill_code")
        recipient = _recipient(body.get("recipient"))
        record = self.registry.numbers.get(code)
        if record is None or record.cp_code != cp_code or record.seller_id != seller_id:
            raise CourierError("waybill.not-exist", f"waybill {code} was not issued to {seller_id} at {cp_code}")
        if record.state is NumberState.COLLECTED:
            raise CourierError("waybill.already-collected", f"waybill {code} has been collected and cannot change")
        if record.state is NumberState.DISCARDED:
            # The sandbox's choice of code: the service publishes none for a cancelled waybill.
            raise CourierError("waybill.already-discarded", f"waybill {code} was cancelled and cannot change")
        record.recipient = recipient
        record.destination = recipient["address"]
        # The new destination's routing: the label reprinted for it carries the new sort code.
        return {"success": True, "routingInfo": routing_of(record)}

    def route(self, body: dict[str, Any]) -> dict[str, Any]:
        """Bind each waybill to its destination and answer its routing (the sort code the label prints). Each
        waybill answers on its own; a malformed list refuses the whole message before anything is bound."""
        cp_code = _cp_code(body)
        seller_id = _text(body, "seller_id")
        waybills = body.get("waybills")
        if not isinstance(waybills, list) or not waybills:
            raise CourierError("isv.invalid-parameter", "waybills must be a non-empty list")
        if len(waybills) > MAX_ROUTE_WAYBILLS:
            raise CourierError("isv.too-many-objects", f"at most {MAX_ROUTE_WAYBILLS} waybills per request")
        if not all(isinstance(w, dict) for w in waybills):
            raise CourierError("isv.invalid-parameter", "each waybill must be an object")
        codes = [_text(w, "waybill_code") for w in waybills]
        pairs = zip(codes, waybills, strict=True)
        cols = [self._route_one(cp_code, seller_id, code, w.get("address")) for code, w in pairs]
        return {"success": True, "waybill_route_cols": cols}

    def _route_one(self, cp_code: str, seller_id: str, code: str, address: Any) -> dict[str, Any]:
        try:
            where = _address(address)
            record = self.registry.numbers.get(code)
            if record is None or record.cp_code != cp_code or record.seller_id != seller_id:
                raise CourierError("waybill.not-exist", f"waybill {code} was not issued to {seller_id} at {cp_code}")
            if record.state is NumberState.DISCARDED:
                raise CourierError("waybill.already-discarded", f"waybill {code} was cancelled")
            collected = record.state is NumberState.COLLECTED and record.destination is not None
            if collected and _place(record.destination) != _place(where):
                # The courier has the parcel: it goes where it was bound for, not somewhere new.
                raise CourierError("waybill.already-collected", f"waybill {code} was collected: it cannot go elsewhere")
        except CourierError as exc:
            return {"waybill_code": code, "success": False, "errorCode": exc.code, "errorMsg": exc.message}
        if not collected:
            record.destination = where
        return {"waybill_code": code, "success": True, "routingInfo": routing_of(record)}

    def query_by_object(self, body: dict[str, Any]) -> dict[str, Any]:
        cp_code = _cp_code(body)
        seller_id = _text(body, "seller_id")
        object_id = _text(body, "object_id")
        issue = self.registry.issues.get((cp_code, seller_id, object_id))
        if issue is None:
            raise CourierError("object.not-exist", f"no waybill was issued for object_id {object_id}")
        return {"success": True, "waybill_apply_new_cols": [_issue_view(issue)]}


def _place(address: dict[str, str] | None) -> Destination | None:
    if address is None:
        return None
    return Destination(address["province"], address["city"], address.get("district", ""))


def routing_of(record: IssuedNumber) -> dict[str, Any] | None:
    """The routing of the number's destination, once it has one."""
    place = _place(record.destination)
    return routing_info(record.cp_code, place) if place is not None else None


def _address(value: Any) -> dict[str, str]:
    """``{province, city, district?, detail?}``: province and city non-empty (the routing needs no more)."""
    if not isinstance(value, dict):
        raise CourierError("isv.invalid-parameter", "address must be an object")
    extra = {}
    for name in ("district", "detail"):
        text = value.get(name, "")
        if not isinstance(text, str):
            raise CourierError("isv.invalid-parameter", f"address.{name} must be a string")
        extra[name] = text.strip()
    return {"province": _text(value, "province"), "city": _text(value, "city"), **extra}


def _recipient(value: Any) -> dict[str, Any]:
    """``{name, phone, address: {province, city, district?, detail}}``, every text non-empty (district may be
    left out: not every address has one)."""
    if not isinstance(value, dict):
        raise CourierError("isv.invalid-parameter", "recipient must be an object")
    address = value.get("address")
    if not isinstance(address, dict):
        raise CourierError("isv.invalid-parameter", "recipient.address must be an object")
    district = address.get("district", "")
    if not isinstance(district, str):
        raise CourierError("isv.invalid-parameter", "recipient.address.district must be a string")
    return {
        "name": _text(value, "name"),
        "phone": _text(value, "phone"),
        "address": {
            "province": _text(address, "province"),
            "city": _text(address, "city"),
            "district": district.strip(),
            "detail": _text(address, "detail"),
        },
    }


def read_message(form: FormData, msg_type: str, settings: SandboxSettings) -> dict[str, Any]:
    """The message body, once the envelope names the known provider, is signed by it and has a known type."""
    interface = form.get("logistics_interface")
    digest = form.get("data_digest")
    if not isinstance(interface, str) or not isinstance(digest, str):
        raise CourierError("S04", "logistics_interface and data_digest are required")
    if form.get("logistic_provider_id") != settings.courier_app_key:
        raise CourierError("S03", "unknown logistic_provider_id")
    if not hmac.compare_digest(courier_digest(interface, settings.courier_secret), digest):
        raise CourierError("S02", "sign check failed")
    if msg_type not in COURIER_ENDPOINTS:
        raise CourierError("S05", f"unsupported msg_type {msg_type!r}")
    try:
        body = json.loads(interface)
    except ValueError:
        raise CourierError("isv.invalid-parameter", "logistics_interface is not JSON") from None
    if not isinstance(body, dict):
        raise CourierError("isv.invalid-parameter", "logistics_interface must be a JSON object")
    return body


def _outage(faults: FaultInjector) -> Response:
    # Half the time a plain 503, half a proxy's 502, as a real outage looks from outside.
    if faults.rng.random() < 0.5:
        return PlainTextResponse("Service Unavailable", status_code=503)
    return PlainTextResponse("Bad Gateway: upstream connection reset", status_code=502)


@router.post("/gateway", summary="Electronic waybill gateway (TMS_WAYBILL_*)")
async def gateway(request: Request) -> Response:
    couriers: Couriers = request.app.state.world.couriers
    faults = couriers.faults
    if faults.courier_down_remaining() > 0:
        return _outage(faults)
    form = await request.form()
    msg_type = str(form.get("msg_type") or "")
    await faults.delay(endpoint_or_group(msg_type, "courier"))
    try:
        return JSONResponse(couriers.handle(msg_type, read_message(form, msg_type, couriers.settings)))
    except CourierError as exc:
        return exc.response()
