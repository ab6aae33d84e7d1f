"""The one error shape, ``{"error": {"code", "message", "details", "request_id"}}``, for every 4xx and 5xx."""

from __future__ import annotations

from typing import Any

import asyncpg
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from runtime.context import current_request_id
from runtime.logging import get_logger
from shared.errors import ErrorCode

log = get_logger(__name__)

_STATUS_CODES: dict[int, str] = {
    400: ErrorCode.VALIDATION_ERROR,
    401: ErrorCode.UNAUTHORIZED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: "method_not_allowed",
    409: ErrorCode.CONFLICT,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    415: "unsupported_media_type",
    429: ErrorCode.RATE_LIMITED,
}


class AppError(Exception):
    """An error the API reports on purpose: a stable code, a human message and an HTTP status."""

    status_code = 400
    code: str = ErrorCode.VALIDATION_ERROR

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        self.details = details or {}
        self.headers = headers


class NotFound(AppError):
    status_code = 404
    code = ErrorCode.NOT_FOUND


class Conflict(AppError):
    status_code = 409
    code = ErrorCode.CONFLICT


class Unauthorized(AppError):
    status_code = 401
    code = ErrorCode.UNAUTHORIZED

    def __init__(self, message: str, **kwargs: Any) -> None:
        # RFC 9110: a 401 names the scheme that would succeed.
        headers = {"WWW-Authenticate": 'Bearer realm="waybill"', **(kwargs.pop("headers", None) or {})}
        super().__init__(message, headers=headers, **kwargs)


class Forbidden(AppError):
    status_code = 403
    code = ErrorCode.FORBIDDEN


class Unavailable(AppError):
    status_code = 503
    code = ErrorCode.UNAVAILABLE


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    error = {"code": str(code), "message": message, "details": details or {}, "request_id": current_request_id()}
    return {"error": error}


def error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        out.append(
            {
                "field": ".".join(loc[1:]) or ".".join(loc),
                "in": loc[0] if loc else "body",
                "message": err.get("msg", ""),
            }
        )
    return out


async def _app_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return error_response(exc.status_code, exc.code, exc.message, exc.details, exc.headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = _field_errors(exc)
    names = ", ".join(f["field"] for f in fields)
    return error_response(422, ErrorCode.VALIDATION_ERROR, f"invalid request: {names}", {"fields": fields})


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
        # FastAPI answers 400 for a JSON body that is not UTF-8 (and 422 for one that is not JSON):
        # both are an unreadable body, documented once as 422.
        field = {"field": "", "in": "body", "message": "the body is not UTF-8 encoded JSON"}
        return error_response(422, ErrorCode.VALIDATION_ERROR, "invalid request: body", {"fields": [field]})
    code = _STATUS_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))


def unhandled_answer(exc: BaseException) -> JSONResponse:
    """The answer to an exception no handler took: 503 when the database could not take the request (a
    connection broke as it restarts, or it had no connection to give: the request did not happen, come
    back), else 500, logged with its stack. RequestContextMiddleware calls it inside the request's
    context, so the answer carries the request id like any other."""
    if is_connection_error(exc) or is_database_overloaded(exc):
        log.warning("database_unavailable", error=type(exc).__name__)
        return error_response(
            503, ErrorCode.UNAVAILABLE, "the database is unavailable, retry shortly", headers={"Retry-After": "2"}
        )
    log.error("unhandled_error", error=type(exc).__name__, exc_info=exc)
    return error_response(500, ErrorCode.INTERNAL_ERROR, "internal error; the request id identifies it in logs")


async def _database_error(_: Request, exc: Exception) -> JSONResponse:
    refused = _data_error(exc)
    if refused is None:
        raise exc  # on to the catch-all handler (503 when the connection broke, else 500)
    # PostgreSQL refused a value the request carried (a NUL character, a number out of range): the
    # request is at fault, not the server, and the transaction has been rolled back. The database's own
    # text stays in the log: it names tables, columns and types, and echoes values.
    log.info("value_refused_by_database", error=type(refused).__name__, sqlstate=refused.sqlstate)
    return error_response(
        422, ErrorCode.VALIDATION_ERROR, "a value in the request cannot be stored (out of range or not allowed)"
    )


async def _unhandled(_: Request, exc: Exception) -> JSONResponse:
    # Outside RequestContextMiddleware (Starlette runs this handler in its outermost middleware): only what
    # that middleware did not answer itself, such as an app built without it.
    return unhandled_answer(exc)


def _data_error(exc: BaseException) -> asyncpg.exceptions.DataError | None:
    """The PostgreSQL data exception (SQLSTATE class 22) behind ``exc``, if that is what it is."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, asyncpg.exceptions.DataError):
            return cur
        cur = cur.__cause__ or cur.__context__
    return None


def is_connection_error(exc: BaseException) -> bool:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(
            cur,
            ConnectionError
            | OSError
            | asyncpg.exceptions.ConnectionDoesNotExistError
            | asyncpg.exceptions.CannotConnectNowError
            | asyncpg.exceptions.AdminShutdownError
            | asyncpg.exceptions.InterfaceError,
        ):
            return True
        # The server cut a pooled connection mid-use (a restart): asyncpg's protocol refuses the next
        # statement with its base client error ("cannot switch to state ..."); the statement never ran.
        if type(cur) is asyncpg.exceptions.InternalClientError:
            return True
        if isinstance(cur, sqlalchemy.exc.DBAPIError) and cur.connection_invalidated:
            return True
        cur = cur.__cause__ or cur.__context__
    return False


def is_database_overloaded(exc: BaseException) -> bool:
    """The database had no connection for this request: PostgreSQL refused one (SQLSTATE 53300, too many
    clients for the server or the role) or none came free in our pool in time. Nothing ran; the same
    request succeeds once the load passes. Seen in CI: several test systems on one server of 100
    connections, and a list request answered 500."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, asyncpg.exceptions.TooManyConnectionsError | sqlalchemy.exc.TimeoutError):
            return True
        cur = cur.__cause__ or cur.__context__
    return False


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(sqlalchemy.exc.DBAPIError, _database_error)
    app.add_exception_handler(asyncpg.exceptions.DataError, _database_error)
    app.add_exception_handler(Exception, _unhandled)
