"""Auto-ship rules (自动发货规则), their runs and dry runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.shipping.auto_ship_rules import HHMM, KNOWN_PROVINCES, OWN_STORE, SkipReason, parse_hhmm, province_key
from services.shipping.schemas.batches import MAX_BATCH
from shared.carriers import CarrierCode

MAX_RULES = 50  # per shop: each sweep reads every active rule against the shop's paid orders
MAX_AGE_MINUTES = 7 * 24 * 60
DEFAULT_MAX_BATCH = 500

_WINDOW_EXAMPLE: dict[str, Any] = {"from": "09:00", "to": "17:30", "days": [1, 2, 3, 4, 5]}
_CONDITIONS_EXAMPLE: dict[str, Any] = {
    "provinces": ["浙江", "江苏省", "上海"],
    "weight_min_g": None,
    "weight_max_g": 3000,
    "stores": ["own", "sto_3f9a1c2b7e4d5a6b8c0d"],
    "time_windows": [_WINDOW_EXAMPLE, {"from": "22:00", "to": "02:00", "days": None}],
}
_RULE_IN_EXAMPLE: dict[str, Any] = {
    "name": "江浙沪小件走中通",
    "priority": 10,
    "active": True,
    "carrier": "ZTO",
    "conditions": _CONDITIONS_EXAMPLE,
    "min_age_minutes": 30,
    "max_batch": 500,
}
_SKIPPED_EXAMPLE: dict[str, Any] = {
    "order_id": "ord_7a9c1e3b5d7f9a2c4e6b",
    "reason": "weight_out_of_range",
    "message": "重量 4200 克不在 不限 至 3000 克 之间",
    "rule_id": None,
}
_RUN_EXAMPLE: dict[str, Any] = {
    "id": "asr_5c7e9a1b3d5f7a9c1e3b",
    "rule_id": "asp_2d4f6a8c0e1b3d5f7a9c",
    "batch_id": "bat_2f4a6c8e0b1d3f5a7c9e",
    "carrier": "ZTO",
    "at": "2026-12-09T10:31:00+08:00",
    "taken": 2,
    "order_ids": ["ord_4b1e9c2a7d3f5e8a0b6c", "ord_9e1c3a5b7d9f1a3c5e7b"],
    "skipped": 1,
    "skipped_by_reason": {"weight_out_of_range": 1},
    "skipped_orders": [_SKIPPED_EXAMPLE],
}


class TimeWindow(BaseModel):
    """When a rule runs, in the shop's time zone: from (included) until to (not included). A `to` at or before
    `from` crosses midnight: 22:00 to 02:00 is that evening and the next morning."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid", json_schema_extra={"examples": [_WINDOW_EXAMPLE]})

    start: str = Field(alias="from", pattern=HHMM.pattern, description="HH:MM, 00:00 to 23:59", examples=["09:00"])
    end: str = Field(alias="to", pattern=HHMM.pattern, description="HH:MM; 00:00 is midnight", examples=["17:30"])
    days: list[int] | None = Field(
        None,
        min_length=1,
        max_length=7,
        description="ISO weekdays the window starts on (1 Monday .. 7 Sunday); null: every day",
    )

    @field_validator("days")
    @classmethod
    def _weekdays(cls, value: list[int] | None) -> list[int] | None:
        if value is None:
            return None
        if any(d < 1 or d > 7 for d in value) or len(set(value)) != len(value):
            raise ValueError("days are distinct ISO weekdays, 1 (Monday) to 7 (Sunday)")
        return sorted(value)

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if parse_hhmm(self.start) == parse_hhmm(self.end):
            raise ValueError("from and to must differ (for all day, give no time window)")
        return self


