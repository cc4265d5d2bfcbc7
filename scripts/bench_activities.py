"""The worker's CPU for one chase's steps, measured one at a time: `make bench-activities`.
Prints figures, checks nothing.

    make bench-activities                                                  # SQLite
    make bench-activities ACTIVITY_ARGS="--database-url postgresql+psycopg://…/bench"

`make bench` runs the whole stack, where the server, the API and the worker share two cores
and single runs drift by a quarter. This measures the worker's own parts in one process on a
quiet loop, so that a change to one of them shows: the activities of a new chase and of a
paid order (the order_received email, finish_order, the thank-you), each called `--calls`
times through Temporal's ActivityEnvironment on a migrated database (an empty one) with a real
SMTP server on loopback (its own process); and a replay of each recorded history in REPLAYS
on the worker's sandbox, which is the workflow tasks' share. CPU is this process's, in
milliseconds per call: the median of `--rounds` rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from pydantic import SecretStr
from temporalio.client import WorkflowHistory
from temporalio.testing import ActivityEnvironment
from temporalio.worker import Replayer

from activities.emails import EmailActivities, OrderEmail
from activities.orders import OrderActivities, OrderEnd
from db.models import Order
from db.session import Sessions
from domain import OrderStatus, Outcome
from process_exit import exit_now
from scripts.chaos_stack import empty_database
from scripts.devstack.servers import free_port
from scripts.histories.registry import HISTORIES
from scripts.say import say
from settings import Settings
from worker import WORKFLOWS, make_deps, workflow_runner

# Two recorded chases that end paid: one soon after its first email, one after the cadence's.
REPLAYS = ("order-paid", "order-cadence-paid-between-objections")


async def new_orders(sessions: Sessions, count: int) -> list[str]:
    now = datetime.now(UTC)
    orders = [
        Order(
            id=f"bench-{uuid.uuid4().hex[:12]}",
            product_id="course",
            product_name="A course",
            amount=Decimal("4900.00"),
            currency="RUB",
            customer_name="Anna Petrova",
            customer_email="anna@example.com",
            phone="+7 900 000-00-00",
            language="en",
            status=OrderStatus.NEW,
            paid_amount=Decimal(0),
            created_at=now,
            updated_at=now,
        )
        for _ in range(count)
    ]
    async with sessions() as session:
        session.add_all(orders)
        await session.commit()
    return [order.id for order in orders]


@contextlib.contextmanager
def smtp_sink() -> Iterator[int]:
    """aiosmtpd in a process of its own, dropping every message: its CPU is not counted."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink"]
        + ["-l", f"127.0.0.1:{port}"]
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
                break
            if time.monotonic() > deadline:
                raise SystemExit("bench-activities: the SMTP server did not start")
            time.sleep(0.05)
        yield port
    finally:
        server.terminate()
        server.wait()


Step = Callable[[str], Awaitable[object]]


async def cpu_ms(step: Step, order_ids: Sequence[str]) -> float:
    """The process's CPU per call, over one call for each order."""
    started = time.process_time()
    for order_id in order_ids:
        await step(order_id)
    return (time.process_time() - started) * 1000 / len(order_ids)


def steps(sessions: Sessions, settings: Settings) -> dict[str, Step]:
    """A chase's activities, in its order: each step finds the rows the one before it left."""
    deps = make_deps(settings, sessions)
    orders = OrderActivities(sessions)
    emails = EmailActivities(sessions, deps.mailer, deps.templates, deps.mail)
    run = ActivityEnvironment().run

    def email(kind: str) -> Step:
        def send(order_id: str) -> Awaitable[object]:
            key = f"order-{order_id}:email:{kind}"
            return run(emails.send_order_email, OrderEmail(key, order_id, kind, datetime.now(UTC)))

        return send

    def finish(order_id: str) -> Awaitable[object]:
        at = datetime.now(UTC)
        end = OrderEnd(
            f"order-{order_id}:end:paid", order_id, OrderStatus.PAID, Outcome.POSITIVE, "paid", at
        )
        return run(orders.finish_order, end)

    return {
        "order_received email": email("order_received"),
        "finish_order (paid)": finish,
        "thank_you email": email("thank_you"),
    }


async def activities(url: str, calls: int, rounds: int, data: Path) -> dict[str, list[float]]:
    engine, sessions = await empty_database(url, "bench-activities")
    try:
        with smtp_sink() as smtp_port:
            settings = Settings(
                database_url=url,
                data_dir=data,
                email_backend="smtp",
                smtp_url=f"smtp://127.0.0.1:{smtp_port}",
                backend_token=SecretStr("bench"),
            )
            chase = steps(sessions, settings)
            for step in chase.values():  # connections, prepared statements, templates
                await cpu_ms(step, await new_orders(sessions, 5))
            figures: dict[str, list[float]] = {name: [] for name in chase}
            for _ in range(rounds):
                order_ids = await new_orders(sessions, calls)
                for name, step in chase.items():
                    figures[name].append(await cpu_ms(step, order_ids))
            return figures
    finally:
        await engine.dispose()


async def replays(times: int) -> dict[str, list[float]]:
    replayer = Replayer(workflows=list(WORKFLOWS), workflow_runner=workflow_runner())
    figures: dict[str, list[float]] = {}
    for name in REPLAYS:
        recorded = json.loads((HISTORIES / f"{name}.json").read_text())
        history = WorkflowHistory.from_json(f"bench-{name}", recorded)
        await replayer.replay_workflow(history)  # the worker validates each class once
        each = []
        for _ in range(times):
            started = time.process_time()
            await replayer.replay_workflow(history)
            each.append((time.process_time() - started) * 1000)
        figures[f"replay {name} ({len(history.events)} events)"] = each
    return figures


async def benchmark(url: str | None, calls: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="chaser-bench-activities-") as tmp:
        data = Path(tmp)
        database = url or f"sqlite+aiosqlite:///{tmp}/chaser.db"
        say(f"worker CPU per step, ms: median of {rounds} rounds (min – max)")
        say(f"  {calls} calls a round on {database.split(':')[0]}, SMTP on loopback")
        figures = await activities(database, calls, rounds, data)
        figures |= await replays(calls)
        for name, values in figures.items():
            say(
                f"  {name:58} {statistics.median(values):7.2f}"
                f"   ({min(values):.2f} – {max(values):.2f})"
            )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=100, help="calls a round (default 100)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (default 5)")
    parser.add_argument(
        "--database-url", help="the app's database, empty (default: a fresh SQLite file)"
    )
    args = parser.parse_args(argv)
    if args.calls < 1 or args.rounds < 1:
        parser.error("--calls and --rounds are at least 1")
    asyncio.run(benchmark(args.database_url, args.calls, args.rounds))
    return 0


if __name__ == "__main__":
    exit_now(main())
