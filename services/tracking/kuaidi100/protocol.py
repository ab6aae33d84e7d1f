"""Kuaidi100 wire format as pure functions (no I/O), tested against recorded payloads.

Paths below the base URL (``https://poll.kuaidi100.com``) are the published ones: ``/poll`` and
``/poll/query.do``.

- Subscribe (``/poll``): form POST ``schema=json``, ``param`` = JSON ``{company, number, key, parameters: {callbackurl,
  salt, resultv2}}`` -> ``{"result", "returnCode", "message"}`` (200 ok, 501 already subscribed, 700 bad
  data, 701 carrier refused, 702 unknown carrier, 500 provider error).
- Push to us: form ``param`` (JSON) and ``sign`` = uppercase hex MD5(param + salt); we answer
  ``{"result": true, "returnCode": "200", "message": "ok"}`` or the provider repeats the push.
- Query (``/poll/query.do``): form ``customer``, ``param`` = ``{"com", "num"}``, ``sign`` = uppercase
  MD5(param + key + customer) -> the ``lastResult`` body, or ``{"result": false, "returnCode", "message"}``.
"""

from __future__ import annotations

import hashlib
import hmac
import json

# The C bytes-escape decoder behind pickle and codecs ("escape_decode"), not re-exported by ``codecs``' stubs.
from _codecs import escape_decode
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

import orjson

from services.tracking.normalise import kuaidi100_event_status
from shared.tracking import TrackingStatus

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
ACK_BODY = b'{"result":true,"returnCode":"200","message":"ok"}'
# Fine state codes in pushes and queries.
RESULTV2 = "4"


def failure_body(code: str, message: str) -> bytes:
    return orjson.dumps({"result": False, "returnCode": code, "message": message})


# -- signatures -----------------------------------------------------------------------------------------


def md5_upper(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest().upper()


def push_sign(param: str, salt: str) -> str:
    return md5_upper(param + salt)


def verify_push(param: str, salt: str, sign: str) -> bool:
    return hmac.compare_digest(push_sign(param, salt), sign.strip().upper())


def query_sign(param: str, key: str, customer: str) -> str:
    return md5_upper(param + key + customer)


# -- subscribe ------------------------------------------------------------------------------------------


class SubscribeOutcome(StrEnum):
    SUBSCRIBED = "subscribed"  # 200, or 501: already subscribed, which is just as good
    REJECTED = "rejected"  # 700, 702: our data or carrier code is wrong; retrying will not help
    REFUSED = "refused"  # 701: the carrier refused; may be temporary
    RETRY = "retry"  # 500, network, garbage: try again later


@dataclass(frozen=True)
class SubscribeResult:
    outcome: SubscribeOutcome
    code: str
    message: str


def subscribe_form(company: str, number: str, key: str, callback_url: str, salt: str) -> dict[str, str]:
    param = {
        "company": company,
        "number": number,
        "key": key,
        "parameters": {"callbackurl": callback_url, "salt": salt, "resultv2": RESULTV2},
    }
    return {"schema": "json", "param": json.dumps(param, ensure_ascii=False, separators=(",", ":"))}


def parse_subscribe(status_code: int, raw: bytes) -> SubscribeResult:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return SubscribeResult(SubscribeOutcome.RETRY, f"http_{status_code}", raw[:200].decode(errors="replace"))
    if not isinstance(body, dict):
        return SubscribeResult(SubscribeOutcome.RETRY, f"http_{status_code}", "not a JSON object")
    code = str(body.get("returnCode", f"http_{status_code}"))
    message = str(body.get("message", ""))
    if code in ("200", "501") and status_code < 400:
        return SubscribeResult(SubscribeOutcome.SUBSCRIBED, code, message)
    if code in ("700", "702"):
        return SubscribeResult(SubscribeOutcome.REJECTED, code, message)
    if code == "701":
        return SubscribeResult(SubscribeOutcome.REFUSED, code, message)
    return SubscribeResult(SubscribeOutcome.RETRY, code, message)


# -- pushes and query results ---------------------------------------------------------------------------


class PushError(ValueError):
    """A push or query body we cannot read."""


@dataclass(frozen=True)
class ParsedEvent:
    occurred_at: datetime
    context: str
    status: TrackingStatus | None
    code: str | None
    area_code: str | None
    area_name: str | None
    fingerprint: int


@dataclass(frozen=True)
class ParsedPush:
    status: str  # polling | shutdown | abort | updateall
    message: str
    com: str
    number: str
    state: str | None
    finished: bool  # ischeck "1": the provider says the journey is over
    events: list[ParsedEvent]  # oldest first

    @property
    def aborted(self) -> bool:
        return self.status == "abort"

    @property
    def journey_over(self) -> bool:
        """Checked (delivered or returned), or the provider shut the subscription down."""
        return self.finished or self.status == "shutdown"


def parse_time(text: str) -> datetime:
    """``yyyy-MM-dd HH:mm:ss`` in UTC+8 (sliced by hand: strptime is a tenth of the batch's time)."""
    t = text.strip()
    if len(t) != 19 or t[4] != "-" or t[7] != "-" or t[10] != " " or t[13] != ":" or t[16] != ":":
        return datetime.strptime(t, TIME_FORMAT).replace(tzinfo=CHINA)
    return datetime(int(t[0:4]), int(t[5:7]), int(t[8:10]), int(t[11:13]), int(t[14:16]), int(t[17:19]), tzinfo=CHINA)


def fingerprint(time_text: str, context: str) -> int:
    """What makes two reports the same event: its time and its text (a signed 64-bit hash)."""
    digest = hashlib.blake2b(f"{time_text.strip()}|{context.strip()}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _event(item: dict[str, Any]) -> ParsedEvent:
    stamp = str(item.get("time") or item.get("ftime") or "")
    context = str(item.get("context") or "")
    code = item.get("statusCode")
    code_text = None if code in (None, "") else str(code)
    return ParsedEvent(
        occurred_at=parse_time(stamp),
        context=context,
        status=kuaidi100_event_status(code_text, item.get("status")),
        code=code_text,
        area_code=item.get("areaCode") or None,
        area_name=item.get("areaName") or None,
        fingerprint=fingerprint(stamp, context),
    )


def parse_last_result(last: dict[str, Any], status: str = "polling", message: str = "") -> ParsedPush:
    data = last.get("data") or []
    if not isinstance(data, list):
        raise PushError("lastResult.data is not a list")
    try:
        events = [_event(item) for item in data if isinstance(item, dict)]
    except ValueError as exc:
        raise PushError(f"bad event time: {exc}") from exc
    events.sort(key=lambda e: e.occurred_at)
    state = last.get("state")
    return ParsedPush(
        status=status,
        message=message,
        com=str(last.get("com") or ""),
        number=str(last.get("nu") or ""),
        state=None if state in (None, "") else str(state),
        finished=str(last.get("ischeck", "0")) == "1",
        events=events,
    )


def parse_push(param: str) -> ParsedPush:
    try:
        body = orjson.loads(param)
    except orjson.JSONDecodeError as exc:
        raise PushError("param is not JSON") from exc
    if not isinstance(body, dict) or not isinstance(body.get("lastResult"), dict):
        raise PushError("param has no lastResult")
    return parse_last_result(body["lastResult"], str(body.get("status") or "polling"), str(body.get("message") or ""))


def _unquote_plus(raw: bytes) -> bytes:
    """``%XX`` and ``+`` decoded in C: ``%XX`` becomes ``\\xXX`` for the bytes-escape decoder, after every
    backslash already there is doubled so that only ours are escapes. Raises ValueError on a malformed
    ``%`` (the caller then takes the standard library's lenient path)."""
    if b"%" not in raw and b"+" not in raw:
        return raw
    return escape_decode(raw.replace(b"\\", b"\\\\").replace(b"+", b" ").replace(b"%", b"\\x"))[0]


def parse_form(body: bytes) -> dict[str, str]:
    """An urlencoded form as ``dict(parse_qsl(body, keep_blank_values=True))`` would read it, a dozen times
    faster on pushes: a push is a few kB of ``%XX`` (Chinese text) and ``urllib``'s unquoting loops over
    them in Python, the largest cost of acknowledging a push. Anything but plain ASCII with well-formed
    escapes goes the standard library's way."""
    if body.isascii():
        try:
            form: dict[str, str] = {}
            for pair in body.split(b"&"):
                if not pair:
                    continue
                key, _, value = pair.partition(b"=")
                form[_unquote_plus(key).decode("utf-8", "replace")] = _unquote_plus(value).decode("utf-8", "replace")
            return form
        except ValueError:
            pass
    return dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))


