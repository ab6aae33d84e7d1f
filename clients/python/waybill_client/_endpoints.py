"""Each operation described once, as a method stub whose signature is the call's arguments:

    @operation("shipping", "GET", "/v1/orders/{order_id}", OrderOut)
    def get_order(self, order_id: str) -> None:
        \"\"\"One order.\"\"\"

The decorator makes it an ``Endpoint``, a descriptor: on a ``WaybillClient`` it is a method answering an
``OrderOut``, on an ``AsyncWaybillClient`` a coroutine method answering the same. The operation id is the
method's name in camelCase (``getOrder``); the signature's names say where each argument goes (the path's
parameters, ``body``, ``idempotency_key``, and the query for every other name). ``pages(list_orders)``
makes the ``iter_orders`` helper of a paged list.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from dataclasses import replace
from typing import Any, Concatenate, Generic, ParamSpec, Protocol, Self, TypeVar, overload

import httpx
from pydantic import BaseModel

from waybill_client._spec import Operation, R_co, Replay, Service, binder, camel_case
from waybill_client._transport import AsyncTransport, SyncTransport

P = ParamSpec("P")
M = TypeVar("M", bound=BaseModel)
T_co = TypeVar("T_co", covariant=True)


class PageLike(Protocol[T_co]):
    """One page of a list: ``{"data": [...], "has_more", "next_cursor"}``."""

    @property
    def data(self) -> Sequence[T_co]: ...
    @property
    def has_more(self) -> bool: ...
    @property
    def next_cursor(self) -> str | None: ...


class Endpoint(Generic[P, R_co]):
    def __init__(self, op: Operation[R_co], stub: Callable[..., None]) -> None:
        self.operation = op
        parameters = list(inspect.signature(stub).parameters.values())[1:]  # without self
        self.signature = inspect.Signature(parameters)
        self.bind = binder(op, self.signature)
        self.stub = stub
        self.__doc__ = stub.__doc__

    @overload
    def __get__(self, obj: None, owner: type[Any] | None = None) -> Self: ...
    @overload
    def __get__(self, obj: SyncTransport, owner: type[Any] | None = None) -> Callable[P, R_co]: ...
    @overload
    def __get__(
        self, obj: AsyncTransport, owner: type[Any] | None = None
    ) -> Callable[P, Coroutine[Any, Any, R_co]]: ...
    def __get__(self, obj: object, owner: type[Any] | None = None) -> Any:
        if obj is None:
            return self
        op, bind = self.operation, self.bind
        if isinstance(obj, AsyncTransport):
            transport = obj

            async def call_async(*args: Any, **kwargs: Any) -> Any:
                return await transport._send(op, bind(*args, **kwargs))

            method: Callable[..., Any] = call_async
        elif isinstance(obj, SyncTransport):
            sync = obj

            def call(*args: Any, **kwargs: Any) -> Any:
                return sync._send(op, bind(*args, **kwargs))

            method = call
        else:
            raise TypeError(f"{op.operation_id} is an operation of WaybillClient and AsyncWaybillClient")
        functools.update_wrapper(method, self.stub)
        method.__signature__ = self.signature  # type: ignore[attr-defined]
        return method


class Pager(Generic[P, T_co]):
    """``iter_<items>`` of a paged list: its items, page after page, following ``next_cursor`` until
    ``has_more`` is false. It takes the list's own arguments (``limit`` is the page size; ``cursor``,
    when given, the page to start from)."""

    def __init__(self, endpoint: Endpoint[P, PageLike[T_co]]) -> None:
        if "cursor" not in endpoint.signature.parameters:
            raise TypeError(f"{endpoint.operation.operation_id} is not a paged list (no cursor)")
        self.endpoint = endpoint
        name = endpoint.stub.__name__
        self.__doc__ = f"Every item of ``{name}``, page after page (follows ``next_cursor``)."

    @overload
    def __get__(self, obj: None, owner: type[Any] | None = None) -> Self: ...
    @overload
    def __get__(self, obj: SyncTransport, owner: type[Any] | None = None) -> Callable[P, Iterator[T_co]]: ...
    @overload
    def __get__(self, obj: AsyncTransport, owner: type[Any] | None = None) -> Callable[P, AsyncIterator[T_co]]: ...
    def __get__(self, obj: object, owner: type[Any] | None = None) -> Any:
        if obj is None:
            return self
        op, bind = self.endpoint.operation, self.endpoint.bind
        if isinstance(obj, AsyncTransport):
            transport = obj

            async def items_async(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
                call = bind(*args, **kwargs)
                while True:
                    page = await transport._send(op, call)
                    for item in page.data:
                        yield item
                    if not page.has_more or not page.next_cursor:
                        return
                    call = replace(call, query={**call.query, "cursor": page.next_cursor})

            method: Callable[..., Any] = items_async
        elif isinstance(obj, SyncTransport):
            sync = obj

            def items(*args: Any, **kwargs: Any) -> Iterator[Any]:
                call = bind(*args, **kwargs)
                while True:
                    page = sync._send(op, call)
                    yield from page.data
                    if not page.has_more or not page.next_cursor:
                        return
                    call = replace(call, query={**call.query, "cursor": page.next_cursor})

            method = items
        else:
            raise TypeError(f"iterating {op.operation_id} needs a WaybillClient or an AsyncWaybillClient")
        method.__doc__ = self.__doc__
        method.__signature__ = self.endpoint.signature  # type: ignore[attr-defined]
        return method


def pages(endpoint: Endpoint[P, PageLike[T_co]]) -> Pager[P, T_co]:
    return Pager(endpoint)


def _model(answer: type[M]) -> Callable[[httpx.Response], M]:
    return lambda response: answer.model_validate_json(response.content)


def _bytes(response: httpx.Response) -> bytes:
    return response.content


def _nothing(response: httpx.Response) -> None:
    return None


@overload
def operation(
    service: Service, method: str, path: str, answer: type[M], *, replay: Replay | None = None
) -> Callable[[Callable[Concatenate[Any, P], None]], Endpoint[P, M]]: ...
@overload
def operation(
    service: Service, method: str, path: str, answer: type[bytes], *, replay: Replay | None = None
) -> Callable[[Callable[Concatenate[Any, P], None]], Endpoint[P, bytes]]: ...
@overload
def operation(
    service: Service, method: str, path: str, answer: None, *, replay: Replay | None = None
) -> Callable[[Callable[Concatenate[Any, P], None]], Endpoint[P, None]]: ...
def operation(
    service: Service, method: str, path: str, answer: type[Any] | None, *, replay: Replay | None = None
) -> Callable[[Callable[..., None]], Endpoint[Any, Any]]:
    """An operation of ``service``: ``method`` and ``path`` as in its OpenAPI document, ``answer`` the model
    its success is read into (``bytes``: the raw content, a PDF; None: no content, 204). ``replay``: whether
    a failure may be retried; by default by the method (GET, PUT, DELETE yes; POST, PATCH never)."""
    decode: Callable[[httpx.Response], Any]
    if answer is None:
        decode = _nothing
    elif answer is bytes:
        decode = _bytes
    else:
        decode = _model(answer)

    def decorate(stub: Callable[..., None]) -> Endpoint[Any, Any]:
        op = Operation(
            operation_id=camel_case(stub.__name__),
            service=service,
            method=method,
            path=path,
            decode=decode,
            answer=answer,
            replay=replay or Replay.of(method),
        )
        return Endpoint(op, stub)

    return decorate
