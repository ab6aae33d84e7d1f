"""Allocation service settings (env prefix ``ALLOCATION_``)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import ClassVar

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from runtime.settings import MIN_SECRET_LENGTH, PARTNER_ID_MIN_LENGTH, ServiceSettings


class AllocationSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ALLOCATION_", extra="ignore")

    # Refused in production at their defaults, placeholders, too short, reused, or the sandbox's URL.
    secret_fields: ClassVar[Mapping[str, int]] = {
        **ServiceSettings.secret_fields,
        "courier_secret": MIN_SECRET_LENGTH,
        "courier_app_key": PARTNER_ID_MIN_LENGTH,
    }
    partner_url_fields: ClassVar[tuple[str, ...]] = ("courier_url",)

    port: int = Field(8001, description="TCP port of the allocation API.")
    courier_url: str = Field(
        "http://127.0.0.1:8009/courier", description="Base URL of the couriers' electronic waybill API."
    )
    courier_app_key: str = Field("sandbox-courier", description="Our app key (logistic_provider_id) at the courier.")
    courier_secret: SecretStr = Field(
        SecretStr("sandbox-courier-secret"), description="Secret that signs courier calls (data_digest)."
    )
    courier_max_tries: int = Field(
        6, ge=1, description="Courier attempts for a purchase before it fails and is refunded."
    )
    courier_retry_base_s: float = Field(2.0, gt=0, description="First retry delay; doubles per attempt.")
    void_resend_after_s: int = Field(
        600,
        ge=1,
        description=(
            "A voided number the courier has not answered yet (its job ran out of tries while the courier was "
            "down) is asked about again after this many seconds."
        ),
    )
    allocation_pool_size: int = Field(12, ge=1, description="Connections in the raw asyncpg pool of the hot path.")
    coalesce: bool = Field(
        True,
        description=(
            "Single allocations of one pool that arrive while a statement for it is in flight go together in the "
            "next one (one round trip, one commit); a request alone goes out at once (no added latency)."
        ),
    )
    coalesce_max_batch: int = Field(256, ge=1, le=1000, description="Orders per coalesced allocation statement.")
    coalesce_in_flight: int = Field(
        1, ge=1, le=8, description="Coalesced allocation statements in flight per pool and process."
    )
    coalesce_stall_ms: float = Field(
        10.0,
        ge=0,
        description=(
            "A coalesced statement in flight longer than this no longer holds its pool's next requests back: "
            "the next statement goes out beside it (up to 4 in flight per pool and process)."
        ),
    )
    vacuum_interval_s: int = Field(
        10, ge=0, description="How often the worker vacuums the waybill table (0: leave it to autovacuum)."
    )
    courier_timeout_s: float = Field(10.0, gt=0, description="Timeout of one courier API call, in seconds.")
    expiring_soon_days: int = Field(
        7, ge=1, description="Numbers expiring within this many days count as expiring soon."
    )
    shipping_url: str = Field(
        "http://127.0.0.1:8002",
        description="Base URL of the shipping service: purchase events reach the shops' webhooks through it.",
    )
    service_timeout_s: float = Field(10.0, gt=0, description="Timeout of one call to the shipping service.")
    expiry_action_lead_hours: int = Field(
        24,
        ge=1,
        le=24,
        description=(
            "A shop's on_expiry (extend or refund) acts on a purchase's unused numbers this many hours before "
            "they expire (at most 24: an extension of at least a day then always ends beyond it)."
        ),
    )
    manual_unverified_max: int = Field(
        1000,
        ge=0,
        description=(
            "Typed (manual, unverified) numbers not yet shipped that one shop may hold; beyond it "
            "`POST /v1/waybills/manual` answers 409 `manual_limit_reached` (0: no typed numbers)."
        ),
    )


@lru_cache
def get_settings() -> AllocationSettings:
    return AllocationSettings()
