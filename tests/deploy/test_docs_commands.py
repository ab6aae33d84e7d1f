"""Every operations command written in deploy/README.md and deploy/SCALING.md, and every name they give, against
the code: a command is run where it can run here, offline (`make -n`, `python -m runtime.migrations`, the
entrypoint's dry run, the CLI's --help, `kubectl kustomize`), and otherwise checked against what it names (files,
image targets and tags, kustomizations and label selectors, Makefile recipes, the Dockerfile's install step).
Inline names (environment variables and their defaults, metrics, alerts, routes, files, queues) must exist.

A command this file does not know fails the test: teach it the command, so that no edit of the docs drifts."""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi import FastAPI
from typer.testing import CliRunner

from runtime.jobs import queue_name
from tests.deploy.deploy_support import (
    DEPLOY,
    ENTRYPOINT,
    KUBERNETES,
    ROLES,
    ROOT,
    SERVICE_SETTINGS,
    dockerfile_instructions,
    dockerfile_stages,
    entrypoint,
    exported,
    known_variables,
    kubectl_kustomize,
    kubernetes_documents,
    kustomize_build,
    matches,
)

DOCS = (DEPLOY / "README.md", DEPLOY / "SCALING.md")
COMMANDS = ("make", "python", "kubectl", "docker", "uv", "kubernetes-validate", "waybill")
# Placeholders the docs write for "each service".
PLACEHOLDERS = {"<name>": sorted(SERVICE_SETTINGS), "<service>": sorted(SERVICE_SETTINGS)}


@dataclass
class Command:
    doc: str
    line: str  # as written, placeholders expanded
    pipeline: list[list[str]]  # the words of each command of a pipeline
    comment: str = ""
    block: bool = True  # in a shell block, or an inline `code` span


@dataclass
class Context:
    """What earlier commands of the same document established (image tags built, selections applied)."""

    tags: set[str] = field(default_factory=set)
    applied: list[str] = field(default_factory=list)


def _expand(text: str) -> list[str]:
    for placeholder, values in PLACEHOLDERS.items():
        if placeholder in text:
            return [t for v in values for t in _expand(text.replace(placeholder, v))]
    return [text]


def _pipeline(text: str) -> list[list[str]]:
    words = shlex.split(text, comments=True)
    parts: list[list[str]] = [[]]
    for word in words:
        if word == "|":
            parts.append([])
        else:
            parts[-1].append(word)
    return parts


