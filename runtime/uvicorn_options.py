"""The options every HTTP process runs with (runtime.serve), in `make run` (devstack/processes.py) and in
the image (deploy/entrypoint.sh), as ``WAYBILL_`` variables: uvicorn's connection cap and keep-alive timeout,
and runtime.http_protocol's header deadline and size cap (which uvicorn does not have).
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class UvicornOptions(BaseSettings):
    """``WAYBILL_LIMIT_CONCURRENCY``, ``WAYBILL_TIMEOUT_KEEP_ALIVE_S``, ``WAYBILL_HEADER_TIMEOUT_S``,
    ``WAYBILL_MAX_HEADER_BYTES``, ``WAYBILL_FORWARDED_ALLOW_IPS``."""

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
    header_timeout_s: float = Field(
        10.0,
        gt=0,
        description="Seconds a client has to send a request's headers, from the connection's opening or the "
        "request's first byte; then 408 and the connection closes (runtime.http_protocol).",
    )
    max_header_bytes: int = Field(
        16_384,
        ge=1024,
        description="Most bytes of request line and headers of one request; beyond, 431 and the connection "
        "closes (runtime.http_protocol).",
    )
    forwarded_allow_ips: str | None = Field(
        None,
        description="Comma-separated addresses or networks of the proxies whose X-Forwarded-For is believed, so "
        "the per-address limit counts the client and not the proxy (uvicorn --forwarded-allow-ips). Unset: "
        "uvicorn's FORWARDED_ALLOW_IPS, else 127.0.0.1 only.",
        examples=["10.0.0.0/8"],
    )
