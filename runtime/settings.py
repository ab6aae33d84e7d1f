"""Settings every service shares; each service subclasses with its own env prefix."""

from __future__ import annotations

import os
from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Development placeholders: fine on a laptop, refused anywhere else.
DEV_ADMIN_KEY = "dev-admin-key"
DEV_INTERNAL_KEY = "dev-internal-key"


class ServiceSettings(BaseSettings):
    """Base for a service's settings.

    Fields read the service's prefixed variable first (e.g. ``ALLOCATION_DATABASE_URL``) and fall
    back to the unprefixed one the whole system shares (``DATABASE_URL``), so one environment can
    run every service while each can still be pointed elsewhere.
    """

    model_config = SettingsConfigDict(extra="ignore", env_file=None)

    # Unprefixed fallbacks: field name -> environment variable.
    shared_env: ClassVar[dict[str, str]] = {
        "database_url": "DATABASE_URL",
        "redis_url": "REDIS_URL",
        "admin_key": "WAYBILL_ADMIN_KEY",
        "internal_key": "WAYBILL_INTERNAL_KEY",
        "environment": "WAYBILL_ENVIRONMENT",
        "log_level": "WAYBILL_LOG_LEVEL",
        "db_pool_size": "WAYBILL_DB_POOL_SIZE",
        "rate_limit_per_s": "WAYBILL_RATE_LIMIT_PER_S",
        "rate_limit_burst": "WAYBILL_RATE_LIMIT_BURST",
    }

    environment: Literal["development", "test", "production"] = Field(
        "development",
        description="Deployment environment; placeholder secrets are refused outside development/test.",
    )
    host: str = Field("127.0.0.1", description="Interface the HTTP server binds to.")
    port: int = Field(8000, description="TCP port of the HTTP server.")
    database_url: str = Field(
        "postgresql://postgres@127.0.0.1:5432/test",
        description="PostgreSQL URL (postgresql://user:pass@host:port/db, or ?host=/socket/dir).",
    )
    redis_url: str = Field("redis://127.0.0.1:6379/0", description="Redis URL for arq queues and caches.")
    db_pool_size: int = Field(
        5, ge=1, description="Connections kept per process in the database pool (as many again may overflow)."
    )
    admin_key: SecretStr = Field(SecretStr(DEV_ADMIN_KEY), description="Operators' key for admin endpoints.")
    internal_key: SecretStr = Field(
        SecretStr(DEV_INTERNAL_KEY), description="Key services use to call each other's internal endpoints."
    )
    log_level: str = Field("INFO", description="Log level (DEBUG, INFO, WARNING, ERROR).")
    log_json: bool = Field(True, description="Emit JSON log lines (false: human-readable console lines).")
    max_body_bytes: int = Field(2_000_000, ge=1024, description="Largest request body accepted, in bytes (413 beyond).")
    # Generous: far above what one shop's systems send (benchmarks and e2e runs use one key per shop),
    # low enough that a runaway client is stopped before it starves the others.
    rate_limit_per_s: float = Field(
        5_000.0,
        ge=0,
        description="Requests a second one shop API key may send to this service, sustained (0: no limit, "
        "and no Redis call per request). Admin and internal keys are not limited.",
    )
    rate_limit_burst: int = Field(
        10_000, ge=1, description="Requests one shop API key may send at once before the rate applies (429 beyond)."
    )
    # Per service only (ALLOCATION_/SHIPPING_/TRACKING_WORKER_METRICS_PORT): no shared fallback, since the
    # three workers of one host (make run) need three ports.
    worker_metrics_port: int = Field(
        0,
        ge=0,
        le=65535,
        description="Port on which this service's arq worker serves its Prometheus metrics, on 0.0.0.0 (0: not "
        "served). One worker process per host or pod: a second one finds the port taken, logs it and runs on.",
    )

    @model_validator(mode="before")
    @classmethod
    def _shared_fallbacks(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for field, var in cls.shared_env.items():
                if field not in data and var in os.environ:
                    data[field] = os.environ[var]
        return data

    @model_validator(mode="after")
    def _no_placeholder_secrets(self) -> ServiceSettings:
        if self.environment == "production":
            for name in ("admin_key", "internal_key"):
                value: SecretStr = getattr(self, name)
                if value.get_secret_value() in (DEV_ADMIN_KEY, DEV_INTERNAL_KEY) or len(value.get_secret_value()) < 16:
                    raise ValueError(f"{name} must be set to a real secret of 16+ characters in production")
        return self

    @property
    def sqlalchemy_url(self) -> str:
        return to_sqlalchemy_url(self.database_url)

    @property
    def asyncpg_dsn(self) -> str:
        return to_asyncpg_dsn(self.database_url)


def to_sqlalchemy_url(url: str) -> str:
    _, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"not a URL: {url!r}")
    return f"postgresql+asyncpg://{rest}"


def to_asyncpg_dsn(url: str) -> str:
    _, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"not a URL: {url!r}")
    return f"postgresql://{rest}"
