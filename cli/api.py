"""A small REST client for the CLI: errors become the API's own message, never a traceback."""

from __future__ import annotations

from typing import Any

import httpx

from cli.config import Config


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class Api:
    def __init__(self, config: Config, *, admin: bool = False) -> None:
        key = config.admin_key if admin else config.api_key
        if not key:
            which = "WAYBILL_ADMIN_KEY (or admin_key)" if admin else "WAYBILL_API_KEY (or api_key)"
            raise ApiError(0, "no_key", f"no key configured: set {which} in the environment or the profile")
        self.config = config
        self.headers = {"Authorization": f"Bearer {key}"}
        self.client = httpx.Client(timeout=60)

    def url(self, service: str, path: str) -> str:
        base: str = getattr(self.config, f"{service}_url")
        return base.rstrip("/") + path

    def call(self, method: str, service: str, path: str, **kwargs: Any) -> Any:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        try:
            resp = self.client.request(method, self.url(service, path), headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(0, "unreachable", f"{service} at {self.url(service, '')} did not answer: {exc}") from exc
        if resp.status_code >= 400:
            try:
                err = resp.json()["error"]
                raise ApiError(resp.status_code, err["code"], err["message"])
            except (ValueError, KeyError, TypeError):
                raise ApiError(resp.status_code, "http_error", resp.text[:300]) from None
        if resp.headers.get("content-type", "").startswith("application/json"):
            return resp.json()
        return resp.content

    def get(self, service: str, path: str, **kwargs: Any) -> Any:
        return self.call("GET", service, path, **kwargs)

    def post(self, service: str, path: str, **kwargs: Any) -> Any:
        return self.call("POST", service, path, **kwargs)

    def put(self, service: str, path: str, **kwargs: Any) -> Any:
        return self.call("PUT", service, path, **kwargs)

    def delete(self, service: str, path: str, **kwargs: Any) -> Any:
        return self.call("DELETE", service, path, **kwargs)
