"""Orders the shop had before chaser: imported without chases, then enrolled by a job."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import uuid4

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api.deps import BackendDep, ClockDep, ContextDep, SessionDep, SettingsDep
from api.errors import Conflict, responses
from api.lookup import get_or_404
from api.schemas.common import from_row
from api.schemas.enrollments import (
    EnrollIn,
    EnrollmentOut,
    ImportedOrderIn,
    ImportIn,
    ImportOut,
)
from api.services.purchases import purchase_columns
from db.history import record
from db.models import Enrollment, Order
from workflows.enrollment import EnrollmentInput, EnrollmentJob, enrollment_workflow_id

router = APIRouter(tags=["enrollments"])

# What an imported closed order ends as, for the outcome reports.
_IMPORTED_ENDS = {"paid": ("positive", "paid"), "cancelled": ("negative", "cancelled")}


@router.post("/v1/orders/import", responses=responses(409))
async def import_orders(
    body: ImportIn, session: SessionDep, settings: SettingsDep, clock: ClockDep, _: BackendDep
) -> ImportOut:
    """Store up to 1,000 orders without chasing them; ids chaser knows already are left alone."""
    now = await clock()
    ids = [order.id for order in body.orders]
    known = set(await session.scalars(select(Order.id).where(Order.id.in_(ids))))
    new = [order for order in body.orders if order.id not in known]
    for order in new:
        session.add(_imported(order, settings.default_language, now))
    try:
        await session.flush()  # the orders first: their timeline lines refer to them
    except IntegrityError as error:
        raise Conflict("some of these orders were being imported meanwhile: post again") from error
    for order in new:
        record(session, order_id=order.id, at=now, actor="backend", kind="imported")
    await session.commit()
    return ImportOut(imported=len(new), already_known=[i for i in ids if i in known])


@router.post("/v1/orders/enroll", status_code=202)
async def enroll_orders(body: EnrollIn, ctx: ContextDep, _: BackendDep) -> EnrollmentOut:
    """Start an enrolment job: chases for the unpaid orders without one, batch by batch."""
    job = Enrollment(
        id=f"enr_{uuid4().hex[:16]}",
        product_id=body.product_id,
        created_before=body.created_before,
        order_status=body.status,
        state="running",
        found=0,
        started=0,
        skipped={},
        created_at=await ctx.clock(),
    )
    ctx.session.add(job)
    await ctx.session.commit()
    await ctx.temporal.start_workflow(
        EnrollmentJob.run,
        EnrollmentInput(
            enrollment_id=job.id,
            batch_size=ctx.settings.enroll_batch_size,
            pause=ctx.settings.enroll_batch_pause.total_seconds(),
        ),
        id=enrollment_workflow_id(job.id),
        task_queue=ctx.settings.temporal_task_queue,
    )
    return _enrollment_out(job)


@router.get("/v1/enrollments/{enrollment_id}", responses=responses(404))
async def get_enrollment(enrollment_id: str, session: SessionDep, _: BackendDep) -> EnrollmentOut:
    """A job's progress: found, started, skipped and why."""
    return _enrollment_out(await get_or_404(session, Enrollment, "enrollment", enrollment_id))


def _imported(order: ImportedOrderIn, default_language: str, now: datetime) -> Order:
    outcome, reason = _IMPORTED_ENDS.get(order.status, (None, None))
    return Order(
        id=order.id,
        **purchase_columns(order, default_language),
        amount=order.amount,
        status=order.status,
        paid_amount=order.amount if order.status == "paid" else Decimal(0),
        outcome=outcome,
        end_reason=reason,
        created_at=order.created_at or now,
        updated_at=now,
        ended_at=now if outcome else None,
    )


def _enrollment_out(job: Enrollment) -> EnrollmentOut:
    skipped = {reason: int(count) for reason, count in job.skipped.items()}
    return from_row(
        EnrollmentOut,
        job,
        status=job.order_status,
        skipped=skipped,
        processed=job.started + sum(skipped.values()),
    )
