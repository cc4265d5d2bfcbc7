"""Recording: drive each path on one time-skipping server with the real worker, a fresh
SQLite database, an SMTP server on loopback and the API served over HTTP (with the path's
settings); save each history and check it replays."""

from __future__ import annotations

import asyncio
import secrets
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from pydantic import SecretStr
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from cli.history import history_to_json
from cli.replay import make_replayer
from db.migrate import upgrade
from db.session import make_engine, make_sessions
from scripts.devstack.mailbox import SmtpServer
from scripts.devstack.servers import cached_binary, free_port, serve_api
from scripts.devstack.walk import Walk
from scripts.histories.recording import (
    CHECKIN_PRODUCT,
    MANAGER,
    OFFICE_HOURS,
    OFFICE_MANAGER,
    SUCCESSOR,
    TASK_QUEUE,
    Recording,
)
from scripts.histories.registry import RecordedPath, say, shown
from settings import DefaultSettings
from temporal_client import register_search_attributes
from worker import build_worker, make_deps


@dataclass(frozen=True)
class Saved:
    path: RecordedPath
    file: Path
    events: int


async def record(paths: Sequence[RecordedPath], out: Path) -> list[Saved]:
    """Drive each path in turn on one time-skipping server and save its history."""
    out.mkdir(parents=True, exist_ok=True)
    saved: list[Saved] = []
    with tempfile.TemporaryDirectory(prefix="chaser-record-") as tmp:
        database_url = f"sqlite+aiosqlite:///{tmp}/chaser.db"
        await asyncio.to_thread(upgrade, database_url)
        engine = make_engine(database_url)
        smtp = SmtpServer(port=free_port())
        smtp.start()
        settings = DefaultSettings(
            database_url=database_url,
            data_dir=Path(tmp),
            email_backend="smtp",
            smtp_url=f"smtp://127.0.0.1:{smtp.port}",
            temporal_task_queue=TASK_QUEUE,
            public_base_url="http://chaser.test",
            # Recordings start at whatever hour the server's clock shows: calls go out around
            # the clock here, and `dial-after-hours` gives its manager office hours.
            holidays_country=None,
            working_hours="00:00-24:00",
            pool_hours="00:00-24:00",
            send_window="00:00-24:00",
            # What the check-in and enrolment paths need, on products only they order.
            checkin_after={CHECKIN_PRODUCT: 30.0},
            enroll_batch_size=2,
            enroll_batch_pause=timedelta(seconds=1),
            # Secrets of its own: the development ones are announced at every API start.
            backend_token=SecretStr(secrets.token_urlsafe(32)),
            pay_link_secret=SecretStr(secrets.token_urlsafe(32)),
            session_secret=SecretStr(secrets.token_urlsafe(32)),
            unsubscribe_secret=SecretStr(secrets.token_urlsafe(32)),
        )
        env = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=cached_binary("TEMPORAL_TEST_SERVER", "temporal-test-server"),
            test_server_startup_timeout=timedelta(seconds=60),
        )
        await register_search_attributes(env.client)
        try:
            deps = make_deps(settings, make_sessions(engine))
            managers: dict[str, dict[str, str]] = {}
            async with build_worker(env.client, deps, TASK_QUEUE):
                for path in paths:
                    # The API with the path's settings (a chase takes its timings from them).
                    path_settings = settings.model_copy(update=dict(path.settings))
                    app = create_app(path_settings, temporal=env.client, clock=env.get_current_time)
                    async with serve_api(app) as api:
                        walk = Walk(api, env, path_settings)
                        managers = managers or await _add_managers(walk)
                        walk.managers.update(managers)
                        rec = Recording(env, path_settings, smtp, walk)
                        saved.append(await _record_one(path, rec, out))
        finally:
            await env.shutdown()
            smtp.stop()
            await engine.dispose()
    return saved


async def _record_one(path: RecordedPath, rec: Recording, out: Path) -> Saved:
    started = time.monotonic()
    handle = await path.drive(rec)
    if path.finished:
        try:
            await rec.result(handle)
        except WorkflowFailureError:
            pass  # a workflow that fails is a path too; its history says so
    history = await handle.fetch_history()
    file = out / f"{path.name}.json"
    file.write_text(history_to_json(history), encoding="utf-8")
    # A recording that does not replay on the code that just made it is a bug: say so now.
    result = await make_replayer().replay_workflow(history, raise_on_replay_failure=False)
    if result.replay_failure is not None:
        raise RuntimeError(f"{file.name} does not replay: {result.replay_failure}")
    say(f"{shown(file)}: {len(history.events)} events ({time.monotonic() - started:.1f} s)")
    return Saved(path, file, len(history.events))


async def _add_managers(walk: Walk) -> dict[str, dict[str, str]]:
    """`POST /v1/managers` for the managers of the recordings' tasks; their auth headers."""
    await walk.manager(MANAGER, timezone="Europe/Moscow")
    await walk.manager(SUCCESSOR, timezone="Europe/Moscow")
    zone, hours = OFFICE_HOURS
    await walk.manager(OFFICE_MANAGER, timezone=zone, working_hours=hours)
    return walk.managers
