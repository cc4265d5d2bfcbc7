"""Plain factory functions: a test says only what matters to it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from temporalio.client import Client, WorkflowHandle

from db.models import Email, HistoryEntry, Order
from db.session import Sessions
from settings import Settings
from timings import OrderTimings
from workflows.messages import OrderChaseInput, OrderChaseResult
from workflows.order_chase import OrderChase


async def make_order(sessions: Sessions, **overrides: Any) -> Order:
    now = datetime.now(UTC)
    fields: dict[str, Any] = {
        "id": f"o{uuid.uuid4().hex[:10]}",
        "product_id": "course-python",
        "product_name": "Python for analysts",
        "amount": Decimal("4900.00"),
        "currency": "RUB",
        "customer_name": "Anna Petrova",
        "customer_email": "anna@example.com",
        "phone": "+7 900 000-00-00",
        "language": "en",
        "status": "new",
        "paid_amount": Decimal(0),
        "created_at": now,
        "updated_at": now,
    }
    fields.update(overrides)
    order = Order(**fields)
    async with sessions() as session:
        session.add(order)
        await session.commit()
    return order


async def start_order_chase(
    client: Client, settings: Settings, order: Order, timings: OrderTimings | None = None, **kw: Any
) -> WorkflowHandle[OrderChase, OrderChaseResult]:
    """The order's chase as the backend starts it; `timings` replaces the settings' ones, `kw`
    sets the input's other fields (`max_history_events`, `resume`)."""
    return await client.start_workflow(
        OrderChase.run,
        OrderChaseInput(
            order_id=order.id,
            has_phone=order.phone is not None,
            timings=timings or settings.order_timings(),
            **kw,
        ),
        id=f"order-{order.id}",
        task_queue=settings.temporal_task_queue,
    )


async def load_order(sessions: Sessions, order_id: str) -> Order:
    async with sessions() as session:
        order = await session.get(Order, order_id)
        assert order is not None
        return order


async def outbox(sessions: Sessions, order_id: str) -> list[Email]:
    async with sessions() as session:
        rows = await session.scalars(
            select(Email).where(Email.order_id == order_id).order_by(Email.created_at, Email.kind)
        )
        return list(rows)


async def history(sessions: Sessions, order_id: str) -> list[HistoryEntry]:
    async with sessions() as session:
        rows = await session.scalars(
            select(HistoryEntry)
            .where(HistoryEntry.order_id == order_id)
            .order_by(HistoryEntry.at, HistoryEntry.id)
        )
        return list(rows)
