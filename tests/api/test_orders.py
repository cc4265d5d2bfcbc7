"""The orders API over real HTTP, with a real worker on the Temporal dev server."""

from __future__ import annotations

from typing import Any

import httpx
from temporalio.client import WorkflowExecutionStatus

from db.session import Sessions
from scripts.devstack.mailbox import Mailbox
from scripts.devstack.walk import Walk, backend_auth
from settings import Settings
from tests.factories import history, load_order


def order_body(order_id: str = "A-1001", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": order_id,
        "product": {"id": "course-python", "name": "Python for analysts"},
        "amount": "4900.00",
        "currency": "RUB",
        "customer": {"name": "Anna Petrova", "email": "anna@example.com", "phone": "+79000000000"},
    }
    body.update(overrides)
    return body


async def test_create_starts_one_chase_and_pay_ends_it(
    dev_walk: Walk, sessions: Sessions, mailbox: Mailbox
) -> None:
    api, auth = dev_walk.api, dev_walk.backend
    created = await api.post("/v1/orders", json=order_body(), headers=auth)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "new"

    again = await api.post("/v1/orders", json=order_body(), headers=auth)
    assert again.status_code == 200
    handle = dev_walk.env.client.get_workflow_handle("order-A-1001")
    description = await handle.describe()
    assert description.status == WorkflowExecutionStatus.RUNNING
    runs = [w async for w in dev_walk.env.client.list_workflows("WorkflowId = 'order-A-1001'")]
    assert len(runs) == 1

    await mailbox.wait_for(1)
    paid = await api.post(
        "/v1/orders/A-1001/events", json={"event_id": "evt-1", "type": "paid"}, headers=auth
    )
    assert paid.status_code == 202, paid.text
    assert paid.json() == {"event_id": "evt-1", "duplicate": False}
    repeat = await api.post(
        "/v1/orders/A-1001/events", json={"event_id": "evt-1", "type": "paid"}, headers=auth
    )
    assert repeat.status_code == 202 and repeat.json()["duplicate"] is True

    order = await dev_walk.status("A-1001", "paid")
    assert order["outcome"] == "positive"
    await handle.result()  # "paid" is stored before the thank-you goes out, then it completes
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
    assert (await mailbox.wait_for(2))[1][
        "Subject"
    ] == "Thank you for your payment: Python for analysts"
    # The payment-link SMS goes out right after the first email, unless the payment is in first.
    kinds = [line.kind for line in await history(sessions, "A-1001") if line.kind != "sms_sent"]
    assert kinds[0] == "order_created"
    assert sorted(kinds[1:3]) == ["email_sent", "event"]  # the mail server may beat the commit
    assert kinds[-2:] == ["status_changed", "email_sent"]

    late = await api.post(
        "/v1/orders/A-1001/events", json={"event_id": "evt-2", "type": "cancelled"}, headers=auth
    )
    assert late.status_code == 409
    assert (await load_order(sessions, "A-1001")).status == "paid"


async def test_get_order_shows_the_running_process(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    auth = backend_auth(settings)
    await api.post("/v1/orders", json=order_body("A-2"), headers=auth)
    order = (await api.get("/v1/orders/A-2", headers=auth)).json()
    assert order["process"]["stage"] in ("started", "awaiting_payment")
    assert order["customer"]["email"] == "anna@example.com"


async def test_unknown_order_is_404(api: httpx.AsyncClient, settings: Settings) -> None:
    auth = backend_auth(settings)
    missing = await api.get("/v1/orders/nope", headers=auth)
    assert missing.status_code == 404
    assert missing.json() == {"detail": "order 'nope' not found"}
    event = await api.post(
        "/v1/orders/nope/events", json={"event_id": "e", "type": "paid"}, headers=auth
    )
    assert event.status_code == 404


async def test_bad_input_is_422_and_changes_nothing(
    api: httpx.AsyncClient, settings: Settings, sessions: Sessions
) -> None:
    auth = backend_auth(settings) | {"Content-Type": "application/json"}
    broken = await api.post("/v1/orders", content=b"{not json", headers=auth)
    assert broken.status_code == 422
    no_email = await api.post(
        "/v1/orders", json=order_body(customer={"name": "X", "email": "not-an-email"}), headers=auth
    )
    assert no_email.status_code == 422
    negative = await api.post("/v1/orders", json=order_body(amount="-5"), headers=auth)
    assert negative.status_code == 422
    async with sessions() as session:
        from db.models import Order

        assert await session.get(Order, "A-1001") is None

    await api.post("/v1/orders", json=order_body("A-3"), headers=auth)
    partial = await api.post(
        "/v1/orders/A-3/events", json={"event_id": "p", "type": "partially_paid"}, headers=auth
    )
    assert partial.status_code == 422
    unknown_type = await api.post(
        "/v1/orders/A-3/events", json={"event_id": "p", "type": "refunded"}, headers=auth
    )
    assert unknown_type.status_code == 422
    assert (await load_order(sessions, "A-3")).paid_amount == 0


async def test_tokens_missing_wrong_and_of_the_wrong_kind(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    assert (await api.post("/v1/orders", json=order_body())).status_code == 401
    wrong = await api.post(
        "/v1/orders", json=order_body(), headers={"Authorization": "Bearer wrong"}
    )
    assert wrong.status_code == 401

    async def register(manager: dict[str, str]) -> httpx.Response:
        return await api.post("/v1/managers", json=manager, headers=backend_auth(settings))

    oleg = {"id": "m1", "name": "Oleg", "email": "oleg@shop.example"}
    manager = await register(oleg)
    assert manager.status_code == 201
    token = manager.json()["token"]
    as_manager = await api.post(
        "/v1/orders", json=order_body(), headers={"Authorization": f"Bearer {token}"}
    )
    assert as_manager.status_code == 403
    assert as_manager.json()["detail"] == "this route takes the backend token, not a manager's"
    assert (await register(oleg)).status_code == 409
    header_injection = oleg | {"id": "m2", "name": "Oleg\r\nBcc: all@example.com"}
    assert (await register(header_injection)).status_code == 422
