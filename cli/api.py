"""The CLI's side of the API: a ``WaybillClient`` from the profile, and what each failure exits with."""

from __future__ import annotations

import functools
from collections.abc import Callable
from enum import IntEnum
from typing import Any, NoReturn, ParamSpec, TypeVar

import httpx
import pydantic
import typer
from rich.markup import escape
from waybill_client import (
    AuthError,
    Conflict,
    NetworkError,
    NotFound,
    RateLimited,
    ServerError,
    ValidationError,
    WaybillClient,
    WaybillError,
)

from cli import output
from cli.config import Config, load

M = TypeVar("M", bound=pydantic.BaseModel)
P = ParamSpec("P")
R = TypeVar("R")
TIMEOUT_S = 60.0  # a batch's labels PDF can take a while to render


class ExitCode(IntEnum):
    """What `waybill` exits with, by the class of what went wrong (documented in the README)."""

    OK = 0
    FAILED = 1  # the command ran and reports a failure (a purchase that failed, a batch with failed orders)
    USAGE = 2  # the command line, or input the API refused as invalid (400, 422)
    AUTH = 3  # no key, or a key refused (401, 403)
    NOT_FOUND = 4  # 404
    CONFLICT = 5  # the state does not allow it (402 balance, 409)
    SERVER = 6  # the service failed or asks to come back later (5xx, 429)
    NETWORK = 7  # no answer


class CliError(Exception):
    """A failure the CLI finds itself (no key, a bad time zone, a printer that refused): shown like the API's."""

    def __init__(self, exit_code: ExitCode, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.exit_code = exit_code
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "details": {},
            "request_id": None,
            "status": 0,
        }
        return {"error": error}


def exit_code_of(exc: WaybillError) -> ExitCode:
    """The exit code of a failed call, by its class (the client's typed errors)."""
    if isinstance(exc, NetworkError):
        return ExitCode.NETWORK
    if isinstance(exc, AuthError):
        return ExitCode.AUTH
    if isinstance(exc, ValidationError):
        return ExitCode.USAGE
    if isinstance(exc, NotFound):
        return ExitCode.NOT_FOUND
    if isinstance(exc, Conflict) or exc.status == 402:
        return ExitCode.CONFLICT
    if isinstance(exc, RateLimited | ServerError):
        return ExitCode.SERVER
    # Any other 4xx (413 payload too large...) refused the input; anything else is the service's doing.
    return ExitCode.USAGE if 400 <= exc.status < 500 else ExitCode.SERVER


def error_body(exc: WaybillError) -> dict[str, Any]:
    """The error for `--json`: the API's shape with its status. No answer keeps the CLI's code ``unreachable``
    (scripts written against earlier versions branch on it)."""
    body = exc.body()
    if isinstance(exc, NetworkError):
        body["error"]["code"] = "unreachable"
    return body


def invalid_answer(exc: pydantic.ValidationError) -> CliError:
    """An answer that does not read as its model (a service of another version, a proxy's page)."""
    return CliError(ExitCode.SERVER, "invalid_answer", f"the service answered with no valid {exc.title}")


def request(model: type[M], **values: Any) -> M:
    """A request body from the command line's values (only those given are sent); what the API would refuse
    is refused here, as a usage error naming the field."""
    try:
        return model.model_validate(values)
    except pydantic.ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors())
        raise CliError(ExitCode.USAGE, "invalid_input", problems) from None


def connect(profile: str | None, *, admin: bool = False, either: bool = False) -> WaybillClient:
    """A client with the profile's URLs and key (the admin key for operators' commands; ``either``: the shop's
    key, else the admin key, for what both may read); times are shown in the profile's zone from now on."""
    config = load(profile)
    output.keep_answer(None)
    try:
        output.use_timezone(config.timezone)
    except ValueError as exc:
        raise CliError(ExitCode.USAGE, "invalid_timezone", str(exc)) from None
    return client_for(config, admin=admin or (either and not config.api_key))


def client_for(config: Config, *, admin: bool = False) -> WaybillClient:
    key = config.admin_key if admin else config.api_key
    if not key:
        which = "WAYBILL_ADMIN_KEY (or admin_key)" if admin else "WAYBILL_API_KEY (or api_key)"
        raise CliError(ExitCode.AUTH, "no_key", f"no key configured: set {which} in the environment or the profile")
    return CliClient(
        key,
        allocation_url=config.allocation_url,
        shipping_url=config.shipping_url,
        tracking_url=config.tracking_url,
        timeout=TIMEOUT_S,
        http=httpx.Client(timeout=TIMEOUT_S, event_hooks={"response": [_keep_answer]}),
    )


def _keep_answer(response: httpx.Response) -> None:
    # `--json` prints the API's own JSON (its times as written, fields this client version does not know),
    # not the model read from it.
    if not response.is_success or not response.headers.get("content-type", "").startswith("application/json"):
        return
    response.read()
    try:
        output.keep_answer(response.json() if response.content else None, response.status_code)  # 204: no body
    except ValueError:
        output.keep_answer(None)  # not JSON after all: the client says so when it reads it


class CliClient(WaybillClient):
    """A ``WaybillClient`` over an ``httpx.Client`` that records each answer's JSON; closing it closes that."""

    def __init__(self, api_key: str, *, http: httpx.Client, **options: Any) -> None:
        super().__init__(api_key, http=http, **options)
        self._recording = http

    def close(self) -> None:
        super().close()
        self._recording.close()


def handled(command: Callable[P, R]) -> Callable[P, R]:
    """A command whose failures end it with the exit code of their class, never a traceback: printed as JSON
    on stdout when it was given `--json` (the API's error shape, for scripts), else as a line on stderr."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        as_json = bool(kwargs.get("as_json"))
        try:
            return command(*args, **kwargs)
        except WaybillError as exc:
            fail(error_body(exc), exit_code_of(exc), as_json)
        except CliError as exc:
            fail(exc.body(), exc.exit_code, as_json)
        except pydantic.ValidationError as exc:
            # Request bodies are checked by ``request`` (a usage error): what is left is an answer the
            # client could not read.
            error = invalid_answer(exc)
            fail(error.body(), error.exit_code, as_json)

    return run


def fail(body: dict[str, Any], code: ExitCode, as_json: bool) -> NoReturn:
    if as_json:
        output.emit_json(body)
    else:
        error = body["error"]
        rid = f" (request {error['request_id']})" if error.get("request_id") else ""
        text = escape(f"{error['code']}: {error['message']}{rid}")
        output.err.print(f"[red]error[/] {text}", highlight=False)
    raise typer.Exit(int(code))