class RuleConditions(BaseModel):
    """Which paid orders a rule takes; every condition given must hold, an empty one holds for any order."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_CONDITIONS_EXAMPLE]})

    provinces: list[str] = Field(
        default_factory=list,
        max_length=len(KNOWN_PROVINCES),
        description="The receiver's province, with or without its 省/市/自治区 suffix (浙江 = 浙江省); empty: any",
    )
    weight_min_g: int | None = Field(None, ge=0, le=1_000_000, description="Lowest weight in grams, included")
    weight_max_g: int | None = Field(None, ge=0, le=1_000_000, description="Highest weight in grams, included")
    stores: list[str] = Field(
        default_factory=list,
        max_length=100,
        description=f"The shop's store ids, and `{OWN_STORE}` for its own (REST) orders; empty: any",
    )
    time_windows: list[TimeWindow] = Field(
        default_factory=list, max_length=20, description="The rule runs only inside one of them; empty: always"
    )

    @field_validator("provinces")
    @classmethod
    def _known_provinces(cls, value: list[str]) -> list[str]:
        unknown = [p for p in value if province_key(p) not in KNOWN_PROVINCES]
        if unknown:
            raise ValueError(f"unknown province(s): {', '.join(unknown)}")
        if len({province_key(p) for p in value}) != len(value):
            raise ValueError("provinces must not repeat")
        return [p.strip() for p in value]

    @field_validator("stores")
    @classmethod
    def _distinct_stores(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("stores must not repeat")
        return value

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        low, high = self.weight_min_g, self.weight_max_g
        if low is not None and high is not None and low > high:
            raise ValueError(f"weight_min_g ({low}) is more than weight_max_g ({high})")
        return self


class AutoShipRuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_RULE_IN_EXAMPLE]})

    name: str = Field(min_length=1, max_length=100)
    priority: int = Field(100, ge=0, le=10_000, description="Lower first; an order is the first matching rule's")
    active: bool = True
    carrier: CarrierCode = Field(description="The carrier the rule's batches ship with")
    conditions: RuleConditions = Field(default_factory=RuleConditions)
    min_age_minutes: int = Field(
        0, ge=0, le=MAX_AGE_MINUTES, description="An order is taken once it has been paid this long"
    )
    max_batch: int = Field(DEFAULT_MAX_BATCH, ge=1, le=MAX_BATCH, description="Most orders of one run's batch")


class AutoShipRuleUpdate(BaseModel):
    """The fields given change; `conditions`, when given, replaces the rule's conditions whole."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"active": False}, {"priority": 5, "carrier": "YTO", "max_batch": 200}]},
    )

    name: str | None = Field(None, min_length=1, max_length=100)
    priority: int | None = Field(None, ge=0, le=10_000)
    active: bool | None = None
    carrier: CarrierCode | None = None
    conditions: RuleConditions | None = None
    min_age_minutes: int | None = Field(None, ge=0, le=MAX_AGE_MINUTES)
    max_batch: int | None = Field(None, ge=1, le=MAX_BATCH)


class SkippedOrder(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_SKIPPED_EXAMPLE]})

    order_id: str
    reason: SkipReason = Field(description="Stable code")
    message: str = Field(description="For the seller (Chinese)")
    rule_id: str | None = Field(None, description="taken_by_rule: the earlier rule the order is")


class SkipCounts(BaseModel):
    skipped: int = Field(description="Orders the rule did not take, all reasons")
    skipped_by_reason: dict[str, int]
    skipped_orders: list[SkippedOrder] = Field(description="The first 200 of them (oldest first) and why")


class AutoShipRunOut(SkipCounts):
    """One sweep's work for one rule: the batch it made, the orders it took, and what it left and why."""

    model_config = ConfigDict(json_schema_extra={"examples": [_RUN_EXAMPLE]})

    id: str
    rule_id: str
    batch_id: str = Field(description="The shipment batch (GET /v1/shipment-batches/{batch_id})")
    carrier: str
    at: datetime = Field(description="In the shop's time zone")
    taken: int
    order_ids: list[str] = Field(description="The orders put in the batch")


class AutoShipRuleOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "asp_2d4f6a8c0e1b3d5f7a9c",
                    **_RULE_IN_EXAMPLE,
                    "created_at": "2026-12-08T09:00:00+08:00",
                    "updated_at": "2026-12-08T09:00:00+08:00",
                    "last_run": _RUN_EXAMPLE,
                }
            ]
        }
    )

    id: str
    name: str
    priority: int
    active: bool
    carrier: str
    conditions: RuleConditions
    min_age_minutes: int
    max_batch: int
    created_at: datetime
    updated_at: datetime
    last_run: AutoShipRunOut | None = Field(description="The latest run that took orders; null before the first")


class DryRunOut(SkipCounts):
    """What the rule would take now, and why it leaves the rest: nothing is shipped or recorded."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "rule_id": "asp_2d4f6a8c0e1b3d5f7a9c",
                    "carrier": "ZTO",
                    "at": "2026-12-09T10:30:12+08:00",
                    "running": True,
                    "would_take": 2,
                    "order_ids": ["ord_4b1e9c2a7d3f5e8a0b6c", "ord_9e1c3a5b7d9f1a3c5e7b"],
                    "skipped": 1,
                    "skipped_by_reason": {"weight_out_of_range": 1},
                    "skipped_orders": [_SKIPPED_EXAMPLE],
                }
            ]
        }
    )

    rule_id: str
    carrier: str
    at: datetime = Field(description="Now, in the shop's time zone")
    running: bool = Field(description="Inside one of its time windows now (or it has none)")
    would_take: int
    order_ids: list[str] = Field(description="What its batch would hold now (at most max_batch)")
