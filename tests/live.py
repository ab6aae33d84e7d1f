"""Every service (and the sandbox) served by uvicorn on free 127.0.0.1 ports, in one background thread
of this test process: real HTTP between the services, as `make run` wires them, without processes.

Used by tests whose client is synchronous (schemathesis) or that need the services to call each other.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn

SERVICES = ("sandbox", "allocation", "shipping", "tracking")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class LiveSystem:
    urls: dict[str, str]
    apps: dict[str, Any] = field(default_factory=dict)


def wiring(ports: dict[str, int]) -> dict[str, str]:
    """The environment that points each service at the others (what `make run` sets)."""
    url = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    return {
        "ALLOCATION_COURIER_URL": f"{url['sandbox']}/courier",
        "SHIPPING_ALLOCATION_URL": url["allocation"],
        "SHIPPING_TRACKING_URL": url["tracking"],
        "SHIPPING_MARKETPLACE_URL": f"{url['sandbox']}/router/rest",
        "SHIPPING_PINDUODUO_URL": f"{url['sandbox']}/pinduoduo/api/router",
        "TRACKING_ALLOCATION_URL": url["allocation"],
        "TRACKING_SHIPPING_URL": url["shipping"],
        "TRACKING_PROVIDER_URL": f"{url['sandbox']}/kuaidi100",
        "TRACKING_PUBLIC_URL": url["tracking"],
        "SANDBOX_MARKETPLACE_WEBHOOK_URL": f"{url['shipping']}/webhooks/marketplace",
        "SANDBOX_PINDUODUO_MESSAGE_URL": f"{url['shipping']}/webhooks/pinduoduo",
    }


def _create(name: str, overrides: dict[str, Any]) -> Any:
    if name == "sandbox":
        from services.sandbox.main import create_app as sandbox_app
        from services.sandbox.settings import SandboxSettings

        return sandbox_app(SandboxSettings())
    if name == "allocation":
        from services.allocation.main import create_app as allocation_app
        from services.allocation.settings import AllocationSettings

        return allocation_app(AllocationSettings(**overrides))
    if name == "shipping":
        from services.shipping.main import create_app as shipping_app
        from services.shipping.settings import ShippingSettings

        return shipping_app(ShippingSettings(**overrides))
    from services.tracking.main import create_app as tracking_app
    from services.tracking.settings import TrackingSettings

    return tracking_app(TrackingSettings(**overrides))


@contextmanager
def live_system(**overrides: Any) -> Iterator[LiveSystem]:
    """Start the four apps (settings ``overrides`` apply to the three services), yield their URLs, stop them."""
    ports = {name: free_port() for name in SERVICES}
    env = wiring(ports)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    system = LiveSystem({name: f"http://127.0.0.1:{port}" for name, port in ports.items()})
    servers: list[uvicorn.Server] = []
    for name in SERVICES:
        app = _create(name, overrides)
        system.apps[name] = app
        config = uvicorn.Config(app, host="127.0.0.1", port=ports[name], log_config=None, lifespan="on")
        servers.append(uvicorn.Server(config))
    failure: list[BaseException] = []

    def run() -> None:
        async def main() -> None:
            await asyncio.gather(*(s.serve() for s in servers))

        try:
            asyncio.run(main())
        except BaseException as exc:  # surfaced by the waiting loop below
            failure.append(exc)

    thread = threading.Thread(target=run, name="live-system", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not all(s.started for s in servers):
            if failure or not thread.is_alive():
                raise RuntimeError(f"a service did not start: {failure!r}")
            if time.monotonic() > deadline:
                raise RuntimeError("services did not start within 60 s")
            time.sleep(0.05)
        yield system
    finally:
        for s in servers:
            s.should_exit = True
        thread.join(timeout=30)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
