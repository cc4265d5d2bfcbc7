"""The benchmark script still runs end to end on a handful of orders. Its figures are for
people to read: nothing here judges a speed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_script(module: str, *args: str, timeout: float) -> str:
    """What `python -m <module> <args>` printed; it must exit 0."""
    run = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout


@pytest.mark.slow(25)
def test_the_benchmark_walks_every_phase_on_three_orders() -> None:
    printed = run_script("scripts.benchmark", "--orders", "3", "--concurrency", "2", timeout=180)
    lines = {line.split("  ")[0].strip(): line for line in printed.splitlines()}
    assert "3 in" in lines["POST /v1/orders (chase started)"]
    assert "3 in" in lines["replay of the running chases"]
    assert "0 failed" in lines["replay of the running chases"]
    assert "3 in" in lines["POST …/events paid (signalled)"]
    assert "p95" in lines["paid → thank_you email sent"]


@pytest.mark.slow(4)
def test_the_activity_benchmark_measures_every_step() -> None:
    printed = run_script("scripts.bench_activities", "--calls", "2", "--rounds", "1", timeout=120)
    # "  <step>   <median>   (<min> – <max>)"
    rows = [re.fullmatch(r"  (.+?) +([\d.]+) +\(.+\)", line) for line in printed.splitlines()]
    figures = {row[1]: float(row[2]) for row in rows if row}
    # A replay's label says how long its recorded history is, which a re-recording changes.
    steps = [re.sub(r" \(\d+ events\)$", "", name) for name in figures]
    assert steps == [
        "order_received email",
        "finish_order (paid)",
        "thank_you email",
        "replay order-paid",
        "replay order-cadence-paid-between-objections",
    ]
    assert all(ms > 0 for ms in figures.values())
