"""Things that happen at once, fired for real: many requests in flight over real HTTP against
a real worker on the Temporal dev server, each race repeated (issue 9, defects 1, 2, 3, 5, 6).
CI runs this file on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from db.session import Sessions
from scripts.devstack.mailbox import Mailbox
from scripts.devstack.walk import backend_auth, register_manager
from settings import Settings
from tests.api.test_orders import order_body
from tests.factories import history

ROUNDS = 5


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Real time, short steps: the pool task a fraction of a second after the order."""
    return settings.model_copy(update={"grace": timedelta(seconds=0.2)})


async def eventually(check: Any, timeout: float = 20) -> Any:
    """Poll `check()` until it returns something truthy."""
    for _ in range(int(timeout / 0.05)):
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.05)
    raise AssertionError(f"{check} never became true")


async def order(api: httpx.AsyncClient, settings: Settings, order_id: str) -> dict[str, Any]:
    response = await api.get(f"/v1/orders/{order_id}", headers=backend_auth(settings))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def ended(api: httpx.AsyncClient, settings: Settings, order_id: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        body = await order(api, settings, order_id)
        return body if body["ended_at"] is not None else None

    return await eventually(check)  # type: ignore[no-any-return]


def event(order_id: str, event_id: str, type: str, **fields: Any) -> dict[str, Any]:
    return {"event_id": event_id, "type": type, **fields}


async def post_event(
    api: httpx.AsyncClient, settings: Settings, order_id: str, body: dict[str, Any]
) -> httpx.Response:
    return await api.post(
        f"/v1/orders/{order_id}/events", json=body, headers=backend_auth(settings)
    )


def thank_yous(mailbox: Mailbox) -> int:
    return sum(subject.startswith("Thank you for your payment") for subject in mailbox.subjects())


async def thanked(mailbox: Mailbox, count: int) -> None:
    """Wait for `count` thank-yous, then a moment more: a second one per order would show."""

    async def check() -> bool:
        return thank_yous(mailbox) >= count

    await eventually(check)
    await asyncio.sleep(0.5)
    assert thank_yous(mailbox) == count


async def test_paid_and_cancelled_at_once_the_payment_is_never_lost(
    api: httpx.AsyncClient, settings: Settings, mailbox: Mailbox, sessions: Sessions
) -> None:
    auth = backend_auth(settings)
    outcomes: Counter[int] = Counter()
    for round in range(ROUNDS):
        order_id = f"PC-{round}"
        assert (await api.post("/v1/orders", json=order_body(order_id), headers=auth)).is_success
        paid, cancelled = await asyncio.gather(
            post_event(api, settings, order_id, event(order_id, f"p-{round}", "paid")),
            post_event(api, settings, order_id, event(order_id, f"c-{round}", "cancelled")),
        )
        assert paid.status_code == 202, paid.text
        assert cancelled.status_code in (202, 409), cancelled.text
        outcomes[cancelled.status_code] += 1
        # A cancel that came first may end the chase for a moment: the payment then wins.
        body = await eventually(lambda order_id=order_id: _status(api, settings, order_id, "paid"))
        assert body["outcome"] == "positive"
        if cancelled.status_code == 409:
            assert "already paid" in cancelled.json()["detail"]
            assert body["end_reason"] == "paid"
        else:
            assert body["end_reason"] in ("paid", "paid_after_cancel")
        lines = [(line.kind, line.detail.get("new")) for line in await history(sessions, order_id)]
        assert ("status_changed", "paid") in lines
    await thanked(mailbox, ROUNDS)  # exactly one each, never two


async def test_a_payment_after_the_chase_ended_cancelled_pays_the_order(
    api: httpx.AsyncClient,
    settings: Settings,
    mailbox: Mailbox,
    sessions: Sessions,
    dev_env: WorkflowEnvironment,
) -> None:
    auth = backend_auth(settings)
    assert (await api.post("/v1/orders", json=order_body("LATE-1"), headers=auth)).is_success
    cancelled = await post_event(api, settings, "LATE-1", event("LATE-1", "c-1", "cancelled"))
    assert cancelled.status_code == 202
    handle = dev_env.client.get_workflow_handle("order-LATE-1")
    await handle.result()
    assert (await order(api, settings, "LATE-1"))["status"] == "cancelled"

    paid = await post_event(api, settings, "LATE-1", event("LATE-1", "p-1", "paid"))
    assert paid.status_code == 202, paid.text
    body = await eventually(
        lambda: _status(api, settings, "LATE-1", "paid"),
    )
    assert (body["outcome"], body["end_reason"]) == ("positive", "paid_after_cancel")
    await thanked(mailbox, 1)
    kinds = [line.kind for line in await history(sessions, "LATE-1")]
    assert kinds[-2:] == ["status_changed", "email_sent"]  # paid, then the thank-you

    again = await post_event(api, settings, "LATE-1", event("LATE-1", "c-2", "cancelled"))
    assert again.status_code == 409 and "already paid" in again.json()["detail"]
    assert thank_yous(mailbox) == 1
    assert (await order(api, settings, "LATE-1"))["status"] == "paid"


async def _status(
    api: httpx.AsyncClient, settings: Settings, order_id: str, status: str
) -> dict[str, Any] | None:
    body = await order(api, settings, order_id)
    return body if body["status"] == status else None


@pytest.mark.parametrize(("parts", "part"), [(2, "60.00"), (5, "20.00")])
async def test_partial_payments_at_once_all_count_and_pay_the_order(
    api: httpx.AsyncClient, settings: Settings, parts: int, part: str
) -> None:
    auth = backend_auth(settings)
    for round in range(ROUNDS):
        order_id = f"PP-{parts}-{round}"
        body = order_body(order_id, amount="100.00")
        assert (await api.post("/v1/orders", json=body, headers=auth)).is_success
        responses = await asyncio.gather(
            *(
                post_event(
                    api,
                    settings,
                    order_id,
                    event(order_id, f"{order_id}-part-{n}", "partially_paid", amount=part),
                )
                for n in range(parts)
            )
        )
        assert [r.status_code for r in responses] == [202] * parts, [r.text for r in responses]
        done = await ended(api, settings, order_id)
        assert done["status"] == "paid"
        assert float(done["paid_amount"]) == parts * float(part)


async def test_the_same_event_ten_times_at_once_is_one_event(
    api: httpx.AsyncClient, settings: Settings, sessions: Sessions
) -> None:
    auth = backend_auth(settings)
    for round in range(ROUNDS):
        order_id = f"DUP-{round}"
        creations = await asyncio.gather(
            *(api.post("/v1/orders", json=order_body(order_id), headers=auth) for _ in range(10))
        )
        assert sorted(r.status_code for r in creations) == [200] * 9 + [201]
        same = event(order_id, f"dup-{round}", "phone_changed", phone="+79005550000")
        answers = await asyncio.gather(
            *(post_event(api, settings, order_id, same) for _ in range(10))
        )
        assert [r.status_code for r in answers] == [202] * 10, [r.text for r in answers]
        assert sorted(r.json()["duplicate"] for r in answers) == [False] + [True] * 9
        lines = [line for line in await history(sessions, order_id) if line.kind == "event"]
        assert len(lines) == 1


async def test_the_same_lead_event_ten_times_at_once_is_one_event(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    auth = backend_auth(settings)
    created = await api.post(
        "/v1/managers",
        json={"id": "lena", "name": "Lena", "email": "lena@shop.example"},
        headers=auth,
    )
    assert created.status_code == 201
    lead = {"title": "Deal", "name": "Ivan", "email": "ivan@example.com"}
    for round in range(ROUNDS):
        body = {
            "event_id": f"lead-dup-{round}",
            "type": "status_changed",
            "status": "chasing",
            "lead": lead | {"responsible_manager_id": "lena"},
        }
        answers = await asyncio.gather(
            *(api.post(f"/v1/leads/L-{round}/events", json=body, headers=auth) for _ in range(10))
        )
        assert [r.status_code for r in answers] == [202] * 10, [r.text for r in answers]
        assert sorted(r.json()["duplicate"] for r in answers) == [False] + [True] * 9


async def open_task(
    api: httpx.AsyncClient, auth: dict[str, str], order_id: str, kind: str
) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        response = await api.get(f"/v1/tasks?kind={kind}&order_id={order_id}", headers=auth)
        tasks = response.json()
        return tasks[0] if tasks else None

    return await eventually(check)  # type: ignore[no-any-return]


async def test_two_managers_answering_one_pool_task_at_once_one_wins(
    api: httpx.AsyncClient, settings: Settings, sessions: Sessions
) -> None:
    anna = await register_manager(api, backend_auth(settings), "anna")
    boris = await register_manager(api, backend_auth(settings), "boris")
    auth = backend_auth(settings)
    for round in range(ROUNDS):
        order_id = f"TWO-{round}"
        assert (await api.post("/v1/orders", json=order_body(order_id), headers=auth)).is_success
        task = await open_task(api, anna, order_id, "take_order")
        url = f"/v1/tasks/{task['id']}/answer"
        first, second = await asyncio.gather(
            api.post(url, json={"answer": "yes"}, headers=anna),
            api.post(url, json={"answer": "yes"}, headers=boris),
        )
        codes = sorted([first.status_code, second.status_code])
        assert codes == [200, 409], (first.text, second.text)
        winner, loser = (first, second) if first.status_code == 200 else (second, first)
        winner_id = winner.json()["answered_by"]
        assert f"already answered by {winner_id!r}" in loser.json()["detail"]

        async def assigned(order_id: str = order_id) -> dict[str, Any] | None:
            body = await order(api, settings, order_id)
            return body if body["assignee_id"] is not None else None

        assert (await eventually(assigned))["assignee_id"] == winner_id
        lines = await history(sessions, order_id)
        answered = [line for line in lines if line.kind == "task_answered"]
        assert [line.actor for line in answered] == [f"manager:{winner_id}"]


async def test_an_answer_after_the_task_was_closed_by_a_cancel_is_a_conflict(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    anna = await register_manager(api, backend_auth(settings), "anna")
    auth = backend_auth(settings)
    assert (await api.post("/v1/orders", json=order_body("CL-1"), headers=auth)).is_success
    task = await open_task(api, anna, "CL-1", "take_order")
    cancel = await post_event(api, settings, "CL-1", event("CL-1", "c-cl", "cancelled"))
    assert cancel.status_code == 202
    await ended(api, settings, "CL-1")
    late = await api.post(f"/v1/tasks/{task['id']}/answer", json={"answer": "yes"}, headers=anna)
    assert late.status_code == 409
    assert "closed" in late.json()["detail"]
    assert (await order(api, settings, "CL-1"))["assignee_id"] is None


async def test_order_ids_never_collide_with_dial_children(
    api: httpx.AsyncClient, settings: Settings, dev_env: WorkflowEnvironment
) -> None:
    anna = await register_manager(api, backend_auth(settings), "anna")
    auth = backend_auth(settings)
    # R-dial-1 first, then R: R's chase starts and dials although an order has that name.
    for order_id in ("R-dial-1", "R", "Q"):
        assert (await api.post("/v1/orders", json=order_body(order_id), headers=auth)).is_success
    for order_id in ("R", "Q"):
        take = await open_task(api, anna, order_id, "take_order")
        answer = {"answer": "yes"}
        taken = await api.post(f"/v1/tasks/{take['id']}/answer", json=answer, headers=anna)
        assert taken.status_code == 200, taken.text
        await open_task(api, anna, order_id, "call")
    dial = dev_env.client.get_workflow_handle("order-Q/dial-1")
    assert (await dial.describe()).status == WorkflowExecutionStatus.RUNNING

    # Q-dial-1 created while Q dials: its own chase, its own payment.
    assert (await api.post("/v1/orders", json=order_body("Q-dial-1"), headers=auth)).is_success
    assert (await order(api, settings, "Q-dial-1"))["status"] == "new"
    paid = await post_event(api, settings, "Q-dial-1", event("Q-dial-1", "p-qd", "paid"))
    assert paid.status_code == 202
    assert (await ended(api, settings, "Q-dial-1"))["status"] == "paid"
    q = await order(api, settings, "Q")
    assert q["ended_at"] is None and q["process"]["dial"]["workflow_id"] == "order-Q/dial-1"
    assert (await dial.describe()).status == WorkflowExecutionStatus.RUNNING
    r_dial = await dev_env.client.get_workflow_handle("order-R/dial-1").describe()
    assert r_dial.status == WorkflowExecutionStatus.RUNNING
