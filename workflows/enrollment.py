"""An enrolment job, `enrollment-<id>`: chases for the orders a filter finds, in batches a pause
apart, so that ten thousand new chases do not starve the live ones of the worker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow

from workflows.activity_policy import WRITE_RETRY

with workflow.unsafe.imports_passed_through():
    from activities.enrollment import BatchDone, EnrollBatch, EnrollmentActivities

# One batch: a query and up to a thousand workflow starts, ten at a time.
BATCH_TIMEOUT = timedelta(minutes=5)
# Continue as new before the history grows long (a batch and a pause add about ten events).
BATCHES_PER_RUN = 200


@dataclass
class EnrollmentInput:
    enrollment_id: str
    batch_size: int
    pause: float  # seconds between batches (ENROLL_BATCH_PAUSE)
    counted: bool = False  # set when continuing as new: `found` is known already


def enrollment_workflow_id(enrollment_id: str) -> str:
    return f"enrollment-{enrollment_id}"


@workflow.defn
class EnrollmentJob:
    """Count what the filter finds, then start chases batch after batch until none is left."""

    @workflow.run
    async def run(self, input: EnrollmentInput) -> None:
        if not input.counted:
            await workflow.execute_activity_method(
                EnrollmentActivities.count_orders,
                EnrollBatch(input.enrollment_id, input.batch_size, workflow.now()),
                start_to_close_timeout=BATCH_TIMEOUT,
                retry_policy=WRITE_RETRY,
            )
        for _ in range(BATCHES_PER_RUN):
            done: BatchDone = await workflow.execute_activity_method(
                EnrollmentActivities.enroll_batch,
                EnrollBatch(input.enrollment_id, input.batch_size, workflow.now()),
                start_to_close_timeout=BATCH_TIMEOUT,
                retry_policy=WRITE_RETRY,
            )
            if done.processed < input.batch_size:
                await workflow.execute_activity_method(
                    EnrollmentActivities.finish_enrollment,
                    EnrollBatch(input.enrollment_id, input.batch_size, workflow.now()),
                    start_to_close_timeout=BATCH_TIMEOUT,
                    retry_policy=WRITE_RETRY,
                )
                return
            await workflow.sleep(input.pause)
        workflow.continue_as_new(
            EnrollmentInput(input.enrollment_id, input.batch_size, input.pause, counted=True)
        )
