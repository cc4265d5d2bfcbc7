"""The web app in a real browser: Debian's Chromium (scripts/setup-browser.sh) driven by
Playwright, one browser for the session, a fresh context (cookies) per signed-in person."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize, async_playwright

from scripts.devstack.walk import backend_auth
from settings import Settings

CHROMIUM = Path(os.environ.get("CHASER_CHROMIUM", "/usr/bin/chromium"))
# Where the tests leave their screenshots; the best ones are copied to docs/screenshots/.
SCREENSHOTS = Path(os.environ.get("CHASER_SCREENSHOTS", "build/screenshots"))
PHONE: ViewportSize = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 860}


@pytest_asyncio.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """One Chromium for every browser test. Missing, it fails the suite: never a silent skip."""
    if not CHROMIUM.is_file():
        pytest.fail(
            f"Chromium is not at {CHROMIUM}: run scripts/setup-browser.sh (make test does)",
            pytrace=False,
        )
    async with async_playwright() as playwright:
        # --no-sandbox: CI and the development container run as root, where Chromium's
        # sandbox cannot start.
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox"]
        )
        yield chromium
        await chromium.close()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A grace of one second: the take-order task comes at once, and every step after it
    is a click away. The rest keeps its production durations."""
    return settings.model_copy(update={"grace": timedelta(seconds=1)})


class Site:
    """The running app: its address, the backend through the API, browsers for people."""

    def __init__(self, api: httpx.AsyncClient, settings: Settings, browser: Browser) -> None:
        self.api = api
        self.base = str(api.base_url).rstrip("/")
        self.backend = backend_auth(settings)
        self.browser = browser
        self.contexts: list[BrowserContext] = []

    async def manager(self, manager_id: str, **fields: str) -> str:
        """Register a manager through the API; returns their token."""
        body = {"id": manager_id, "name": manager_id.title(), "email": f"{manager_id}@shop.example"}
        response = await self.api.post("/v1/managers", json=body | fields, headers=self.backend)
        assert response.status_code == 201, response.text
        return str(response.json()["token"])

    async def order(self, order_id: str, **overrides: object) -> None:
        body: dict[str, object] = {
            "id": order_id,
            "product": {"id": "course-python", "name": "Python for analysts"},
            "amount": "4900.00",
            "currency": "RUB",
            "customer": {
                "name": "Anna Petrova",
                "email": "anna@example.com",
                "phone": "+7 900 123-45-67",
            },
        }
        response = await self.api.post("/v1/orders", json=body | overrides, headers=self.backend)
        assert response.status_code == 201, response.text

    async def page(self, viewport: dict[str, int] = DESKTOP, locale: str = "en-US") -> Page:
        """A new browser context (its own cookies) and a page in it."""
        context = await self.browser.new_context(viewport=viewport, locale=locale)  # type: ignore[arg-type]
        context.set_default_timeout(15_000)
        self.contexts.append(context)
        return await context.new_page()

    async def sign_in(self, token: str, **kw: object) -> Page:
        page = await self.page(**kw)  # type: ignore[arg-type]
        await page.goto(f"{self.base}/app/login")
        await page.get_by_label("Your token").fill(token)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url("**/app/tasks")
        return page

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()


@pytest_asyncio.fixture
async def site(api: httpx.AsyncClient, settings: Settings, browser: Browser) -> AsyncIterator[Site]:
    site = Site(api, settings, browser)
    yield site
    await site.close()


async def screenshot(page: Page, name: str) -> None:
    """Full-page PNGs under SCREENSHOTS: the README shows the best of them."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
