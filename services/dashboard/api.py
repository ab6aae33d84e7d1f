"""The services as the dashboard calls them: one ``AsyncWaybillClient`` (clients/python) over the app's
connection pool, used with the signed-in person's key (``for_session``), and ``Panel``, a page part whose
call may fail without failing the page."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Generic, TypeVar

import httpx
from pydantic import ValidationError as PydanticError
from waybill_client import AsyncWaybillClient, PageLike, Retries, WaybillError

from services.dashboard.session import Session
from services.dashboard.settings import DashboardSettings

T = TypeVar("T")

# A page waits for people: one quick retry of a safe call, never a long Retry-After.
PAGE_RETRIES = Retries(attempts=2, backoff=0.2, max_backoff=1.0, max_retry_after=2.0)


def make_client(http: httpx.AsyncClient, settings: DashboardSettings) -> AsyncWaybillClient:
    """The dashboard's client, without a key: every call goes through ``for_session``."""
    return AsyncWaybillClient(
        allocation_url=settings.allocation_url,
        shipping_url=settings.shipping_url,
        tracking_url=settings.tracking_url,
        timeout=settings.timeout_s,
        retries=PAGE_RETRIES,
        http=http,
    )


def for_session(client: AsyncWaybillClient, session: Session, shop_id: str | None = None) -> AsyncWaybillClient:
    """The client with this person's key; an operator acts for ``shop_id`` (X-Shop-Id), a shop only for
    itself."""
    acting = shop_id if session.kind == "operator" else None
    return client.with_options(api_key=session.key, shop_id=acting)


@dataclass
class Panel(Generic[T]):
    """A page part's data, or the error that kept it from the page."""

    data: T | None = None
    error: WaybillError | None = None
    next_cursor: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def unreadable(exc: PydanticError) -> WaybillError:
    """An answer the client's models could not read (the client raises pydantic's error for it): an upstream
    fault like any other, shown as such, never a traceback."""
    return WaybillError(502, "upstream_error", f"an answer did not match the API's models: {exc.error_count()} errors")


async def paged(fetch: Awaitable[PageLike[T]]) -> Panel[list[T]]:
    """A panel of one page of a list, with the cursor of the next page when there is one."""
    found = await panel(fetch)
    if found.data is None:
        return Panel(error=found.error)
    page = found.data
    return Panel(data=list(page.data), next_cursor=page.next_cursor if page.has_more else None)


async def panel(fetch: Awaitable[T]) -> Panel[T]:
    try:
        return Panel(data=await fetch)
    except WaybillError as exc:
        return Panel(error=exc)
    except PydanticError as exc:
        return Panel(error=unreadable(exc))
