"""Dashboard settings (env prefix ``DASHBOARD_``). The dashboard holds no service key of its own: it
calls the services with the key the person signed in with."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from runtime.settings import MIN_SECRET_LENGTH, refuse_unsafe_production

DEV_SECRET_KEY = "dev-dashboard-secret"


class DashboardSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DASHBOARD_", extra="ignore", env_file=None, hide_input_in_errors=True)
    # Refused in production at its default, a placeholder or under 32 characters (runtime.settings).
    secret_fields: ClassVar[dict[str, int]] = {"secret_key": MIN_SECRET_LENGTH}

    shared_env: ClassVar[dict[str, str]] = {
        "environment": "WAYBILL_ENVIRONMENT",
        "log_level": "WAYBILL_LOG_LEVEL",
        "redis_url": "REDIS_URL",
    }

    environment: Literal["development", "test", "production"] = Field(
        "development", description="Deployment environment; the placeholder secret is refused in production."
    )
    host: str = Field("127.0.0.1", description="Interface the HTTP server binds to.")
    port: int = Field(8004, description="TCP port of the dashboard.")
    allocation_url: str = Field("http://127.0.0.1:8001", description="Base URL of the allocation service.")
    shipping_url: str = Field("http://127.0.0.1:8002", description="Base URL of the shipping service.")
    tracking_url: str = Field("http://127.0.0.1:8003", description="Base URL of the tracking service.")
    secret_key: SecretStr = Field(
        SecretStr(DEV_SECRET_KEY),
        description="Encrypts the API keys the sessions hold in Redis and signs the sign-in form's CSRF cookie; "
        "changing it signs everyone out (32+ characters in production).",
    )
    redis_url: str = Field(
        "redis://127.0.0.1:6379/0",
        description="Redis holding the sign-in sessions (falls back to REDIS_URL). While it is down the sign-in "
        "page still renders, and signing in or using a session answers 503.",
    )
    cookie_secure: bool = Field(False, description="Send cookies over HTTPS only (set it behind TLS).")
    session_idle_hours: float = Field(
        8.0, gt=0, description="A session unused this long ends (each use extends it, at most once a minute)."
    )
    session_max_hours: float = Field(
        168.0, gt=0, description="A session ends this long after its sign-in, however often it is used."
    )
    timeout_s: float = Field(
        5.0, gt=0, description="Timeout of one call to a service; beyond it the panel is shown unavailable."
    )
    expiring_within_days: int = Field(
        7, ge=1, le=365, description="Numbers expiring within this many days count as expiring soon."
    )
    recent_shipments: int = Field(
        20, ge=1, le=200, description="Shipments listed a page at a time, each with its tracking status."
    )
    batches_shown: int = Field(10, ge=1, le=100, description="Batches shown a page at a time per shop.")
    orders_shown: int = Field(50, ge=1, le=500, description="Orders to ship listed a page at a time.")
    purchases_shown: int = Field(20, ge=1, le=200, description="Purchases listed a page at a time.")
    time_zone: str = Field(
        "Asia/Shanghai",
        description="The time zone the pages show times in where no shop's own is known (an IANA name): the "
        "sign-in, the operators' overview, a shop whose settings cannot be read. A shop's pages use its "
        "settings' time_zone; the services answer UTC.",
    )
    alerts_shown: int = Field(100, ge=1, le=1000, description="Open alerts shown a page at a time per shop.")
    rules_shown: int = Field(50, ge=1, le=50, description="Auto-ship rules shown a page at a time per shop.")
    runs_shown: int = Field(10, ge=1, le=100, description="An auto-ship rule's last runs shown on its page.")
    overview_shops: int = Field(
        100, ge=1, le=1000, description="Shops summarised a page at a time on the operators' overview."
    )
    login_attempts_per_minute: float = Field(
        10,
        ge=0,
        description="Sign-in attempts one client address may make a minute, after a burst of "
        "login_attempts_burst (429 beyond; 0: off). Each attempt costs allocation a key lookup, and the "
        "dashboard's lookups share one address's budget there: this keeps one client from spending it for all.",
    )
    login_attempts_burst: int = Field(10, ge=1, description="Sign-in attempts one client address may make at once.")
    log_level: str = Field("INFO", description="Log level (DEBUG, INFO, WARNING, ERROR).")
    log_json: bool = Field(True, description="Emit JSON log lines (false: human-readable console lines).")

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @model_validator(mode="before")
    @classmethod
    def _shared_fallbacks(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name, var in cls.shared_env.items():
                # The dashboard's own variable wins over the shared one.
                own = f"DASHBOARD_{name.upper()}"
                if name not in data and own not in os.environ and var in os.environ:
                    data[name] = os.environ[var]
        return data

    @model_validator(mode="after")
    def _no_placeholder_secret(self) -> DashboardSettings:
        if self.environment == "production":
            refuse_unsafe_production(self, secrets=self.secret_fields, shared_env=self.shared_env)
        return self


@lru_cache
def get_settings() -> DashboardSettings:
    return DashboardSettings()
