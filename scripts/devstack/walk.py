"""Walking a chase the way people do: the backend and managers through the HTTP API, time
moved on by the time-skipping server."""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from temporalio.testing import WorkflowEnvironment

from scripts.devstack.time_skipping import skip
from settings import Settings


def backend_auth(settings: Settings) -> dict[str, str]:
    """The headers of a call from the shop's backend."""
    return {"Authorization": f"Bearer {settings.backend_token.get_secret_value()}"}


async def register_manager(
    api: httpx.AsyncClient, backend: dict[str, str], manager_id: str, **fields: str
) -> dict[str, str]:
    """Register a manager as the backend (`backend`: its headers); the headers that
    authenticate as them."""
    response = await api.post(
        "/v1/managers",
        json={
            "id": manager_id,
            "name": manager_id.title(),
            "email": f"{manager_id}@shop.example",
            **fields,
        },
        headers=backend,
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


class Walk:
    def __init__(self, api: httpx.AsyncClient, env: WorkflowEnvironment, settings: Settings):
        self.api = api
        self.env = env
        self.backend = backend_auth(settings)
        self.managers: dict[str, dict[str, str]] = {}
        self.seen_tasks: set[int] = set()

    async def manager(self, manager_id: str, **fields: str) -> dict[str, str]:
        """Register a manager (`timezone`, `working_hours`...); returns the headers that
        authenticate as them."""
        self.managers[manager_id] = await register_manager(
            self.api, self.backend, manager_id, **fields
        )
        return self.managers[manager_id]

    async def create_order(
        self,
        order_id: str,
        phone: str | None = "+79001234567",
        product: tuple[str, str] = ("course-python", "Python for analysts"),
        timezone: str | None = None,
        email: str = "anna@example.com",
    ) -> None:
        response = await self.api.post(
            "/v1/orders",
            json=order_body(order_id, phone, product, timezone, email),
            headers=self.backend,
        )
        assert response.status_code == 201, response.text

    async def settled(self, order_id: str) -> None:
        """Wait until the chase has done its first steps (the email, then the SMS if the order
        has a phone) and has no activity in flight.

        Ending a chase while its first activities run races their completion; Temporal's Java
        test server can then stop skipping time for the rest of the session (a completion it no
        longer knows of holds its time lock). Tests that end a chase at once wait for this."""
        last_step = (
            "sms_sent" if (await self.order(order_id))["customer"]["phone"] else "email_sent"
        )
        handle = self.env.client.get_workflow_handle(f"order-{order_id}")
        for _ in range(400):
            if last_step in await self.history_kinds(order_id):
                described = await handle.describe()
                if not described.raw_description.pending_activities:
                    return
            await asyncio.sleep(0.025)
        raise AssertionError(f"the chase of order {order_id} did not settle")

    async def event(self, order_id: str, event_id: str, type: str, **fields: Any) -> httpx.Response:
        return await self.api.post(
            f"/v1/orders/{order_id}/events",
            json={"event_id": event_id, "type": type, **fields},
            headers=self.backend,
        )

    async def order(self, order_id: str) -> dict[str, Any]:
        response = await self.api.get(f"/v1/orders/{order_id}", headers=self.backend)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def history_kinds(self, order_id: str) -> list[str]:
        response = await self.api.get(f"/v1/orders/{order_id}/history", headers=self.backend)
        return [line["kind"] for line in response.json()]

    async def tasks(
        self, manager: str, order_id: str | None = None, **params: str
    ) -> list[dict[str, Any]]:
        """The tasks `manager` sees (open ones unless `status` says otherwise), of the order
        or of whatever `params` filter on."""
        if order_id is not None:
            params["order_id"] = order_id
        response = await self.api.get(
            "/v1/tasks", params={"scope": "all", **params}, headers=self.managers[manager]
        )
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def task(self, manager: str, order_id: str, kind: str) -> dict[str, Any]:
        """The next new open task of this kind, once the workflow has opened it."""
        for _ in range(400):
            for task in await self.tasks(manager, order_id, kind=kind):
                if task["id"] not in self.seen_tasks:
                    self.seen_tasks.add(task["id"])
                    return task
            await asyncio.sleep(0.025)
        raise AssertionError(f"no new open {kind} task for order {order_id}")

    async def answer(
        self, manager: str, task: dict[str, Any], answer: str, at: str | None = None, **more: Any
    ) -> httpx.Response:
        """`more`: the other fields of the body (`number`, `valid_days`, `note`)."""
        body: dict[str, Any] = {"answer": answer, **more}
        if at is not None:
            body["at"] = at
        return await self.api.post(
            f"/v1/tasks/{task['id']}/answer", json=body, headers=self.managers[manager]
        )

    async def answered(self, manager: str, task: dict[str, Any], answer: str, **kw: Any) -> None:
        response = await self.answer(manager, task, answer, **kw)
        assert response.status_code == 200, response.text

    async def pause(
        self, order_id: str, until: datetime, reason: str = "on holiday", by: str | None = None
    ) -> httpx.Response:
        """`POST /v1/orders/{id}/pause` as the backend, or as the manager `by`."""
        return await self.api.post(
            f"/v1/orders/{order_id}/pause",
            json={"until": until.isoformat(), "reason": reason},
            headers=self.managers[by] if by else self.backend,
        )

    async def resume(self, order_id: str, by: str | None = None) -> httpx.Response:
        return await self.api.post(
            f"/v1/orders/{order_id}/resume", headers=self.managers[by] if by else self.backend
        )

    async def status(self, order_id: str, expected: str) -> dict[str, Any]:
        """Wait (in real time, briefly) for the workflow's activity to store a status."""
        for _ in range(400):
            order = await self.order(order_id)
            if order["status"] == expected:
                return order
            await asyncio.sleep(0.025)
        raise AssertionError(f"order {order_id} is {order['status']}, expected {expected}")

    async def ended(self, order_id: str) -> Any:
        """The chase's result, once its last activity (the thank-you, the end's write) is
        done: a test that returns earlier leaves an activity to complete after the
        workflow is terminated, which can stop the shared time-skipping server's clock."""
        return await self.env.client.get_workflow_handle(f"order-{order_id}").result()

    async def skip(self, **delta: float) -> None:
        await skip(self.env, timedelta(**delta))

    async def now(self) -> datetime:
        return await self.env.get_current_time()

    async def skip_to(self, moment: datetime) -> None:
        """Move the server's clock on to `moment`, timers due meanwhile firing."""
        ahead = moment - await self.now()
        if ahead > timedelta(0):
            await self.env.sleep(ahead)

    async def next_weekday(self, weekday: int, wall: time, zone: ZoneInfo) -> datetime:
        """The coming `weekday` (Monday 0) at `wall` local time in `zone`, after now."""
        now = (await self.now()).astimezone(zone)
        moment = datetime.combine(now.date(), wall, tzinfo=zone)
        moment += timedelta(days=(weekday - now.weekday()) % 7)
        return moment if moment > now else moment + timedelta(weeks=1)


def order_body(
    order_id: str,
    phone: str | None = "+79001234567",
    product: tuple[str, str] = ("course-python", "Python for analysts"),
    timezone: str | None = None,
    email: str = "anna@example.com",
) -> dict[str, Any]:
    """The body of `POST /v1/orders` (and of one order of `POST /v1/orders/import`)."""
    customer: dict[str, Any] = {"name": "Anna Petrova", "email": email}
    if phone is not None:
        customer["phone"] = phone
    if timezone is not None:
        customer["timezone"] = timezone
    return {
        "id": order_id,
        "product": {"id": product[0], "name": product[1]},
        "amount": "4900.00",
        "currency": "RUB",
        "customer": customer,
    }


def subscription_body(
    subscription_id: str, period_ends_at: datetime, assignee_id: str, language: str = "en"
) -> dict[str, Any]:
    """The body of `POST /v1/subscriptions`: Anna's Python club, 990 RUB a period."""
    return {
        "id": subscription_id,
        "product": {"id": "club-python", "name": "Python club"},
        "price": "990.00",
        "currency": "RUB",
        "customer": {"name": "Anna Petrova", "email": "anna@example.com"},
        "period_ends_at": period_ends_at.isoformat(),
        "assignee_id": assignee_id,
        "language": language,
    }


def when(task: dict[str, Any]) -> datetime:
    """When a task was opened, by the workflow's clock."""
    return datetime.fromisoformat(task["created_at"])
