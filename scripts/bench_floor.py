"""The bare-SDK floor the benchmark measures chaser against: a workflow of a chase's shape
(start, one activity, wait for a `paid` signal, one activity) and nothing else, served by a
plain worker in its own process, as chaser's worker is.

    python -m scripts.bench_floor --address 127.0.0.1:7233 --task-queue floor --metrics-port 9000
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import time
from collections.abc import Sequence
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import Worker

from process_exit import exit_now

with workflow.unsafe.imports_passed_through():  # the sandbox re-imports this module: not chaser
    from worker import LATENCY_BUCKETS

# What the benchmark waits for in the floor worker's log before it starts the floor's chases.
POLLING = "floor worker polling"


@activity.defn
async def step(name: str) -> float:
    """One activity of the floor's chase: returns when it ran (wall clock, for latencies)."""
    return time.time()


@workflow.defn
class FloorChase:
    """Start, one activity, wait for `paid`, one activity; returns both activities' times."""

    def __init__(self) -> None:
        self.paid = False

    @workflow.signal
    def pay(self) -> None:
        self.paid = True

    @workflow.run
    async def run(self, order_id: str) -> list[float]:
        timeout = timedelta(seconds=60)
        first = await workflow.execute_activity(step, "first", start_to_close_timeout=timeout)
        await workflow.wait_condition(lambda: self.paid)
        last = await workflow.execute_activity(step, "last", start_to_close_timeout=timeout)
        return [first, last]


async def serve(address: str, task_queue: str, metrics_port: int) -> None:
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    prometheus = PrometheusConfig(
        bind_address=f"127.0.0.1:{metrics_port}",
        durations_as_seconds=True,
        histogram_bucket_overrides=LATENCY_BUCKETS,  # as chaser's worker, to compare
    )
    runtime = Runtime(telemetry=TelemetryConfig(metrics=prometheus))
    client = await Client.connect(address, runtime=runtime)
    async with Worker(client, task_queue=task_queue, workflows=[FloorChase], activities=[step]):
        print(POLLING, flush=True)  # noqa: T201 - the benchmark reads it from the log
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--address", required=True)
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--metrics-port", type=int, required=True)
    args = parser.parse_args(argv)
    asyncio.run(serve(args.address, args.task_queue, args.metrics_port))
    return 0


if __name__ == "__main__":
    exit_now(main())
