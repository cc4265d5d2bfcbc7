"""Enrolment jobs and webhook delivery."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio.client import WorkflowExecutionStatus, WorkflowHandle

from db.models import Enrollment
from scripts.histories.recording import Recording
from scripts.histories.registry import recorded
from workflows.enrollment import EnrollmentInput, EnrollmentJob, enrollment_workflow_id
from workflows.webhook_delivery import (
    WebhookDelivery,
    WebhookDeliveryInput,
    webhook_delivery_id,
)


@recorded(
    "enrollment-job",
    "EnrollmentJob",
    "three unpaid orders and a paid one, two per batch: count, two batches a pause apart "
    "(three chases started, one skipped as closed), done",
)
async def enrollment_job(rec: Recording) -> WorkflowHandle[Any, Any]:
    ids = [f"enrol-{n}" for n in range(3)]
    for order_id in ids:
        await rec.order(order_id, product_id="course-enrol", phone=None)
    await rec.order("enrol-paid", product_id="course-enrol", status="paid")
    async with rec.sessions() as session, session.begin():
        session.add(
            Enrollment(
                id="enr-record",
                product_id="course-enrol",
                state="running",
                found=0,
                started=0,
                skipped={},
                created_at=await rec.now(),
            )
        )
    handle = await rec.env.client.start_workflow(
        EnrollmentJob.run,
        EnrollmentInput("enr-record", batch_size=2, pause=1.0),
        id=enrollment_workflow_id("enr-record"),
        task_queue=rec.settings.temporal_task_queue,
    )
    await handle.result()
    for order_id in ids:  # the chases it started end cleanly before the next path
        await rec.pay(order_id)
    return handle


@recorded(
    "webhook-delivery",
    "WebhookDelivery",
    "two delivery activity runs back to back, then continued as new (the next run is "
    "terminated: the loop never ends on its own)",
)
async def webhook_delivery(rec: Recording) -> WorkflowHandle[Any, Any]:
    # Sorted last of the paths on purpose: ending the loop's next run cancels its activity,
    # and the time-skipping server stops skipping after such a completion.
    started = await rec.env.client.start_workflow(
        WebhookDelivery.run,
        WebhookDeliveryInput(poll=0.05, run_for=0.2, runs=2),
        id=webhook_delivery_id(rec.settings.temporal_task_queue),
        task_queue=rec.settings.temporal_task_queue,
    )
    first = rec.env.client.get_workflow_handle(started.id, run_id=started.result_run_id)
    for _ in range(1000):
        if (await first.describe()).status == WorkflowExecutionStatus.CONTINUED_AS_NEW:
            break
        await asyncio.sleep(0.01)
    await rec.env.client.get_workflow_handle(first.id).terminate("recorded")
    return first
