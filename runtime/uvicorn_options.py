"""The uvicorn options every HTTP process runs with, in `make run` (devstack/processes.py) and in the image
(deploy/entrypoint.sh, whose shell defaults tests/unit/deploy holds equal to these).

uvicorn (0.54) has no timeout for reading a request's headers: a client that opens a connection and sends
its headers a byte at a time holds that connection as long as it likes (the keep-alive timeout runs only
between requests). What bounds the harm is the cap on concurrent connections and tasks (503 beyond it),
so such clients cannot exhaust the process's memory or file descriptors; a proxy in front (the Ingress:
nginx's ``client_header_timeout``) is what cuts them off. The only header limit uvicorn offers is h11's
incomplete-event size, which applies when ``--http h11`` is used; under httptools (our default, for speed)
header size is unbounded by uvicorn as well, which again the proxy bounds (``large_client_header_buffers``).
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class UvicornOptions(BaseSettings):
    """``WAYBILL_LIMIT_CONCURRENCY``, ``WAYBILL_TIMEOUT_KEEP_ALIVE_S``, ``WAYBILL_H11_MAX_INCOMPLETE_EVENT_SIZE``."""

    model_config = SettingsConfigDict(env_prefix="WAYBILL_", extra="ignore", env_file=None)

    # Far above what the services' own callers hold open (httpx pools of 100, the sandbox's 32 pushes in
    # flight, the benchmarks' 32 connections), low enough that a flood of idle or slow connections meets
    # a 503 before it meets the process's file descriptor limit.
    limit_concurrency: int = Field(
        1000,
        ge=1,
        description="Most connections (and request tasks) one HTTP process holds at once; beyond it uvicorn "
        "answers 503 (uvicorn --limit-concurrency).",
    )
    timeout_keep_alive_s: int = Field(
        5,
        ge=1,
        description="Seconds an idle keep-alive connection stays open between requests (uvicorn --timeout-keep-alive).",
    )
    h11_max_incomplete_event_size: int = Field(
        16_384,
        ge=1024,
        description="Most bytes of request line and headers buffered per request under --http h11 (uvicorn "
        "--h11-max-incomplete-event-size); httptools, which the services run, has no such limit.",
    )

    def argv(self) -> list[str]:
        """The uvicorn command-line options for these values."""
        return [
            "--limit-concurrency", str(self.limit_concurrency),
            "--timeout-keep-alive", str(self.timeout_keep_alive_s),
            "--h11-max-incomplete-event-size", str(self.h11_max_incomplete_event_size),
        ]  # fmt: skip
