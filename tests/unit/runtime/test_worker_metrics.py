"""runtime.worker.serve_worker_metrics: every interface, and a port already taken is logged, not fatal."""

from __future__ import annotations

import socket
import urllib.request

from devstack.infra import free_port
from runtime.worker import serve_worker_metrics


def test_serves_the_registry_on_every_interface_and_stops() -> None:
    port = free_port()
    server = serve_worker_metrics("test", port)
    assert server is not None
    try:
        assert server.server_address[0] == "0.0.0.0"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            assert resp.status == 200
            assert b"# TYPE python_info gauge" in resp.read()
    finally:
        server.shutdown()
        server.server_close()


def test_a_taken_port_is_tolerated() -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # Another worker of the same host serves there: this one runs on without serving.
        assert serve_worker_metrics("test", port) is None
