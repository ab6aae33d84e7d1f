"""Sandbox settings (env prefix ``SANDBOX_``; nested fault settings as ``SANDBOX_FAULTS__ERROR_RATE`` etc.).

The sandbox does not use the services' ``runtime.settings``: it shares no code with them.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from services.sandbox.faults import FaultConfig
from services.sandbox.pinduoduo.faults import PddFaultConfig

Schedule = Annotated[list[float], NoDecode]


def _parse_schedule(value: Any) -> Any:
    # "1,2,5" is easier to type in a shell than a JSON list; both are accepted.
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [float(part) for part in text.split(",") if part.strip()]
    return value


class SandboxSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SANDBOX_", env_nested_delimiter="__", extra="ignore")

    host: str = Field("127.0.0.1", description="Interface the sandbox binds to.")
    port: int = Field(8009, description="TCP port of the sandbox.")
    seed: int = Field(
        0, description="Seed for generated trades and for choosing which parcels go wrong in the simulation."
    )

    # Marketplace
    marketplace_app_key: str = Field("sandbox-app", description="The app key the marketplace accepts.")
    marketplace_app_secret: str = Field(
        "sandbox-secret", description="The app secret: verifies calls and signs pushed messages."
    )
    marketplace_webhook_url: str = Field(
        "http://127.0.0.1:8002/webhooks/marketplace", description="Where order messages are pushed."
    )
    marketplace_timestamp_window_s: float = Field(
        600.0, gt=0, description="How far a call's timestamp may be from now, either way, in seconds."
    )
    message_redelivery_s: Schedule = Field(
        default_factory=lambda: [1.0, 2.0, 5.0, 10.0, 30.0, 60.0],
        description="Waits (real seconds) before each redelivery of an unacknowledged message; the last repeats.",
    )
    message_concurrency: int = Field(32, ge=1, description="Order messages in flight at once.")
    message_timeout_s: float = Field(20.0, gt=0, description="Timeout of one message push, in seconds.")

    # Pinduoduo
    pinduoduo_client_id: str = Field("sandbox-pdd-client", description="The client_id the Pinduoduo gateway accepts.")
    pinduoduo_client_secret: str = Field(
        "sandbox-pdd-secret", description="The client secret: verifies gateway calls and signs delivered messages."
    )
    pinduoduo_message_url: str = Field(
        "http://127.0.0.1:8002/webhooks/pinduoduo",
        description="Where Pinduoduo order messages are delivered (HTTP POST of the message frame).",
    )
    pinduoduo_timestamp_window_s: float = Field(
        600.0, gt=0, description="How far a gateway call's timestamp (unix seconds) may be from now, either way."
    )
    pinduoduo_rate_limit_per_s: float = Field(
        100.0, gt=0, description="Gateway calls allowed per second per client_id (70031 beyond; burst the same)."
    )
    pinduoduo_message_redelivery_s: Schedule = Field(
        default_factory=lambda: [1.0, 2.0, 5.0, 10.0, 30.0, 60.0],
        description="Waits (real seconds) before each redelivery of an unacknowledged message; the last repeats.",
    )
    pinduoduo_message_concurrency: int = Field(16, ge=1, description="Pinduoduo messages in flight at once.")
    pinduoduo_message_timeout_s: float = Field(20.0, gt=0, description="Timeout of one message delivery, seconds.")
    pinduoduo_faults: PddFaultConfig = Field(
        default_factory=PddFaultConfig, description="Pinduoduo faults on demand; all off by default."
    )

    # Couriers
    courier_app_key: str = Field("sandbox-courier", description="The logistic_provider_id the couriers accept.")
    courier_secret: str = Field("sandbox-courier-secret", description="Secret behind the couriers' data_digest.")
    courier_validity_days: int = Field(
        90, ge=1, description="Validity of issued numbers when a request does not say validity_days."
    )
    courier_down_s: float = Field(0.0, ge=0, description="The couriers are down for this long after start.")

    # Tracking provider
    kuaidi100_key: str = Field("sandbox-key", description="The key the tracking provider accepts on subscribe.")
    kuaidi100_customer: str = Field(
        "sandbox-key", description="The customer id accepted on query (the real service issues one per account)."
    )
    tracking_query_rate_per_s: float = Field(
        3.0, gt=0, description="Queries allowed per second per customer (token bucket, burst of the same size)."
    )
    tracking_push_retry_s: Schedule = Field(
        default_factory=lambda: [1.0, 2.0, 5.0, 10.0, 30.0, 60.0],
        description="Waits (real seconds) before each repeat of a failed push; the last repeats.",
    )
    tracking_push_delay_s: float = Field(
        0.0, ge=0, description="Simulated seconds between a parcel event and the push that reports it."
    )
    tracking_push_concurrency: int = Field(32, ge=1, description="Tracking pushes in flight at once.")
    tracking_push_timeout_s: float = Field(20.0, gt=0, description="Timeout of one tracking push, in seconds.")
    tracking_problem_rate: float = Field(0.03, ge=0, le=1, description="Fraction of parcels with a problem (2).")
    tracking_refused_rate: float = Field(
        0.02, ge=0, le=1, description="Fraction of parcels refused (14), then returned (6) and signed back (4)."
    )
    tracking_never_collected_rate: float = Field(
        0.02, ge=0, le=1, description="Fraction of parcels never collected: no events, abort after 3 days."
    )
    tracking_stall_rate: float = Field(
        0.02, ge=0, le=1, description="Fraction of parcels that stall mid-transit before moving on."
    )
    tracking_stall_hours: float = Field(96.0, gt=0, description="Simulated hours a stalled parcel stays silent.")
    tracking_abort_hours: float = Field(
        72.0, gt=0, description="Simulated hours without any record before the provider aborts a subscription."
    )

    # Time and faults
    time_acceleration: float = Field(
        1.0, gt=0, description="Simulated seconds per real second (86400/30: a day of parcel journey in 30 s)."
    )
    faults: FaultConfig = Field(default_factory=FaultConfig, description="Faults on demand; all off by default.")

    @field_validator("message_redelivery_s", "tracking_push_retry_s", "pinduoduo_message_redelivery_s", mode="before")
    @classmethod
    def _schedule(cls, value: Any) -> Any:
        return _parse_schedule(value)

    @field_validator("message_redelivery_s", "tracking_push_retry_s", "pinduoduo_message_redelivery_s")
    @classmethod
    def _schedule_sane(cls, value: list[float]) -> list[float]:
        if not value or any(v < 0 for v in value):
            raise ValueError("a schedule needs at least one wait, none negative")
        return value
