"""One system of real processes for the fault scenarios, as `make run` starts it, on a private PostgreSQL and
Redis that the scenarios may stop and restart; a report of every scenario's outcome at the end of the run."""

from __future__ import annotations

import asyncio
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from redis import Redis

from tests.faults.infra import PrivatePostgres, PrivateRedis
from tests.faults.report import RESULTS, lines
from tests.faults.system import FaultSystem
from tests.support import migrate

# Every fault the sandbox injects, at rest: a scenario that turns some on has them turned off afterwards.
NO_FAULTS = {
    "error_rate": {},
    "latency_ms": {},
    "marketplace_rate_limit_rate": 0.0,
    "tracking_refuse_rate": 0.0,
    "push_duplicate_rate": 0.0,
    "push_out_of_order_rate": 0.0,
    "push_drop_rate": 0.0,
    "push_bad_sign_rate": 0.0,
    "message_duplicate_rate": 0.0,
    "courier_down_s": 0,
}
PDD_NO_FAULTS = {
    "error_rate": {},
    "latency_ms": {},
    "rate_limit_rate": 0.0,
    "message_duplicate_rate": 0.0,
    "message_delay_rate": 0.0,
    "message_reorder_rate": 0.0,
    "message_drop_rate": 0.0,
    "message_bad_sign_rate": 0.0,
}
# Pinduoduo messages redelivered on the e2e harness's fast schedule for Taobao's (the sandbox's default waits
# up to a minute between attempts, which a message refused a few times under faults would spend).
SYSTEM_ENV = {"SANDBOX_PINDUODUO_MESSAGE_REDELIVERY_S": "0.2,0.5,1"}


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="session")
def system() -> Iterator[FaultSystem]:
    # A CI timeout's SIGTERM becomes an interrupt, so the teardown below still stops every process.
    signal.signal(signal.SIGTERM, _interrupt)
    log_dir = Path(tempfile.mkdtemp(prefix="waybill-faults-"))
    pg = PrivatePostgres()
    redis_server = PrivateRedis(log_dir)
    s: FaultSystem | None = None
    try:
        redis_server.start()
        migrate(pg.url)
        s = FaultSystem(pg.url, redis_server.url, log_dir, extra_env=dict(SYSTEM_ENV), pg=pg, redis_server=redis_server)
        Redis.from_url(s.redis_url).flushdb()
        s.start()
        yield s
    finally:
        if s is not None:
            s.stop()
        redis_server.kill()
        pg.close()
        print(f"\n[faults] process logs in {log_dir}")


@pytest.fixture(autouse=True)
def healthy_system(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each scenario over the system starts with every process up and no sandbox fault, whatever the one
    before left."""
    if "system" not in request.fixturenames:
        yield
        return
    system: FaultSystem = request.getfixturevalue("system")
    system.ensure_running()
    yield
    system.ensure_running()
    with httpx.Client(timeout=30) as http:
        http.put(f"{system.sandbox}/control/faults", json=NO_FAULTS).raise_for_status()
        http.put(f"{system.sandbox}/control/pinduoduo/faults", json=PDD_NO_FAULTS).raise_for_status()
        http.put(f"{system.sandbox}/control/marketplace/messages/delivery", json={"mode": "push"}).raise_for_status()
        http.put(f"{system.sandbox}/control/clock", json={"acceleration": 1.0}).raise_for_status()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    result = RESULTS.get(report.nodeid)
    if result is not None and (report.when == "call" or report.failed):
        result.outcome = report.outcome


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if RESULTS:
        terminalreporter.section("fault scenarios: outcome and recovery (seconds)")
        for line in lines():
            terminalreporter.write_line(line)


__all__ = ["asyncio"]
