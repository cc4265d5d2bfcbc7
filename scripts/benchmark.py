"""Benchmark of the real stack against the bare-SDK floor, side by side on one Temporal server
in one run. It prints figures and checks nothing.

    make bench                                   # 300 orders, 20 requests in flight, SQLite
    make bench BENCH_ARGS="--orders 1000 --concurrency 50 --paced 25 --workers 2"
    .venv/bin/python -m scripts.benchmark --database-url postgresql+psycopg://…/chaser

The stack runs as `make run` starts it: Temporal's dev server on a file (WAL), the worker
(`python worker.py`) and the API under uvicorn, each its own process; emails go to a real SMTP
server on loopback, and a thank-you counts once that server accepted it. First, on the same
server, the floor: a bare SDK workflow of a chase's shape (start, one activity, wait for a
`paid` signal, one activity) with a plain worker in its own process (`scripts/bench_floor.py`).
Then chaser: orders in (`POST /v1/orders`) until every first email is delivered, a replay of the
running chases, then payments (`POST …/events`) until every thank-you is delivered — a burst at
`--concurrency` in flight, or `--paced N` payments a second. The durations are production's but
for a 15-minute grace, so between the two each chase only waits: what is measured is the work
at the edges.

Each process's CPU time comes from /proc, per order over each phase; activities'
schedule-to-start latency from the workers' SDK metrics (Prometheus).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from temporalio.client import Client, WorkflowHandle

from cli import replay as replaying
from db.models import Email
from db.session import Sessions
from process_exit import exit_now
from scripts.bench_floor import POLLING, FloorChase
from scripts.chaos_stack import WORKER_POLLING, Process, Stack, StackConfig, empty_database
from scripts.devstack.mailbox import SmtpServer
from scripts.devstack.servers import free_port
from scripts.say import say

TASK_QUEUE = "benchmark"
GRACE = timedelta(minutes=15)
FLOOR_QUEUE = "benchmark-floor"
TOKEN = "benchmark-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# `make run`'s dev server: its SQLite file in WAL mode, synced at checkpoints only.
DEV_SERVER_PRAGMAS = (
    "--sqlite-pragma",
    "journal_mode=wal",
    "--sqlite-pragma",
    "synchronous=normal",
)


@dataclass
class Timed:
    """A phase of requests: how many, its wall time, and each one's latency."""

    count: int
    seconds: float
    latencies: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else float("inf")

    def line(self, what: str, unit: str, note: str | None = None) -> str:
        return (
            f"{what:<36} {self.count:>6} in {self.seconds:6.2f} s = {self.rate:7.1f} {unit}/s   "
            f"{note or spread(self.latencies)}"
        )


def quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def spread(latencies: Sequence[float]) -> str:
    if not latencies:
        return "(none)"
    return (
        f"p50 {statistics.median(latencies) * 1000:6.0f} ms  "
        f"p95 {quantile(latencies, 0.95) * 1000:6.0f} ms  max {max(latencies) * 1000:6.0f} ms"
    )


async def in_parallel(
    count: int, concurrency: int, request: Callable[[int], Awaitable[None]]
) -> Timed:
    """`request(i)` for i in range(count), `concurrency` at a time; each one's own latency."""
    gate = asyncio.Semaphore(concurrency)
    return await _each_timed(count, request, lambda i: gate)


async def paced(count: int, per_second: float, request: Callable[[int], Awaitable[None]]) -> Timed:
    """`request(i)` started at `per_second` a second whatever the answers take."""
    began = time.perf_counter()

    @asynccontextmanager
    async def its_moment(i: int) -> AsyncIterator[None]:
        await asyncio.sleep(max(0.0, began + i / per_second - time.perf_counter()))
        yield

    return await _each_timed(count, request, its_moment)


async def _each_timed(
    count: int,
    request: Callable[[int], Awaitable[None]],
    turn: Callable[[int], AbstractAsyncContextManager[object]],
) -> Timed:
    """`request(i)` for i in range(count) at once, each inside its `turn(i)`, which it waits for
    untimed."""
    latencies: list[float] = []

    async def one(i: int) -> None:
        async with turn(i):
            started = time.perf_counter()
            await request(i)
            latencies.append(time.perf_counter() - started)

    began = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    return Timed(count, time.perf_counter() - began, latencies)


