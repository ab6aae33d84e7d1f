"""`make test`'s set-up on a machine without its browser packages (devstack/test-packages.sh): it installs
Chromium and the CJK font from the package manager when they are missing, as root or through sudo, and
otherwise says exactly what to run. The machine is faked: a PATH holding only stand-ins for the commands
the script calls, each recording how it was called."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "devstack" / "test-packages.sh"
PACKAGES = "chromium fonts-wqy-microhei"


@dataclass
class Machine:
    bin: Path
    calls: Path

    def command(self, name: str, body: str = "exit 0") -> None:
        path = self.bin / name
        path.write_text(f'#!/bin/bash\necho "{name} $*" >> {self.calls}\n{body}\n')
        path.chmod(0o755)

    def run(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["/bin/bash", str(SCRIPT)], env={"PATH": str(self.bin)}, capture_output=True, text=True, timeout=30
        )

    def called(self) -> list[str]:
        return self.calls.read_text().splitlines() if self.calls.exists() else []


@pytest.fixture
def machine(tmp_path: Path) -> Machine:
    """A Debian machine without Chromium or the font, where we are root."""
    (tmp_path / "bin").mkdir()
    m = Machine(tmp_path / "bin", tmp_path / "calls.txt")
    m.command("dpkg", "exit 1")  # the font is not installed
    m.command("apt-get")
    m.command("id", "echo 0")
    return m


def test_nothing_is_installed_when_both_are_there(machine: Machine) -> None:
    machine.command("chromium")
    machine.command("dpkg", "exit 0")
    result = machine.run()
    assert result.returncode == 0, result.stderr
    assert not [c for c in machine.called() if c.startswith("apt-get")]


def test_root_installs_what_is_missing_from_the_package_manager(machine: Machine) -> None:
    result = machine.run()
    assert result.returncode == 0, result.stderr
    assert f"installing {PACKAGES}" in result.stdout
    installs = [c for c in machine.called() if c.startswith("apt-get")]
    assert installs == [f"apt-get install -y -q --no-install-recommends {PACKAGES}"]


def test_only_the_missing_one_is_installed(machine: Machine) -> None:
    machine.command("chromium")
    machine.run()
    assert [c for c in machine.called() if c.startswith("apt-get")] == [
        "apt-get install -y -q --no-install-recommends fonts-wqy-microhei"
    ]


def test_a_stale_package_index_is_updated_once_then_installed(machine: Machine) -> None:
    # The first install fails (an image whose index was cleaned), the second after an update succeeds.
    marker = machine.bin / "updated"
    body = f'[ "$1" = install ] && [ ! -f {marker} ] && exit 100\n[ "$1" = update ] && : > {marker}\nexit 0'
    machine.command("apt-get", body)
    result = machine.run()
    assert result.returncode == 0, result.stderr
    assert [c.split()[1] for c in machine.called() if c.startswith("apt-get")] == ["install", "update", "install"]


def test_a_user_with_sudo_installs_through_it(machine: Machine) -> None:
    machine.command("id", "echo 1000")
    machine.command("sudo", 'shift; "$@"')  # sudo -n <command>: runs it
    result = machine.run()
    assert result.returncode == 0, result.stderr
    assert f"sudo -n apt-get install -y -q --no-install-recommends {PACKAGES}" in machine.called()


def test_a_user_without_sudo_is_told_what_to_run(machine: Machine) -> None:
    machine.command("id", "echo 1000")
    machine.command("sudo", "exit 1")
    result = machine.run()
    assert result.returncode == 1
    assert f"sudo apt-get install -y --no-install-recommends {PACKAGES}" in result.stderr
    assert not [c for c in machine.called() if c.startswith("apt-get")]


def test_a_machine_without_apt_is_told_what_is_needed(machine: Machine) -> None:
    (machine.bin / "apt-get").unlink()
    result = machine.run()
    assert result.returncode == 1
    assert "not a Debian-like machine" in result.stderr
    assert "chromium" in result.stderr
