"""What a path function gets: the time-skipping server, the API served on loopback beside the
real worker (driven by a `Walk`, as the tests drive it) and the SMTP server; and the steps a
path takes, each through the public API as the shop's backend, a manager or a customer would.

Two things only Temporal can do: skip time (the time-skipping server's clock), and wait until
a workflow has no activity in flight (`settled`, from its description)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from domain import (
    checkin_workflow_id,
    dial_workflow_id,
    lead_workflow_id,
    order_workflow_id,
    renewal_workflow_id,
)
from scripts.devstack import time_skipping
from scripts.devstack.mailbox import SmtpServer
from scripts.devstack.walk import Walk, subscription_body
from settings import Settings

TASK_QUEUE = "record-histories"
# The one manager who answers every task in the recordings.
MANAGER = "olga"
# Who an order is re-assigned to in the re-assignment path.
SUCCESSOR = "ivan"
# A manager with office hours in Moscow, for the path that waits for them.
OFFICE_MANAGER = "nina"
OFFICE_HOURS = ("Europe/Moscow", "Mon-Fri 09:00-19:00")
# The product whose paid orders get a check-in 30 days on (the recorder's settings say so).
CHECKIN_PRODUCT = "course-checkin"

T = TypeVar("T")


async def eventually(what: str, probe: Callable[[], Awaitable[T | None]]) -> T:
    """`probe()` once it answers something, polled in real time (the server's clock stands
    still meanwhile)."""
    for _ in range(1000):
        found = await probe()
        if found is not None:
            return found
        await asyncio.sleep(0.01)
    raise RuntimeError(f"never: {what}")


@dataclass(frozen=True)
class Recording:
    env: WorkflowEnvironment
    settings: Settings
    smtp: SmtpServer
    walk: Walk

    # --- Time and workflows (Temporal's own) --------------------------------------------

    async def sleep(self, duration: timedelta) -> None:
        """Skip server time: timers due meanwhile fire, as they would in production."""
        await time_skipping.skip(self.env, duration)

    async def now(self) -> datetime:
        """The server's clock, which the workflows read as `workflow.now()` and the API as now."""
        return await self.env.get_current_time()

    async def result(self, handle: WorkflowHandle[Any, Any]) -> Any:
        """The workflow's result, the clock skipping to each of its timers meanwhile."""
        return await time_skipping.result(self.env, handle)

    async def settled(self, handle: WorkflowHandle[Any, Any]) -> None:
        """Wait until the workflow and its running children have no activity in flight.

        An activity that completes after its workflow ended keeps the time-skipping server
        from ever skipping time again, so nothing may end a workflow mid-activity.
        """
        await eventually(f"{handle.id} settles", lambda: self._idle(handle))

    async def _idle(self, handle: WorkflowHandle[Any, Any]) -> bool | None:
        described = (await handle.describe()).raw_description
        if described.pending_activities:
            return None
        for child in described.pending_children:
            if not await self._idle(self.handle(child.workflow_id)):
                return None
        return True

    async def ended(self, handle: WorkflowHandle[Any, Any]) -> None:
        """Wait in real time for a workflow that needs no timer to end.

        Not `result()`: it lets the time-skipping server skip ahead whenever nothing holds
        it, and a cancellation on its way to a dial child does not, so the parent would
        jump to its execution timeout instead of ending.
        """

        async def over() -> bool | None:
            running = (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
            return None if running else True

        await eventually(f"{handle.id} ends", over)

    async def terminate(self, handle: WorkflowHandle[Any, Any]) -> None:
        """End a run that would go on for good once its path is recorded, and make sure the
        clock skips again: a task handed to the worker just as the run was ended can hold it."""
        await handle.terminate("recorded")
        await time_skipping.free_the_clock(self.env)

    def handle(self, workflow_id: str, run_id: str | None = None) -> WorkflowHandle[Any, Any]:
        return self.env.client.get_workflow_handle(workflow_id, run_id=run_id)

    def chase(self, order_id: str, run_id: str | None = None) -> WorkflowHandle[Any, Any]:
        """The order's chase (its latest run unless `run_id` says which)."""
        return self.handle(order_workflow_id(order_id), run_id)

    def dial(self, order_id: str, number: int = 1) -> WorkflowHandle[Any, Any]:
        """The order's `number`-th dial child."""
        return self.handle(dial_workflow_id(order_workflow_id(order_id), number))

    # --- The shop's backend --------------------------------------------------------------

    async def backend(self, path: str, body: dict[str, Any], expected: int) -> dict[str, Any]:
        """A backend call that must succeed; its JSON answer."""
        response = await self.walk.api.post(path, json=body, headers=self.walk.backend)
        if response.status_code != expected:
            raise RuntimeError(f"POST {path}: {response.status_code} {response.text}")
        answer: dict[str, Any] = response.json()
        return answer

    async def order(
        self, order_id: str, phone: str | None = "+79001234567", **fields: Any
    ) -> WorkflowHandle[Any, Any]:
        """`POST /v1/orders`: the order, and its chase `order-<id>` started."""
        await self.walk.create_order(order_id, phone=phone, **fields)
        return self.chase(order_id)

    async def import_orders(self, *orders: dict[str, Any]) -> None:
        """`POST /v1/orders/import`: orders stored without chases (`walk.order_body`s)."""
        await self.backend("/v1/orders/import", {"orders": list(orders)}, 200)

    async def event(self, order_id: str, event_id: str, type: str, **fields: Any) -> None:
        """`POST /v1/orders/{id}/events`: paid, partially_paid, cancelled, phone_changed
        (event ids are the backend's, one namespace for all orders: the order's id leads)."""
        body = {"event_id": f"{order_id}-{event_id}", "type": type, **fields}
        await self.backend(f"/v1/orders/{order_id}/events", body, 202)

    async def pay(self, order_id: str, event_id: str = "pay-1") -> None:
        """Paid in full; returns once the chase has ended."""
        await self.ending(order_id, event_id, "paid")

    async def cancel(self, order_id: str, event_id: str = "cancel-1") -> None:
        """Cancelled by the backend; returns once the chase has ended."""
        await self.ending(order_id, event_id, "cancelled")

    async def part_paid(self, order_id: str, event_id: str, amount: str) -> None:
        """Partly paid; once the parts add up to the amount, the chase ends and this waits."""
        await self.ending(order_id, event_id, "partially_paid", amount=amount)

    async def ending(self, order_id: str, event_id: str, type: str, **fields: Any) -> None:
        """An event that can end the chase, posted once nothing is in flight (an end landing
        mid-activity stalls the time-skipping server's clock); returns once the chase has
        ended, if it does: a part payment ends it when the parts add up to the amount."""
        await self.settled(self.chase(order_id))
        await self.event(order_id, event_id, type, **fields)
        order = await self.walk.order(order_id)
        if type != "partially_paid" or float(order["paid_amount"]) >= float(order["amount"]):
            await self.ended(self.chase(order_id))

    async def new_phone(self, order_id: str, event_id: str, phone: str) -> None:
        await self.event(order_id, event_id, "phone_changed", phone=phone)

    async def reassign(self, order_id: str, manager_id: str) -> None:
        """`POST /v1/orders/{id}/assign`: the open task moves, the chase tells its dial."""
        await self.backend(f"/v1/orders/{order_id}/assign", {"manager_id": manager_id}, 200)

    async def pause(self, order_id: str, length: timedelta) -> None:
        """`POST /v1/orders/{id}/pause` for `length` from now."""
        response = await self.walk.pause(order_id, await self.now() + length, "away")
        if response.status_code != 200:
            raise RuntimeError(f"pause {order_id}: {response.status_code} {response.text}")

    async def resume(self, order_id: str) -> None:
        response = await self.walk.resume(order_id)
        if response.status_code != 200:
            raise RuntimeError(f"resume {order_id}: {response.status_code} {response.text}")

    async def status(self, order_id: str, expected: str) -> None:
        """Wait for the chase's activity to store this status, and to be reported done."""
        await self.walk.status(order_id, expected)
        await self.settled(self.chase(order_id))

    # --- Managers ------------------------------------------------------------------------

    async def task(self, order_id: str, kind: str, manager: str = MANAGER) -> dict[str, Any]:
        """The order's open task of this kind (as `manager` sees it), once its workflow has
        opened it and has nothing in flight."""
        return await self.open_task(self.chase(order_id), manager, kind=kind, order_id=order_id)

    async def open_task(
        self, workflow: WorkflowHandle[Any, Any], manager: str, **where: str
    ) -> dict[str, Any]:
        """The first open task `GET /v1/tasks` lists with these filters, once `workflow`
        (which opened it, or whose child did) has settled."""

        async def first() -> dict[str, Any] | None:
            tasks = await self.walk.tasks(manager, **where)
            return tasks[0] if tasks else None

        task = await eventually(f"an open task {where}", first)
        await self.settled(workflow)
        return task

    async def answer(
        self, order_id: str, kind: str, answer: str, manager: str = MANAGER, **more: Any
    ) -> dict[str, Any]:
        """`POST /v1/tasks/{id}/answer` on the order's open task of this kind; `more`: `at`
        (a timedelta: so long from now), `number`, `valid_days`."""
        return await self.answered(
            await self.task(order_id, kind, manager), answer, manager, **more
        )

    async def answered(
        self, task: dict[str, Any], answer: str, manager: str = MANAGER, **more: Any
    ) -> dict[str, Any]:
        if "at" in more:
            more["at"] = (await self.now() + more["at"]).isoformat()
        await self.walk.answered(manager, task, answer, **more)
        return task

    async def take(self, order_id: str, manager: str = MANAGER) -> None:
        """Past the grace minute, the manager takes the order from the pool."""
        await self.sleep(timedelta(seconds=self.settings.order_timings().grace))
        await self.answer(order_id, "take_order", "yes", manager)

    # --- The customer --------------------------------------------------------------------

    async def email_sent(self, order_id: str, email_kind: str) -> dict[str, Any]:
        """The order's timeline line for its sent email of this kind."""
        history = await self.walk.api.get(
            f"/v1/orders/{order_id}/history", headers=self.walk.backend
        )
        for line in history.json():
            if line["kind"] == "email_sent" and line["detail"]["email_kind"] == email_kind:
                found: dict[str, Any] = line
                return found
        raise RuntimeError(f"no {email_kind} email sent for order {order_id}")

    async def sent_at(self, order_id: str, email_kind: str) -> datetime:
        """When the chase sent the order's email of this kind, by its clock."""
        return datetime.fromisoformat((await self.email_sent(order_id, email_kind))["at"])

    async def open_email(self, order_id: str, email_kind: str) -> None:
        """The customer's mail client loads the email's tracking pixel, `/t/{message_id}.gif`."""
        message_id = (await self.email_sent(order_id, email_kind))["detail"]["message_id"]
        response = await self.walk.api.get(f"/t/{message_id}.gif")
        response.raise_for_status()

    async def unsubscribe(self, order_id: str) -> None:
        """One click in the mail client: a POST to the List-Unsubscribe URL of the last email
        the order's customer got."""
        address = (await self.walk.order(order_id))["customer"]["email"]
        message = self.smtp.mailbox.to(address)[-1]
        link = next(
            part.strip(" <>")
            for part in str(message["List-Unsubscribe"]).split(",")
            if "http" in part
        )
        response = await self.walk.api.post(urlsplit(link).path)
        response.raise_for_status()

    # --- Leads, subscriptions, check-ins ------------------------------------------------

    async def lead_event(self, lead_id: str, event_id: str, **body: Any) -> None:
        """`POST /v1/leads/{id}/events`: a status change or a reply."""
        body["event_id"] = f"{lead_id}-{event_id}"
        await self.backend(f"/v1/leads/{lead_id}/events", body, 202)

    async def start_lead_chase(self, lead_id: str) -> WorkflowHandle[Any, Any]:
        """A new lead whose status is Chasing: its first chase `lead-<id>` starts."""
        lead = {
            "title": "Website redesign",
            "name": "Ivan Petrov",
            "email": "ivan@client.example",
            "responsible_manager_id": MANAGER,
            "language": "en",
        }
        await self.lead_event(lead_id, "crm-1", type="status_changed", status="chasing", lead=lead)
        return self.handle(lead_workflow_id(lead_id))

    async def follow_ups(self, lead_id: str, count: int) -> None:
        """Skip from due moment to due moment until `count` follow-ups have gone out and the
        chase waits for the next (its progress, as `GET /v1/leads/{id}` shows it)."""
        while (lead := await self._lead_waiting(lead_id))["emails_sent"] < count:
            due = datetime.fromisoformat(lead["next_email_due"])
            await self.sleep(due - await self.now() + timedelta(minutes=1))

    async def _lead_waiting(self, lead_id: str) -> dict[str, Any]:
        """The lead once its chase waits for its next due moment, nothing in flight."""

        async def waiting() -> dict[str, Any] | None:
            response = await self.walk.api.get(f"/v1/leads/{lead_id}", headers=self.walk.backend)
            lead: dict[str, Any] = response.json()
            due = lead["next_email_due"]
            return lead if due and datetime.fromisoformat(due) > await self.now() else None

        lead = await eventually(f"lead {lead_id} waits for a follow-up", waiting)
        await self.settled(self.handle(lead_workflow_id(lead_id)))
        return lead

    async def stop_lead(self, lead_id: str, event_id: str, **body: Any) -> None:
        """A reply or another status: the chase stops; returns once it has ended."""
        await self.lead_event(lead_id, event_id, **body)
        await self.ended(self.handle(lead_workflow_id(lead_id)))

    async def subscription(
        self, subscription_id: str, ends_in: timedelta
    ) -> WorkflowHandle[Any, Any]:
        """`POST /v1/subscriptions`, sold by `olga` (the renewal call is hers): its renewal
        `renewal-<id>` starts."""
        body = subscription_body(subscription_id, await self.now() + ends_in, MANAGER)
        await self.backend("/v1/subscriptions", body, 201)
        return self.handle(renewal_workflow_id(subscription_id))

    async def subscription_event(
        self, subscription_id: str, event_id: str, type: str, ends: datetime | None = None
    ) -> None:
        """`POST /v1/subscriptions/{id}/events`: renewed, period_changed, cancelled."""
        body: dict[str, Any] = {"event_id": f"{subscription_id}-{event_id}", "type": type}
        if ends is not None:
            body["period_ends_at"] = ends.isoformat()
        await self.backend(f"/v1/subscriptions/{subscription_id}/events", body, 202)

    async def renewal_call(self, subscription_id: str) -> dict[str, Any]:
        """The subscription's open renewal call, once its renewal has settled."""
        renewal = self.handle(renewal_workflow_id(subscription_id))
        return await self.open_task(
            renewal, MANAGER, kind="renewal_call", subscription_id=subscription_id
        )

    async def checkin_task(self, order_id: str) -> dict[str, Any]:
        """The paid order's open check-in task, once its check-in has settled."""
        checkin = self.handle(checkin_workflow_id(order_id))
        return await self.open_task(checkin, MANAGER, kind="checkin", order_id=order_id)
