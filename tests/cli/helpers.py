"""Run the `chaser` CLI as an engineer does: a separate process, its output and exit status."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

ROOT = Path(__file__).resolve().parent.parent.parent


@dataclass(frozen=True)
class Run:
    status: int
    out: str
    err: str


async def chaser(*args: str, env: dict[str, str] | None = None) -> Run:
    """`python -m cli ARGS`, awaited without blocking the loop the test's worker runs on."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli",
        *args,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode())


def address(env: WorkflowEnvironment) -> str:
    return env.client.service_client.config.target_host


async def visible(client: Client, query: str, count: int, timeout: float = 15) -> None:
    """Wait until the server's visibility store lists `count` workflows for `query`."""
    deadline = time.monotonic() + timeout
    while (found := (await client.count_workflows(query)).count) != count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{query!r} lists {found} workflows, expected {count}")
        await asyncio.sleep(0.1)