class PushNumber(NamedTuple):
    com: str
    number: str


def push_number(param: str) -> PushNumber | None:
    """The carrier and number of a push, read cheaply on the acknowledgement path; None when unreadable."""
    try:
        body = orjson.loads(param)
        last = body["lastResult"]
        return PushNumber(str(last.get("com") or ""), str(last["nu"]).strip())
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        return None


def query_form(com: str, number: str, key: str, customer: str) -> dict[str, str]:
    param = json.dumps({"com": com, "num": number}, ensure_ascii=False, separators=(",", ":"))
    return {"customer": customer, "param": param, "sign": query_sign(param, key, customer)}


class QueryOutcome(StrEnum):
    FOUND = "found"
    NO_RESULT = "no_result"  # 500: nothing happened yet (or not subscribed)
    RATE_LIMITED = "rate_limited"  # 503 查询太频繁
    REJECTED = "rejected"  # 400: our request is wrong
    RETRY = "retry"  # 502, network, garbage


@dataclass(frozen=True)
class QueryResult:
    outcome: QueryOutcome
    code: str
    message: str
    body: dict[str, Any] | None = None  # the lastResult, when found


def parse_query(status_code: int, raw: bytes) -> QueryResult:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return QueryResult(QueryOutcome.RETRY, f"http_{status_code}", raw[:200].decode(errors="replace"))
    if not isinstance(body, dict):
        return QueryResult(QueryOutcome.RETRY, f"http_{status_code}", "not a JSON object")
    if "data" in body and str(body.get("status", "200")) == "200" and status_code < 400:
        return QueryResult(QueryOutcome.FOUND, "200", str(body.get("message", "")), body)
    code = str(body.get("returnCode", f"http_{status_code}"))
    message = str(body.get("message", ""))
    outcome = {
        "500": QueryOutcome.NO_RESULT,
        "503": QueryOutcome.RATE_LIMITED,
        "400": QueryOutcome.REJECTED,
    }.get(code, QueryOutcome.RETRY)
    return QueryResult(outcome, code, message)


def query_as_param(body: dict[str, Any]) -> str:
    """A query answer wrapped like a push, so queries and pushes share one processing path."""
    finished = str(body.get("ischeck", "0")) == "1"
    wrapped = {"status": "shutdown" if finished else "polling", "message": "query", "lastResult": body}
    return json.dumps(wrapped, ensure_ascii=False, separators=(",", ":"))
