"""Reports for the backend (SPEC §3 lists): how chases ended per product, and the open tasks
by manager and kind."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from api.deps import BackendDep, SessionDep
from api.errors import Invalid
from api.schemas.common import Id
from api.schemas.reports import OpenTasks, OutcomesReport
from api.services import reports

router = APIRouter(prefix="/v1/reports", tags=["reports"])


@router.get("/outcomes")
async def outcomes(
    session: SessionDep,
    _: BackendDep,
    product_id: Annotated[Id | None, Query()] = None,
    created_from: Annotated[AwareDatetime | None, Query()] = None,
    created_before: Annotated[AwareDatetime | None, Query()] = None,
) -> OutcomesReport:
    """Orders created in [created_from, created_before), counted by how their chase ended;
    subscription periods that ended in that span (renewal conversion), and check-ins opened
    in it, counted by answer."""
    if created_from and created_before and created_from >= created_before:
        raise Invalid("created_from must be before created_before")
    return await reports.outcomes_report(
        session, reports.ReportFilter(product_id, created_from, created_before)
    )


@router.get("/open-tasks")
async def open_tasks(session: SessionDep, _: BackendDep) -> list[OpenTasks]:
    """Open tasks counted by assignee and kind, the pool (no assignee) first, oldest wait shown."""
    return await reports.open_task_lines(session)
