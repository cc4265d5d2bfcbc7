"""Status writers run at once: a part payment's status change and the end of the chase
(found by `make chaos`, where the order ended `partially_paid` after its thank-you)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from temporalio.testing import ActivityEnvironment

from activities.orders import OrderActivities, OrderEnd, StatusChange
from db.models import HistoryEntry
from db.session import Sessions
from tests.factories import history, load_order, make_order

ROUNDS = 15


def status_lines(lines: list[HistoryEntry]) -> list[tuple[str, str]]:
    return [
        (line.detail["old"], line.detail["new"]) for line in lines if line.kind == "status_changed"
    ]


async def test_the_end_is_never_overwritten_by_a_status_written_at_the_same_time(
    sessions: Sessions,
) -> None:
    activities = OrderActivities(sessions)
    for round in range(ROUNDS):
        order = await make_order(sessions)
        now = datetime.now(UTC)
        part = StatusChange(f"part-{round}", order.id, "partially_paid", now)
        end = OrderEnd(f"end-{round}", order.id, "paid", "positive", "paid", now)
        await asyncio.gather(
            ActivityEnvironment().run(activities.set_status, part),
            ActivityEnvironment().run(activities.finish_order, end),
        )

        assert (await load_order(sessions, order.id)).status == "paid"
        # One chain of changes: each starts from the status the one before it left.
        changes = status_lines(await history(sessions, order.id))
        assert changes[-1][1] == "paid"
        assert [old for old, _ in changes] == ["new", *[new for _, new in changes[:-1]]]
