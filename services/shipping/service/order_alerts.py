"""Order alerts: the only writer of ``order_alerts``.

An alert opens (at most one unresolved per order and kind: the database refuses a second, however many openers
race), may be acknowledged by the seller, and resolves itself once what it says no longer holds. Each opening
and each resolution is an ``order.alert_opened`` / ``order.alert_resolved`` webhook event.

Other code opens and resolves alerts only through ``open_alert`` and ``resolve_alerts``. The ship-by sweep
(``sweep_ship_by``, run by the worker's cron) opens ``late_to_ship`` the shop's lead time before an unshipped
order's ship-by time and ``ship_by_passed`` once it passed, and resolves them (and ``address_invalid``) once the
order ships or is cancelled.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from runtime.db import UnitOfWork
from runtime.errors import AppError, NotFound
from runtime.pagination import PageRequest
from services.shipping.models import AlertKind, AlertState, Order, OrderAlert
from services.shipping.repository.order_alerts import DueOrder, OrderAlertRepository
from services.shipping.schemas.order_alerts import ALERT_OPENED, ALERT_RESOLVED, AlertFilter, OrderAlertOut
from services.shipping.service.events import Endpoints, emit
from shared.errors import ErrorCode
from shared.pages import Page

# Resolved by the sweep once the order is no longer waiting to ship (shipped, delivered, cancelled...).
SETTLED_BY_SHIPPING = (AlertKind.LATE_TO_SHIP, AlertKind.SHIP_BY_PASSED, AlertKind.ADDRESS_INVALID)


class AlertStateRefused(AppError):
    status_code = 409
    code = ErrorCode.INVALID_TRANSITION


def acknowledged(alert_id: int, state: str) -> AlertState:
    """The state acknowledging leads to: an open alert is acknowledged, an acknowledged one stays so; a
    resolved one is refused (409 invalid_transition)."""
    current = AlertState(state)
    if current is AlertState.RESOLVED:
        raise AlertStateRefused(
            f"alert {alert_id} is resolved; nothing to acknowledge",
            details={"alert_id": alert_id, "state": current.value},
        )
    return AlertState.ACKNOWLEDGED


def alert_out(a: OrderAlert) -> OrderAlertOut:
    return OrderAlertOut.model_validate(a)


def _local(moment: datetime, time_zone: str) -> str:
    return moment.astimezone(ZoneInfo(time_zone)).strftime("%Y-%m-%d %H:%M")


def _left(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    return f"{hours} 小时 {minutes} 分" if hours else f"{minutes} 分钟"


def late_message(external_id: str, ship_by: datetime, time_zone: str, now: datetime) -> str:
    return f"订单 {external_id} 须在 {_local(ship_by, time_zone)} 前发货，还剩 {_left(ship_by - now)}"


def passed_message(external_id: str, ship_by: datetime, time_zone: str) -> str:
    return f"订单 {external_id} 已超过发货时限 {_local(ship_by, time_zone)}，仍未发货"


async def _announce(
    uow: UnitOfWork, event_type: str, alerts: Sequence[OrderAlert], endpoints: Endpoints | None = None
) -> None:
    endpoints = endpoints or Endpoints(uow)
    for a in alerts:
        data = alert_out(a).model_dump(mode="json")
        await emit(uow, a.shop_id, event_type, data, endpoints=await endpoints.of(a.shop_id))


async def open_alert(uow: UnitOfWork, order: Order, kind: AlertKind | str, message: str) -> OrderAlert | None:
    """Open a ``kind`` alert on ``order`` saying ``message`` (Chinese, for the seller); None when one of that
    kind is unresolved already (it stays as it is). An unknown kind is a ValueError."""
    kind = AlertKind(kind)
    opened = await OrderAlertRepository(uow.session).open_many(
        [{"shop_id": order.shop_id, "order_id": order.id, "kind": kind.value, "message": message}]
    )
    await _announce(uow, ALERT_OPENED, opened)
    return opened[0] if opened else None


async def resolve_alerts(
    uow: UnitOfWork, order_id: str, kinds: Iterable[AlertKind | str] | None = None
) -> list[OrderAlert]:
    """Resolve the order's unresolved alerts of ``kinds`` (None: of every kind); answer those resolved."""
    names = [AlertKind(k).value for k in (AlertKind if kinds is None else kinds)]
    resolved = await OrderAlertRepository(uow.session).resolve([order_id], names, datetime.now(UTC))
    await _announce(uow, ALERT_RESOLVED, resolved)
    return resolved


async def unresolved_alert(uow: UnitOfWork, order_id: str, kind: AlertKind) -> OrderAlert | None:
    return await OrderAlertRepository(uow.session).unresolved(order_id, kind.value)


async def acknowledge(uow: UnitOfWork, shop_id: str, alert_id: int) -> OrderAlertOut:
    alert = await OrderAlertRepository(uow.session).get_owned(shop_id, alert_id, for_update=True)
    if alert is None:
        raise NotFound(f"order alert {alert_id} not found")
    state = acknowledged(alert.id, alert.state)
    if alert.state != state.value:
        alert.state = state.value
        alert.acknowledged_at = datetime.now(UTC)
        await uow.session.flush()
    return alert_out(alert)


async def list_alerts(uow: UnitOfWork, shop_id: str, filters: AlertFilter, page: PageRequest) -> Page[OrderAlertOut]:
    return (await OrderAlertRepository(uow.session).search(shop_id, filters, page)).page(alert_out)


@dataclass(frozen=True)
class SweepBatch:
    opened: int
    resolved: int
    # Where the next batch of due orders starts; None: this one was the last.
    next_after: tuple[datetime, str] | None


def _due_rows(due: Sequence[DueOrder], now: datetime) -> list[dict[str, str]]:
    rows = []
    for o in due:
        base = {"shop_id": o.shop_id, "order_id": o.id}
        if o.late:
            message = late_message(o.external_id, o.ship_by, o.time_zone, now)
            rows.append({**base, "kind": AlertKind.LATE_TO_SHIP.value, "message": message})
        if o.passed:
            message = passed_message(o.external_id, o.ship_by, o.time_zone)
            rows.append({**base, "kind": AlertKind.SHIP_BY_PASSED.value, "message": message})
    return rows


async def sweep_ship_by(uow: UnitOfWork, now: datetime, after: tuple[datetime, str] | None, limit: int) -> SweepBatch:
    """One batch of the sweep: open the ship-by alerts due among the next ``limit`` unshipped orders by
    deadline; on the first batch, also resolve up to ``limit`` alerts whose orders shipped or were cancelled."""
    repo = OrderAlertRepository(uow.session)
    endpoints = Endpoints(uow)
    resolved: list[OrderAlert] = []
    if after is None:
        resolved = await repo.resolve_settled([k.value for k in SETTLED_BY_SHIPPING], limit, now)
        await _announce(uow, ALERT_RESOLVED, resolved, endpoints)
    due = await repo.ship_by_due(now, after, limit)
    opened = await repo.open_many(_due_rows(due, now))
    await _announce(uow, ALERT_OPENED, opened, endpoints)
    last = (due[-1].ship_by, due[-1].id) if len(due) == limit else None
    return SweepBatch(len(opened), len(resolved), last)