def commands(path: Path) -> list[Command]:
    text = path.read_text()
    found: list[Command] = []
    for block in re.findall(r"```(?:sh|bash|shell|console)\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                command, _, comment = line.partition(" #")
                found += [Command(path.name, t, _pipeline(t), comment.strip()) for t in _expand(command.strip())]
    for span in spans(path):
        words = span.split()
        if len(words) > 1 and words[0] in COMMANDS:
            found += [Command(path.name, t, _pipeline(t), block=False) for t in _expand(span)]
    return found


def spans(path: Path) -> list[str]:
    """The `code` spans of the prose, and of the comments in shell blocks."""
    text = path.read_text()
    comments = [
        line.partition("#")[2]
        for block in re.findall(r"```(?:sh|bash|shell|console)\n(.*?)```", text, flags=re.S)
        for line in block.splitlines()
    ]
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    return re.findall(r"`([^`\n]+)`", "\n".join([prose, *comments]))


# ---- how each command is run or checked ------------------------------------------------------------


@cache
def make_targets() -> dict[str, str]:
    """Makefile target -> its recipe."""
    targets: dict[str, str] = {}
    current = ""
    for line in (ROOT / "Makefile").read_text().splitlines():
        found = re.match(r"^([a-z][\w-]*):", line)
        if found:
            current = found.group(1)
            targets[current] = ""
        elif line.startswith("\t") and current:
            targets[current] += line + "\n"
    return targets


def check_make(words: list[str], command: Command, context: Context) -> None:
    targets = [w for w in words[1:] if "=" not in w]
    assert targets, command.line
    for target in targets:
        assert target in make_targets(), f"make {target}: no such target"
    out = subprocess.run(["make", "-n", *words[1:]], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


def _resolve(target: str) -> object:
    module, _, attr = target.partition(":") if ":" in target else target.rpartition(".")
    return getattr(importlib.import_module(module), attr)


def check_python(words: list[str], command: Command, context: Context) -> None:
    assert words[1] == "-m", command.line
    module = words[2]
    assert importlib.util.find_spec(module) is not None, f"no module {module}"
    args = words[3:]
    if module == "runtime.serve" and args:
        assert isinstance(_resolve(args[0]), FastAPI), args[0]
    elif module == "runtime.arq_worker":
        assert getattr(_resolve(args[0]), "functions", None), args[0]
    elif module == "runtime.migrations":
        # Run here, offline: without a database it names what it needs (with one it migrates: make migrate).
        env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
        out = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=env, capture_output=True, text=True)
        assert out.returncode == 2, out.stderr
        assert "DATABASE_URL is not set" in out.stderr
    else:
        assert not args, f"python -m {module}: the arguments are not checked; teach this test"


def _options(words: list[str], with_value: set[str]) -> tuple[dict[str, list[str]], list[str]]:
    """Options (each with its values) and the positional words of a command line."""
    options: dict[str, list[str]] = {}
    positional: list[str] = []
    rest = iter(words)
    for word in rest:
        if word.startswith("-") and word != "-":
            name, eq, value = word.partition("=")
            if eq:
                options.setdefault(name, []).append(value)
            elif name in with_value:
                options.setdefault(name, []).append(next(rest))
            else:
                options.setdefault(name, [])
        else:
            positional.append(word)
    return options, positional


def check_docker(words: list[str], command: Command, context: Context) -> None:
    sub = words[1]
    if sub == "build":
        options, positional = _options(words[2:], {"-f", "-t", "--target"})
        (dockerfile,) = options["-f"]
        assert (ROOT / dockerfile) == DEPLOY / "Dockerfile", dockerfile
        assert positional == ["."], "from the repository root: the build context is the root"
        stages = dockerfile_stages()
        target = options.get("--target", [list(stages)[-1]])[0]
        assert target in stages, f"no stage {target} in {dockerfile}"
        context.tags |= set(options["-t"])
    elif sub == "compose":
        options, positional = _options(words[2:], {"-f"})
        (compose,) = options["-f"]
        assert (ROOT / compose).is_file(), compose
        assert positional[0] in ("up", "down", "build", "logs", "ps"), command.line
        services = yaml.safe_load((ROOT / compose).read_text())["services"]
        for name, service in services.items():
            if "build" in service:
                build = service["build"]
                assert (ROOT / compose).parent.joinpath(build["context"], build["dockerfile"]).resolve().is_file(), name
                assert build.get("target", list(dockerfile_stages())[-1]) in dockerfile_stages(), name
    elif sub == "run":
        options, positional = _options(words[2:], {"-e", "--env", "-p", "--name", "--network"})
        image, *args = positional
        assert image in context.tags, f"{image}: no command of this document builds it"
        for assignment in options.get("-e", []):
            assert assignment.partition("=")[0] in variables(), assignment
        compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
        for network in options.get("--network", []):
            assert network in {f"{compose['name']}_default", *compose.get("networks", {})}, network
        env = dict(e.partition("=")[::2] for e in options.get("-e", []))
        for key, value in env.items():
            if key.endswith("_URL") and "--network" in options:
                # A URL into the compose stack names one of its services.
                host = httpx.URL(value).host
                assert host in compose["services"], f"{key}: no compose service {host}"
            elif key in compose["x-waybill-env"] and value != "...":
                default = re.sub(r"\$\{\w+:-(.*)\}", r"\1", compose["x-waybill-env"][key])
                assert value == default, f"{key}={value}: compose's is {default}"
        # Through the image's entrypoint, as the container would run it.
        out = entrypoint(args)
        assert out.returncode == 0, out.stderr
        assert out.stdout.split() == args
        if args and args[0] == "waybill":
            from cli.main import app

            result = CliRunner().invoke(app, [*args[1:], "--help"])
            assert result.exit_code == 0, result.output
    else:
        pytest.fail(f"docker {sub}: not known to this test")


def _rendered(directory: Path) -> list[dict[str, Any]]:
    assert directory == KUBERNETES, f"{directory}: only deploy/kubernetes is a kustomization"
    assert (directory / "kustomization.yaml").is_file()
    return kubectl_kustomize(directory) or kustomize_build()


def check_kubectl(command: Command, context: Context) -> None:
    first = command.pipeline[0]
    for position, words in enumerate(command.pipeline):
        assert words[0] == "kubectl", command.line
        sub = words[1]
        options, positional = _options(words[2:], {"-f", "-k", "-l", "-n", "--for", "--timeout"})
        if sub == "kustomize":
            (directory,) = positional
            _rendered(ROOT / directory)
        elif sub == "apply":
            assert not positional, command.line
            if "-k" in options:
                (directory,) = options["-k"]
                docs = _rendered(ROOT / directory)
                for selector in options.get("-l", []):
                    assert [d for d in docs if matches(selector, d["metadata"].get("labels", {}))], selector
                    context.applied.append(selector)
            else:
                (path,) = options["-f"]
                if (ROOT / path).is_file():
                    assert [d for d in yaml.safe_load_all((ROOT / path).read_text()) if d], path
                else:
                    # The operator's own file: the comment says which of ours it is a copy of.
                    named = re.findall(r"[\w.-]+\.yaml", command.comment)
                    assert named, f"{path} does not exist and the comment names no file it stands for"
                    for name in named:
                        assert (KUBERNETES / name).is_file(), name
        elif sub == "wait":
            (source,) = options["-f"]
            assert source == "-", "-f - reads what the pipeline renders"
            assert position > 0, "-f - reads what the pipeline renders"
            assert first[:2] == ["kubectl", "kustomize"], command.line
            docs = _rendered(ROOT / first[2])
            (selector,) = options["-l"]
            chosen = [d for d in docs if matches(selector, d["metadata"].get("labels", {}))]
            assert chosen, selector
            assert selector in context.applied, "wait for what an earlier command applied"
            (condition,) = options["--for"]
            if condition == "condition=complete":
                assert {d["kind"] for d in chosen} == {"Job"}, "only a Job completes"
                (timeout,) = options["--timeout"]
                unit = {"s": 1, "m": 60, "h": 3600}[timeout[-1]]
                seconds = int(timeout[:-1]) * unit
                assert all(seconds >= d["spec"]["activeDeadlineSeconds"] for d in chosen), timeout
        else:
            pytest.fail(f"kubectl {sub}: not known to this test")


def check_uv(words: list[str], command: Command, context: Context) -> None:
    runs = [i.value[0] for i in dockerfile_instructions() if i.cmd == "RUN"]
    assert any(command.line in run for run in runs), f"{command.line}: not what deploy/Dockerfile runs"


def check_validator(words: list[str], command: Command, context: Context) -> None:
    assert command.line in make_targets()["validate-deploy"], f"{command.line}: not what make validate-deploy runs"


def check_waybill(words: list[str], command: Command, context: Context) -> None:
    from cli.main import app

    result = CliRunner().invoke(app, [*words[1:], "--help"])
    assert result.exit_code == 0, result.output


SIMPLE: dict[str, Callable[[list[str], Command, Context], None]] = {
    "make": check_make,
    "python": check_python,
    "docker": check_docker,
    "uv": check_uv,
    "kubernetes-validate": check_validator,
    "waybill": check_waybill,
}


def check(command: Command, context: Context) -> None:
    words = command.pipeline[0]
    if words[0] == "kubectl":
        check_kubectl(command, context)
        return
    assert words[0] in SIMPLE, f"{command.doc}: {command.line!r}: a command this test does not know"
    assert len(command.pipeline) == 1, f"{command.line}: a pipeline of {words[0]} is not known to this test"
    SIMPLE[words[0]](words, command, context)


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_every_operations_command_runs_or_names_what_exists(doc: Path) -> None:
    context = Context()
    found = commands(doc)
    # Blocks first, in order (a docker run names an image a block builds), then the inline ones.
    for command in sorted(found, key=lambda c: not c.block):
        check(command, context)


def test_the_docs_give_the_commands_operators_run() -> None:
    readme = [c.line for c in commands(DEPLOY / "README.md")]
    assert "docker build -f deploy/Dockerfile --target sandbox -t waybill-sandbox:dev ." in readme
    assert any(line.startswith("kubectl apply -k deploy/kubernetes -l ") for line in readme)
    assert "kubectl apply -k deploy/kubernetes" in readme
    assert "python -m runtime.migrations" in readme
    assert "make bench" in [c.line for c in commands(DEPLOY / "SCALING.md")]


def test_an_unknown_or_wrong_command_is_caught() -> None:
    context = Context()
    with pytest.raises(AssertionError):
        check(Command("x", "make no-such-target", [["make", "no-such-target"]]), context)
    with pytest.raises(AssertionError):
        check(Command("x", "python -m devstack.nothing", [["python", "-m", "devstack.nothing"]]), context)
    for line in (
        "docker build -f deploy/Dockerfile --target debug -t x .",
        "kubectl apply -k deploy/kubernetes -l app.kubernetes.io/name=migrat",
        "kubectl apply -f deploy/kubernetes/no-such.yaml",
        "docker run --rm waybill:none waybill shops create x",
        "waybill shops delete",
    ):
        with pytest.raises(AssertionError):
            check(Command("x", line, _pipeline(line)), context)
    with pytest.raises(AssertionError):
        check(Command("x", "helm install waybill", [["helm", "install", "waybill"]]), context)


# ---- the names the docs give ---------------------------------------------------------------------


@cache
def variables() -> set[str]:
    """What some process reads: the settings' variables, the CLI's (cli/config.py) and the entrypoint's own."""
    from cli.config import DEFAULTS

    cli = {f"WAYBILL_{key.upper()}" for key in DEFAULTS}
    return known_variables() | cli | set(re.findall(r"\$\{(\w+)", ENTRYPOINT.read_text()))


def _defaults() -> dict[str, str]:
    from runtime.settings import ServiceSettings

    found: dict[str, str] = {}
    for cls in SERVICE_SETTINGS.values():
        prefix = str(cls.model_config.get("env_prefix", ""))
        for name, info in cls.model_fields.items():
            found[ServiceSettings.shared_env.get(name, f"{prefix}{name}".upper())] = str(info.default)
    return found


@cache
def route_exists(path: str) -> bool:
    """A path some service routes, or routes under: in its OpenAPI schema, or answered (not 404) when asked."""
    apps: list[FastAPI] = [
        importlib.import_module(f"services.{service}.main").app for service in (*sorted(SERVICE_SETTINGS), "dashboard")
    ]
    for app in apps:
        known = {*app.openapi()["paths"], *(getattr(r, "path", "") for r in app.routes)}
        if any(r == path or r.startswith(f"{path}/") for r in known):
            return True

    async def asked() -> bool:
        for app in apps:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
                if (await client.get(path)).status_code != 404:
                    return True
        return False

    return asyncio.run(asked())


def _alerts() -> set[str]:
    return {
        rule["alert"]
        for _, d in kubernetes_documents()
        if d["kind"] == "PrometheusRule"
        for group in d["spec"]["groups"]
        for rule in group["rules"]
    }


def name_problems(doc: Path) -> list[str]:
    problems: list[str] = []
    for span in spans(doc):
        for text in _expand(span.replace("<SERVICE>_", "<service>_")):
            text = re.sub(r"^(allocation|shipping|tracking)_", lambda m: m.group(1).upper() + "_", text)
            if re.fullmatch(r"[A-Z][A-Z0-9]*_[A-Z0-9_]+(=\S+)?", text):
                variable, _, value = text.partition("=")
                if variable not in variables():
                    problems.append(f"{span}: no process reads {variable}")
                elif value and _defaults().get(variable) != value:
                    problems.append(f"{span}: the default of {variable} is {_defaults().get(variable)}")
            elif re.fullmatch(r"waybill_[a-z_]+", text):
                if text not in exported():
                    problems.append(f"{span}: no service exports {text}")
            elif re.fullmatch(r"Waybill[A-Z]\w+", text):
                if text not in _alerts():
                    problems.append(f"{span}: no such alert in the PrometheusRule")
            elif text.startswith("arq:"):
                if text not in {queue_name(s) for s in SERVICE_SETTINGS}:
                    problems.append(f"{span}: not an arq queue (runtime.jobs.queue_name)")
            elif re.fullmatch(r"/[a-z]+", text):
                if not route_exists(text):
                    problems.append(f"{span}: no service has a route under {text}")
            elif re.fullmatch(r"[\w./-]+\.(py|md|json|yaml|yml|sh|lock)|[\w./-]+/|Dockerfile", text):
                if not any((base / text).exists() for base in (ROOT, DEPLOY, KUBERNETES)):
                    problems.append(f"{span}: no such file")
            elif re.fullmatch(r"[a-z]+-(api|worker)", text) and text not in ROLES:
                problems.append(f"{span}: not a role of the image")
    return problems


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_every_variable_metric_alert_queue_route_and_file_the_docs_name_exists(doc: Path) -> None:
    assert name_problems(doc) == []


def test_a_wrong_name_is_caught(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(
        "`arq:queue:<service>`, `waybill_push_queue_depth`, `WAYBILL_DB_POOL_SIZE=7`, `TRACKING_NO_SUCH_S`, "
        "`WaybillNoSuchAlert`, `/nowhere`, `kubernetes/no-such.yaml`, `billing-api`"
    )
    assert len(name_problems(doc)) == 8 + 2  # arq:queue:<service> expands to one per service


def test_kubectl_is_here_or_the_rendering_stands_in() -> None:
    """Where kubectl exists (here, and so in CI), the kubectl commands above were checked on its rendering."""
    if shutil.which("kubectl") is None:
        pytest.skip("no kubectl: the kustomize rendering of deploy_support stood in")
    assert kubectl_kustomize() is not None
