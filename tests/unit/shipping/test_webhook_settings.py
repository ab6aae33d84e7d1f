"""The webhook URL policy's settings: off by default everywhere (``make run`` and the demo included), read
from the environment, and a malformed allow-list stops the process instead of allowing something else."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from devstack.processes import Ports, service_env
from runtime.egress import AllowedHost
from services.shipping.service import webhooks
from services.shipping.settings import ShippingSettings

VARIABLES = ("SHIPPING_WEBHOOK_ALLOW_HTTP", "SHIPPING_WEBHOOK_ALLOWED_INTERNAL_HOSTS")


@pytest.fixture(autouse=True)
def _no_policy_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_off_by_default() -> None:
    settings = ShippingSettings()
    assert settings.webhook_allow_http is False
    assert settings.webhook_allowed_internal_hosts == ""
    policy = webhooks.policy(settings)
    assert policy.allow_http is False
    assert policy.allowed_internal == ()


def test_make_run_and_the_demo_leave_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    # The demo runs make run's processes (devstack.run), whose environment is service_env's.
    env = service_env(Ports())
    assert not [name for name in env if name in VARIABLES]
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    policy = webhooks.policy(ShippingSettings())
    assert (policy.allow_http, policy.allowed_internal) == (False, ())


def test_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPPING_WEBHOOK_ALLOW_HTTP", "true")
    monkeypatch.setenv("SHIPPING_WEBHOOK_ALLOWED_INTERNAL_HOSTS", "hooks.internal:8443, 10.0.0.7")
    policy = webhooks.policy(ShippingSettings())
    assert policy.allow_http is True
    assert policy.allowed_internal == (AllowedHost("hooks.internal", 8443), AllowedHost("10.0.0.7", None))


def test_a_malformed_allow_list_stops_the_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPPING_WEBHOOK_ALLOWED_INTERNAL_HOSTS", "hooks.internal:http")
    with pytest.raises(ValidationError, match="allowed internal host"):
        ShippingSettings()


def test_every_field_is_described() -> None:
    for name in ("webhook_allow_http", "webhook_allowed_internal_hosts"):
        assert ShippingSettings.model_fields[name].description
