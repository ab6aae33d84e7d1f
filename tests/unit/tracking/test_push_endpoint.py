"""The bare push endpoint reads the whole body before anything: a client gone mid-body gets nothing stored
and no answer (as Starlette's Request.body would have it)."""

from __future__ import annotations

from collections.abc import MutableMapping
from types import SimpleNamespace
from typing import Any

import pytest

from services.tracking import fastpath
from services.tracking.service import ingestion


async def test_a_push_cut_short_by_a_disconnect_is_neither_stored_nor_answered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    taken: list[str] = []

    async def take(*args: Any) -> Any:
        taken.append("push")
        raise AssertionError("must not be reached")

    monkeypatch.setattr(ingestion, "take_push", take)
    first = b"param=%7B%22lastResult%22%3A%7B%22nu%22%3A%221%22%7D%7D&sign=AB"  # readable, and signed
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": first, "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    app = SimpleNamespace(state=SimpleNamespace(resources=SimpleNamespace(webhook=None, waker=None)))
    scope = {"type": "http", "method": "POST", "path": fastpath.PATH, "headers": [], "app": app}
    await fastpath.push_endpoint(scope, receive, send)
    assert taken == []
    assert sent == []
