"""The assigned manager pauses an order's chase from its page in a real browser, in their own
time zone, and resumes it; a pause in the past is refused and changes nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from playwright.async_api import expect

from tests.web.conftest import Site

YEKATERINBURG = ZoneInfo("Asia/Yekaterinburg")


async def order_view(site: Site, order_id: str) -> dict[str, Any]:
    response = await site.api.get(f"/v1/orders/{order_id}", headers=site.backend)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_pause_and_resume_from_the_order_page(site: Site) -> None:
    token = await site.manager("olga", timezone="Asia/Yekaterinburg")
    await site.order("WEB-P1")
    assigned = await site.api.post(
        "/v1/orders/WEB-P1/assign", json={"manager_id": "olga"}, headers=site.backend
    )
    assert assigned.status_code == 200, assigned.text
    page = await site.sign_in(token)
    await page.goto(f"{site.base}/app/orders/WEB-P1")

    # A moment in the past is refused with the API's words, and nothing is paused.
    await page.get_by_text("Pause the chase").click()
    await page.get_by_label("Until").fill("2020-01-01T09:00")
    await page.get_by_label("Why").fill("customer on holiday")
    await page.get_by_role("button", name="Pause", exact=True).click()
    await expect(page.locator("main")).to_contain_text("is not in the future")
    assert (await order_view(site, "WEB-P1"))["pause"] is None

    # Monday 09:00 of Olga's own clock, a week on.
    back = (datetime.now(UTC) + timedelta(days=7)).astimezone(YEKATERINBURG)
    back = back.replace(hour=9, minute=0, second=0, microsecond=0)
    await page.goto(f"{site.base}/app/orders/WEB-P1")
    await page.get_by_text("Pause the chase").click()
    await page.get_by_label("Until").fill(back.strftime("%Y-%m-%dT%H:%M"))
    await page.get_by_label("Why").fill("customer on holiday")
    await page.get_by_role("button", name="Pause", exact=True).click()
    await page.wait_for_url("**/app/orders/WEB-P1")
    shown = back.strftime("%Y-%m-%d %H:%M")
    await expect(page.locator("#pause")).to_have_text(f"until {shown}: customer on holiday")

    view = await order_view(site, "WEB-P1")
    assert datetime.fromisoformat(view["pause"]["until"]) == back
    assert view["pause"]["by"] == "manager:olga"
    for _ in range(200):  # the chase hears it
        if (await order_view(site, "WEB-P1"))["process"]["paused_until"]:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the chase never showed the pause")

    await page.get_by_role("button", name="Resume now").click()
    await page.wait_for_url("**/app/orders/WEB-P1")
    await expect(page.locator("#pause")).to_have_count(0)
    await expect(page.get_by_text("Pause the chase")).to_be_visible()
    assert (await order_view(site, "WEB-P1"))["pause"] is None
