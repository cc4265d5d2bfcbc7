"""Changing the order chase while chases run: each `workflow.patched(ID)` in
workflows/order_chase.py is proven three ways (README: "Changing a process while chases run").

1. Histories recorded before the change (tests/histories/frozen/*.before-ID.json) replay.
2. A chase started on the code as it was before the change (a verbatim copy kept in
   tests/histories/deployed/order_chase_before_<id>.py), then carried on by today's worker,
   finishes on the old path: no marker for ID, none of the new path's steps.
3. A chase started on today's code takes the new path: the marker and the new step.

The tests run for every live patch the order chase has; with none they are skipped.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import pytest
from sqlalchemy import select
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle, WorkflowHistory
from temporalio.converter import default as default_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from cli.history import history_from_file
from cli.replay import from_files, make_replayer, replay
from db.locks import lock_row
from db.models import Manager, Order, Task
from db.session import Sessions
from scripts.devstack.mailbox import SmtpServer
from scripts.devstack.time_skipping import skip
from settings import Settings
from tests.factories import make_order, start_order_chase
from tests.patches import workflow_patches
from worker import WorkerDeps, build_worker
from workflows.messages import ChasePause, OrderCancelled, OrderChaseResult, PaymentReceived
from workflows.order_chase import OrderChase
from workflows.tasks import TaskAnswer

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent.parent
FROZEN = ROOT / "tests" / "histories" / "frozen"
LIVE_PATCHES = sorted(
    p for p, stage in workflow_patches("order_chase").items() if stage == "patched"
)

pytestmark = pytest.mark.parametrize(
    "patch",
    LIVE_PATCHES
    or [pytest.param(None, marks=pytest.mark.skip(reason="the order chase has no live patch"))],
)


def scenario(patch: str) -> Scenario:
    if patch not in SCENARIOS:
        pytest.fail(f"say in SCENARIOS how a chase reaches {patch!r} and what its new path does")
    return SCENARIOS[patch]


def before_the_change(patch: str) -> ModuleType:
    """The order chase module exactly as it was deployed before `patch`."""
    release = RELEASED_WITH.get(patch, patch)
    name = f"tests.histories.deployed.order_chase_before_{release.replace('-', '_')}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError:
        pytest.fail(
            f"keep the code from before {patch!r}: "
            f"cp workflows/order_chase.py {name.replace('.', '/')}.py (taken before the edit)",
            pytrace=False,
        )


def marker_data(history: WorkflowHistory, name: str, detail: str) -> list[dict[str, Any]]:
    """The `detail` of each marker called `name` in a history, decoded."""
    found = []
    for event in history.events:
        attributes = event.marker_recorded_event_attributes
        if attributes.marker_name == name and detail in attributes.details:
            payloads = attributes.details[detail].payloads
            found.append(default_converter().payload_converter.from_payloads(payloads)[0])
    return found


def markers(history: WorkflowHistory) -> list[str]:
    """The patch ids recorded in a history: core writes one `core_patch` marker per patch."""
    return [data["id"] for data in marker_data(history, "core_patch", "patch-data")]


def activities(history: WorkflowHistory) -> list[str]:
    return [
        event.activity_task_scheduled_event_attributes.activity_type.name
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]


async def grace_timer_started(
    handle: WorkflowHandle[OrderChase, OrderChaseResult], grace: float
) -> None:
    """Wait (in real time; server time stands still) until the chase sits in its grace delay."""
    for _ in range(200):
        history = await handle.fetch_history()
        if any(
            event.event_type == EventType.EVENT_TYPE_TIMER_STARTED
            and event.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
            == timedelta(seconds=grace)
            for event in history.events
        ):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{handle.id} never started its grace timer")


def old_worker(
    env: WorkflowEnvironment, deps: WorkerDeps, task_queue: str, old: ModuleType
) -> Worker:
    """Today's worker with the order chase swapped for the copy from before the change."""
    # Built on a queue of its own only to read its configuration: core refuses two workers
    # on one queue, and build_worker stays the one list of workflows and activities.
    config = build_worker(env.client, deps, f"{task_queue}-template").config()
    config["task_queue"] = task_queue
    # No sticky queue: a real server hands a dead worker's sticky tasks to the shared queue
    # after a timeout, which the time-skipping server never lets pass.
    config["max_cached_workflows"] = 0
    config["workflows"] = [
        old.OrderChase if cls is OrderChase else cls for cls in config["workflows"]
    ]
    return Worker(**config)


