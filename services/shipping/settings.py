"""Shipping service settings (env prefix ``SHIPPING_``)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from runtime.settings import ServiceSettings


class ShippingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SHIPPING_", extra="ignore")

    port: int = Field(8002, description="TCP port of the shipping API.")
    allocation_url: str = Field("http://127.0.0.1:8001", description="Base URL of the allocation service.")
    marketplace_url: str = Field(
        "http://127.0.0.1:8009/router/rest", description="Marketplace open-platform gateway URL."
    )
    marketplace_app_key: str = Field("sandbox-app", description="Our app key on the marketplace.")
    marketplace_app_secret: SecretStr = Field(
        SecretStr("sandbox-secret"), description="Our app secret on the marketplace (signs calls)."
    )
    tracking_url: str = Field("http://127.0.0.1:8003", description="Base URL of the tracking service.")


@lru_cache
def get_settings() -> ShippingSettings:
    return ShippingSettings()