async def until(count: Callable[[], Awaitable[int]], target: int, timeout: float) -> float:
    """Seconds until `count()` reaches `target`, polled every 100 ms."""
    started = time.perf_counter()
    while (reached := await count()) < target:
        if time.perf_counter() - started > timeout:
            raise SystemExit(f"benchmark: stuck at {reached} of {target} after {timeout:.0f} s")
        await asyncio.sleep(0.1)
    return time.perf_counter() - started


# --- what the processes spent: CPU from /proc, activity latency from the SDK's metrics -------

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU of a running process so far (/proc/<pid>/stat, fields 14 and 15)."""
    if pid is None:
        return 0.0
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / TICKS


class CpuMeter:
    """CPU milliseconds per item each named process spent between `start()` and `stop()`."""

    def __init__(self, processes: dict[str, Process]) -> None:
        self.processes = processes
        self._before: dict[str, float] = {}

    def start(self) -> None:
        self._before = {name: cpu_seconds(p.pid) for name, p in self.processes.items()}

    def per_item(self, items: int) -> dict[str, float]:
        return {
            name: (cpu_seconds(p.pid) - self._before[name]) * 1000 / items
            for name, p in self.processes.items()
        }


SAMPLE = re.compile(r"^(?P<name>[a-z_]+)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$")


async def scrape(ports: Sequence[int]) -> dict[tuple[str, str], float]:
    """The workers' Prometheus samples, summed over workers and labels but `le`."""
    samples: dict[tuple[str, str], float] = {}
    async with httpx.AsyncClient(timeout=10) as http:
        for port in ports:
            text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
            for line in text.splitlines():
                match = SAMPLE.match(line)
                if match is None:
                    continue
                le = re.search(r'le="([^"]+)"', match["labels"] or "")
                key = (match["name"], le.group(1) if le else "")
                samples[key] = samples.get(key, 0.0) + float(match["value"])
    return samples


class ScheduleToStart:
    """Activity schedule-to-start latency over a phase, from the SDK's histogram."""

    METRIC = "temporal_activity_schedule_to_start_latency"

    def __init__(self, ports: Sequence[int]) -> None:
        self.ports = ports
        self._before: dict[float, float] = {}

    async def _buckets(self) -> dict[float, float]:
        samples = await scrape(self.ports)
        return {
            float(le): value
            for (name, le), value in samples.items()
            if name.startswith(self.METRIC) and name.endswith("_bucket")
        }

    async def start(self) -> None:
        self._before = await self._buckets()

    async def quantiles(self) -> tuple[float, float]:
        """The bucket bounds that hold the p50 and the p95 of the phase's activities."""
        after = await self._buckets()
        counts = sorted((le, value - self._before.get(le, 0.0)) for le, value in after.items())
        total = counts[-1][1] if counts else 0.0

        def bound(q: float) -> float:
            return next((le for le, cumulative in counts if cumulative >= q * total), float("nan"))

        return bound(0.5), bound(0.95)


async def executed_activities(ports: Sequence[int]) -> int:
    """How many activities the workers have finished (the SDK's execution latency count)."""
    samples = await scrape(ports)
    return int(
        sum(
            value
            for (name, _), value in samples.items()
            if "activity_execution_latency" in name and name.endswith("_count")
        )
    )


# --- one side's figures ---------------------------------------------------------------------


@dataclass
class Side:
    """What one side (the floor or chaser) measured."""

    starts: Timed
    first: list[float]  # start request → first activity done (chaser: first email delivered)
    events: Timed
    paid: list[float]  # payment request → last activity done (chaser: thank-you delivered)
    cpu_start: dict[str, float]  # ms of CPU per new chase, per process
    cpu_paid: dict[str, float]  # ms of CPU per paid order, per process
    s2s_start: tuple[float, float]
    s2s_paid: tuple[float, float]


@dataclass(frozen=True)
class Load:
    orders: int
    concurrency: int
    paced: float | None

    def send(self, request: Callable[[int], Awaitable[None]]) -> Awaitable[Timed]:
        if self.paced:
            return paced(self.orders, self.paced, request)
        return in_parallel(self.orders, self.concurrency, request)


