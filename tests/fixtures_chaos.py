"""`make chaos` at CI size (tests/test_chaos.py), started in the background as the session
starts: it spends most of its ~90 s waiting on real timers (its payment window lasts 75 s at
least), time the rest of the suite fills. Registered in tests/conftest.py."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.databases import fresh_database

ROOT = Path(__file__).resolve().parent.parent
CHAOS_TEST = "tests/test_chaos.py"
ARGS = ("--orders", "40", "--kills", "3", "--temporal-restarts", "1", "--duration", "6")
TIMEOUT = 400.0  # seconds from the run's start
WANTED = pytest.StashKey[bool]()


@dataclass(frozen=True)
class ChaosRun:
    process: subprocess.Popen[bytes]
    output: Path
    started: float  # time.monotonic()

    def report(self) -> tuple[int, str]:
        """Its exit status and what it printed, once it has ended; after TIMEOUT it is stopped
        and fails with what it printed so far."""
        try:
            self.process.wait(timeout=max(0.0, self.started + TIMEOUT - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.process.terminate()  # the run stops the servers it started
            self.process.wait()
            raise AssertionError(self.text()) from None
        return self.process.returncode, self.text()

    def text(self) -> str:
        return self.output.read_bytes().decode(errors="replace")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    config.stash[WANTED] = any(item.nodeid.startswith(CHAOS_TEST) for item in items)


@pytest.fixture(scope="session", autouse=True)
def chaos_in_the_background(request: pytest.FixtureRequest) -> None:
    """Start the run with the session when its test is to run. Under pytest-xdist a worker
    runs only some of the tests: there the test starts the run itself."""
    if request.config.stash.get(WANTED, False) and "PYTEST_XDIST_WORKER" not in os.environ:
        request.getfixturevalue("chaos_run")


@pytest.fixture(scope="session")
def chaos_run(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChaosRun]:
    """On an empty database of the suite's kind (SQLite, or PostgreSQL in CI's second run) of
    its own, since the suite empties its database between tests meanwhile."""
    folder = tmp_path_factory.mktemp("chaos")
    output = folder / "output.txt"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "scripts.chaos", *ARGS]
            + ["--database-url", fresh_database(database_url, "chaos", folder)],
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    run = ChaosRun(process, output, time.monotonic())
    yield run
    if process.poll() is None:  # its test did not run (-x, a failure before it)
        process.terminate()
        process.wait()
