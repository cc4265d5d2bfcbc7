"""`make chaos` at CI size on the suite's database (SQLite, or PostgreSQL in CI's second run):
40 orders, three kill -9s of the worker and a Temporal restart, and not one invariant broken.
What it checks is in scripts/chaos_checks.py (each rule tried in test_chaos_checks.py)."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

from db.session import Sessions

ROOT = Path(__file__).resolve().parent.parent


async def test_chaos_at_ci_size_breaks_no_invariant(database_url: str, sessions: Sessions) -> None:
    # `sessions` has emptied the database: the run refuses one that holds orders.
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "scripts.chaos",
        *("--orders", "40", "--kills", "3", "--temporal-restarts", "1", "--duration", "6"),
        *("--database-url", database_url),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout=400)
    except TimeoutError:
        process.terminate()  # the run stops the servers it started
        output, _ = await process.communicate()
        raise AssertionError(output.decode(errors="replace")) from None
    report = output.decode(errors="replace")
    assert process.returncode == 0, report
    assert "broken invariants: 0 (0 cases)" in report, report
    # It did what it says: every kill and the restart, and the world was busy.
    kills = re.search(r"worker kill -9 at ([\d., ]+) s;", report)
    assert kills is not None and len(kills.group(1).split(",")) == 3, report
    assert re.search(r"Temporal restarted at [\d.]+ s \(down", report), report
    assert re.search(r"ended: quiet after .*orders .*paid \d+", report), report
    assert re.search(r"answer +[1-9]\d* posted \(200: [1-9]", report), report