def frozen_for(patch: str) -> list[Path]:
    files = sorted(FROZEN.glob(f"*.before-{patch}.json"))
    assert files, (
        f"no history recorded before {patch!r}: run "
        f"`.venv/bin/python -m scripts.record_histories --freeze {patch}` before the edit"
    )
    return files


async def test_histories_recorded_before_the_change_still_replay(patch: str) -> None:
    files = frozen_for(patch)
    for file in files:
        assert patch not in markers(history_from_file(file))
    summary = await replay(from_files(files), make_replayer())
    assert len(summary.outcomes) == len(files)
    assert summary.ok, "\n".join(summary.lines())


async def test_a_chase_started_before_the_change_finishes_on_the_old_path(
    patch: str,
    ts_env: WorkflowEnvironment,
    deps: WorkerDeps,
    sessions: Sessions,
    settings: Settings,
    smtp_server: SmtpServer,
) -> None:
    order = await make_order(sessions)
    queue = settings.temporal_task_queue
    steps = scenario(patch)
    async with old_worker(ts_env, deps, queue, before_the_change(patch)):
        handle = await steps.start(ts_env, settings, sessions, order, smtp_server)
        chase = Chase(ts_env, handle, settings, sessions, smtp_server)
        await ended_on_failure(handle, steps.before(chase))

    # The deploy: the old worker is gone, today's code picks the chase up where it waits.
    async with build_worker(ts_env.client, deps, queue):
        result = await ended_on_failure(
            handle, steps.walk(Chase(ts_env, handle, settings, sessions, smtp_server))
        )

    history = await handle.fetch_history()
    assert patch not in markers(history)
    steps.old_path(result, history)


async def test_a_chase_started_after_the_change_takes_the_new_path(
    patch: str,
    ts_env: WorkflowEnvironment,
    ts_worker: Worker,
    sessions: Sessions,
    settings: Settings,
    smtp_server: SmtpServer,
) -> None:
    order = await make_order(sessions)
    steps = scenario(patch)
    handle = await steps.start(ts_env, settings, sessions, order, smtp_server)
    chase = Chase(ts_env, handle, settings, sessions, smtp_server)
    await ended_on_failure(handle, steps.before(chase))
    result = await ended_on_failure(handle, steps.walk(chase))

    history = await handle.fetch_history()
    assert patch in markers(history)
    steps.new_path(result, history)


# --- how a chase reaches each patch, and what tells the old path from the new ----------


