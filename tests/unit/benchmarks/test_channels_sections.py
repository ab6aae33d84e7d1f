"""``python -m bench channels`` runs the channels section alone, on a database of its own that is dropped after;
a section name bench does not have is refused before any database is made (it used to run nothing, silently)."""

from __future__ import annotations

import pytest

import bench.__main__ as bench_main
from bench.common import BenchDb


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []

    def database(tag: str) -> BenchDb:
        seen.append(f"db {tag}")
        return BenchDb("base", tag, "url")

    monkeypatch.setattr(bench_main, "stop_cleanly_on_sigterm", lambda: None)
    monkeypatch.setattr(bench_main, "bench_database", database)
    monkeypatch.setattr(bench_main, "drop", lambda db: seen.append(f"drop {db.name}"))
    for section in ("allocation", "tracking", "shipping", "channels"):
        module = getattr(bench_main, section)
        monkeypatch.setattr(module, "run", lambda db, section=section: seen.append(f"run {section} on {db.name}"))
    return seen


def test_the_channels_section_runs_alone(calls: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.argv", ["bench", "channels"])
    assert bench_main.main() == 0
    assert calls == ["db chan", "run channels on chan", "drop chan"]


def test_every_section_runs_when_none_is_named(calls: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.argv", ["bench"])
    assert bench_main.main() == 0
    assert [c for c in calls if c.startswith("run")] == [
        "run allocation on alloc",
        "run tracking on track",
        "run shipping on ship",
        "run channels on chan",
    ]


def test_an_unknown_section_is_refused_before_any_database(
    calls: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.argv", ["bench", "channels", "chanels"])
    assert bench_main.main() == 2
    assert calls == []
    assert "chanels" in capsys.readouterr().out