async def run_floor(stack: Stack, floor: Process, port: int, load: Load) -> Side:
    """The floor's chases on the same server: started, first activity, paid, last activity."""
    client = await Client.connect(stack.temporal_address)
    cpu = CpuMeter({"server": stack.temporal, "worker": floor})
    s2s = ScheduleToStart([port])
    handles: dict[int, WorkflowHandle[FloorChase, list[float]]] = {}
    started_at: dict[int, float] = {}

    async def start(i: int) -> None:
        started_at[i] = time.time()
        handles[i] = await client.start_workflow(
            FloorChase.run, f"F-{i:06d}", id=f"floor-{i:06d}", task_queue=FLOOR_QUEUE
        )

    async def done() -> int:
        return await executed_activities([port])

    cpu.start()
    await s2s.start()
    starts = await in_parallel(load.orders, load.concurrency, start)
    await until(done, load.orders, 600)
    cpu_start, s2s_start = cpu.per_item(load.orders), await s2s.quantiles()
    say(starts.line("floor: start_workflow", "chases"))

    paid_at: dict[int, float] = {}

    async def pay(i: int) -> None:
        paid_at[i] = time.time()
        await handles[i].signal(FloorChase.pay)

    cpu.start()
    await s2s.start()
    events = await load.send(pay)
    await until(done, 2 * load.orders, 600)
    cpu_paid, s2s_paid = cpu.per_item(load.orders), await s2s.quantiles()
    say(events.line("floor: signal paid", "signals"))
    results = {i: await handle.result() for i, handle in handles.items()}
    first = [results[i][0] - started_at[i] for i in results]
    last = [results[i][1] - paid_at[i] for i in results]
    say(f"{'floor: paid → last activity done':<36} {'':>42}   {spread(last)}")
    return Side(starts, first, events, last, cpu_start, cpu_paid, s2s_start, s2s_paid)


def order_body(number: int) -> dict[str, object]:
    return {
        "id": f"B-{number:06d}",
        "product": {"id": "course-python", "name": "Python for analysts"},
        "amount": "4900.00",
        "currency": "RUB",
        "customer": {"name": "Anna Petrova", "email": f"anna{number}@example.com"},
    }


async def delivered(sessions: Sessions, kind: str) -> dict[str, float]:
    """Order id → when the SMTP server accepted its email of `kind` (epoch seconds)."""
    async with sessions() as session:
        rows = await session.execute(
            select(Email.order_id, Email.sent_at).where(Email.kind == kind, Email.status == "sent")
        )
        return {order_id: at.timestamp() for order_id, at in rows if order_id and at}


async def count_delivered(sessions: Sessions, kind: str) -> int:
    async with sessions() as session:
        query = select(func.count()).where(Email.kind == kind, Email.status == "sent")
        return int(await session.scalar(query) or 0)


async def run_chaser(
    stack: Stack, workers: Sequence[Process], ports: Sequence[int], sessions: Sessions, load: Load
) -> Side:
    processes = {"server": stack.temporal, "api": stack.api}
    processes |= {f"worker-{n + 1}" if n else "worker": w for n, w in enumerate(workers)}
    cpu = CpuMeter(processes)
    s2s = ScheduleToStart(ports)
    created_at: dict[str, float] = {}
    paid_at: dict[str, float] = {}

    async def measured(
        send: Callable[[], Awaitable[Timed]], what: str, unit: str, kind: str
    ) -> tuple[Timed, dict[str, float], tuple[float, float], dict[str, float]]:
        """A phase: its requests (their rate said), then until every order's `kind` email is
        sent; the CPU per order and the schedule-to-start quantiles over it, and when each
        email was sent."""
        cpu.start()
        await s2s.start()
        timed = await send()
        say(timed.line(what, unit))
        await until(lambda: count_delivered(sessions, kind), load.orders, 600)
        cpu_per_order, s2s_quantiles = cpu.per_item(load.orders), await s2s.quantiles()
        return timed, cpu_per_order, s2s_quantiles, await delivered(sessions, kind)

    async with httpx.AsyncClient(base_url=stack.api_url, timeout=120) as api:

        async def create(i: int) -> None:
            body = order_body(i)
            created_at[str(body["id"])] = time.time()
            (await api.post("/v1/orders", json=body, headers=AUTH)).raise_for_status()

        starts, cpu_start, s2s_start, emails = await measured(
            lambda: in_parallel(load.orders, load.concurrency, create),
            "POST /v1/orders (chase started)",
            "orders",
            "order_received",
        )
        first = [at - created_at[order] for order, at in emails.items()]
        say(f"{'created → order_received delivered':<36} {'':>42}   {spread(first)}")

        await replay_running(stack)

        async def pay(i: int) -> None:
            order = f"B-{i:06d}"
            paid_at[order] = time.time()
            response = await api.post(
                f"/v1/orders/{order}/events",
                json={"event_id": f"pay-{i}", "type": "paid"},
                headers=AUTH,
            )
            response.raise_for_status()

        events, cpu_paid, s2s_paid, thanks = await measured(
            lambda: load.send(pay), "POST …/events paid (signalled)", "events", "thank_you"
        )
        paid = [at - paid_at[order] for order, at in thanks.items()]
        # "sent" is the SMTP server's acceptance (Email.sent_at): the thank-you delivered.
        say(f"{'paid → thank_you email sent':<36} {'':>42}   {spread(paid)}")
    return Side(starts, first, events, paid, cpu_start, cpu_paid, s2s_start, s2s_paid)