@dataclass
class Chase:
    env: WorkflowEnvironment
    handle: WorkflowHandle[OrderChase, OrderChaseResult]
    settings: Settings
    sessions: Sessions
    smtp: SmtpServer

    async def past_the_grace(self) -> None:
        grace = timedelta(seconds=self.settings.order_timings().grace)
        await skip(self.env, grace + timedelta(minutes=1))

    async def answer(self, kind: str, answer: str) -> None:
        """Answer the chase's open task of `kind` as a manager would (through the signal)."""
        async with self.sessions() as session:
            if await session.get(Manager, "olga") is None:
                session.add(
                    Manager(
                        id="olga",
                        name="Olga",
                        email="olga@shop.example",
                        token_hash="0" * 64,
                        created_at=datetime.now(UTC),
                    )
                )
                await session.commit()
        task_id = await self.open_task(kind)
        await self.handle.signal(OrderChase.answer_task, TaskAnswer(task_id, answer, "olga"))

    async def open_task(self, kind: str, workflow_id: str | None = None) -> int:
        """The open task of `kind` that the chase (or the workflow named) waits on."""
        workflow_id = workflow_id or self.handle.id
        for _ in range(200):
            async with self.sessions() as session:
                task_id = await session.scalar(
                    select(Task.id).where(
                        Task.workflow_id == workflow_id, Task.kind == kind, Task.status == "open"
                    )
                )
            if task_id is not None:
                return task_id
            await asyncio.sleep(0.05)
        raise AssertionError(f"{workflow_id} never opened a {kind} task")

    async def until(self, happened: Callable[[WorkflowHistory], bool]) -> None:
        for _ in range(200):
            if happened(await self.handle.fetch_history()):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{self.handle.id} never got there")

    async def settled(self, workflow_id: str | None = None) -> None:
        """No activity in flight (in the chase, or in the workflow named): ending the chase or
        stopping its worker now leaves none to complete after it."""
        handle = self.env.client.get_workflow_handle(workflow_id or self.handle.id)
        for _ in range(200):
            if not (await handle.describe()).raw_description.pending_activities:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{handle.id} keeps an activity running")

    async def pay(self) -> OrderChaseResult:
        await self.send_payment()
        return await self.end()

    async def send_payment(self) -> None:
        await self.handle.signal(OrderChase.record_payment, PaymentReceived("pay-1", full=True))

    async def end(self) -> OrderChaseResult:
        """The chase's result, waited for in real time: a paid or cancelled end needs no timer.
        (With the clock let go, the test server once skipped to the chase's 10-year execution
        timeout in the moment the cancel of a dial child was on its way from the chase to the
        child.)"""
        with self.env.auto_time_skipping_disabled():
            return await self.handle.result(rpc_timeout=timedelta(seconds=20))


async def ended_on_failure(handle: WorkflowHandle[Any, Any], step: Awaitable[T]) -> T:
    """A chase that fails to replay retries its task for ever: it is ended here so that it does
    not hold the shared time-skipping server's clock (time stands still while a task waits)."""
    try:
        # A query replays the history so far on today's worker: a mismatch fails here, at once.
        await handle.query(OrderChase.state)
        return await step
    except BaseException:
        await handle.terminate("the versioning test failed")
        raise


ChaseHandle = WorkflowHandle[OrderChase, OrderChaseResult]
Start = Callable[
    [WorkflowEnvironment, Settings, Sessions, Order, SmtpServer], Awaitable[ChaseHandle]
]


async def in_its_grace(
    env: WorkflowEnvironment, settings: Settings, sessions: Sessions, order: Order, smtp: SmtpServer
) -> ChaseHandle:
    """Started as the backend starts it, and sitting in its grace delay: its first steps ran
    on the worker it started on."""
    handle = await start_order_chase(env.client, settings, order)
    await grace_timer_started(handle, settings.order_timings().grace)
    return handle


@dataclass(frozen=True)
class Scenario:
    before: Callable[[Chase], Awaitable[None]]  # on the worker the chase starts on
    walk: Callable[[Chase], Awaitable[OrderChaseResult]]  # then on today's worker, to the end
    old_path: Callable[[OrderChaseResult, WorkflowHistory], None]
    new_path: Callable[[OrderChaseResult, WorkflowHistory], None]
    start: Start = in_its_grace


async def nothing(chase: Chase) -> None:
    pass


async def pay_after_the_grace(chase: Chase) -> OrderChaseResult:
    await chase.past_the_grace()
    return await chase.pay()


PAID = OrderChaseResult("paid", "positive", "paid")


def sms_old(result: OrderChaseResult, history: WorkflowHistory) -> None:
    assert result == PAID and "send_payment_sms" not in activities(history)


def sms_new(result: OrderChaseResult, history: WorkflowHistory) -> None:
    assert result == PAID and "send_payment_sms" in activities(history)


