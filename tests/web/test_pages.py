"""The web app's other promises in a real browser: a manager sees only their own and the
pool's tasks, a task taken meanwhile leaves with a note, the shop view's chart and actions,
Russian, and the pages' security (CSRF, CSP, escaping)."""

from __future__ import annotations

import asyncio
import re

import httpx
from playwright.async_api import Page, expect
from sqlalchemy import select

from db.models import Order, Task
from db.session import Sessions
from tests.web.conftest import Site, screenshot


async def open_task_of(sessions: Sessions, order_id: str, kind: str) -> Task:
    """The order's open task of this kind once its chase has opened it (the browser waits
    the same way: the pages poll)."""
    for _ in range(400):
        async with sessions() as session:
            task = await session.scalar(
                select(Task).where(
                    Task.order_id == order_id, Task.kind == kind, Task.status == "open"
                )
            )
        if task is not None:
            return task
        await asyncio.sleep(0.025)
    raise AssertionError(f"no open {kind} task for order {order_id}")


async def ended(sessions: Sessions, order_id: str, reason: str) -> None:
    """Wait until the order's chase has stored its end."""
    for _ in range(400):
        async with sessions() as session:
            order = await session.get(Order, order_id)
        if order is not None and order.end_reason == reason:
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"order {order_id} did not end with {reason}")


