"""Tracking service settings (env prefix ``TRACKING_``)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from runtime.settings import ServiceSettings


class TrackingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TRACKING_", extra="ignore")

    port: int = Field(8003, description="TCP port of the tracking API.")
    allocation_url: str = Field("http://127.0.0.1:8001", description="Base URL of the allocation service.")
    tracking_provider_url: str = Field(
        "http://127.0.0.1:8009/kuaidi100", description="Tracking provider (Kuaidi100 style) base URL."
    )
    tracking_provider_key: SecretStr = Field(
        SecretStr("sandbox-key"), description="Our key with the tracking provider."
    )
    public_url: str = Field("http://127.0.0.1:8003", description="URL the tracking provider reaches us at (callbacks).")
    shipping_url: str = Field("http://127.0.0.1:8002", description="Base URL of the shipping service.")


@lru_cache
def get_settings() -> TrackingSettings:
    return TrackingSettings()
