"""Benchmark of the real stack: how fast orders are taken, their first emails go out, payments
end their chases, and running chases replay. It prints figures and checks nothing.

    make bench                                   # 200 orders, 20 requests in flight, SQLite
    make bench BENCH_ARGS="--orders 1000 --concurrency 50"
    .venv/bin/python -m scripts.benchmark --database-url postgresql+psycopg://…/chaser

Everything is local and real: Temporal's dev server (the CLI `make` built), one worker with the
real activities, the API over HTTP, an SMTP server on loopback. The durations are production's,
so after its first email each chase waits (the grace minute, the first reminder) until it is
paid: what is measured is the work at the edges, not the waiting.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from cli import replay as replaying
from db.migrate import upgrade
from db.models import Email, Order, OrderEvent
from db.session import Sessions, make_engine, make_sessions
from process_exit import exit_now
from settings import DefaultSettings
from temporal_client import register_search_attributes
from tests.mailbox import SmtpServer
from tests.servers import free_port, serve_api, temporal_cli
from worker import build_worker, make_deps

TASK_QUEUE = "benchmark"
TOKEN = "benchmark-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Timed:
    """A phase: how many items, its wall time, and each item's latency where it has one."""

    count: int
    seconds: float
    latencies: list[float] = field(default_factory=list)

    def line(self, what: str, unit: str, note: str | None = None) -> str:
        rate = self.count / self.seconds if self.seconds else float("inf")
        return (
            f"{what:<36} {self.count:>6} in {self.seconds:6.2f} s = {rate:7.1f} {unit}/s   "
            f"{note or spread(self.latencies)}"
        )


def spread(latencies: Sequence[float]) -> str:
    if not latencies:
        return "(none)"
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"p50 {statistics.median(ordered) * 1000:6.0f} ms  p95 {p95 * 1000:6.0f} ms  "
        f"max {ordered[-1] * 1000:6.0f} ms"
    )


async def in_parallel(
    count: int, concurrency: int, request: Callable[[int], Awaitable[None]]
) -> Timed:
    """`request(i)` for i in range(count), `concurrency` at a time; each one's own latency."""
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def one(i: int) -> None:
        async with gate:
            started = time.perf_counter()
            await request(i)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    return Timed(count, time.perf_counter() - started, latencies)


async def until(count: Callable[[], Awaitable[int]], target: int, timeout: float) -> float:
    """Seconds until `count()` reaches `target`, polled every 50 ms."""
    started = time.perf_counter()
    while (reached := await count()) < target:
        if time.perf_counter() - started > timeout:
            raise SystemExit(f"benchmark: stuck at {reached} of {target} after {timeout:.0f} s")
        await asyncio.sleep(0.05)
    return time.perf_counter() - started


async def sent(sessions: Sessions, kind: str) -> int:
    async with sessions() as session:
        query = select(func.count()).where(Email.kind == kind, Email.status == "sent")
        return int(await session.scalar(query) or 0)


async def email_delays(sessions: Sessions, kind: str, since: str) -> list[float]:
    """Per order: from `since` (the order's creation, or its payment event) to the email sent."""
    async with sessions() as session:
        if since == "created":
            query = select(Email.sent_at, Order.created_at).join(Order, Email.order_id == Order.id)
        else:
            query = select(Email.sent_at, OrderEvent.received_at).join(
                OrderEvent, Email.order_id == OrderEvent.order_id
            )
        rows = await session.execute(query.where(Email.kind == kind, Email.status == "sent"))
        return [seconds(start, end) for end, start in rows if end is not None]


