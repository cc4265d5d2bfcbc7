"""Replay workflow histories against the workflow code on disk and say which ones no longer fit."""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from temporalio.client import Client, WorkflowHistory
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.service import RPCError
from temporalio.worker import Replayer

from cli.history import fetch_history, history_from_file, workflow_type_of

# Histories fetched ahead of the replay: the server round trips overlap with replaying.
FETCH_WINDOW = 8


@dataclass(frozen=True)
class Loaded:
    """One history to replay, or why it could not be had."""

    source: str  # a file path or a workflow id
    history: WorkflowHistory | None
    error: str | None = None


@dataclass(frozen=True)
class Outcome:
    source: str
    workflow_type: str
    events: int
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Summary:
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if not outcome.ok]

    @property
    def ok(self) -> bool:
        return not self.failed

    def lines(self) -> list[str]:
        events = sum(outcome.events for outcome in self.outcomes)
        failed = self.failed
        histories = "history" if len(self.outcomes) == 1 else "histories"
        lines = [
            f"replayed {len(self.outcomes)} workflow {histories} ({events} events) "
            f"in {self.seconds:.1f} s: {len(self.outcomes) - len(failed)} ok, {len(failed)} failed"
        ]
        lines += [
            f"FAILED {outcome.source} ({outcome.workflow_type}): {outcome.error}"
            for outcome in failed
        ]
        return lines


class Progress:
    """A line on stderr every `every` histories, so a long dry run shows it is moving."""

    def __init__(self, stream: TextIO | None, every: int = 25, total: int | None = None) -> None:
        self.stream = stream
        self.every = every
        self.total = total
        self.done = 0
        self.failed = 0
        self.started = time.monotonic()

    def start(self, what: str) -> None:
        count = f" {self.total}" if self.total is not None else ""
        self._write(f"replaying{count} {what}...")

    def step(self, outcome: Outcome) -> None:
        self.done += 1
        if not outcome.ok:
            self.failed += 1
            self._write(f"  failed: {outcome.source}")
        if self.every and self.done % self.every == 0:
            total = f" of {self.total}" if self.total is not None else ""
            elapsed = time.monotonic() - self.started
            self._write(f"  {self.done}{total} replayed, {self.failed} failed ({elapsed:.1f} s)")

    def _write(self, line: str) -> None:
        if self.stream is not None:
            self.stream.write(line + "\n")
            self.stream.flush()


_quiet_runtime: Runtime | None = None


def make_replayer(quiet: bool = True) -> Replayer:
    """A replayer that knows every workflow the worker serves, sandboxed as the worker runs them."""
    # Imported here: the worker module pulls in the activities and their dependencies,
    # which `chaser --help` does not need.
    from worker import WORKFLOWS, workflow_runner

    return Replayer(
        workflows=list(WORKFLOWS),
        workflow_runner=workflow_runner(),
        runtime=_runtime() if quiet else None,
    )


def _runtime() -> Runtime:
    """Core logs each failing workflow task as a warning; the summary says it better, once."""
    global _quiet_runtime
    if _quiet_runtime is None:
        _quiet_runtime = Runtime(
            telemetry=TelemetryConfig(
                logging=LoggingConfig(
                    filter=TelemetryFilter(core_level="ERROR", other_level="ERROR")
                )
            )
        )
    return _quiet_runtime


# Core wraps the mismatch in a debug dump of the failure: `… message: "[TMPRL1100] …", …`.
_CORE_MESSAGE = re.compile(r'message: "((?:[^"\\]|\\.)*)"')


def failure_message(error: BaseException) -> str:
    """The replay failure in one line: for non-determinism, core's description of the mismatch."""
    text = " ".join(str(error).split())
    found = _CORE_MESSAGE.search(text)
    if found:
        return found.group(1).replace('\\"', '"')
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


async def replay(
    loaded: AsyncIterator[Loaded], replayer: Replayer, progress: Progress | None = None
) -> Summary:
    """Replay every history in turn on one replay worker; failures are collected, not raised."""
    summary = Summary()
    started = time.monotonic()
    waiting: dict[int, Loaded] = {}

    def record(outcome: Outcome) -> None:
        summary.outcomes.append(outcome)
        if progress is not None:
            progress.step(outcome)

    async def histories() -> AsyncIterator[WorkflowHistory]:
        async for item in loaded:
            if item.history is None:
                record(Outcome(item.source, "?", 0, item.error or "no history"))
                continue
            waiting[id(item.history)] = item
            yield item.history

    pending = histories()
    first = await anext(pending, None)
    if first is None:  # nothing to replay: no replay worker to start and stop
        summary.seconds = time.monotonic() - started
        return summary

    async def from_first() -> AsyncIterator[WorkflowHistory]:
        yield first
        async for history in pending:
            yield history

    async with replayer.workflow_replay_iterator(from_first()) as results:
        async for result in results:
            item = waiting.pop(id(result.history))
            failure = result.replay_failure
            record(
                Outcome(
                    source=item.source,
                    workflow_type=workflow_type_of(result.history),
                    events=len(result.history.events),
                    error=failure_message(failure) if failure is not None else None,
                )
            )
    summary.seconds = time.monotonic() - started
    return summary


async def from_files(paths: Iterable[Path]) -> AsyncIterator[Loaded]:
    for path in paths:
        try:
            yield Loaded(str(path), history_from_file(path))
        except (OSError, ValueError) as error:
            # A corrupt or missing file is reported with the others, not a crash.
            yield Loaded(str(path), None, f"could not read the history: {error}")


async def by_ids(client: Client, workflow_ids: Iterable[str]) -> AsyncIterator[Loaded]:
    async def refs() -> AsyncIterator[tuple[str, str | None]]:
        for workflow_id in workflow_ids:
            yield workflow_id, None

    async for item in _fetch_ahead(client, refs()):
        yield item


async def by_query(client: Client, query: str) -> AsyncIterator[Loaded]:
    async def refs() -> AsyncIterator[tuple[str, str | None]]:
        async for execution in client.list_workflows(query):
            yield execution.id, execution.run_id

    async for item in _fetch_ahead(client, refs()):
        yield item


async def count(client: Client, query: str) -> int | None:
    """How many workflows a query matches, for the progress lines; None if the server can't say."""
    try:
        return (await client.count_workflows(query)).count
    except RPCError:
        return None


async def _fetch_ahead(
    client: Client, refs: AsyncIterator[tuple[str, str | None]]
) -> AsyncIterator[Loaded]:
    """Fetch up to FETCH_WINDOW histories at once, yielding them in the order asked."""
    fetching: deque[asyncio.Task[Loaded]] = deque()
    try:
        async for workflow_id, run_id in refs:
            fetching.append(asyncio.create_task(_fetch(client, workflow_id, run_id)))
            if len(fetching) >= FETCH_WINDOW:
                yield await fetching.popleft()
        while fetching:
            yield await fetching.popleft()
    finally:
        for task in fetching:
            task.cancel()


async def _fetch(client: Client, workflow_id: str, run_id: str | None) -> Loaded:
    try:
        return Loaded(workflow_id, await fetch_history(client, workflow_id, run_id))
    except RPCError as error:
        return Loaded(workflow_id, None, f"could not fetch the history: {error.message}")
