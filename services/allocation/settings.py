"""Allocation service settings (env prefix ``ALLOCATION_``)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from runtime.settings import ServiceSettings


class AllocationSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ALLOCATION_", extra="ignore")

    port: int = Field(8001, description="TCP port of the allocation API.")
    courier_url: str = Field(
        "http://127.0.0.1:8009/courier", description="Base URL of the couriers' electronic waybill API."
    )
    courier_timeout_s: float = Field(10.0, gt=0, description="Timeout of one courier API call, in seconds.")
    expiring_soon_days: int = Field(
        7, ge=1, description="Numbers expiring within this many days count as expiring soon."
    )


@lru_cache
def get_settings() -> AllocationSettings:
    return AllocationSettings()
