"""Chaos run of the real stack: a busy, hostile world against chaser, then every invariant.

    make chaos                                   # 200 orders, 10 kills, 1 Temporal restart
    make chaos CHAOS_ARGS="--orders 40 --kills 3 --database-url postgresql+psycopg://…/chaser"

Temporal's dev server (on a file), the worker and the API run as separate processes, as
`make run` starts them, with every duration scaled down so chases move (the payment window
lasts 3 × `--duration`, at least 75 s); emails go to an SMTP server inside this process. The
shop backend creates the orders (with and without phones) and posts payments, parts that add
up, cancels, new phones and duplicates, often at the same instant; robot managers answer their
tasks, two of them sometimes racing for one. Meanwhile the worker is killed with SIGKILL at
random moments and started again, and Temporal's server is restarted. Once every chase has
ended the run checks, from the database, the mailbox and Temporal, that nothing accepted was
lost and nothing was done twice, prints what it did and each invariant's count, and exits 1 if
one broke.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import secrets
import shutil
import signal
import tempfile
import time
from collections import Counter
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from temporalio.client import Client

from db.models import Email, HistoryEntry, Order, Task
from db.session import Sessions
from process_exit import exit_now
from scripts.chaos_checks import ALWAYS_RUNNING, CLOSED, Check, check
from scripts.chaos_facts import Delivery, EmailRow, Execution, Facts, OrderRow, TaskRow
from scripts.chaos_stack import (
    Disruptions,
    Stack,
    StackConfig,
    disrupt,
    empty_database,
    supervise_worker,
)
from scripts.chaos_world import Api, Backend, OrderSpec, Robots, make_orders
from scripts.devstack.mailbox import Mailbox, SmtpServer
from scripts.devstack.servers import free_port
from scripts.say import say

PAYMENT_WINDOW_DAYS = 30
# Activity timeouts and retries are not scaled: a kill -9 holds up every activity the worker
# had taken for their 60 s timeout. A payment window shorter than that is a world chaser
# never meets (it is 30 days), where a chase's first email outlasts the whole window.
SHORTEST_WINDOW = 75.0
# Broken cases printed per invariant; the count says how many there were.
SHOWN = 5
ORDER_ID = re.compile(r"\bC\d{5}\b")  # as make_orders names them


class TimedMailbox(Mailbox):
    """The SMTP server's mailbox, noting when each message arrived, by its Message-ID
    (`<outbox id@chaser>`). Called from the SMTP server's thread."""

    def __init__(self) -> None:
        super().__init__()
        self.deliveries: list[Delivery] = []

    def deliver(self, raw: bytes) -> None:
        received_at = time.time()
        super().deliver(raw)
        header = str(BytesHeaderParser().parsebytes(raw)["Message-ID"] or "")
        self.deliveries.append(Delivery(header.strip().strip("<>").split("@")[0], received_at))


@dataclass(frozen=True)
class Options:
    orders: int
    kills: int
    temporal_restarts: int
    managers: int
    duration: float
    time_scale: float
    settle: float
    database_url: str | None
    seed: int
    keep: bool