async def replay_running(stack: Stack) -> None:
    """The dry run before a deploy, as `chaser replay --query` does it, over every chase."""
    client = await Client.connect(stack.temporal_address)
    query = f"WorkflowType='OrderChase' AND ExecutionStatus='Running' AND TaskQueue='{TASK_QUEUE}'"
    summary = await replaying.replay(replaying.by_query(client, query), replaying.make_replayer())
    replayed = Timed(len(summary.outcomes), summary.seconds)
    events = sum(outcome.events for outcome in summary.outcomes)
    note = f"{events} events, {len(summary.failed)} failed"
    say(replayed.line("replay of the running chases", "chases", note))


# --- the table ------------------------------------------------------------------------------


def table(floor: Side, chaser: Side, load: Load) -> list[str]:
    """One line per figure: the floor, chaser, and chaser as a share of the floor (1.0 = as
    good as the bare SDK; a rate divides chaser by the floor, a cost the floor by chaser)."""
    rows: list[tuple[str, float | None, float, bool]] = [
        ("start a chase: rate /s", floor.starts.rate, chaser.starts.rate, True),
        ("start a chase: p95 s", *p95s(floor.starts, chaser.starts), False),
        ("event in (paid): rate /s", floor.events.rate, chaser.events.rate, True),
        ("event in (paid): p95 s", *p95s(floor.events, chaser.events), False),
        ("paid → done/delivered: p50 s", p50(floor.paid), p50(chaser.paid), False),
        ("paid → done/delivered: p95 s", p95(floor.paid), p95(chaser.paid), False),
        ("start → first activity/email: p50 s", p50(floor.first), p50(chaser.first), False),
        ("start → first activity/email: p95 s", p95(floor.first), p95(chaser.first), False),
    ]
    workers = sorted(name for name in chaser.cpu_start if name.startswith("worker"))
    for phase, f_cpu, c_cpu in (
        ("new chase", floor.cpu_start, chaser.cpu_start),
        ("paid order", floor.cpu_paid, chaser.cpu_paid),
    ):
        rows.append(
            (f"worker CPU ms / {phase}", f_cpu["worker"], sum(c_cpu[w] for w in workers), False)
        )
        rows.append((f"server CPU ms / {phase}", f_cpu["server"], c_cpu["server"], False))
        rows.append((f"API CPU ms / {phase}", None, c_cpu["api"], False))
    for phase, f_s2s, c_s2s in (
        ("start", floor.s2s_start, chaser.s2s_start),
        ("paid", floor.s2s_paid, chaser.s2s_paid),
    ):
        rows.append((f"activity sched→start p50 s ({phase})", f_s2s[0], c_s2s[0], False))
        rows.append((f"activity sched→start p95 s ({phase})", f_s2s[1], c_s2s[1], False))
    how = f"{load.paced:g} payments/s" if load.paced else f"a burst at {load.concurrency} in flight"
    lines = [
        f"side by side ({load.orders} orders; payments {how}; ratio 1.0 = the floor):",
        f"  {'figure':<40} {'SDK floor':>10} {'chaser':>10} {'ratio':>7}",
    ]
    for what, f_value, c_value, higher_is_better in rows:
        ratio = "—"
        if f_value is not None and f_value > 0 and c_value > 0:
            ratio = f"{(c_value / f_value if higher_is_better else f_value / c_value):.2f}"
        shown = "—" if f_value is None else f"{f_value:.3f}"
        lines.append(f"  {what:<40} {shown:>10} {c_value:>10.3f} {ratio:>7}")
    return lines


