"""Tracking service settings (env prefix ``TRACKING_``)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import ClassVar

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from runtime.backoff import Backoff
from runtime.settings import PARTNER_ID_MIN_LENGTH, ServiceSettings
from services.tracking.domain.alerts import AlertDefaults

# Kuaidi100 issues keys of 11 or 12 characters: the 32 asked of our own keys would refuse every real one.
PROVIDER_KEY_MIN_LENGTH = 10


class TrackingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TRACKING_", extra="ignore")

    # Refused in production at their defaults, placeholders, too short, reused, or the sandbox's URL.
    secret_fields: ClassVar[Mapping[str, int]] = {
        **ServiceSettings.secret_fields,
        "provider_key": PROVIDER_KEY_MIN_LENGTH,
        "provider_customer": PARTNER_ID_MIN_LENGTH,
    }
    partner_url_fields: ClassVar[tuple[str, ...]] = ("provider_url",)

    port: int = Field(8003, description="TCP port of the tracking API.")
    allocation_url: str = Field("http://127.0.0.1:8001", description="Base URL of the allocation service.")
    shipping_url: str = Field("http://127.0.0.1:8002", description="Base URL of the shipping service.")
    service_timeout_s: float = Field(
        10.0, gt=0, description="Timeout of one call to allocation or shipping (a batch of updates gets 30 s)."
    )
    public_url: str = Field("http://127.0.0.1:8003", description="URL the tracking provider reaches us at (callbacks).")

    # The tracking provider (Kuaidi100 style).
    provider_url: str = Field(
        "http://127.0.0.1:8009/kuaidi100",
        description=(
            "Tracking provider base URL, https://poll.kuaidi100.com in production: subscribe at /poll and query "
            "at /poll/query.do below it."
        ),
    )
    provider_key: SecretStr = Field(SecretStr("sandbox-key"), description="Our key with the tracking provider.")
    provider_customer: str = Field(
        "sandbox-key",
        description="Our customer id for the provider's query API (sent to /poll/query.do; its sign uses the key).",
    )
    provider_timeout_s: float = Field(10.0, gt=0, description="Timeout of one provider call, in seconds.")
    provider_query_rate_per_s: float = Field(
        3.0, gt=0, description="Queries per second the provider allows us (shared by every worker, via Redis)."
    )
    subscribe_max_tries: int = Field(8, ge=1, description="Subscribe attempts before a subscription is flagged.")
    subscribe_retry_base_s: float = Field(2.0, gt=0, description="First subscribe retry delay; doubles per attempt.")

    # Push ingestion.
    webhook_pool_size: int = Field(16, ge=1, description="Connections of the raw asyncpg pool the webhook uses.")
    webhook_batch_max: int = Field(256, ge=1, description="Most pushes the webhook stores in one statement.")
    webhook_batch_inflight: int = Field(
        4, ge=1, description="Store statements in flight at once per API process (pushes queue behind them)."
    )
    ingest_consumer: bool = Field(True, description="Run the batch push processor inside each worker process.")
    ingest_batch_size: int = Field(500, ge=1, description="Raw pushes one worker claims and processes per transaction.")
    ingest_idle_s: float = Field(0.5, gt=0, description="How long an idle processor waits before looking again.")
    ingest_gather_s: float = Field(
        0.1,
        ge=0,
        description=(
            "After a batch less than half full, how long a processor lets pushes gather before the next one "
            "(fewer, fuller transactions under a steady flow; 0: none)."
        ),
    )
    ingest_wake_interval_s: float = Field(
        0.05, ge=0, description="At most one wake-up hint per this interval per API process."
    )
    gauge_refresh_s: float = Field(
        5.0, gt=0, description="How often the API refreshes the queue-depth, lag and open-alert gauges."
    )

    # Polling fallback.
    poll_quiet_hours: float = Field(
        12.0, gt=0, description="Query the provider for a parcel that has not been heard of for this long."
    )
    poll_interval_s: int = Field(2, ge=1, le=60, description="How often the polling job runs, in seconds.")

    # Alerts: defaults when a shop has set nothing for a carrier.
    alert_not_collected_hours: float = Field(24.0, gt=0, description="Not collected within this long of shipment.")
    alert_no_update_hours: float = Field(48.0, gt=0, description="No new event for this long while in transit.")
    alert_late_grace_hours: float = Field(
        24.0, ge=0, description="Late when undelivered this long after the promised transit time."
    )
    alert_transit_days: int = Field(3, ge=1, description="Transit days assumed when the shipment names none.")
    alert_scan_interval_s: int = Field(5, ge=1, le=60, description="How often time-based alerts are evaluated.")

    # Telling shipping.
    notify_shipping: bool = Field(True, description="Send status changes and alerts to the shipping service.")
    notify_batch_size: int = Field(
        500, ge=1, description="Notifications one worker claims per round (sent in one call per shop)."
    )
    notify_retry_base_s: float = Field(1.0, gt=0, description="First retry delay of a notification; doubles.")
    notify_retry_max_s: float = Field(300.0, gt=0, description="Longest wait between two notification attempts.")

    # Nominal delays, no jitter: the same waits as before runtime.backoff (a subscribe's retries are paced by
    # arq's defer; a shop's deferred updates wait together, so each parcel's stay in order).
    def subscribe_backoff(self) -> Backoff:
        """Doubling per try, never capped within the tries there are."""
        return Backoff(self.subscribe_retry_base_s, self.subscribe_retry_base_s * 2 ** (self.subscribe_max_tries - 1))

    def notify_backoff(self) -> Backoff:
        return Backoff(self.notify_retry_base_s, self.notify_retry_max_s)

    def alert_defaults(self) -> AlertDefaults:
        return AlertDefaults(
            self.alert_not_collected_hours,
            self.alert_no_update_hours,
            self.alert_late_grace_hours,
            self.alert_transit_days,
        )


@lru_cache
def get_settings() -> TrackingSettings:
    return TrackingSettings()
