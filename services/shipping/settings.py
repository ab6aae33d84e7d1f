"""Shipping service settings (env prefix ``SHIPPING_``)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import ClassVar

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from runtime.egress import parse_allowed_hosts
from runtime.settings import MIN_SECRET_LENGTH, PARTNER_ID_MIN_LENGTH, ServiceSettings


class ShippingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SHIPPING_", extra="ignore")

    # Refused in production at their defaults, placeholders, too short, reused, or the sandbox's URL.
    # Marketplace app secrets are 32 hex characters; app keys are 8 digits.
    secret_fields: ClassVar[Mapping[str, int]] = {
        **ServiceSettings.secret_fields,
        "marketplace_app_secret": MIN_SECRET_LENGTH,
        "marketplace_app_key": PARTNER_ID_MIN_LENGTH,
        "pinduoduo_client_secret": MIN_SECRET_LENGTH,
        "pinduoduo_client_id": PARTNER_ID_MIN_LENGTH,
    }
    partner_url_fields: ClassVar[tuple[str, ...]] = ("marketplace_url", "pinduoduo_url")

    port: int = Field(8002, description="TCP port of the shipping API.")
    allocation_url: str = Field("http://127.0.0.1:8001", description="Base URL of the allocation service.")
    marketplace_url: str = Field(
        "http://127.0.0.1:8009/router/rest", description="Marketplace open-platform gateway URL."
    )
    marketplace_app_key: str = Field("sandbox-app", description="Our app key on the marketplace.")
    marketplace_app_secret: SecretStr = Field(
        SecretStr("sandbox-secret"), description="Our app secret on the marketplace (signs calls)."
    )
    marketplace_sign_method: str = Field(
        "hmac",
        pattern="^(md5|hmac|hmac-sha256)$",
        description="How we sign Taobao calls: md5, hmac (HMAC-MD5) or hmac-sha256, as TOP offers.",
    )
    marketplace_timeout_s: float = Field(10.0, gt=0, description="Timeout of one marketplace call, in seconds.")
    message_window_s: float = Field(
        600.0,
        ge=0,
        description="Order messages whose timestamp is further than this from now are refused (0: no check).",
    )
    pinduoduo_url: str = Field(
        "http://127.0.0.1:8009/pinduoduo/api/router", description="Pinduoduo open-platform gateway URL."
    )
    pinduoduo_client_id: str = Field("sandbox-pdd-client", description="Our client_id on the Pinduoduo platform.")
    pinduoduo_client_secret: SecretStr = Field(
        SecretStr("sandbox-pdd-secret"), description="Our client_secret on the Pinduoduo platform (signs calls)."
    )
    pinduoduo_message_window_s: float = Field(
        300.0, ge=0, description="Pinduoduo messages signed further than this from now are refused (0: no check)."
    )
    tmc_url: str = Field(
        "",
        description=(
            "Taobao's message service (TMC) WebSocket, e.g. ws://mc.api.taobao.com/: the worker consumes the "
            "app's order messages there besides the HTTP pushes. Empty (the default): HTTP pushes only."
        ),
    )
    tmc_group: str = Field("default", description="The TMC group whose messages this app consumes.")
    tracking_url: str = Field("http://127.0.0.1:8003", description="Base URL of the tracking service.")
    service_timeout_s: float = Field(10.0, gt=0, description="Timeout of one call to allocation or tracking.")
    confirm_max_tries: int = Field(8, ge=1, description="Attempts at confirming a shipment before it fails.")
    confirm_retry_base_s: float = Field(2.0, gt=0, description="First confirmation retry delay; doubles per try.")
    confirm_retry_max_s: float = Field(120.0, gt=0, description="Longest wait between confirmation retries.")
    confirm_lease_s: float = Field(
        60.0, gt=0, description="How long a worker owns a confirmation in flight before another may take it over."
    )
    max_reallocations: int = Field(
        3, ge=0, description="Numbers refused by the marketplace (used, invalid, expired) replaced per shipment."
    )
    batch_chunk_size: int = Field(500, ge=1, le=1000, description="Orders per claimed chunk of a shipment batch.")
    batch_lease_s: float = Field(
        5.0,
        gt=0,
        description=(
            "A chunk whose worker stopped renewing its claim this long ago is taken over (a live worker renews "
            "it five times per lease, with the confirmations it claimed for the chunk)."
        ),
    )
    batch_concurrency: int = Field(32, ge=1, le=256, description="Calls in flight at once inside one chunk.")
    batch_sweep_s: int = Field(
        2, ge=1, le=60, description="How often (seconds) the worker looks for abandoned chunks and lost jobs."
    )
    ship_by_default_taobao_h: float = Field(
        48.0, gt=0, description="Hours after payment a Taobao order must ship by when the order says no ship-by time."
    )
    ship_by_default_pinduoduo_h: float = Field(
        48.0,
        gt=0,
        description="Hours after payment a Pinduoduo order must ship by when it has no last_ship_time.",
    )
    ship_by_default_own_h: float = Field(
        48.0, gt=0, description="Hours after creation the shop's own orders must ship by when the body gives none."
    )
    ship_by_sweep_s: int = Field(
        60, ge=1, le=60, description="How often (seconds) the worker opens and resolves the ship-by alerts."
    )
    ship_by_sweep_batch: int = Field(500, ge=1, le=5000, description="Orders read per query of the ship-by sweep.")
    tracking_max_tries: int = Field(10, ge=1, description="Attempts at handing a shipment to tracking.")
    webhook_max_tries: int = Field(8, ge=1, description="Delivery attempts of an outgoing webhook event.")
    webhook_retry_base_s: float = Field(5.0, gt=0, description="First webhook retry delay; doubles per attempt.")
    webhook_timeout_s: float = Field(10.0, gt=0, description="Timeout of one webhook delivery, in seconds.")
    webhook_allow_http: bool = Field(
        False,
        description=(
            "Accept plain http:// webhook URLs (development and the sandbox only). Off (the default everywhere): "
            "https only, refused with 422 webhook_url_refused."
        ),
    )
    webhook_allowed_internal_hosts: str = Field(
        "",
        description=(
            "Comma-separated host[:port] (a bare host: any port) that webhook URLs may name although they are or "
            "resolve to loopback, private or other non-public addresses: an operator's own receivers, sent to by "
            "name. Empty (the default everywhere, `make run` and the demo included): none."
        ),
        examples=["hooks.internal:8443, 10.0.0.7:9000"],
    )

    @field_validator("webhook_allowed_internal_hosts")
    @classmethod
    def _allowed_hosts_parse(cls, value: str) -> str:
        parse_allowed_hosts(value)  # a malformed entry stops the process at start (ValueError)
        return value


@lru_cache
def get_settings() -> ShippingSettings:
    return ShippingSettings()
