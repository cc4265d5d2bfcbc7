"""`/healthz` and `/readyz`, and an API and a worker started while Temporal is down."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from db.session import Sessions
from scripts.devstack.servers import dev_server, free_port, serve_api, temporal_cli
from scripts.devstack.walk import backend_auth
from settings import Settings
from tests.api.test_orders import order_body
from worker import serve


async def test_ready_with_the_database_temporal_and_a_worker(api: httpx.AsyncClient) -> None:
    assert (await api.get("/healthz")).json() == {"status": "ok", "temporal": "connected"}
    ready = await api.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "checks": {"database": "ok", "temporal": "ok", "worker": "ok"},
    }


async def test_not_ready_without_a_worker_on_the_task_queue(
    settings: Settings, sessions: Sessions, dev_env: WorkflowEnvironment
) -> None:
    async with serve_api(create_app(settings, temporal=dev_env.client)) as api:
        ready = await api.get("/readyz")
    assert ready.status_code == 503 and ready.headers["Retry-After"] == "5"
    assert ready.json()["checks"] == {
        "database": "ok",
        "temporal": "ok",
        "worker": f"no worker polling task queue {settings.temporal_task_queue!r}",
    }
    # The error shape every 503 has: one sentence of what is down.
    queue = settings.temporal_task_queue
    assert ready.json()["detail"] == f"worker: no worker polling task queue {queue!r}"


async def test_api_and_worker_start_while_temporal_is_down_and_connect_when_it_is_up(
    settings: Settings, sessions: Sessions, tmp_path: Path
) -> None:
    binary = temporal_cli()
    assert binary is not None
    port = free_port()
    settings = settings.model_copy(update={"temporal_address": f"127.0.0.1:{port}"})
    stop = asyncio.Event()
    worker = asyncio.create_task(serve(settings, stop))
    async with serve_api(create_app(settings)) as api:
        # Down: the process answers; what needs Temporal is 503 with a time to retry, at once.
        assert (await api.get("/healthz")).json() == {"status": "ok", "temporal": "connecting"}
        created = await api.post("/v1/orders", json=order_body(), headers=backend_auth(settings))
        assert created.status_code == 503, created.text
        assert created.headers["Retry-After"] == "5"
        assert created.json() == {"detail": "Temporal is not connected yet"}
        ready = await api.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["temporal"] == "not connected yet"
        assert not worker.done()

        async with dev_server(binary, tmp_path / "temporal.db", port):
            for _ in range(600):  # the API and the worker retry within 1, 2, 4... seconds
                if (await api.get("/readyz")).status_code == 200:
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError((await api.get("/readyz")).json())
            created = await api.post(
                "/v1/orders", json=order_body(), headers=backend_auth(settings)
            )
            assert created.status_code == 201, created.text
            stop.set()
            await worker
