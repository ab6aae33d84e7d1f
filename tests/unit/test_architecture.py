"""The house rules of the code, read from the source (no import of the modules): a change that breaks one
fails here, not in a later review.

- routers and tasks reach the database through services only (never a repository);
- the services are apart: none imports another's package (they talk over REST and arq);
- the sandbox, the outside world, shares no code with the services (nor runtime/ or shared/);
- no service module grows past about 400 lines (split it by what it holds)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "services"
NAMES = sorted(p.name for p in SERVICES.iterdir() if (p / "__init__.py").exists())
MAX_LINES = 400


def _modules(base: Path) -> list[Path]:
    return sorted(p for p in base.rglob("*.py") if "migrations" not in p.parts)


def _imports(path: Path, root: Path = ROOT) -> set[str]:
    """Every module name the file imports (absolute; relative imports resolved against its package)."""
    tree = ast.parse(path.read_text(), str(path))
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_routers_and_tasks_do_not_import_repositories() -> None:
    entry_points = [
        p
        for name in NAMES
        for p in _modules(SERVICES / name)
        if p.name in ("router.py", "tasks.py") or "router" in p.relative_to(SERVICES / name).parts[:-1]
    ]
    assert entry_points, "no router or task module found: the layout changed, update this test"
    offenders = {
        _rel(p): sorted(m for m in _imports(p) if ".repository" in f".{m}" and m.startswith("services."))
        for p in entry_points
    }
    assert {k: v for k, v in offenders.items() if v} == {}


@pytest.mark.parametrize("service", NAMES)
def test_a_service_imports_no_other_service(service: str) -> None:
    others = tuple(f"services.{n}" for n in NAMES if n != service)
    offenders = {
        _rel(p): sorted(m for m in _imports(p) if m.startswith(others) and m.split(".")[1] != service)
        for p in _modules(SERVICES / service)
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_sandbox_shares_no_code_with_the_services() -> None:
    ours = ("runtime", "shared", "cli", "devstack", "waybill_client")
    offenders = {
        _rel(p): sorted(m for m in _imports(p) if m.split(".")[0] in ours) for p in _modules(SERVICES / "sandbox")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_no_service_module_is_longer_than_about_400_lines() -> None:
    long = {_rel(p): n for p in _modules(SERVICES) if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_the_import_reader_sees_relative_and_absolute_imports(tmp_path: Path) -> None:
    """The rules above are only as good as the reader: it must catch each spelling of an import."""
    sample = tmp_path / "services" / "shipping" / "router" / "probe.py"
    sample.parent.mkdir(parents=True)
    sample.write_text(
        "import services.shipping.repository.orders\n"
        "from ..repository import shipments\n"
        "from services.tracking.schemas import X\n"
    )
    found = _imports(sample, tmp_path)
    assert "services.shipping.repository.orders" in found
    assert "services.shipping.repository.shipments" in found
    assert "services.tracking.schemas" in found
