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
from datetime import timedelta

from sqlalchemy import select
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


async def redeliver_owed(
    sessions: Sessions, temporal: Client, settings: Settings, clock: Clock
) -> int:
    """Deliver what is owed, oldest first; how many rows were delivered."""
    now = await clock()
    delivered = 0
    async with sessions() as session:
        events = list(
            await session.scalars(
                select(OrderEvent)
                .where(OrderEvent.signalled_at.is_(None), OrderEvent.received_at < now - GRACE)
                .order_by(OrderEvent.received_at)
                .limit(BATCH)
            )
        )
        for event in events:
            await order_events.deliver(session, temporal, settings.temporal_task_queue, event, now)
            delivered += 1
        subscription_events = list(
            await session.scalars(
                select(SubscriptionEvent)
                .where(
                    SubscriptionEvent.signalled_at.is_(None),
                    SubscriptionEvent.received_at < now - GRACE,
                )
                .order_by(SubscriptionEvent.received_at)
                .limit(BATCH)
            )
        )
        for subscription_event in subscription_events:
            await subscriptions.deliver(session, temporal, settings, subscription_event, now)
            delivered += 1
        tasks = list(
            await session.scalars(
                select(Task)
                .where(
                    Task.status == TaskStatus.ANSWERED,
                    Task.signalled_at.is_(None),
                    Task.answered_at < now - GRACE,
                )
                .order_by(Task.answered_at)
                .limit(BATCH)
            )
        )
        for task in tasks:
            await answers.deliver(session, temporal, task, now)
            delivered += 1
        changes = list(
            await session.scalars(
                select(OrderPause)
                .where(OrderPause.signalled_at.is_(None), OrderPause.at < now - GRACE)
                .order_by(OrderPause.id)
                .limit(BATCH)
            )
        )
        for change in changes:
            await pauses.deliver(session, temporal, change, now)
            delivered += 1
    return delivered


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
        await asyncio.sleep(INTERVAL)
