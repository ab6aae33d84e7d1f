from __future__ import annotations

import pytest
from pydantic import ValidationError

from runtime.settings import ServiceSettings, to_asyncpg_dsn, to_sqlalchemy_url
from services.allocation.settings import AllocationSettings


def test_placeholder_secrets_are_refused_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WAYBILL_ADMIN_KEY", raising=False)
    monkeypatch.delenv("WAYBILL_INTERNAL_KEY", raising=False)
    with pytest.raises(ValidationError, match="WAYBILL_ADMIN_KEY"):
        ServiceSettings(environment="production")
    ok = ServiceSettings(environment="production", admin_key="a" * 32, internal_key="b" * 32)
    assert ok.admin_key.get_secret_value() == "a" * 32


def test_prefixed_variable_wins_over_the_shared_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://shared/db")
    assert AllocationSettings().database_url == "postgresql://shared/db"
    monkeypatch.setenv("ALLOCATION_DATABASE_URL", "postgresql://own/db")
    assert AllocationSettings().database_url == "postgresql://own/db"


def test_secrets_do_not_show_in_repr() -> None:
    settings = ServiceSettings(admin_key="super-secret-admin-key-123")
    assert "super-secret" not in repr(settings)


def test_url_conversions_keep_socket_hosts() -> None:
    url = "postgresql://postgres@/waybill?host=/tmp/pg"
    assert to_sqlalchemy_url(url) == "postgresql+asyncpg://postgres@/waybill?host=/tmp/pg"
    assert to_asyncpg_dsn("postgres://u@h/d") == "postgresql://u@h/d"
