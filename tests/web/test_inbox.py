"""A manager's day in a real browser: sign in, take an order from the pool, call, will pay,
a payment date (a past one refused first), the inbox updating by itself, sign out."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Page, expect

from db.models import Task
from db.session import Sessions
from tests.web.conftest import PHONE, Site, screenshot


async def open_task(page: Page, site: Site, order_id: str, kind: str) -> None:
    """Click the order's task of this kind in the inbox, once it has appeared there."""
    await page.goto(f"{site.base}/app/tasks")
    row = page.locator("li.task", has_text=f"#{order_id}").filter(has=page.locator(f".kind-{kind}"))
    await row.first.click()
    await page.wait_for_url(re.compile(r"/app/tasks/\d+$"))


async def next_task(page: Page) -> None:
    """After an answer: the order's next task is one click away once the chase opens it."""
    await page.get_by_role("link", name=re.compile("Next task of this order")).click()
    await page.wait_for_url(re.compile(r"/app/tasks/\d+$"))


@pytest.mark.slow(15)
async def test_walk_an_order_from_the_pool_to_will_pay(site: Site, sessions: Sessions) -> None:
    token = await site.manager("olga", timezone="Asia/Yekaterinburg")
    page = await site.page()
    await page.goto(f"{site.base}/app/tasks")
    await page.wait_for_url("**/app/login")  # not signed in yet

    await page.get_by_label("Your token").fill("not-a-token")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#login-error")).to_have_text("That token is not valid.")
    before = {c["name"]: c["value"] for c in await page.context.cookies()}

    await page.get_by_label("Your token").fill(token)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/app/tasks")
    assert token not in page.url
    cookie = next(c for c in await page.context.cookies() if c["name"] == "chaser_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["expires"] > 0
    assert cookie["value"] != before["chaser_session"]  # a new session on sign-in
    await expect(page.locator(".empty")).to_have_text("Nothing to do right now.")

    # The order comes in while the inbox is open: its take-order task appears by itself.
    await site.order("WEB-W1")
    take = page.locator("li.task", has_text="#WEB-W1")
    await expect(take).to_have_count(1)
    await expect(take.locator(".kind")).to_have_text("Take the order")
    await expect(page.locator('[data-kind="take_order"] b')).to_have_text("1")
    await screenshot(page, "inbox-desktop")
    await page.set_viewport_size(PHONE)
    await screenshot(page, "inbox-phone")
    await page.set_viewport_size({"width": 1280, "height": 860})

    await take.click()
    await expect(page.get_by_role("heading", name="Take the order?")).to_be_visible()
    await expect(page.locator(".order")).to_contain_text("Anna Petrova")
    await expect(page.locator('.order a[href="tel:+7900123-45-67"]')).to_have_text(
        "+7 900 123-45-67"
    )
    await page.get_by_role("button", name="Yes").click()
    await expect(page.locator(".done")).to_contain_text("Answered Yes by olga")

    await next_task(page)
    await expect(page.get_by_role("heading", name=re.compile("Call the customer"))).to_be_visible()
    await expect(page.locator(".script pre")).to_contain_text(
        'Goal: help Anna Petrova complete the order for "Python for analysts"'
    )
    await expect(page.locator(".order")).to_contain_text("day 1, call 0, 0 attempts")
    await screenshot(page, "task-desktop")
    await page.set_viewport_size(PHONE)
    await screenshot(page, "task-phone")
    await page.set_viewport_size({"width": 1280, "height": 860})
    await page.get_by_role("button", name="Reached").click()

    await next_task(page)
    await expect(page.get_by_role("heading", name="Will the order be paid?")).to_be_visible()
    await page.get_by_role("button", name="Yes").click()

    await next_task(page)
    await expect(page.get_by_role("heading", name="Expected payment date?")).to_be_visible()
    task_id = int(page.url.rsplit("/", 1)[1])
    zone = ZoneInfo("Asia/Yekaterinburg")  # Olga's: the input is in her time
    past = datetime.now(zone) - timedelta(hours=3)
    await page.get_by_label(re.compile("Date and time")).fill(past.strftime("%Y-%m-%dT%H:%M"))
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#answer-error")).to_contain_text("is in the past")
    async with sessions() as session:
        refused = await session.get(Task, task_id)
        assert refused is not None and refused.status == "open" and refused.answer is None

    soon = datetime.now(zone) + timedelta(days=2)
    await page.get_by_label(re.compile("Date and time")).fill(soon.strftime("%Y-%m-%dT%H:%M"))
    # The customer's clock beside it: Moscow is two hours behind Yekaterinburg.
    moscow = (soon - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")
    await expect(page.locator("#customer-time")).to_have_text(
        f"Customer's time: {moscow} (Europe/Moscow)"
    )
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator(".done")).to_contain_text(soon.strftime("%Y-%m-%d %H:%M"))

    order = (await site.api.get("/v1/orders/WEB-W1", headers=site.backend)).json()
    assert order["status"] == "payment_pending" and order["assignee_id"] == "olga"
    assert order["process"]["stage"] == "awaiting_payment_date"
    await expect(page.locator("#timeline-title")).to_be_visible()
    for step in ("assigned", "call result", "task answered", "status changed"):
        await expect(page.locator(".timeline")).to_contain_text(step)

    # Nothing of W-1 is left to do: the inbox is empty again.
    await page.get_by_role("link", name="Inbox", exact=True).click()
    await expect(page.locator("li.task", has_text="#WEB-W1")).to_have_count(0)

    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url("**/app/login")
    await page.goto(f"{site.base}/app/tasks")
    await page.wait_for_url("**/app/login")
