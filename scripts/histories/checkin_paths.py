"""The check-in's paths: a paid order's customer asked how they like it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.client import WorkflowHandle

from db.models import Task
from domain import checkin_workflow_id
from scripts.histories.recording import MANAGER, Recording
from scripts.histories.registry import recorded
from workflows.checkin import Checkin
from workflows.messages import CheckinInput
from workflows.tasks import TaskAnswer


@recorded(
    "checkin-happy",
    "Checkin",
    "an order paid, 30 days on: the check-in email and the task for the manager who took the "
    "order, answered happy",
)
async def checkin_happy(rec: Recording) -> WorkflowHandle[Any, Any]:
    order = await rec.order("checkin", status="paid", assignee_id=MANAGER)
    handle = await rec.env.client.start_workflow(
        Checkin.run,
        CheckinInput(order.id, wait=timedelta(days=30).total_seconds(), send_email=True),
        id=checkin_workflow_id(order.id),
        task_queue=rec.settings.temporal_task_queue,
    )
    await rec.sleep(timedelta(days=30, minutes=1))
    task = await rec.task(order.id, "checkin")
    async with rec.sessions() as session, session.begin():
        row = await session.get(Task, task.id)
        assert row is not None
        row.status, row.answer = "answered", "happy"
        row.answered_at, row.answered_by = await rec.now(), MANAGER
    await handle.signal(Checkin.answer_task, TaskAnswer(task.id, "happy", MANAGER))
    return handle