async def answer(site: Site, token: str, task: Task, value: str) -> None:
    response = await site.api.post(
        f"/v1/tasks/{task.id}/answer",
        json={"answer": value},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text


async def test_a_manager_sees_only_their_own_and_the_pool(site: Site, sessions: Sessions) -> None:
    olga = await site.manager("olga")
    ivan = await site.manager("ivan")
    await site.order("WEB-S1")
    await site.order("WEB-S2")
    ivans = await site.sign_in(ivan)
    await expect(ivans.locator("li.task")).to_have_count(2)  # both take-order tasks, pooled

    # Olga takes S-1 through the API: it leaves Ivan's inbox with a note, by itself.
    await answer(site, olga, await open_task_of(sessions, "WEB-S1", "take_order"), "yes")
    await expect(ivans.locator("li.task", has_text="#WEB-S1")).to_have_count(0)
    await expect(ivans.locator(".note")).to_contain_text("was taken by olga")
    await expect(ivans.locator("li.task", has_text="#WEB-S2")).to_have_count(1)

    # Olga's call task: not in Ivan's inbox, and not his by URL either.
    call = await open_task_of(sessions, "WEB-S1", "call")
    assert call.assignee_id == "olga"
    await ivans.reload()
    await expect(ivans.locator(f'li.task[data-task-id="{call.id}"]')).to_have_count(0)
    response = await ivans.goto(f"{site.base}/app/tasks/{call.id}")
    assert response is not None and response.status == 403
    await expect(ivans.locator(".error")).to_contain_text("assigned to another manager")
    order_page = await ivans.goto(f"{site.base}/app/orders/WEB-S1")
    assert order_page is not None and order_page.status == 403

    olgas = await site.sign_in(olga)
    await expect(olgas.locator(f'li.task[data-task-id="{call.id}"]')).to_have_count(1)
    # The call list and its search: by phone digits, by email, by order id.
    await olgas.get_by_role("link", name="Call list").click()
    await expect(olgas.locator("table.list tbody tr")).to_have_count(2)
    await olgas.get_by_label("Search").fill("WEB-S2")
    await olgas.get_by_role("button", name="Search").click()
    await expect(olgas.locator("table.list tbody tr")).to_have_count(1)
    await expect(olgas.locator("table.list")).to_contain_text("#WEB-S2")


async def test_forms_need_the_csrf_token_and_customer_text_is_escaped(
    site: Site, sessions: Sessions
) -> None:
    token = await site.manager("olga")
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    await site.order(
        "WEB-X1",
        customer={"name": hostile, "email": "x@example.com", "phone": "+79000000001"},
    )
    page = await site.sign_in(token)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    row = page.locator("li.task", has_text="#WEB-X1")
    await expect(row).to_contain_text(hostile)  # shown as text, never run
    response = await page.goto(f"{site.base}/app/tasks")
    assert response is not None
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert await page.locator("li.task img").count() == 0
    await row.click()
    await expect(page.locator(".order")).to_contain_text(hostile)
    assert dialogs == []

    # The session cookie alone does not answer: the form's token is missing or wrong.
    task = await open_task_of(sessions, "WEB-X1", "take_order")
    cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
    async with httpx.AsyncClient(base_url=site.base, cookies=cookies) as forger:
        for form in ({"answer": "yes"}, {"answer": "yes", "csrf_token": "guess"}):
            forged = await forger.post(f"/app/tasks/{task.id}/answer", data=form)
            assert forged.status_code == 403
            assert "The form expired" in forged.text
    # The page's form follows the API's text rules: a hidden bidi override is refused.
    await page.get_by_label("Note (optional)").fill("call back \u202eafter 5")
    await page.get_by_role("button", name="Yes").click()
    await expect(page.locator("#answer-error")).to_contain_text(
        "note: Value error, contains the character U+202E"
    )
    async with sessions() as session:
        still = await session.get(Task, task.id)
        assert still is not None and still.status == "open"


async def test_shop_view_chart_and_deactivate_with_a_successor(
    site: Site, sessions: Sessions
) -> None:
    olga = await site.manager("olga")
    await site.manager("ivan")
    for order_id in ("WEB-C1", "WEB-C2", "WEB-C3", "WEB-C4"):
        await site.order(order_id)
    events = (("WEB-C1", "paid"), ("WEB-C2", "cancelled"))
    for order_id, kind in events:
        response = await site.api.post(
            f"/v1/orders/{order_id}/events",
            json={"event_id": f"{order_id}-{kind}", "type": kind},
            headers=site.backend,
        )
        assert response.status_code == 202
    await answer(site, olga, await open_task_of(sessions, "WEB-C3", "take_order"), "yes")
    call = await open_task_of(sessions, "WEB-C3", "call")
    await answer(site, olga, await open_task_of(sessions, "WEB-C4", "take_order"), "mistake")
    await ended(sessions, "WEB-C4", "mistake")

    page = await site.page()
    await page.goto(f"{site.base}/app/login")
    await page.get_by_label("Your token").fill(site.backend["Authorization"].split()[1])
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/app/admin")
    await expect(page.locator("#outcomes tbody tr")).to_have_count(1)
    chart = page.locator("#outcomes svg.bar")
    await expect(chart.locator("rect.positive")).to_have_count(1)
    await expect(chart.locator("rect.negative")).to_have_count(1)
    await expect(chart.locator("rect.open")).to_have_count(1)
    await expect(chart.locator("rect.neutral")).to_have_count(1)
    # Painted, a quarter of the bar each: one paid, one lost, one open, one not counted.
    paid = chart.locator("rect.positive")
    assert await paid.evaluate("rect => getComputedStyle(rect).fill") == "rgb(29, 122, 70)"
    box, whole = await paid.bounding_box(), await chart.bounding_box()
    assert box is not None and whole is not None and box["height"] > 10
    assert abs(box["width"] - whole["width"] / 4) < 2
    await expect(page.locator("#outcomes")).to_contain_text("50%")
    await expect(page.locator("#outcomes")).to_contain_text("cancelled: 1")
    await expect(page.locator("#outcomes")).to_contain_text("mistake: 1")
    await expect(page.locator("#backlog")).to_contain_text("olga")
    await screenshot(page, "admin-desktop")

    row = page.locator('tr[data-manager="olga"]')
    await row.get_by_label("Successor").select_option("ivan")
    await row.get_by_role("button", name="Deactivate").click()
    await expect(page.locator("#admin-done")).to_contain_text(
        "olga deactivated; orders moved: WEB-C3"
    )
    await expect(page.locator('tr[data-manager="olga"]')).to_contain_text("Deactivated")
    async with sessions() as session:
        moved = await session.get(Task, call.id)
        assert moved is not None and moved.assignee_id == "ivan"

    # Olga's token no longer signs in.
    olgas = await site.page()
    await olgas.goto(f"{site.base}/app/login")
    await olgas.get_by_label("Your token").fill(olga)
    await olgas.get_by_role("button", name="Sign in").click()
    await expect(olgas.locator("#login-error")).to_have_text("This manager is deactivated.")

    # A manager's page refuses the shop, and the shop view refuses a manager.
    ivan_token = (await site.api.post("/v1/managers/ivan/token", headers=site.backend)).json()
    ivans = await site.sign_in(ivan_token["token"])
    await expect(ivans.locator(f'li.task[data-task-id="{call.id}"]')).to_have_count(1)
    refused = await ivans.goto(f"{site.base}/app/admin")
    assert refused is not None and refused.status == 403


async def test_russian_for_a_russian_manager(site: Site, sessions: Sessions) -> None:
    token = await site.manager("olga", language="ru")
    await site.order("WEB-RU1", language="ru")
    page: Page = await site.sign_in(token)
    await expect(page.get_by_role("heading", name="Входящие")).to_be_visible()
    row = page.locator("li.task", has_text="#WEB-RU1")
    await expect(row).to_contain_text("Взять заказ?")
    await row.click()
    await page.get_by_role("button", name="Да").click()
    await page.get_by_role("link", name=re.compile("Следующая задача заказа")).click()
    await expect(page.get_by_role("heading", name=re.compile("Позвонить клиенту"))).to_be_visible()
    await expect(page.locator(".script pre")).to_contain_text("Цель:")
    await expect(page.get_by_role("button", name="Дозвонились")).to_be_visible()

    # The browser's language when no one is signed in.
    guest = await site.page(locale="ru-RU")
    await guest.goto(f"{site.base}/app/login")
    await expect(guest.get_by_role("heading", name="Войти")).to_be_visible()


async def test_a_late_answer_is_refused_and_a_new_token_ends_the_session(
    site: Site, sessions: Sessions
) -> None:
    olga = await site.manager("olga")
    ivan = await site.manager("ivan", language="ru")
    await site.order("WEB-L1")
    task = await open_task_of(sessions, "WEB-L1", "take_order")
    olgas, ivans = await site.sign_in(olga), await site.sign_in(ivan)
    for page in (olgas, ivans):
        await page.goto(f"{site.base}/app/tasks/{task.id}")
    await olgas.get_by_role("button", name="Yes").click()
    await expect(olgas.locator(".done")).to_contain_text("Answered Yes by olga")
    # Ivan reads the refusal in his language.
    await ivans.get_by_role("button", name="Да").click()
    await expect(ivans.locator("#answer-error")).to_have_text(
        f"На задачу №{task.id} уже ответил(а) olga."
    )
    assert (await site.api.get("/v1/orders/WEB-L1", headers=site.backend)).json()[
        "assignee_id"
    ] == "olga"

    # A new token for Ivan: the session signed in with the old one ends at the next page.
    assert (await site.api.post("/v1/managers/ivan/token", headers=site.backend)).is_success
    await ivans.goto(f"{site.base}/app/tasks")
    await ivans.wait_for_url("**/app/login")