async def chaos(options: Options) -> int:
    rng = random.Random(options.seed)
    data_dir = Path(tempfile.mkdtemp(prefix="chaser-chaos-"))
    url = options.database_url or f"sqlite+aiosqlite:///{data_dir}/chaser.db"
    engine, sessions = await empty_database(url, "chaos")
    smtp = SmtpServer(port=free_port())
    mailbox = TimedMailbox()
    smtp.mailbox = mailbox
    smtp.start()
    token = secrets.token_urlsafe(32)
    stack = Stack(StackConfig(data_dir, url, smtp.port, options.time_scale, token))
    broken = 1
    try:
        window = PAYMENT_WINDOW_DAYS * 86_400 * options.time_scale
        say(
            f"chaos: {options.orders} orders, {options.kills} worker kills, "
            f"{options.temporal_restarts} Temporal restarts, {options.managers} robot managers, "
            f"seed {options.seed}"
        )
        say(
            f"  database {make_url(url).get_backend_name()}, time scale {options.time_scale:.3g} "
            f"(payment window {window:.0f} s), actions within {options.duration:.0f} s, "
            f"data in {data_dir}"
        )
        starting = time.monotonic()
        await stack.start()
        say(f"  stack up in {time.monotonic() - starting:.1f} s")
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        async with httpx.AsyncClient(base_url=stack.api_url, timeout=15, limits=limits) as http:
            api = Api(http)
            broken = await unleash(options, rng, stack, api, sessions, mailbox, token)
    finally:
        stopping = time.monotonic()
        await stack.stop()
        say(f"stack stopped in {time.monotonic() - stopping:.1f} s")
        smtp.stop()
        await engine.dispose()
        if broken or options.keep:
            say(f"logs and data kept in {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
    return 1 if broken else 0


async def unleash(
    options: Options,
    rng: random.Random,
    stack: Stack,
    api: Api,
    sessions: Sessions,
    mailbox: TimedMailbox,
    token: str,
) -> int:
    """The world and the disruptions at once, then the wait for quiet, then the checks."""
    robots = Robots(api, rng)
    await robots.register(token, options.managers)
    backend = Backend(api, token, act_within=options.duration / 2)
    orders = make_orders(options.orders, rng)
    disruptions = Disruptions()
    stop_robots, stop_supervisor = asyncio.Event(), asyncio.Event()
    began = time.monotonic()
    managing = asyncio.create_task(robots.run(stop_robots))
    supervising = asyncio.create_task(supervise_worker(stack, stop_supervisor, disruptions))
    try:
        await asyncio.gather(
            disrupt(
                stack, options.kills, options.temporal_restarts, options.duration, rng, disruptions
            ),
            *(backend.run(order) for order in orders),
        )
        acted = time.monotonic() - began
        client = await Client.connect(stack.temporal_address)
        quiet = await quiesce(sessions, client, options.settle)
        stop_robots.set()
        await managing
        stop_supervisor.set()
        await supervising
    finally:
        managing.cancel()
        supervising.cancel()
    settled = time.monotonic() - began
    facts = await gather_facts(sessions, client, mailbox, api)
    checks = check(api.calls, facts)

    say_what_was_done(orders, backend, robots, api, disruptions, acted)
    say_how_it_ended(facts, quiet, settled)
    return say_checks(checks, {order.id: order.plan for order in orders})


CHASES_RUNNING = f"ExecutionStatus='Running' AND WorkflowType!='{ALWAYS_RUNNING}'"


async def quiesce(sessions: Sessions, client: Client, timeout: float) -> bool:
    """Wait until every order has ended and no workflow runs (False: not within `timeout`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with sessions() as session:
            open_orders = await session.scalar(
                select(func.count()).select_from(Order).where(Order.status.not_in(CLOSED))
            )
        try:
            running = (await client.count_workflows(CHASES_RUNNING)).count
        except Exception:  # the server may still be warming up after its restart
            running = -1
        if open_orders == 0 and running == 0:
            return True
        await asyncio.sleep(1.0)
    return False


async def gather_facts(
    sessions: Sessions, client: Client, mailbox: TimedMailbox, api: Api
) -> Facts:
    async with sessions() as session:
        orders = {
            o.id: OrderRow(
                o.id,
                o.status,
                o.amount,
                o.paid_amount,
                o.assignee_id,
                o.ended_at.timestamp() if o.ended_at else None,
            )
            for o in await session.scalars(select(Order))
        }
        tasks = {
            t.id: TaskRow(t.id, t.order_id, t.kind, t.status, t.answered_by)
            for t in await session.scalars(select(Task).where(Task.order_id.is_not(None)))
            if t.order_id is not None
        }
        answer_lines: dict[int, list[str]] = {}
        lines = await session.scalars(
            select(HistoryEntry)
            .where(HistoryEntry.kind.in_(("task_answered", "call_result")))
            .order_by(HistoryEntry.id)
        )
        for line in lines:
            answer_lines.setdefault(int(line.detail["task_id"]), []).append(line.actor)
        emails = {
            e.id: EmailRow(e.id, e.key, e.order_id, e.kind, e.status)
            for e in await session.scalars(select(Email).where(Email.order_id.is_not(None)))
            if e.order_id is not None
        }
    executions = [
        Execution(w.id, w.workflow_type, w.status.name if w.status else "UNKNOWN")
        async for w in client.list_workflows()
    ]
    return Facts(
        orders=orders,
        tasks=tasks,
        answer_lines=answer_lines,
        emails=emails,
        deliveries=list(mailbox.deliveries),
        executions=executions,
        server_errors=list(api.server_errors),
        responses=sum(api.statuses.values()),
    )


# --- the report -----------------------------------------------------------------------


def say_what_was_done(
    orders: list[OrderSpec],
    backend: Backend,
    robots: Robots,
    api: Api,
    done: Disruptions,
    acted: float,
) -> None:
    phones = sum(order.phone is not None for order in orders)
    creates = sum(call.what == "create" for call in api.calls)
    say(
        f"did: {len(orders)} orders ({phones} with a phone), {creates - len(orders)} posted "
        f"twice at once; actions over {acted:.1f} s"
    )
    plans = Counter(order.plan for order in orders)
    say("  plans: " + ", ".join(f"{n} {name}" for name, n in sorted(plans.items())))
    for what in ("paid", "partially_paid", "cancelled", "phone_changed", "answer"):
        calls = [call for call in api.calls if call.what == what]
        statuses = Counter(call.status for call in calls)
        answers = ", ".join(f"{status or 'none'}: {n}" for status, n in sorted(statuses.items()))
        say(f"  {what:<15} {len(calls):>5} posted ({answers})")
    say(f"  pool tasks answered by two robots at once: {robots.raced}")
    tally = ", ".join(f"{status}: {n}" for status, n in sorted(api.statuses.items()))
    say(f"  HTTP answers {sum(api.statuses.values())} ({tally}); lost connections {api.lost}")
    kills = ", ".join(f"{at:g}" for at in done.kills)
    restarts = ", ".join(f"{at:g} s (down {down:g} s)" for at, down in done.temporal_restarts)
    say(f"  worker kill -9 at {kills or '-'} s; Temporal restarted at {restarts or '-'}")
    say(f"  worker exited by itself and was started again: {done.worker_exits}")


def say_how_it_ended(facts: Facts, quiet: bool, settled: float) -> None:
    state = "quiet" if quiet else "NOT quiet"
    statuses = Counter(order.status for order in facts.orders.values())
    runs = Counter(execution.status.lower() for execution in facts.executions)
    say(
        f"ended: {state} after {settled:.1f} s; orders "
        + ", ".join(f"{status} {n}" for status, n in sorted(statuses.items()))
        + "; workflows "
        + ", ".join(f"{status} {n}" for status, n in sorted(runs.items()))
    )
    delivered: dict[str, str] = {}
    for delivery in facts.deliveries:
        email = facts.emails.get(delivery.message_id)
        delivered[delivery.message_id] = email.kind if email else "unknown"
    kinds = Counter(delivered.values())
    say(
        f"  emails delivered {len(delivered)}: "
        + ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items()))
    )
    say(
        "  the same message delivered again (cut off between the send and its record): "
        f"{len(facts.deliveries) - len(delivered)}"
    )


def say_checks(checks: list[Check], plans: dict[str, str]) -> int:
    say(f"{'invariant':<68} {'checked':>7} {'broken':>6}")
    for result in checks:
        say(f"  {result.name:<66} {result.checked:>7} {len(result.broken):>6}")
    broken = [result for result in checks if result.broken]
    for result in broken:
        say(f"BROKEN: {result.name}")
        for case in result.broken[:SHOWN]:
            order = ORDER_ID.search(case)
            plan = plans.get(order.group(0)) if order else None
            say(f"    {case}" + (f"  [plan {plan}]" if plan else ""))
        if len(result.broken) > SHOWN:
            say(f"    … and {len(result.broken) - SHOWN} more")
    total = sum(len(result.broken) for result in checks)
    say(f"broken invariants: {len(broken)} ({total} cases)")
    return total


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=200, help="how many orders (200)")
    parser.add_argument("--kills", type=int, default=10, help="worker kill -9s (10)")
    parser.add_argument(
        "--temporal-restarts", type=int, default=1, help="Temporal server restarts (1)"
    )
    parser.add_argument("--managers", type=int, default=3, help="robot managers (3)")
    parser.add_argument(
        "--duration",
        type=float,
        help="seconds over which orders, events and disruptions happen (default: 15 s, "
        "plus 0.1 s an order past 150)",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        help="CHASER_TIME_SCALE (default: the 30-day payment window lasts 3 × duration, "
        "at least 75 s)",
    )
    parser.add_argument(
        "--settle",
        type=float,
        help="longest wait for every chase to end (default: the payment window + 120 s)",
    )
    parser.add_argument(
        "--database-url", help="the app's database, empty (default: a fresh SQLite file)"
    )
    parser.add_argument("--seed", type=int, help="random seed (default: a new one, printed)")
    parser.add_argument(
        "--keep", action="store_true", help="keep the data and logs (always kept when broken)"
    )
    args = parser.parse_args(argv)
    if args.orders < 1 or args.kills < 0 or args.temporal_restarts < 0 or args.managers < 1:
        parser.error("--orders and --managers are at least 1, --kills and restarts at least 0")
    duration = args.duration or 15 + max(0, args.orders - 150) * 0.1
    window = max(3 * duration, SHORTEST_WINDOW)
    time_scale = args.time_scale or window / (PAYMENT_WINDOW_DAYS * 86_400)
    window = PAYMENT_WINDOW_DAYS * 86_400 * time_scale
    options = Options(
        orders=args.orders,
        kills=args.kills,
        temporal_restarts=args.temporal_restarts,
        managers=args.managers,
        duration=duration,
        time_scale=time_scale,
        settle=args.settle or window + 120,
        database_url=args.database_url,
        seed=args.seed if args.seed is not None else random.randrange(1_000_000),
        keep=args.keep,
    )
    return asyncio.run(stoppable(chaos(options)))


async def stoppable(run: Coroutine[Any, Any, int]) -> int:
    """SIGTERM (a test's timeout, a CI job cancelled) cancels the run, so that its `finally`
    stops the servers it started rather than leaving them behind."""
    task = asyncio.create_task(run)
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await task
    except asyncio.CancelledError:
        say("chaos: stopped by SIGTERM")
        return 2


if __name__ == "__main__":
    exit_now(main())
