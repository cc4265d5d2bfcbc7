"""Starting order chases: one function for the API and the enrolment job, and the job's batches.

The job's progress lives on its `enrollments` row, cursor included, and every batch moves the
cursor in the same transaction as its counts: a batch retried after a crash redoes only what
was not committed, and a chase started twice is the same chase (USE_EXISTING).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity
from temporalio.client import Client
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.rows import load
from db.history import record
from db.models import Enrollment, Order
from db.session import Sessions
from domain import CLOSED_STATUSES, order_workflow_id
from timings import OrderTimings
from workflows.messages import OrderChaseInput
from workflows.order_chase import OrderChase
from workflows.search_attributes import ORDER_AMOUNT, ORDER_STATUS, PRODUCT_ID

# Chases started side by side within a batch.
PARALLEL_STARTS = 10


async def start_chase(
    temporal: Client, order: Order, timings: OrderTimings, task_queue: str
) -> None:
    """Start `order-<id>`: a running chase is reused, an ended one is never started again."""
    try:
        await temporal.start_workflow(
            OrderChase.run,
            OrderChaseInput(order_id=order.id, has_phone=order.phone is not None, timings=timings),
            id=order_workflow_id(order.id),
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            # What the chase itself does not track; it upserts stage, status and assignee.
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(ORDER_STATUS, order.status),
                    SearchAttributePair(PRODUCT_ID, order.product_id),
                    SearchAttributePair(ORDER_AMOUNT, float(order.amount)),
                ]
            ),
        )
    except WorkflowAlreadyStartedError:
        pass


@dataclass
class EnrollBatch:
    enrollment_id: str
    size: int
    at: datetime


@dataclass
class BatchDone:
    processed: int  # orders looked at in this batch; 0 when the job has seen them all


class EnrollmentActivities:
    def __init__(
        self,
        sessions: Sessions,
        temporal: Client,
        # Settings.order_timings: product id, customer's zone, the day the chase starts.
        timings: Callable[[str, str | None, date], OrderTimings],
        task_queue: str,
    ) -> None:
        self.sessions = sessions
        self.temporal = temporal
        self.timings = timings
        self.task_queue = task_queue

    @activity.defn
    async def count_orders(self, batch: EnrollBatch) -> int:
        """How many orders the job's filter finds, for its progress."""
        async with self.sessions() as session, session.begin():
            job = await _load(session, batch.enrollment_id)
            query = _matching(job).with_only_columns(func.count())
            job.found = int(await session.scalar(query) or 0)
            return job.found

    @activity.defn
    async def enroll_batch(self, batch: EnrollBatch) -> BatchDone:
        """The next `size` orders after the job's cursor: chases started, or skipped and why."""
        async with self.sessions() as session, session.begin():
            job = await _load(session, batch.enrollment_id)
            query = _matching(job).order_by(Order.id).limit(batch.size)
            if job.cursor is not None:
                query = query.where(Order.id > job.cursor)
            orders = list(await session.scalars(query))
            to_start = [
                o for o in orders if o.status not in CLOSED_STATUSES and not o.chase_started
            ]
            gate = asyncio.Semaphore(PARALLEL_STARTS)

            async def start(order: Order) -> None:
                async with gate:
                    timings = self.timings(
                        order.product_id, order.customer_timezone, batch.at.date()
                    )
                    await start_chase(self.temporal, order, timings, self.task_queue)

            await asyncio.gather(*(start(order) for order in to_start))
            skipped = dict(job.skipped)
            for order in orders:
                if order.status in CLOSED_STATUSES:
                    skipped["closed"] = skipped.get("closed", 0) + 1
                elif order.chase_started:
                    skipped["already_chased"] = skipped.get("already_chased", 0) + 1
            for order in to_start:
                order.chase_started = True
                record(
                    session,
                    order_id=order.id,
                    at=batch.at,
                    actor="backend",
                    kind="enrolled",
                    enrollment_id=job.id,
                )
            job.skipped = skipped
            job.started += len(to_start)
            if orders:
                job.cursor = orders[-1].id
            return BatchDone(len(orders))

    @activity.defn
    async def finish_enrollment(self, batch: EnrollBatch) -> None:
        """The job has looked at every order its filter found."""
        async with self.sessions() as session, session.begin():
            job = await _load(session, batch.enrollment_id)
            job.state, job.finished_at = "done", batch.at


def _matching(job: Enrollment) -> Select[Order]:
    query = select(Order)
    if job.product_id is not None:
        query = query.where(Order.product_id == job.product_id)
    if job.created_before is not None:
        query = query.where(Order.created_at < job.created_before)
    if job.order_status is not None:
        query = query.where(Order.status == job.order_status)
    return query


async def _load(session: AsyncSession, enrollment_id: str) -> Enrollment:
    return await load(session, Enrollment, "enrolment", enrollment_id)