async def dialling(chase: Chase) -> None:
    """Taken from the pool, so that the first dial child starts; it has opened its first call
    and waits, so that the deploy does not stop its worker in the middle of a step."""
    await chase.past_the_grace()
    await chase.answer("take_order", "yes")
    await chase.until(lambda history: bool(children(history)))
    dial_id = children(await chase.handle.fetch_history())[0]
    await chase.open_task("call", dial_id)
    await chase.settled(dial_id)


async def pay(chase: Chase) -> OrderChaseResult:
    return await chase.pay()


def dial_old(result: OrderChaseResult, history: WorkflowHistory) -> None:
    assert result == PAID and children(history) == [f"{history.workflow_id}-dial-1"]


def dial_new(result: OrderChaseResult, history: WorkflowHistory) -> None:
    assert result == PAID and children(history) == [f"{history.workflow_id}/dial-1"]


async def cancel_then_pay(chase: Chase) -> OrderChaseResult:
    """The payment arrives while the cancel's end is being written: the test holds the order's
    row, so the end waits for it. (Heard in the cancel's own task, the payment would make the
    end a paid one before anything was written.)"""
    async with chase.sessions() as session:
        await lock_row(session, Order, chase.handle.id.removeprefix("order-"))
        await chase.handle.signal(OrderChase.cancel, OrderCancelled("cancel-1"))
        await chase.until(lambda history: "finish_order" in activities(history))
        await chase.send_payment()
    return await chase.end()


async def cancelled_then_paid_on_the_old_worker(chase: Chase) -> None:
    await cancel_then_pay(chase)


async def done(chase: Chase) -> OrderChaseResult:
    return await chase.handle.result()


def payment_after_end_old(result: OrderChaseResult, history: WorkflowHistory) -> None:
    assert result == OrderChaseResult("cancelled", "negative", "cancelled")


def payment_after_end_new(result: OrderChaseResult, history: WorkflowHistory) -> None:
    assert result == OrderChaseResult("paid", "positive", "paid_after_cancel")
    assert activities(history).count("finish_order") == 2  # cancelled, then paid after all


def upserted(history: WorkflowHistory) -> set[str]:
    """The search attributes the chase upserted (the SDK's TemporalChangeVersion among them)."""
    upserts = [
        event.upsert_workflow_search_attributes_event_attributes.search_attributes
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
    ]
    return {name for attributes in upserts for name in attributes.indexed_fields}


def search_attributes_old(result: OrderChaseResult, history: WorkflowHistory) -> None:
    assert result == PAID and not {"ChaseStage", "OrderStatus"} & upserted(history)


def search_attributes_new(result: OrderChaseResult, history: WorkflowHistory) -> None:
    assert result == PAID and {"ChaseStage", "OrderStatus"} <= upserted(history)


async def bounced(chase: Chase) -> None:
    """The customer's address refuses mail from now on; the first objection bounces."""
    address = f"bounce-{chase.handle.id}@example.com"
    chase.smtp.refuse.add(address)  # unique to this chase: never taken back
    async with chase.sessions() as session:
        order = await session.get(Order, chase.handle.id.removeprefix("order-"))
        assert order is not None
        order.customer_email = address
        await session.commit()
    first_reminder = timedelta(seconds=chase.settings.order_timings().first_reminder)
    await skip(chase.env, first_reminder + timedelta(hours=1))
    # The chase has answered the failure (on the new path: scheduled the task) and nothing
    # is in flight: a payment now ends it with no activity left to complete after the end.
    await chase.until(reacted_to_a_failure)
    await chase.settled()


def reacted_to_a_failure(history: WorkflowHistory) -> bool:
    return completed_a_task_after(EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED, history)


def completed_a_task_after(event_type: EventType.ValueType, history: WorkflowHistory) -> bool:
    """Whether the workflow has completed a task since the first event of this type."""
    types = [event.event_type for event in history.events]
    if event_type not in types:
        return False
    return EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED in types[types.index(event_type) :]


async def settled_then_pay(chase: Chase) -> OrderChaseResult:
    await chase.settled()
    return await chase.pay()


