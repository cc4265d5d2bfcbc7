"""Owed signals sent again: order and subscription events, task answers and pauses stored but
not yet heard.

The routes commit a fact before they signal it (api.services), so a process that dies in
between, or a Temporal that is down, leaves the row with an empty `signalled_at`. This loop,
run beside the API, finds such rows and delivers them; workflows ignore a second delivery
(events by id, answers by task, pauses by their row id), so a row delivered twice costs nothing.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from temporalio.client import Client

from api.deps import Clock
from api.errors import Unavailable
from api.services import answers, order_events, pauses, subscriptions
from db.models import OrderEvent, OrderPause, SubscriptionEvent, Task
from db.session import Sessions
from domain import TaskStatus
from settings import Settings

logger = logging.getLogger(__name__)

INTERVAL = 5.0
# A younger row still belongs to the request that is delivering it.
GRACE = timedelta(seconds=10)
BATCH = 100

Owed = TypeVar("Owed", OrderEvent, SubscriptionEvent, Task, OrderPause)


async def redeliver_owed(
    sessions: Sessions, temporal: Client, settings: Settings, clock: Clock
) -> int:
    """Deliver what is owed, oldest first; how many rows were delivered."""
    now = await clock()
    delivered = 0
    async with sessions() as session:
        for event in await _owed(session, OrderEvent, OrderEvent.received_at, now):
            await order_events.deliver(session, temporal, settings.temporal_task_queue, event, now)
            delivered += 1
        owed = await _owed(session, SubscriptionEvent, SubscriptionEvent.received_at, now)
        for subscription_event in owed:
            await subscriptions.deliver(session, temporal, settings, subscription_event, now)
            delivered += 1
        answered = Task.status == TaskStatus.ANSWERED
        for task in await _owed(session, Task, Task.answered_at, now, answered):
            await answers.deliver(session, temporal, task, now)
            delivered += 1
        for change in await _owed(session, OrderPause, OrderPause.at, now, oldest=OrderPause.id):
            await pauses.deliver(session, temporal, change, now)
            delivered += 1
    return delivered


async def _owed(
    session: AsyncSession,
    model: type[Owed],
    stored_at: InstrumentedAttribute[Any],
    now: datetime,
    *also: ColumnElement[bool],
    oldest: InstrumentedAttribute[Any] | None = None,
) -> list[Owed]:
    """A batch of `model`'s rows stored before the grace period, not signalled yet and
    matching `also`, in the order of `oldest` (by default when they were stored)."""
    query = (
        select(model)
        .where(*also, model.signalled_at.is_(None), stored_at < now - GRACE)
        .order_by(stored_at if oldest is None else oldest)
        .limit(BATCH)
    )
    return list(await session.scalars(query))


async def keep_redelivering(
    sessions: Sessions, temporal: Client, settings: Settings, clock: Clock
) -> None:
    """Forever, every few seconds; Temporal being down only postpones it."""
    while True:
        try:
            delivered = await redeliver_owed(sessions, temporal, settings, clock)
            if delivered:
                logger.info("redelivered %d owed events, answers and pauses", delivered)
        except Unavailable as error:
            logger.warning("redelivery postponed: %s", error)
        except Exception:
            logger.exception("redelivery failed; trying again")
        # A cancellation that a call on the way swallowed or turned into an error (caught
        # above) still ends the loop: the app's shutdown waits for it.
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise asyncio.CancelledError
        await asyncio.sleep(INTERVAL)
