"""Alerts (at most one unresolved per parcel and kind) and the thresholds shops set for them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import any_, func, select, text
from sqlalchemy.dialects.postgresql import insert

from runtime.pagination import Keyset, PageRequest, Slice
from runtime.repository import OwnedRepository
from services.tracking.models import Alert, AlertSetting
from services.tracking.repository.arrays import id_array
from services.tracking.schemas import AlertFilter
from shared.tracking import AlertKind, AlertState


@dataclass(frozen=True)
class TimeCandidate:
    """A parcel past a time threshold, and the threshold in force for it (hours, or days for late)."""

    subscription_id: int
    amount: float


class AlertRepository(OwnedRepository[Alert]):
    model = Alert

    async def active_for(self, subscription_ids: Iterable[int]) -> list[Alert]:
        stmt = (
            select(Alert)
            .where(Alert.subscription_id == any_(id_array(subscription_ids)), Alert.state != AlertState.RESOLVED)
            .with_for_update()
        )
        return list((await self.session.execute(stmt)).scalars())

    async def open_counts(self) -> dict[str, int]:
        """Open alerts (neither acknowledged nor resolved) by kind, across shops."""
        stmt = select(Alert.kind, func.count()).where(Alert.state == AlertState.OPEN.value).group_by(Alert.kind)
        return {str(kind): int(n) for kind, n in (await self.session.execute(stmt)).all()}

    async def for_subscriptions(self, subscription_ids: Sequence[int]) -> list[Alert]:
        stmt = select(Alert).where(Alert.subscription_id.in_(subscription_ids)).order_by(Alert.id.desc())
        return list((await self.session.execute(stmt)).scalars())

    async def open(self, values: dict[str, Any]) -> Alert | None:
        """A new open alert, or None when one of that kind is already unresolved for the parcel."""
        stmt = (
            insert(Alert)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["subscription_id", "kind"], index_where=text("state <> 'resolved'"))
            .returning(Alert)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def search(self, shop_id: str, f: AlertFilter, page: PageRequest) -> Slice[Alert]:
        where = []
        if f.state is not None:
            where.append(Alert.state == f.state.value)
        if f.kind is not None:
            where.append(Alert.kind == f.kind.value)
        if f.carrier is not None:
            where.append(Alert.carrier == f.carrier.value)
        if f.number is not None:
            where.append(Alert.number == f.number)
        return await self.page_owned(shop_id, *where, keyset=Keyset([Alert.id]), page=page)

    async def time_candidates(
        self, kind: AlertKind, now: datetime, defaults: dict[str, float], limit: int
    ) -> list[TimeCandidate]:
        """Subscriptions past a time threshold for ``kind`` (thresholds per shop and carrier, then the
        shop's ``*`` row, then the service defaults) that have no alert of that kind for this situation."""
        result = await self.session.execute(text(_TIME_SQL[kind]), {"now": now, "limit": limit, **defaults})
        return [TimeCandidate(int(sid), float(amount)) for sid, amount in result.all()]


_THRESHOLDS = """
FROM tracking.subscriptions s
LEFT JOIN tracking.alert_settings a ON a.shop_id = s.shop_id AND a.carrier = s.carrier
LEFT JOIN tracking.alert_settings d ON d.shop_id = s.shop_id AND d.carrier = '*'
"""
_ACTIVE = "s.provider_state IN ('pending', 'subscribed')"
_TIME_SQL: dict[AlertKind, str] = {
    AlertKind.NOT_COLLECTED: f"""
SELECT s.id, COALESCE(a.not_collected_hours, d.not_collected_hours, :not_collected_hours) AS hours
{_THRESHOLDS}
WHERE {_ACTIVE} AND s.progress < 20 AND s.status NOT IN ('expired')
  AND s.shipped_at < CAST(:now AS timestamptz)
      - COALESCE(a.not_collected_hours, d.not_collected_hours, :not_collected_hours) * interval '1 hour'
  AND NOT EXISTS (SELECT 1 FROM tracking.alerts al WHERE al.subscription_id = s.id AND al.kind = 'not_collected')
ORDER BY s.id LIMIT :limit
""",
    AlertKind.NO_UPDATE: f"""
SELECT s.id, COALESCE(a.no_update_hours, d.no_update_hours, :no_update_hours) AS hours
{_THRESHOLDS}
WHERE {_ACTIVE} AND s.progress >= 20 AND s.status NOT IN ('delivered', 'returned', 'expired')
  AND s.last_event_at < CAST(:now AS timestamptz)
      - COALESCE(a.no_update_hours, d.no_update_hours, :no_update_hours) * interval '1 hour'
  AND NOT EXISTS (SELECT 1 FROM tracking.alerts al
                  WHERE al.subscription_id = s.id AND al.kind = 'no_update'
                    AND (al.state <> 'resolved' OR al.resolved_at > CAST(:now AS timestamptz)
                         - COALESCE(a.no_update_hours, d.no_update_hours, :no_update_hours) * interval '1 hour'))
ORDER BY s.id LIMIT :limit
""",
    AlertKind.LATE: f"""
SELECT s.id, COALESCE(s.promised_days, a.transit_days, d.transit_days, :transit_days) AS days
{_THRESHOLDS}
WHERE {_ACTIVE} AND s.progress >= 20
  AND s.status NOT IN ('delivered', 'returned', 'expired', 'refused', 'returning')
  AND s.shipped_at < CAST(:now AS timestamptz)
      - COALESCE(s.promised_days, a.transit_days, d.transit_days, :transit_days) * interval '1 day'
      - COALESCE(a.late_grace_hours, d.late_grace_hours, :late_grace_hours) * interval '1 hour'
  AND NOT EXISTS (SELECT 1 FROM tracking.alerts al WHERE al.subscription_id = s.id AND al.kind = 'late')
ORDER BY s.id LIMIT :limit
""",
}


class AlertSettingRepository(OwnedRepository[AlertSetting]):
    model = AlertSetting

    async def upsert(self, shop_id: str, carrier: str, values: dict[str, Any]) -> AlertSetting:
        stmt = (
            insert(AlertSetting)
            .values(shop_id=shop_id, carrier=carrier, **values)
            .on_conflict_do_update(index_elements=["shop_id", "carrier"], set_={**values, "updated_at": func.now()})
            .returning(AlertSetting)
        )
        return (await self.session.execute(stmt, execution_options={"populate_existing": True})).scalar_one()

    async def for_shop(self, shop_id: str) -> list[AlertSetting]:
        return await self.list_owned(shop_id, order_by=[AlertSetting.carrier])