def bounce_old(result: OrderChaseResult, history: WorkflowHistory) -> None:
    assert result == PAID and activities(history).count("open_task") == 1  # take_order only


def bounce_new(result: OrderChaseResult, history: WorkflowHistory) -> None:
    assert result == PAID and activities(history).count("open_task") == 2  # and email_bounced


def held_address(order_id: str) -> str:
    return f"held-{order_id}@example.com"


async def with_its_first_email_held(
    env: WorkflowEnvironment, settings: Settings, sessions: Sessions, order: Order, smtp: SmtpServer
) -> ChaseHandle:
    """Its order-received email greylisted (a mail server or a worker down) and a 2-minute
    window: the chase is still sending it when the window ends."""
    address = held_address(order.id)
    async with sessions() as session:
        row = await session.get(Order, order.id)
        assert row is not None
        row.customer_email = address
        await session.commit()
    smtp.defer.add(address)
    window = replace(settings.order_timings(), payment_window=120.0)
    return await start_order_chase(env.client, settings, order, window)


async def paid_while_held_past_the_window(chase: Chase) -> None:
    """The payment is heard at once; the email goes out only after the window's end."""
    address = held_address(chase.handle.id.removeprefix("order-"))
    try:
        await chase.send_payment()
        await skip(chase.env, timedelta(minutes=5))
    finally:
        chase.smtp.defer.discard(address)
    await chase.handle.result()


def end_heard_old(result: OrderChaseResult, history: WorkflowHistory) -> None:
    assert result == OrderChaseResult("cancelled", "negative", "expired")


def end_heard_new(result: OrderChaseResult, history: WorkflowHistory) -> None:
    sent = activities(history) + local_activities(history)
    assert result == PAID and sent.count("send_order_email") == 2  # and the thank-you


async def without_a_phone(
    env: WorkflowEnvironment, settings: Settings, sessions: Sessions, order: Order, smtp: SmtpServer
) -> ChaseHandle:
    """An order without a phone, its chase in its grace delay."""
    async with sessions() as session:
        row = await session.get(Order, order.id)
        assert row is not None
        row.phone = order.phone = None
        await session.commit()
    return await in_its_grace(env, settings, sessions, order, smtp)


async def pending_without_a_phone(chase: Chase) -> None:
    """Taken, the ask for a phone skipped, the five days over: the order is pending."""
    await chase.past_the_grace()
    await chase.answer("take_order", "yes")
    await chase.answer("ask_phone", "skip")
    await chase.until(lambda history: activities(history).count("open_task") == 2)
    await chase.settled()
    await skip(chase.env, timedelta(days=5, minutes=1))
    order_id = chase.handle.id.removeprefix("order-")
    for _ in range(200):
        async with chase.sessions() as session:
            order = await session.get(Order, order_id)
            assert order is not None
            if order.status == "pending":
                break
        await asyncio.sleep(0.05)
    await chase.settled()


async def three_more_days(chase: Chase) -> OrderChaseResult:
    await skip(chase.env, timedelta(days=3, minutes=1))
    return await chase.handle.result()


NO_PHONE = OrderChaseResult("cancelled", "negative", "no_phone")


def no_phone_check_old(result: OrderChaseResult, history: WorkflowHistory) -> None:
    assert result == NO_PHONE and activities(history).count("open_task") == 2  # take, ask


def no_phone_check_new(result: OrderChaseResult, history: WorkflowHistory) -> None:
    assert result == NO_PHONE and activities(history).count("open_task") == 3  # and the check


def children(history: WorkflowHistory) -> list[str]:
    return [
        event.start_child_workflow_execution_initiated_event_attributes.workflow_id
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
    ]


async def paused_for_a_day(chase: Chase) -> None:
    """The backend pauses the chase for a day in its grace minute; on the worker from before
    pauses the signal has no handler, and the chase goes on."""
    until = await chase.env.get_current_time() + timedelta(days=1)
    await chase.handle.signal(OrderChase.pause_chase, ChasePause(1, until.isoformat(), "away"))
    await chase.until(handled_a_signal)


