"""Settings every service shares; each service subclasses with its own env prefix."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Development placeholders: fine on a laptop, refused anywhere else.
DEV_ADMIN_KEY = "dev-admin-key"
DEV_INTERNAL_KEY = "dev-internal-key"
# Least length of a key we make ourselves (admin, internal, the dashboard's secret key) in production: 32
# random characters are out of reach of guessing. Partner-issued values declare their own floor (the partner
# decides their length; see each service's settings).
MIN_SECRET_LENGTH = 32
# Partner-issued identifiers (app keys, customer ids) are sent in the clear and the partner sets their length
# (marketplace app keys are 8 digits): only defaults, placeholders and reuse are refused.
PARTNER_ID_MIN_LENGTH = 1
# The sandbox's default port (services/sandbox/settings.py); a partner URL on it is the sandbox.
SANDBOX_PORT = 8009
# Environment variables that hold a secret of some role (ours or a partner's), by name.
_SECRET_NAME = re.compile(r"(KEY|SECRET|PASSWORD|TOKEN)$")
# Values that say "put the real one here", compared without case, "-", "_" or spaces.
_PLACEHOLDER_WORDS = ("changeme", "replaceme")
# Prefixes of the sandbox's credentials and of the deploy manifests' placeholders (your-marketplace-app-key).
_PLACEHOLDER_PREFIXES = ("sandbox-", "your-")
_DEV_VALUES = frozenset({DEV_ADMIN_KEY, DEV_INTERNAL_KEY})


def _plain(value: Any) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else str(value)


def env_variable(cls: type[BaseSettings], field: str, shared_env: Mapping[str, str] | None = None) -> str:
    """The environment variable(s) that set ``field`` of ``cls``, for messages: the shared one first, as
    deployments set that one (``WAYBILL_ADMIN_KEY (or ALLOCATION_ADMIN_KEY)``)."""
    own = f"{cls.model_config.get('env_prefix', '')}{field}".upper()
    shared = (shared_env or {}).get(field)
    return f"{shared} (or {own})" if shared else own


def _placeholder(value: str) -> bool:
    folded = value.strip().lower()
    squeezed = folded.replace("-", "").replace("_", "").replace(" ", "")
    return any(w in squeezed for w in _PLACEHOLDER_WORDS) or folded.startswith(_PLACEHOLDER_PREFIXES)


def sandbox_url_reason(url: str) -> str | None:
    """Why ``url`` points at the sandbox (or at nothing a partner could be), or None if it may be a partner.

    A partner URL counts as the sandbox when its host is this machine (``localhost``, a loopback or
    unspecified address: the sandbox's defaults are on 127.0.0.1), when a label of its host name contains
    ``sandbox`` (the compose service ``sandbox``, a Kubernetes ``sandbox.<ns>.svc``, a partner's own test
    gateway such as ``gw.api.tbsandbox.com``), or when it uses the sandbox's port 8009. A URL without an
    http(s) scheme or a host is refused too.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return "it is not a valid URL"
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        return "it is not an http(s) URL with a host"
    if host == "localhost" or host.endswith(".localhost"):
        return "its host is this machine"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None and (address.is_loopback or address.is_unspecified):
        return "its host is this machine"
    if any("sandbox" in label for label in host.split(".")):
        return "its host is named sandbox"
    if port == SANDBOX_PORT:
        return f"it uses the sandbox's port {SANDBOX_PORT}"
    return None


def production_problems(
    settings: BaseSettings,
    *,
    secrets: Mapping[str, int],
    partner_urls: Iterable[str] = (),
    shared_env: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[str]:
    """Why ``settings`` must not run in production: one line per problem, naming the environment variable
    and never its value. ``secrets`` maps each secret or credential field to the least length accepted;
    ``partner_urls`` names the fields holding a partner's URL; ``environ`` (the process's environment) is
    searched for other roles' secrets equal to these."""
    cls = type(settings)
    problems: list[str] = []
    values: dict[str, str] = {}
    for field, min_length in secrets.items():
        value = _plain(getattr(settings, field))
        default = _plain(cls.model_fields[field].get_default(call_default_factory=True))
        name = env_variable(cls, field, shared_env)
        if value == default or value in _DEV_VALUES:
            problems.append(f"{name} is left at its development default")
        elif _placeholder(value):
            problems.append(f"{name} is a placeholder")
        elif not value.strip():
            problems.append(f"{name} is empty")
        elif len(value.strip()) < min_length:
            problems.append(f"{name} is shorter than {min_length} characters")
        else:
            values[field] = value
    # A key reused for another role is one leak away from both (the internal key as the admin key...).
    by_value: dict[str, list[str]] = {}
    for field, value in values.items():
        by_value.setdefault(value, []).append(field)
    for same in by_value.values():
        if len(same) > 1:
            names = " and ".join(env_variable(cls, f, shared_env) for f in same)
            problems.append(f"{names} are equal: each key and secret must be different")
    # ... and across processes: every pod gets the whole Secret (deploy/kubernetes: envFrom), so another
    # service's secrets are in this environment too. The same role's variables may be equal
    # (ALLOCATION_INTERNAL_KEY and WAYBILL_INTERNAL_KEY); another secret-named variable may not.
    own = {env_variable(cls, f, shared_env) for f in secrets}
    for field, value in values.items():
        for other, other_value in sorted((os.environ if environ is None else environ).items()):
            if other in own or other.endswith("_" + field.upper()) or not _SECRET_NAME.search(other):
                continue
            if other_value.strip() == value.strip():
                name = env_variable(cls, field, shared_env)
                problems.append(f"{name} equals {other}: each key and secret must be different")
    for field in partner_urls:
        reason = sandbox_url_reason(str(getattr(settings, field)))
        if reason is not None:
            name = env_variable(cls, field, shared_env)
            problems.append(f"{name} points at the sandbox ({reason})")
    return problems


def refuse_unsafe_production(
    settings: BaseSettings,
    *,
    secrets: Mapping[str, int],
    partner_urls: Iterable[str] = (),
    shared_env: Mapping[str, str] | None = None,
) -> None:
    """Raise ValueError listing ``production_problems`` if there are any (the settings class refuses to load,
    so the process does not start)."""
    problems = production_problems(settings, secrets=secrets, partner_urls=partner_urls, shared_env=shared_env)
    if problems:
        raise ValueError("refusing to start in production (set real secrets and partner URLs): " + "; ".join(problems))


class ServiceSettings(BaseSettings):
    """Base for a service's settings.

    Fields read the service's prefixed variable first (e.g. ``ALLOCATION_DATABASE_URL``) and fall
    back to the unprefixed one the whole system shares (``DATABASE_URL``), so one environment can
    run every service while each can still be pointed elsewhere.
    """

    # hide_input_in_errors: a refused setting must not print the environment (secrets included) in the error.
    model_config = SettingsConfigDict(extra="ignore", env_file=None, hide_input_in_errors=True)

    # Fields refused in production when left at a default or placeholder, too short, or equal to another
    # (field -> least length); and fields holding a partner's URL, refused when they point at the sandbox.
    # Each service adds its own (runtime.settings.production_problems).
    secret_fields: ClassVar[Mapping[str, int]] = {"admin_key": MIN_SECRET_LENGTH, "internal_key": MIN_SECRET_LENGTH}
    partner_url_fields: ClassVar[tuple[str, ...]] = ()

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
        "address_rate_limit_per_s": "WAYBILL_ADDRESS_RATE_LIMIT_PER_S",
        "address_rate_limit_burst": "WAYBILL_ADDRESS_RATE_LIMIT_BURST",
        "key_cache_ttl_s": "WAYBILL_KEY_CACHE_TTL_S",
        "key_refusal_ttl_s": "WAYBILL_KEY_REFUSAL_TTL_S",
        "key_cache_size": "WAYBILL_KEY_CACHE_SIZE",
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
    # Legitimate traffic seldom counts (a known-good key does not), so this can be low: one lookup per
    # active key per process every key_cache_ttl_s is 100/s for 3,000 keys behind one address, and a
    # stranger's address costs allocation at most this many lookups a second.
    address_rate_limit_per_s: float = Field(
        100.0,
        ge=0,
        description="Requests a second one client address (an IPv6 /64) may send to this service, sustained, "
        "without a key this process already knows good (no key, an unknown key, a shop key not confirmed "
        "yet), counted before the key is looked up (429 beyond; 0: no limit). Not counted: /healthz, /readyz, "
        "/metrics, the inbound /webhooks/, the admin and internal keys, and shop keys this process has "
        "confirmed. The address is the one uvicorn reports: behind a proxy, list the proxy in "
        "--forwarded-allow-ips (FORWARDED_ALLOW_IPS), or every client counts as the proxy.",
    )
    address_rate_limit_burst: int = Field(
        1_000, ge=1, description="Such requests one client address may send at once before its rate applies."
    )
    key_cache_ttl_s: float = Field(
        30.0,
        ge=0,
        description="Seconds a shop key the allocation service confirmed is trusted without asking again. A "
        "revocation reaches every process within about a second over Redis; this bounds it while Redis is down.",
    )
    key_refusal_ttl_s: float = Field(
        5.0,
        ge=0,
        description="Seconds an unknown or revoked shop key is refused without asking again (a flood of one "
        "made-up key costs one lookup per this long per process).",
    )
    key_cache_size: int = Field(
        10_000, ge=1, description="Most keys each per-process key cache (confirmed, refused) holds; oldest go first."
    )
    # Per service only (ALLOCATION_/SHIPPING_/TRACKING_WORKER_METRICS_PORT): no shared fallback, since the
    # three workers of one host (make run) need three ports.
    worker_metrics_port: int = Field(
        0,
        ge=0,
        le=65535,
        description="Port on which this service's arq worker serves its Prometheus metrics, on "
        "worker_metrics_host (0: not served). One worker process per host or pod: a second one finds the port "
        "taken, logs it and runs on.",
    )
    # Loopback unless a deployment says otherwise: the metrics need no key, so they are only offered beyond
    # this host where a Prometheus scrapes from outside (the Kubernetes worker pods, compose set 0.0.0.0).
    worker_metrics_host: str = Field(
        "127.0.0.1",
        min_length=1,
        description="Interface the worker's metrics are served on (per service only, e.g. "
        "TRACKING_WORKER_METRICS_HOST; 0.0.0.0: every interface, for a Prometheus outside the host or pod).",
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
            refuse_unsafe_production(
                self, secrets=self.secret_fields, partner_urls=self.partner_url_fields, shared_env=self.shared_env
            )
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