def p95s(floor: Timed, chaser: Timed) -> tuple[float, float]:
    return p95(floor.latencies), p95(chaser.latencies)


def p50(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def p95(values: Sequence[float]) -> float:
    return quantile(values, 0.95) if values else float("nan")


# --- the run --------------------------------------------------------------------------------


async def benchmark(
    load: Load, database_url: str | None, workers: int, temporal_file: bool
) -> None:
    with tempfile.TemporaryDirectory(prefix="chaser-bench-") as tmp:
        data = Path(tmp)
        url = database_url or f"sqlite+aiosqlite:///{tmp}/chaser.db"
        engine, sessions = await empty_database(url, "benchmark")
        smtp = SmtpServer(port=free_port())
        smtp.start()
        ports = [free_port() for _ in range(workers)]
        stack = Stack(
            StackConfig(
                data_dir=data,
                database_url=url,
                smtp_port=smtp.port,
                time_scale=1.0,
                backend_token=TOKEN,
                task_queue=TASK_QUEUE,
                temporal_file=temporal_file,
                temporal_args=DEV_SERVER_PRAGMAS if temporal_file else (),
                worker_metrics_port=ports[0],
                # A phase's CPU is charged to its requests, so no chase may have other work
                # due inside one: the grace minute would end during the payments (creation,
                # first emails and the replay take longer than a minute) and the take-order
                # tasks it opens would count as the payments' cost.
                extra_env={"GRACE": str(GRACE.total_seconds())},
            )
        )
        floor_port = free_port()
        floor = Process(
            "floor-worker",
            [sys.executable, "-m", "scripts.bench_floor", "--address", stack.temporal_address]
            + ["--task-queue", FLOOR_QUEUE, "--metrics-port", str(floor_port)],
            stack.worker.env,
            data / "floor-worker.log",
        )
        more_workers = [
            Process(
                f"worker-{n + 1}",
                stack.worker.argv,
                stack.worker.env | {"WORKER_METRICS_PORT": str(port)},
                data / f"worker-{n + 1}.log",
            )
            for n, port in enumerate(ports[1:], start=1)
        ]
        say(
            f"chaser benchmark: {load.orders} orders, {load.concurrency} requests in flight, "
            f"{workers} worker process(es)"
        )
        say(
            f"  database {make_url(url).get_backend_name()}, Temporal dev server "
            f"{'on a file (WAL)' if temporal_file else 'in memory'}, SMTP on loopback, "
            f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
        )
        try:
            await stack.start_temporal()
            floor.start()
            await until(lambda: said(floor, POLLING), 1, 60)
            floor_side = await run_floor(stack, floor, floor_port, load)
            await floor.stop()  # idle from here, but out of the way all the same
            await stack.start_chaser()
            for worker in more_workers:
                worker.start()
            for worker in [stack.worker, *more_workers]:  # each serves its metrics by then
                await until(partial(said, worker, WORKER_POLLING), 1, 60)
            chaser_side = await run_chaser(
                stack, [stack.worker, *more_workers], ports, sessions, load
            )
            for line in table(floor_side, chaser_side, load):
                say(line)
        finally:
            for worker in more_workers:
                await worker.stop()
            await floor.stop()
            await stack.stop()
            await engine.dispose()
            smtp.stop()


async def said(process: Process, text: str) -> int:
    return int(process.has_said(text))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=300, help="how many orders (default 300)")
    parser.add_argument(
        "--concurrency", type=int, default=20, help="requests in flight (default 20)"
    )
    parser.add_argument(
        "--paced", type=float, metavar="N", help="N payments a second instead of a burst"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="chaser worker processes (default 1)"
    )
    parser.add_argument(
        "--temporal-in-memory",
        action="store_true",
        help="the dev server without a file (default: a SQLite file in WAL mode, as make run)",
    )
    parser.add_argument(
        "--database-url", help="the app's database (default: a fresh SQLite file); it is migrated"
    )
    args = parser.parse_args(argv)
    if args.orders < 1 or args.concurrency < 1 or args.workers < 1:
        parser.error("--orders, --concurrency and --workers are at least 1")
    if args.paced is not None and args.paced <= 0:
        parser.error("--paced is a positive rate")
    load = Load(args.orders, args.concurrency, args.paced)
    asyncio.run(benchmark(load, args.database_url, args.workers, not args.temporal_in_memory))
    return 0


if __name__ == "__main__":
    exit_now(main())
