"""Many open chases on one worker: `make bench-scale`. Prints figures, checks nothing.

    make bench-scale                                        # 10,000 chases, SQLite
    make bench-scale SCALE_ARGS="--chases 2000 --database-url postgresql+psycopg://…/chaser"

The stack as `make run` starts it (scripts/chaos_stack.py: dev server on a file in WAL mode,
`python worker.py`, the API under uvicorn). It starts `--chases` chases through the API with a
grace long enough to start them all first (`--grace`, default: the time the worker takes to
start them at WORKER_STARTS a second, up to each one's first email, plus a minute), then lets
every grace timer fire and waits until every chase's `take_order` task is open. Every `--every`
seconds it prints the worker's, the server's and the API's resident memory and how many tasks
are open. Then the start rate and the errors, and at the end the time until all tasks were
open, counted from the start and from the moment the last one was due.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, select

from db.migrate import upgrade
from db.models import Task
from db.session import Sessions, make_engine, make_sessions
from domain import TaskKind
from process_exit import exit_now
from scripts.benchmark import AUTH, DEV_SERVER_PRAGMAS, TOKEN, Timed, order_body
from scripts.chaos_stack import Process, Stack, StackConfig
from scripts.devstack.mailbox import SmtpServer
from scripts.devstack.servers import free_port
from scripts.say import say

# New chases a second the worker takes up to their first email on this 2-core machine (the API
# creates them faster): the default grace lets it start every chase before the first is due.
WORKER_STARTS = 10


def rss_mb(process: Process) -> float:
    """Resident memory of a running process (/proc/<pid>/status, VmRSS), in MB."""
    if process.pid is None:
        return float("nan")
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def open_take_order(sessions: Sessions) -> int:
    async with sessions() as session:
        query = select(func.count()).where(Task.kind == TaskKind.TAKE_ORDER)
        return int(await session.scalar(query) or 0)


async def sample(stack: Stack, sessions: Sessions, every: float, began: float) -> None:
    """One line every `every` seconds until cancelled."""
    say(f"{'s':>6} {'worker MB':>10} {'server MB':>10} {'API MB':>8} {'take_order tasks':>17}")
    while True:
        tasks = await open_take_order(sessions)
        say(
            f"{time.monotonic() - began:6.0f} {rss_mb(stack.worker):10.0f} "
            f"{rss_mb(stack.temporal):10.0f} {rss_mb(stack.api):8.0f} {tasks:17d}"
        )
        await asyncio.sleep(every)


async def start_chases(api: httpx.AsyncClient, chases: int, concurrency: int) -> tuple[Timed, int]:
    """POST every order, `concurrency` at a time; how long it took and how many failed."""
    gate = asyncio.Semaphore(concurrency)
    errors = 0
    latencies: list[float] = []

    async def one(i: int) -> None:
        nonlocal errors
        async with gate:
            started = time.perf_counter()
            try:
                response = await api.post("/v1/orders", json=order_body(i), headers=AUTH)
                if response.status_code >= 300:
                    errors += 1
            except httpx.HTTPError:
                errors += 1
            latencies.append(time.perf_counter() - started)

    began = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(chases)))
    return Timed(chases, time.perf_counter() - began, latencies), errors


async def scale(args: argparse.Namespace) -> None:
    grace = args.grace or args.chases / WORKER_STARTS + 60
    with tempfile.TemporaryDirectory(prefix="chaser-scale-") as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/chaser.db"
        await asyncio.to_thread(upgrade, url)
        engine = make_engine(url)
        sessions = make_sessions(engine)
        smtp = SmtpServer(port=free_port())
        smtp.start()
        stack = Stack(
            StackConfig(
                data_dir=Path(tmp),
                database_url=url,
                smtp_port=smtp.port,
                time_scale=1.0,
                backend_token=TOKEN,
                task_queue="bench-scale",
                temporal_args=DEV_SERVER_PRAGMAS,
                extra_env={"GRACE": str(grace)},
            )
        )
        say(
            f"chaser scale: {args.chases} chases, {args.concurrency} requests in flight, "
            f"grace {timedelta(seconds=round(grace))}, database {url.split(':')[0]}"
        )
        began = time.monotonic()
        sampler: asyncio.Task[None] | None = None
        try:
            await stack.start()
            await stack.worker_polling()
            sampler = asyncio.create_task(sample(stack, sessions, args.every, began))
            async with httpx.AsyncClient(base_url=stack.api_url, timeout=120) as api:
                started, errors = await start_chases(api, args.chases, args.concurrency)
            say(started.line("POST /v1/orders (chase started)", "orders"))
            say(f"errors: {errors}")
            # The last order's grace runs out `grace` seconds after it was created.
            last_due = time.monotonic() + grace
            created = args.chases - errors
            while (opened := await open_take_order(sessions)) < created:
                if time.monotonic() > last_due + 3600:
                    raise SystemExit(f"scale: {opened} of {created} tasks open an hour after due")
                await asyncio.sleep(1)
            all_open = time.monotonic()
        finally:
            if sampler is not None:
                sampler.cancel()
            await stack.stop()
            await engine.dispose()
            smtp.stop()
        say(
            f"all {created} take_order tasks open {all_open - began:.0f} s after the start, "
            f"{all_open - last_due:.0f} s after the last one was due"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--chases", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument(
        "--grace", type=float, help=f"seconds (default: chases / {WORKER_STARTS} + 60)"
    )
    parser.add_argument("--every", type=float, default=15.0, help="seconds between samples")
    parser.add_argument("--database-url", help="the app's database (default: a fresh SQLite)")
    args = parser.parse_args(argv)
    if args.chases < 1 or args.concurrency < 1:
        parser.error("--chases and --concurrency are at least 1")
    asyncio.run(scale(args))
    return 0


if __name__ == "__main__":
    exit_now(main())
