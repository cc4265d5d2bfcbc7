"""Enrolment jobs and webhook delivery."""

from __future__ import annotations

from typing import Any

from temporalio.client import WorkflowExecutionStatus, WorkflowHandle

from scripts.devstack.walk import order_body
from scripts.histories.recording import Recording, eventually
from scripts.histories.registry import recorded
from workflows.enrollment import enrollment_workflow_id
from workflows.webhook_delivery import (
    WebhookDelivery,
    WebhookDeliveryInput,
    webhook_delivery_id,
)

ENROL = ("course-enrol", "Python course, enrolled later")


@recorded(
    "enrollment-job",
    "EnrollmentJob",
    "three unpaid orders and a paid one, two per batch: count, two batches a pause apart "
    "(three chases started, one skipped as closed), done",
)
async def enrollment_job(rec: Recording) -> WorkflowHandle[Any, Any]:
    ids = [f"enrol-{n}" for n in range(3)]
    unpaid = [order_body(order_id, phone=None, product=ENROL) for order_id in ids]
    paid = {**order_body("enrol-paid", product=ENROL), "status": "paid"}
    await rec.import_orders(*unpaid, paid)
    job = await rec.backend("/v1/orders/enroll", {"product_id": ENROL[0]}, 202)
    handle = rec.handle(enrollment_workflow_id(job["id"]))
    await rec.result(handle)
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
    # No API starts this loop: the worker does, once, and it never ends. Started here with
    # two short runs, so that it continues as new within the recording.
    # Sorted last of the paths on purpose: ending the loop's next run cancels its activity,
    # and the time-skipping server stops skipping after such a completion.
    started = await rec.env.client.start_workflow(
        WebhookDelivery.run,
        WebhookDeliveryInput(poll=0.05, run_for=0.2, runs=2),
        id=webhook_delivery_id(rec.settings.temporal_task_queue),
        task_queue=rec.settings.temporal_task_queue,
    )
    first = rec.handle(started.id, started.result_run_id)

    async def continued() -> bool | None:
        status = (await first.describe()).status
        return True if status == WorkflowExecutionStatus.CONTINUED_AS_NEW else None

    await eventually(f"{first.id} continues as new", continued)
    await rec.terminate(rec.handle(first.id))
    return first
