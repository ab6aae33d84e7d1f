"""The API docs in headless Chromium with the internet cut off: every request that leaves the machine is
refused, and still /docs (Swagger UI) renders each service's operations and "Try it out" answers with a
shop's key, and /redoc renders. Writes the screenshot the README shows (docs/api-docs.png)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import BrowserContext, Page, Route, async_playwright

from tests.e2e.harness import Harness
from tests.e2e.test_dashboard_browser import CHROMIUM

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("processes")]

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "api-docs.png"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
# One operation of each service a shop's key may call without arguments, and a field of its answer (a list
# answers one page: {"data", "has_more", "next_cursor"}).
TRY_IT = {
    "allocation": ("/v1/balance", "balance_cents"),
    "shipping": ("/v1/orders", "has_more"),
    "tracking": ("/v1/alerts", "has_more"),
}


async def offline(context: BrowserContext) -> list[str]:
    """Refuse every request that would leave the machine (a CDN, fonts); return what was refused."""
    refused: list[str] = []

    async def only_local(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            await route.continue_()
        else:
            refused.append(route.request.url)
            await route.abort("internetdisconnected")

    await context.route("**/*", only_local)
    return refused


async def try_it_out(page: Page, path: str, key: str) -> str:
    """Authorize with the key, open the GET operation on ``path``, execute it; the status cell's text."""
    await page.locator("button.btn.authorize").first.click()
    await page.locator(".modal-ux input").first.fill(key)
    await page.locator(".modal-ux button.authorize").first.click()
    await page.locator(".modal-ux button.btn-done").first.click()
    operation = page.locator(f'.opblock-get:has(.opblock-summary-path[data-path="{path}"])').first
    await operation.locator(".opblock-summary").first.click()
    await operation.locator("button.try-out__btn").click()
    await operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table tr.response .response-col_status").first
    await status.wait_for()
    return (await status.inner_text()).strip()


async def test_docs_render_and_answer_offline(harness: Harness) -> None:
    h = harness
    async with h.client() as http:
        shop = await h.create_shop(http, "文档店铺")

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 1000})
            refused = await offline(context)
            page = await context.new_page()
            page.set_default_timeout(60_000)
            for service, (path, expected) in TRY_IT.items():
                base = h.url(service)
                await page.goto(f"{base}/docs")
                await page.locator(".opblock-summary").first.wait_for()
                assert await page.locator(".opblock-summary").count() > 5, f"{service}: few operations rendered"
                assert await try_it_out(page, path, shop.key) == "200", f"{service} {path}"
                answer = page.locator(".live-responses-table tr.response .response-col_description pre").first
                body = await answer.inner_text()
                assert expected in body, f"{service} {path}: {body[:200]}"
                if service == "allocation":
                    await page.locator(".live-responses-table").first.scroll_into_view_if_needed()
                    await page.screenshot(path=str(SCREENSHOT), full_page=False)

                await page.goto(f"{base}/redoc")
                # ReDoc draws the menu and each operation's heading from the OpenAPI document.
                await page.locator("[data-item-id]").first.wait_for()
                assert await page.locator("[data-item-id]").count() > 5, f"{service}: ReDoc rendered no operations"
            assert refused == [], f"the docs reached outside the machine: {refused}"
        finally:
            await browser.close()
