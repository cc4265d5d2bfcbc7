"""The stack `make chaos` runs, as separate processes the way `make run` starts them: Temporal's
dev server on a file, the worker (`python worker.py`) and the API under uvicorn. Every process
can be killed or stopped and started again with the same command, ports and files."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from db.migrate import upgrade
from db.models import Order
from db.session import Sessions, make_engine, make_sessions
from scripts.devstack.servers import free_port, temporal_cli
from settings import Settings
from temporal_client import register_search_attributes

ROOT = Path(__file__).resolve().parent.parent
# What worker.py logs once it is connected and about to poll.
WORKER_POLLING = "worker polling"


class Process:
    """One child process, its output appended to a log file; started again on the same argv."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.log = log
        self.starts = 0
        self._popen: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None
        self._ending = False
        self._log_offset = 0  # where the output of the process started last begins

    def start(self) -> None:
        self._log_file = self.log.open("ab")
        self._log_file.write(f"--- {self.name} start {self.starts + 1} at {_now()}\n".encode())
        self._log_file.flush()
        self._log_offset = self._log_file.tell()
        # A session of its own: a Ctrl-C in the terminal reaches the harness, which stops us.
        self._popen = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=self.env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.starts += 1

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen is not None else None

    @property
    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def exited_by_itself(self) -> bool:
        """Started, not being stopped by us, and gone."""
        return not self._ending and self._popen is not None and self._popen.poll() is not None

    async def kill(self) -> None:
        """kill -9: no shutdown, no flush; whatever it was doing is cut off."""
        await self._end(signal.SIGKILL)

    async def stop(self) -> None:
        """SIGTERM and wait (kill -9 after 20 s)."""
        await self._end(signal.SIGTERM)

    async def _end(self, signum: int) -> None:
        popen = self._popen
        if popen is None:
            return
        self._ending = True
        try:
            if popen.poll() is None:
                if self._log_file is not None:
                    how = "kill -9" if signum == signal.SIGKILL else "stop"
                    self._log_file.write(f"--- {self.name} {how} at {_now()}\n".encode())
                    self._log_file.flush()
                popen.send_signal(signum)
                try:
                    await asyncio.to_thread(popen.wait, 20)
                except subprocess.TimeoutExpired:
                    popen.kill()
                    await asyncio.to_thread(popen.wait)
        finally:
            self._ending = False
        self._popen = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def has_said(self, text: str) -> bool:
        """Whether the process started last has written `text` to its log."""
        with self.log.open("rb") as log:
            log.seek(self._log_offset)
            return text.encode() in log.read()

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


async def _until(
    ready: Callable[[], Awaitable[bool]], process: Process, name: str, state: str, timeout: float
) -> None:
    """Polls `ready()` every 0.2 s; the run stops if `process` exits or `timeout` passes first."""
    deadline = time.monotonic() + timeout
    while not await ready():
        if not process.running:
            raise SystemExit(f"chaos: {name} exited\n{process.tail()}")
        if time.monotonic() > deadline:
            raise SystemExit(f"chaos: {name} not {state} after {timeout:.0f} s")
        await asyncio.sleep(0.2)


async def empty_database(url: str, run: str) -> tuple[AsyncEngine, Sessions]:
    """The database at `url` brought to the newest schema; `run` stops if it holds orders."""
    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    sessions = make_sessions(engine)
    async with sessions() as session:
        if await session.scalar(select(func.count()).select_from(Order)):
            raise SystemExit(f"{run}: the database already holds orders; give an empty one")
    return engine, sessions


def _now() -> str:
    return datetime.now().isoformat(sep=" ", timespec="milliseconds")


@dataclass(frozen=True)
class StackConfig:
    data_dir: Path
    database_url: str
    smtp_port: int
    time_scale: float
    backend_token: str
    task_queue: str = "chaos"
    # Temporal's history in data_dir/temporal.db (as `make run`), else in memory.
    temporal_file: bool = True
    temporal_args: tuple[str, ...] = ()  # more `temporal server start-dev` flags
    worker_metrics_port: int | None = None  # the worker's SDK metrics for Prometheus
    extra_env: Mapping[str, str] = field(default_factory=dict)  # settings for worker and API


