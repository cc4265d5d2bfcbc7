"""The new answers on the task page, in a real browser: an order created by mistake, a
discount and instalments entered as numbers (a refused one said in the manager's language)."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from db.models import Task
from db.session import Sessions
from tests.web.conftest import Site
from tests.web.test_inbox import open_task


async def next_task(page: Page) -> None:
    """The order's next task, one click away once the chase has opened it (any language)."""
    await page.locator("#next-task a").click()
    await page.wait_for_url(re.compile(r"/app/tasks/\d+$"))


async def to_will_pay(page: Page, site: Site, order_id: str, yes: str, reached: str) -> None:
    """Take the order, reach the customer: the will-pay task is on the page."""
    await site.order(order_id)
    await open_task(page, site, order_id, "take_order")
    await page.get_by_role("button", name=yes, exact=True).click()
    await next_task(page)
    await page.get_by_role("button", name=reached).click()
    await next_task(page)
    await expect(page.get_by_role("heading", name="Will the order be paid?")).to_be_visible()


@pytest.mark.slow(20)
async def test_a_discount_in_russian_a_refused_percent_then_instalments(
    site: Site, sessions: Sessions
) -> None:
    page = await site.sign_in(await site.manager("olga", language="ru"))
    await to_will_pay(page, site, "WEB-D1", "Да", "Дозвонились")
    await page.get_by_role("button", name="Скидка").click()
    await next_task(page)
    await expect(page.locator(".task-panel .hint").first).to_have_text("(1–10)")
    task_id = int(page.url.rsplit("/", 1)[1])

    await page.get_by_label("Скидка, %").fill("15")
    await page.get_by_label("Дней").fill("3")
    # The browser would refuse 15 itself (max=10): the server's check is what is tested.
    await page.locator("form.answer").evaluate("form => form.noValidate = true")
    await page.get_by_role("button", name="Сохранить").click()
    await expect(page.locator("#answer-error")).to_have_text("15 — не в пределах от 1 до 10.")
    async with sessions() as session:
        refused = await session.get(Task, task_id)
        assert refused is not None and refused.status == "open" and refused.answer is None

    await page.get_by_label("Скидка, %").fill("7")
    await page.get_by_label("Дней").fill("3")
    await page.get_by_role("button", name="Сохранить").click()
    await expect(page.locator(".done")).to_contain_text("7% на 3 дн")
    await next_task(page)
    await expect(page.get_by_role("heading", name="Expected payment date?")).to_be_visible()
    order = (await site.api.get("/v1/orders/WEB-D1", headers=site.backend)).json()
    assert (order["status"], order["offer"]["percent"]) == ("payment_pending", 7)

    # Another order, in instalments.
    await to_will_pay(page, site, "WEB-I1", "Да", "Дозвонились")
    await page.get_by_role("button", name="Рассрочка").click()
    await next_task(page)
    await expect(page.get_by_label("Скидка, %")).to_have_count(0)
    await page.get_by_label("Количество частей").fill("3")
    await page.get_by_role("button", name="Сохранить").click()
    await expect(page.locator(".done")).to_contain_text("Ответ «3»")
    for _ in range(100):
        order = (await site.api.get("/v1/orders/WEB-I1", headers=site.backend)).json()
        if order["instalments"]:
            break
        await page.wait_for_timeout(100)
    assert [part["number"] for part in order["instalments"]] == [1, 2, 3]
    await page.reload()  # the order card shows the plan
    await expect(page.locator(".order .plan li")).to_have_count(3)
    await expect(page.locator(".order .plan li").first).to_contain_text("1633.33 RUB")
    await expect(page.locator(".order .plan li").first).to_contain_text("(Ожидается)")


async def test_an_order_created_by_mistake_is_closed_from_the_take_task(site: Site) -> None:
    page = await site.sign_in(await site.manager("olga"))
    await site.order("WEB-M1")
    await open_task(page, site, "WEB-M1", "take_order")
    await page.get_by_role("button", name="Created by mistake").click()
    await expect(page.locator(".done")).to_contain_text("Answered Created by mistake by olga")
    for _ in range(100):
        order = (await site.api.get("/v1/orders/WEB-M1", headers=site.backend)).json()
        if order["status"] != "new":
            break
        await page.wait_for_timeout(100)
    assert (order["status"], order["outcome"], order["end_reason"]) == (
        "cancelled",
        "neutral",
        "mistake",
    )
