"""Production refuses default, placeholder, short and reused secrets and the sandbox's URLs, per service, naming
the environment variable and never its value (runtime.settings.production_problems); development and test
environments are not affected."""

from __future__ import annotations

import os
import secrets

import pytest
from pydantic import ValidationError
from pydantic_settings import BaseSettings

from runtime.settings import MIN_SECRET_LENGTH, sandbox_url_reason
from services.allocation.settings import AllocationSettings
from services.dashboard.settings import DashboardSettings
from services.shipping.settings import ShippingSettings
from services.tracking.settings import PROVIDER_KEY_MIN_LENGTH, TrackingSettings

SETTINGS: dict[str, type[BaseSettings]] = {
    "allocation": AllocationSettings,
    "shipping": ShippingSettings,
    "tracking": TrackingSettings,
    "dashboard": DashboardSettings,
}
# Each service's secrets and credentials: environment variable -> least length accepted in production.
_KEYS = {"WAYBILL_ADMIN_KEY": MIN_SECRET_LENGTH, "WAYBILL_INTERNAL_KEY": MIN_SECRET_LENGTH}
SECRETS: dict[str, dict[str, int]] = {
    "allocation": {**_KEYS, "ALLOCATION_COURIER_SECRET": MIN_SECRET_LENGTH, "ALLOCATION_COURIER_APP_KEY": 1},
    "shipping": {
        **_KEYS,
        "SHIPPING_MARKETPLACE_APP_SECRET": MIN_SECRET_LENGTH,
        "SHIPPING_MARKETPLACE_APP_KEY": 1,
        "SHIPPING_PINDUODUO_CLIENT_SECRET": MIN_SECRET_LENGTH,
        "SHIPPING_PINDUODUO_CLIENT_ID": 1,
    },
    "tracking": {**_KEYS, "TRACKING_PROVIDER_KEY": PROVIDER_KEY_MIN_LENGTH, "TRACKING_PROVIDER_CUSTOMER": 1},
    "dashboard": {"DASHBOARD_SECRET_KEY": MIN_SECRET_LENGTH},
}
PARTNER_URLS: dict[str, dict[str, str]] = {
    "allocation": {"ALLOCATION_COURIER_URL": "https://courier-gateway.example.com/courier"},
    "shipping": {
        "SHIPPING_MARKETPLACE_URL": "https://eco.taobao.com/router/rest",
        "SHIPPING_PINDUODUO_URL": "https://gw-api.pinduoduo.com/api/router",
    },
    "tracking": {"TRACKING_PROVIDER_URL": "https://poll.kuaidi100.com"},
    "dashboard": {},
}
SECRET_CASES = [(service, var) for service, names in SECRETS.items() for var in names]
URL_CASES = [(service, var) for service, urls in PARTNER_URLS.items() for var in urls]
# What counts as the sandbox: this machine, a host named sandbox, the sandbox's port.
SANDBOX_URLS = [
    "http://127.0.0.1:8009/router/rest",
    "http://127.0.0.1:8009/courier",
    "http://127.0.0.1:8009/kuaidi100",
    "http://localhost/router/rest",
    "http://127.1.2.3/courier",
    "http://[::1]:8443/kuaidi100",
    "http://0.0.0.0/router/rest",
    "http://sandbox:8009/courier",
    "http://SANDBOX.waybill.svc.cluster.local/kuaidi100",
    "https://gw.api.tbsandbox.com/router/rest",
    "https://partner.example.com:8009/router/rest",
    "courier-gateway.example.com/courier",
    "ftp://courier-gateway.example.com/courier",
]
# CHANGE-ME in any case and spelling, the sandbox's credentials, the deploy manifests' "your-..." values.
PLACEHOLDERS = [
    "CHANGE-ME",
    "change-me",
    "ChangeMe" + "x" * 40,
    "x" * 40 + "change_me",
    "sandbox-" + "x" * 40,
    "SANDBOX-courier-secret-" + "x" * 20,
    "your-marketplace-app-key-" + "x" * 20,
]
_PREFIXES = ("WAYBILL_", "ALLOCATION_", "SHIPPING_", "TRACKING_", "DASHBOARD_")


def _token(length: int) -> str:
    return secrets.token_urlsafe(length)[:length]


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Every service's variables set to values production accepts (and nothing else of ours in the environment)."""
    for name in list(os.environ):
        if name.startswith(_PREFIXES):
            monkeypatch.delenv(name)
    env = {"WAYBILL_ENVIRONMENT": "production"}
    for service in SETTINGS:
        env.update({var: _token(max(min_length, 12)) for var, min_length in SECRETS[service].items()})
        env.update(PARTNER_URLS[service])
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def _refusal(service: str) -> str:
    with pytest.raises(ValidationError) as info:
        SETTINGS[service]()
    return str(info.value)


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_real_secrets_and_partner_urls_are_accepted(service: str, production: dict[str, str]) -> None:
    assert SETTINGS[service]().environment == "production"  # type: ignore[attr-defined]