class Stack:
    """Temporal's dev server, the worker and the API, on free ports and files in `data_dir`."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.temporal_port = free_port()
        self.api_port = free_port()
        self.temporal_address = f"127.0.0.1:{self.temporal_port}"
        self.api_url = f"http://127.0.0.1:{self.api_port}"
        cli = temporal_cli()
        if cli is None:
            raise SystemExit("chaos: no Temporal CLI; `make setup` builds it")
        env = self._env()
        logs = config.data_dir
        history = ["--db-filename", str(logs / "temporal.db")] if config.temporal_file else []
        self.temporal = Process(
            "temporal",
            [
                cli,
                "server",
                "start-dev",
                *history,
                *config.temporal_args,
                "--ip",
                "127.0.0.1",
                "--port",
                str(self.temporal_port),
                "--http-port",
                str(free_port()),
                "--metrics-port",
                str(free_port()),
                "--headless",
                "--log-level",
                "error",
            ],
            env,
            logs / "temporal.log",
        )
        self.worker = Process("worker", [sys.executable, "worker.py"], env, logs / "worker.log")
        self.api = Process(
            "api",
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "api.main:app_from_env",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.api_port),
                "--log-level",
                "warning",
            ],
            env,
            logs / "api.log",
        )

    def _env(self) -> dict[str, str]:
        """The caller's environment without any chaser setting, then ours: a developer's
        GRACE or EMAIL_BACKEND in the shell must not change what is tested."""
        ours = {name.upper() for name in Settings.model_fields}
        env = {key: value for key, value in os.environ.items() if key.upper() not in ours}
        c = self.config
        env.update(
            TEMPORAL_ADDRESS=self.temporal_address,
            TEMPORAL_TASK_QUEUE=c.task_queue,
            DATABASE_URL=c.database_url,
            DATA_DIR=str(c.data_dir),
            EMAIL_BACKEND="smtp",
            SMTP_URL=f"smtp://127.0.0.1:{c.smtp_port}",
            PUBLIC_BASE_URL=self.api_url,
            BACKEND_TOKEN=c.backend_token,
            PAY_LINK_SECRET=c.backend_token + "-pay-links",
            CHASER_TIME_SCALE=repr(c.time_scale),
        )
        env.update(c.extra_env)
        if c.worker_metrics_port is not None:
            env["WORKER_METRICS_PORT"] = str(c.worker_metrics_port)
        return env

    async def start(self) -> None:
        await self.start_temporal()
        await self.start_chaser()

    async def start_chaser(self) -> None:
        """Once Temporal serves: the worker and the API."""
        # As `make run` does: the chases' search attributes, kept in the server's file.
        await register_search_attributes(await Client.connect(self.temporal_address))
        self.worker.start()
        self.api.start()
        await self._api_ready()

    async def start_temporal(self, timeout: float = 60) -> None:
        self.temporal.start()

        async def serving() -> bool:
            try:
                client = await Client.connect(self.temporal_address)
                return await client.service_client.check_health()
            except Exception:  # connection refused while it starts: try again
                return False

        await _until(serving, self.temporal, "Temporal's dev server", "serving", timeout)

    async def _api_ready(self, timeout: float = 60) -> None:
        async with httpx.AsyncClient(base_url=self.api_url, timeout=5) as http:

            async def healthy() -> bool:
                try:
                    return (await http.get("/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            await _until(healthy, self.api, "the API", "healthy", timeout)

    async def worker_polling(self, timeout: float = 60) -> None:
        """Until the worker started last says it polls (worker.py logs it once connected),
        or `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.worker.has_said(WORKER_POLLING):
            await asyncio.sleep(0.1)

    async def stop(self) -> None:
        """API and worker first, so that the Temporal server outlives its clients."""
        for process in (self.api, self.worker, self.temporal):
            await process.stop()


@dataclass
class Disruptions:
    """What was done to the stack, in seconds from the start of the chaos."""

    kills: list[float] = field(default_factory=list)
    temporal_restarts: list[tuple[float, float]] = field(default_factory=list)  # (at, down for)
    worker_exits: int = 0  # the worker left by itself and was started again


async def disrupt(
    stack: Stack,
    kills: int,
    temporal_restarts: int,
    within: float,
    rng: random.Random,
    done: Disruptions,
) -> None:
    """Kill -9 the worker and restart Temporal's dev server, side by side."""
    began = time.monotonic()
    await asyncio.gather(
        _kill_worker(stack, kills, within, rng, done, began),
        _restart_temporal(stack, temporal_restarts, within, rng, done, began),
    )


async def _kill_worker(
    stack: Stack, kills: int, within: float, rng: random.Random, done: Disruptions, began: float
) -> None:
    """`kill -9` the worker `kills` times, each at a random moment once it polls again (a
    worker killed while it is still importing cuts nothing off), then start it again after a
    pause of up to 1.5 s."""
    gap = within / (kills + 1)
    for _ in range(kills):
        await stack.worker_polling()
        await asyncio.sleep(rng.uniform(0.2, 2 * gap))
        await stack.worker.kill()
        done.kills.append(round(time.monotonic() - began, 1))
        await asyncio.sleep(rng.uniform(0, 1.5))
        stack.worker.start()


async def _restart_temporal(
    stack: Stack,
    restarts: int,
    within: float,
    rng: random.Random,
    done: Disruptions,
    began: float,
) -> None:
    """Stop the dev server (SIGTERM) and start it again on the same file and port."""
    for at in sorted(rng.uniform(0.2, 0.8) * within for _ in range(restarts)):
        await asyncio.sleep(max(0.0, at - (time.monotonic() - began)))
        stopped = time.monotonic()
        await stack.temporal.stop()
        await asyncio.sleep(rng.uniform(0.5, 2.0))
        await stack.start_temporal()
        done.temporal_restarts.append(
            (round(stopped - began, 1), round(time.monotonic() - stopped, 1))
        )


async def supervise_worker(stack: Stack, stop: asyncio.Event, done: Disruptions) -> None:
    """A worker that exits by itself (say, started while Temporal was down) is started again,
    as a process manager would; how often that happened is reported."""
    while not stop.is_set():
        if stack.worker.exited_by_itself():
            done.worker_exits += 1
            await asyncio.sleep(1.0)
            if stack.worker.exited_by_itself():
                await stack.worker.stop()
                stack.worker.start()
        await asyncio.sleep(0.3)