def handled_a_signal(history: WorkflowHistory) -> bool:
    return completed_a_task_after(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, history)


async def pay_after_the_grace_when_settled(chase: Chase) -> OrderChaseResult:
    await chase.past_the_grace()
    await chase.settled()
    return await chase.pay()


def pause_old(result: OrderChaseResult, history: WorkflowHistory) -> None:
    assert result == PAID and "open_task" in activities(history)  # take_order, after the grace


def pause_new(result: OrderChaseResult, history: WorkflowHistory) -> None:
    assert result == PAID and "open_task" not in activities(history)  # the grace stood still


async def paid_on_the_old_worker(chase: Chase) -> None:
    """Paid after the grace: the worker the chase started on hears the payment and writes
    the end."""
    await chase.past_the_grace()
    await chase.send_payment()
    await chase.until(handled_a_signal)
    await chase.settled()


def local_activities(history: WorkflowHistory) -> list[str]:
    """The local activities a history ran: core writes one `core_local_activity` marker each."""
    return [data["activity_type"] for data in marker_data(history, "core_local_activity", "data")]


def paid_end_old(result: OrderChaseResult, history: WorkflowHistory) -> None:
    assert result == PAID and "finish_order" in activities(history)
    assert "finish_order" not in local_activities(history)


def paid_end_new(result: OrderChaseResult, history: WorkflowHistory) -> None:
    assert result == PAID and "finish_order" not in activities(history)
    assert local_activities(history)[:1] == ["finish_order"]


def thank_you_old(result: OrderChaseResult, history: WorkflowHistory) -> None:
    assert result == PAID and local_activities(history) == ["finish_order"]
    assert activities(history).count("send_order_email") == 2  # received, then the thank-you


def thank_you_new(result: OrderChaseResult, history: WorkflowHistory) -> None:
    assert result == PAID and local_activities(history) == ["finish_order", "send_order_email"]
    assert activities(history).count("send_order_email") == 1  # order_received only


SCENARIOS = {
    "sms-payment-link": Scenario(nothing, pay_after_the_grace, sms_old, sms_new),
    # The old path holds for a dial that started before the deploy.
    "dial-id-separator": Scenario(dialling, pay, dial_old, dial_new),
    # The old path holds for a payment the old worker heard after the end.
    "payment-after-end": Scenario(
        cancelled_then_paid_on_the_old_worker, done, payment_after_end_old, payment_after_end_new
    ),
    # The old path holds for a chase that started before the deploy, to its end.
    "search-attributes": Scenario(
        nothing, pay_after_the_grace, search_attributes_old, search_attributes_new
    ),
    # The old path holds for an address that bounced before the deploy.
    "email-bounce-task": Scenario(bounced, settled_then_pay, bounce_old, bounce_new),
    # The old path holds for a window that ended on the old worker.
    "end-heard-before-expiry": Scenario(
        paid_while_held_past_the_window,
        done,
        end_heard_old,
        end_heard_new,
        start=with_its_first_email_held,
    ),
    # The old path holds for an order that went pending without a phone before the deploy.
    "no-phone-check": Scenario(
        pending_without_a_phone,
        three_more_days,
        no_phone_check_old,
        no_phone_check_new,
        start=without_a_phone,
    ),
    # The old path holds for a pause the old worker received (and had no handler for).
    "pause": Scenario(paused_for_a_day, pay_after_the_grace_when_settled, pause_old, pause_new),
    # The old path holds for a payment the old worker heard.
    "paid-end-in-task": Scenario(paid_on_the_old_worker, done, paid_end_old, paid_end_new),
    # The old path holds for a payment the old worker heard.
    "thank-you-in-task": Scenario(paid_on_the_old_worker, done, thank_you_old, thank_you_new),
}
# Patches deployed together share the copy of the code from before them.
RELEASED_WITH = {"payment-after-end": "dial-id-separator"}
