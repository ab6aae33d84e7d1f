"""How every HTTP process runs (`make run`'s devstack/processes.py, the image's entrypoint):
``python -m runtime.serve <module:app> --host H --port P [--timeout-graceful-shutdown S] [--log-level L]``.

uvicorn itself, started through its public ``Config``/``Server`` because its command line cannot name a
protocol class: the HTTP protocol is runtime.http_protocol's (a header deadline and size cap), and the
connection cap, keep-alive and header limits come from runtime.uvicorn_options (``WAYBILL_`` variables).
``WAYBILL_FORWARDED_ALLOW_IPS`` names the proxies whose ``X-Forwarded-For`` counts.
"""

from __future__ import annotations

import argparse

import uvicorn

from runtime.http_protocol import GuardedHttpToolsProtocol
from runtime.uvicorn_options import UvicornOptions


def config(argv: list[str] | None = None) -> uvicorn.Config:
    parser = argparse.ArgumentParser(prog="python -m runtime.serve", description=__doc__)
    parser.add_argument("app", help="module:attribute of the ASGI app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--timeout-graceful-shutdown", type=int, default=5, help="seconds in-flight requests get")
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    args = parser.parse_args(argv)
    options = UvicornOptions()
    protocol = GuardedHttpToolsProtocol.with_limits(
        header_timeout_s=options.header_timeout_s, max_header_bytes=options.max_header_bytes
    )
    return uvicorn.Config(
        args.app,
        host=args.host,
        port=args.port,
        loop="uvloop",
        http=protocol,
        access_log=False,  # the services log each request themselves (runtime.app)
        limit_concurrency=options.limit_concurrency,
        timeout_keep_alive=options.timeout_keep_alive_s,
        timeout_graceful_shutdown=args.timeout_graceful_shutdown,
        forwarded_allow_ips=options.forwarded_allow_ips,
        log_level=args.log_level,
    )


def main(argv: list[str] | None = None) -> None:
    uvicorn.Server(config(argv)).run()


if __name__ == "__main__":
    main()