def seconds(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds()


def order_body(number: int) -> dict[str, object]:
    return {
        "id": f"B-{number:06d}",
        "product": {"id": "course-python", "name": "Python for analysts"},
        "amount": "4900.00",
        "currency": "RUB",
        "customer": {"name": "Anna Petrova", "email": f"anna{number}@example.com"},
    }


async def benchmark(orders: int, concurrency: int, database_url: str | None) -> None:
    with tempfile.TemporaryDirectory(prefix="chaser-bench-") as tmp:
        url = database_url or f"sqlite+aiosqlite:///{tmp}/chaser.db"
        await asyncio.to_thread(upgrade, url)
        engine = make_engine(url)
        sessions = make_sessions(engine)
        smtp = SmtpServer(port=free_port())
        smtp.start()
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=temporal_cli(), ui=False
        )
        await register_search_attributes(env.client)
        settings = DefaultSettings(
            database_url=url,
            data_dir=Path(tmp),
            email_backend="smtp",
            smtp_url=f"smtp://127.0.0.1:{smtp.port}",
            temporal_task_queue=TASK_QUEUE,
            backend_token=SecretStr(TOKEN),
        )
        try:
            async with sessions() as session:
                if await session.scalar(select(func.count()).select_from(Order)):
                    raise SystemExit(
                        "benchmark: the database already holds orders; give an empty one"
                    )
            worker = build_worker(env.client, make_deps(settings, sessions), TASK_QUEUE)
            app = create_app(settings, temporal=env.client)
            async with worker, serve_api(app) as api:
                api.timeout = httpx.Timeout(60)
                say(f"chaser benchmark: {orders} orders, {concurrency} requests in flight")
                say(
                    f"  database {make_url(url).get_backend_name()}, Temporal dev server, "
                    f"SMTP on loopback, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
                )
                await run_phases(api, env, sessions, orders, concurrency)
        finally:
            await env.shutdown()
            await engine.dispose()
            smtp.stop()


async def run_phases(
    api: httpx.AsyncClient,
    env: WorkflowEnvironment,
    sessions: Sessions,
    orders: int,
    concurrency: int,
) -> None:
    async def create(i: int) -> None:
        response = await api.post("/v1/orders", json=order_body(i), headers=AUTH)
        response.raise_for_status()

    created = await in_parallel(orders, concurrency, create)
    say(created.line("POST /v1/orders (chase started)", "orders"))
    await emails_after(sessions, created, "order_received", since="created")

    query = f"WorkflowType='OrderChase' AND ExecutionStatus='Running' AND TaskQueue='{TASK_QUEUE}'"

    async def listed() -> int:
        return await replaying.count(env.client, query) or 0

    # Visibility lags a little behind the starts: wait until it lists every chase.
    await until(listed, orders, 60)
    # The dry run before a deploy, as `chaser replay --query` does it.
    summary = await replaying.replay(
        replaying.by_query(env.client, query), replaying.make_replayer()
    )
    replayed = Timed(len(summary.outcomes), summary.seconds)
    events = sum(outcome.events for outcome in summary.outcomes)
    note = f"{events} events, {len(summary.failed)} failed"
    say(replayed.line("replay of the running chases", "chases", note))

    async def pay(i: int) -> None:
        response = await api.post(
            f"/v1/orders/B-{i:06d}/events",
            json={"event_id": f"pay-{i}", "type": "paid"},
            headers=AUTH,
        )
        response.raise_for_status()

    paid = await in_parallel(orders, concurrency, pay)
    say(paid.line("POST …/events paid (signalled)", "events"))
    await emails_after(sessions, paid, "thank_you", since="paid")


async def emails_after(sessions: Sessions, requests: Timed, kind: str, since: str) -> None:
    """Wait for the email each request leads to; how long after its request, and after them all."""
    everything = requests.seconds + await until(lambda: sent(sessions, kind), requests.count, 600)
    delays = spread(await email_delays(sessions, kind, since))
    say(f"{f'{since} → {kind} email sent':<36} {'':>6} {'':>35}   {delays}")
    say(f"{'  the last one sent after':<36} {everything:6.2f} s from the first request")


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=200, help="how many orders (default 200)")
    parser.add_argument(
        "--concurrency", type=int, default=20, help="requests in flight (default 20)"
    )
    parser.add_argument(
        "--database-url", help="the app's database (default: a fresh SQLite file); it is migrated"
    )
    args = parser.parse_args(argv)
    if args.orders < 1 or args.concurrency < 1:
        parser.error("--orders and --concurrency are at least 1")
    asyncio.run(benchmark(args.orders, args.concurrency, args.database_url))
    return 0


if __name__ == "__main__":
    exit_now(main())
