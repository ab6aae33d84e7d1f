"""Every ledger kind says why: each has its words (the API's ``reason``), and each is written somewhere in
allocation's services, by calls that give a note (LedgerRepository.apply takes one, and the database refuses a
row without: tests/integration/test_allocation_ledger_reasons.py). Read from the source, as the architecture
tests are: a kind added without a writer, or a writer that passes no note, fails here."""

from __future__ import annotations

import ast
from pathlib import Path

from services.allocation.kinds import LedgerKind
from services.allocation.ledger_reasons import REASONS, reason

SERVICE = Path(__file__).resolve().parents[3] / "services" / "allocation" / "service"
# The calls that write a ledger row, and the position of the note among their arguments: the repository's
# method (``ledger.apply``), and the service functions over it (called by name).
WRITERS = {"apply": 4, "credit": 3, "refund_unused": 4, "extend_numbers": 4}
METHODS = {"apply"}
# Writers whose note may be left to a default: their note is built inside from the particulars.
DEFAULTED = {"refund_unused", "extend_numbers"}


def _calls() -> list[tuple[str, ast.Call]]:
    found = []
    for path in sorted(SERVICE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in WRITERS and isinstance(func, ast.Attribute) == (name in METHODS):
                    found.append((f"{path.name}:{node.lineno}", node))
    return found


def _kinds_named(node: ast.AST) -> set[str]:
    return {
        n.attr
        for n in ast.walk(node)
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "LedgerKind"
    }


def test_every_kind_has_its_reason() -> None:
    assert set(REASONS) == set(LedgerKind)
    assert all(text and text[0].islower() for text in REASONS.values())
    assert reason("refund") == REASONS[LedgerKind.REFUND]
    assert reason("a_kind_of_long_ago") == "a_kind_of_long_ago"


def test_every_kind_is_written_with_a_note() -> None:
    calls = _calls()
    assert len(calls) >= 8, "the writers were not found: the layout changed, update this test"
    for where, call in calls:
        name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
        given = len(call.args) > WRITERS[name] or any(k.arg in ("note", "why") for k in call.keywords)
        assert given or name in DEFAULTED, f"{where}: {name}() without a note"
        if len(call.args) > WRITERS[name]:
            note = call.args[WRITERS[name]]
            assert not (isinstance(note, ast.Constant) and note.value in (None, "")), f"{where}: an empty note"
    # Every kind is written: named by a service (a writer's own, or its caller's for the writers taking one).
    named = set().union(*(_kinds_named(ast.parse(p.read_text())) for p in SERVICE.glob("*.py")))
    assert {k.name for k in LedgerKind} <= named