@pytest.mark.parametrize(("service", "var"), SECRET_CASES)
def test_a_secret_left_at_its_default_is_refused(
    service: str, var: str, production: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(var)
    message = _refusal(service)
    assert var in message
    assert "development default" in message


@pytest.mark.parametrize("dev_value", ["dev-admin-key", "dev-internal-key"])
@pytest.mark.parametrize("service", ["allocation", "shipping", "tracking"])
def test_the_other_keys_dev_default_is_refused_too(
    service: str, dev_value: str, production: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WAYBILL_ADMIN_KEY", dev_value)
    monkeypatch.setenv("WAYBILL_INTERNAL_KEY", dev_value[::-1])
    message = _refusal(service)
    assert "WAYBILL_ADMIN_KEY" in message
    assert dev_value not in message


@pytest.mark.parametrize("placeholder", PLACEHOLDERS)
@pytest.mark.parametrize(("service", "var"), SECRET_CASES)
def test_a_placeholder_is_refused_whatever_its_length(
    service: str, var: str, placeholder: str, production: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(var, placeholder)
    message = _refusal(service)
    assert var in message
    assert "is a placeholder" in message
    assert placeholder not in message


@pytest.mark.parametrize(("service", "var"), SECRET_CASES)
def test_a_short_secret_is_refused(
    service: str, var: str, production: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    min_length = SECRETS[service][var]
    value = _token(min_length - 1) if min_length > 1 else "  "
    monkeypatch.setenv(var, value)
    message = _refusal(service)
    assert var in message
    assert ("is empty" if min_length == 1 else f"shorter than {min_length} characters") in message
    if value.strip():
        assert value not in message
    # One character more is enough.
    monkeypatch.setenv(var, _token(min_length))
    assert SETTINGS[service]().environment == "production"  # type: ignore[attr-defined]


# The dashboard holds one secret only (no admin or internal key).
@pytest.mark.parametrize(
    ("service", "var"), [(s, v) for s, v in SECRET_CASES if v != "WAYBILL_ADMIN_KEY" and s != "dashboard"]
)
def test_a_secret_equal_to_another_of_the_process_is_refused(
    service: str, var: str, production: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = production["WAYBILL_ADMIN_KEY"]
    monkeypatch.setenv(var, shared)
    message = _refusal(service)
    assert "WAYBILL_ADMIN_KEY" in message
    assert var in message
    assert "are equal" in message
    assert shared not in message


@pytest.mark.parametrize("url", SANDBOX_URLS)
@pytest.mark.parametrize(("service", "var"), URL_CASES)
def test_a_partner_url_pointing_at_the_sandbox_is_refused(
    service: str, var: str, url: str, production: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(var, url)
    message = _refusal(service)
    assert f"{var} points at the sandbox" in message


@pytest.mark.parametrize(("service", "var"), URL_CASES)
def test_the_default_partner_url_is_the_sandbox_and_refused(
    service: str, var: str, production: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(var)
    assert f"{var} points at the sandbox" in _refusal(service)


def test_what_counts_as_the_sandbox() -> None:
    for url in SANDBOX_URLS:
        assert sandbox_url_reason(url) is not None, url
    for url in (
        "https://eco.taobao.com/router/rest",
        "https://poll.kuaidi100.com",
        "https://courier-gateway.example.com/courier",
        "http://10.0.0.7:8080/courier",  # an egress proxy inside the network may stand for a partner
    ):
        assert sandbox_url_reason(url) is None, url


def test_every_problem_is_reported_at_once_without_any_value(
    production: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WAYBILL_ADMIN_KEY", "CHANGE-ME")
    monkeypatch.setenv("SHIPPING_MARKETPLACE_APP_SECRET", "short-secret-value")
    monkeypatch.setenv("SHIPPING_MARKETPLACE_URL", "http://127.0.0.1:8009/router/rest")
    message = _refusal("shipping")
    for var in ("WAYBILL_ADMIN_KEY", "SHIPPING_MARKETPLACE_APP_SECRET", "SHIPPING_MARKETPLACE_URL"):
        assert var in message
    # Neither the refused values nor any other variable's (pydantic would print its whole input otherwise).
    for value in ("CHANGE-ME", "short-secret-value", *production.values()):
        if value != "production":
            assert value not in message


@pytest.mark.parametrize("environment", ["development", "test"])
@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_development_and_test_keep_their_defaults_and_the_sandbox(
    service: str, environment: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith(_PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.setenv("WAYBILL_ENVIRONMENT", environment)
    monkeypatch.setenv("WAYBILL_ADMIN_KEY", "short")
    monkeypatch.setenv("WAYBILL_INTERNAL_KEY", "short")
    assert SETTINGS[service]().environment == environment  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("service", "var", "other"),
    [
        ("dashboard", "DASHBOARD_SECRET_KEY", "WAYBILL_ADMIN_KEY"),
        ("allocation", "ALLOCATION_COURIER_SECRET", "SHIPPING_MARKETPLACE_APP_SECRET"),
        ("shipping", "SHIPPING_MARKETPLACE_APP_SECRET", "TRACKING_PROVIDER_KEY"),
        ("tracking", "WAYBILL_INTERNAL_KEY", "DASHBOARD_SECRET_KEY"),
    ],
)
def test_a_secret_equal_to_another_services_is_refused(
    service: str, var: str, other: str, production: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each process sees every service's secrets (one Secret for all pods): reuse across services is refused
    by each, though no single service holds both."""
    shared = _token(48)
    monkeypatch.setenv(var, shared)
    monkeypatch.setenv(other, shared)
    message = _refusal(service)
    assert var in message
    assert f"equals {other}: each key and secret must be different" in message
    assert shared not in message


def test_the_same_roles_variables_may_be_equal(production: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOCATION_INTERNAL_KEY", production["WAYBILL_INTERNAL_KEY"])
    monkeypatch.setenv("SHIPPING_INTERNAL_KEY", production["WAYBILL_INTERNAL_KEY"])
    assert AllocationSettings().environment == "production"
    assert ShippingSettings().environment == "production"
