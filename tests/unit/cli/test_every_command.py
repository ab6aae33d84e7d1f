"""What holds for every command: it takes --json, and its help names it (walked off the typer app, so a
command added later is held to it too)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()


# typer's own click objects (typer vendors click): read by their attributes.
def is_group(command: Any) -> bool:
    return hasattr(command, "commands")


def commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command of the tree, groups included (a group that runs on its own, like `purchases`)."""
    for name, command in group.commands.items():
        yield (*path, name), command
        if is_group(command):
            yield from commands(command, (*path, name))


LEAVES = [(p, c) for p, c in commands(typer.main.get_command(app)) if not is_group(c) or c.invoke_without_command]


def test_the_walk_finds_the_commands() -> None:
    names = {" ".join(path) for path, _ in LEAVES}
    expected = {"orders list", "ship", "void", "batch create", "batch labels", "purchases refund", "alerts ack"}
    expected |= {f"stores {name}" for name in ("bind", "list", "show", "rename", "renew", "unbind", "confirm-mode")}
    expected |= {"shipments void", "shipments change-numbers", "orders receiver update", "order-alerts ack"}
    expected |= {"settings confirm-mode", "settings confirm-time"}
    expected |= {f"auto-ship rules {name}" for name in ("list", "create", "update", "delete", "dry-run", "runs")}
    assert expected <= names
    assert len(LEAVES) >= 50


@pytest.mark.parametrize(("path", "command"), LEAVES, ids=[" ".join(p) for p, _ in LEAVES])
def test_every_command_takes_json(path: tuple[str, ...], command: Any) -> None:
    options = {opt for param in command.params for opt in getattr(param, "opts", [])}
    assert "--json" in options, f"waybill {' '.join(path)} has no --json"
    assert "--profile" in options, f"waybill {' '.join(path)} has no --profile"
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "--json" in result.output
