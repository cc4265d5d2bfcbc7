"""The renewal call in the managers' web app, in a real browser: it is in the inbox with the
subscription's customer, its page shows the subscription and the call script, and the answer
buttons (in the manager's language) reach the renewal workflow."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from playwright.async_api import expect
from sqlalchemy import select

from db.models import Task
from db.session import Sessions
from scripts.devstack.walk import subscription_body
from tests.web.conftest import Site


async def subscribe(site: Site, subscription_id: str, assignee_id: str, language: str) -> None:
    """A subscription ending tomorrow: its renewal call is due at once."""
    response = await site.api.post(
        "/v1/subscriptions",
        json=subscription_body(
            subscription_id, datetime.now(UTC) + timedelta(days=1), assignee_id, language
        ),
        headers=site.backend,
    )
    assert response.status_code == 201, response.text


async def renewal_call(sessions: Sessions, subscription_id: str, status: str = "open") -> Task:
    for _ in range(400):
        async with sessions() as session:
            task = await session.scalar(
                select(Task).where(
                    Task.subscription_id == subscription_id,
                    Task.kind == "renewal_call",
                    Task.status == status,
                )
            )
        if task is not None:
            return task
        await asyncio.sleep(0.025)
    raise AssertionError(f"no {status} renewal call for {subscription_id}")


async def test_the_renewal_call_is_answered_from_the_inbox(site: Site, sessions: Sessions) -> None:
    token = await site.manager("olga")
    await subscribe(site, "WEB-R1", "olga", "en")
    task = await renewal_call(sessions, "WEB-R1")

    page = await site.sign_in(token)
    row = page.locator("li.task", has_text="#WEB-R1")
    await expect(row).to_contain_text("Renewal call")
    await expect(row).to_contain_text("Anna Petrova · Python club · 990.00 RUB")
    await row.click()
    await expect(page.locator("#subscription-title")).to_contain_text("Subscription #WEB-R1")
    await expect(page.locator(".script pre")).to_contain_text("renews the subscription")
    await page.get_by_role("button", name="Renewing").click()
    await expect(page.locator(".done")).to_contain_text("Renewing")

    answered = await renewal_call(sessions, "WEB-R1", status="answered")
    assert (answered.id, answered.answer, answered.answered_by) == (task.id, "renewing", "olga")
    for _ in range(400):  # the workflow heard it: the API shows the call's answer
        response = await site.api.get("/v1/subscriptions/WEB-R1", headers=site.backend)
        if response.json()["process"]["call_answer"] == "renewing":
            break
        await asyncio.sleep(0.025)
    else:
        raise AssertionError("the renewal workflow never heard the answer")


async def test_the_renewal_call_speaks_russian(site: Site, sessions: Sessions) -> None:
    token = await site.manager("nina", language="ru")
    await subscribe(site, "WEB-R2", "nina", "ru")
    await renewal_call(sessions, "WEB-R2")
    page = await site.sign_in(token)
    row = page.locator("li.task", has_text="#WEB-R2")
    await expect(row).to_contain_text("Звонок о продлении")
    await row.click()
    await expect(page.locator("h1")).to_have_text("Предложить продление подписки")
    await expect(page.get_by_role("button", name="Продлевает")).to_be_visible()
    await expect(page.get_by_role("button", name="Отказался")).to_be_visible()
    await expect(page.locator("#subscription-title")).to_contain_text("Подписка #WEB-R2")
