"""The inbox: my open tasks and the shared pool, oldest first, counted per kind; the list
refreshes itself (htmx polling) and says when a task shown a moment ago was taken."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import or_, select

from api.deps import SessionDep
from api.web.pages import ManagerUser, WebUser, page
from db.models import Order, Subscription, Task
from domain import TaskKind, TaskStatus
from workflows.tasks import TASK_KINDS

router = APIRouter(prefix="/app/tasks", include_in_schema=False)


@router.get("")
async def inbox(
    request: Request, user: ManagerUser, db: SessionDep, kind: str | None = None
) -> HTMLResponse:
    """The page; its list is the same fragment the polling fetches."""
    return page(request, user, "inbox.html", **await _list(db, user, _kind(kind), []))


@router.get("/list")
async def inbox_list(
    request: Request,
    user: ManagerUser,
    db: SessionDep,
    kind: str | None = None,
    shown: Annotated[str, Query(max_length=4000)] = "",
) -> HTMLResponse:
    """The list alone, for htmx: `shown` names the tasks the browser has on screen."""
    ids = [int(part) for part in shown.split(",") if part.isdigit()]
    return page(request, user, "_inbox_list.html", **await _list(db, user, _kind(kind), ids))


def _kind(kind: str | None) -> str | None:
    return kind if kind in TASK_KINDS else None


async def _list(
    db: SessionDep, user: WebUser, kind: str | None, shown: list[int]
) -> dict[str, object]:
    assert user.manager is not None
    me = user.manager.id
    visible = (
        Task.status == TaskStatus.OPEN,
        or_(Task.assignee_id == me, Task.assignee_id.is_(None)),
    )
    # A task is about an order or a subscription (the renewal call).
    rows = list(
        await db.execute(
            select(Task, Order, Subscription)
            .outerjoin(Order, Task.order_id == Order.id)
            .outerjoin(Subscription, Task.subscription_id == Subscription.id)
            .where(*visible, or_(Order.id.is_not(None), Subscription.id.is_not(None)))
            .order_by(Task.created_at, Task.id)
        )
    )
    counts = Counter(task.kind for task, _, _ in rows)
    tasks = [
        (task, order or subscription)
        for task, order, subscription in rows
        if kind is None or task.kind == kind
    ]
    on_screen = {task.id for task, _ in tasks}
    gone = [task_id for task_id in shown if task_id not in on_screen]
    notes = []
    for task in await db.scalars(select(Task).where(Task.id.in_(gone))) if gone else []:
        if task.answered_by == me or (task.status == TaskStatus.OPEN and task.assignee_id == me):
            continue  # my own answer, or filtered out: no news
        notes.append(task)
    return {
        "tasks": tasks,
        "counts": [(k.value, counts[k]) for k in TaskKind if counts[k]],
        "total": len(rows),
        "kind": kind,
        "notes": notes,
        "me": me,
        "shown": ",".join(str(task.id) for task, _ in tasks),
    }
