"""/docs and /redoc need nothing from the internet: their pages name only assets the process serves itself,
those assets are served, and a content policy keeps the browser from fetching anything else."""

from __future__ import annotations

import importlib
import re

import httpx
import pytest
from fastapi import FastAPI

APPS = ["services.allocation.main", "services.shipping.main", "services.tracking.main", "services.sandbox.main"]
ASSET = re.compile(r'(?:src|href)="([^"]+)"')


def _app(module: str) -> FastAPI:
    app: FastAPI = importlib.import_module(module).app
    return app


@pytest.mark.parametrize("module", APPS)
@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_load_only_their_own_assets(module: str, page: str) -> None:
    transport = httpx.ASGITransport(app=_app(module))
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        resp = await client.get(page)
        assert resp.status_code == 200
        assets = ASSET.findall(resp.text)
        assert assets, resp.text
        for url in assets:
            assert url.startswith("/static-offline-docs/"), f"{page} loads {url} from elsewhere"
            asset = await client.get(url)
            assert asset.status_code == 200, url
            assert len(asset.content) > 1000, url
        assert "googleapis" not in resp.text
        assert "cdn." not in resp.text
        if module != "services.sandbox.main":
            policy = resp.headers["content-security-policy"]
            assert "default-src 'self'" in policy
            assert "img-src 'self' data:" in policy


async def test_the_policy_is_only_on_the_docs_pages() -> None:
    transport = httpx.ASGITransport(app=_app("services.allocation.main"))
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        resp = await client.get("/healthz")
    assert resp.status_code == 200
    assert "content-security-policy" not in resp.headers
