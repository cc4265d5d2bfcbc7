"""`make chaos` at CI size on a database of the suite's kind (SQLite, or PostgreSQL in CI's
second run): 40 orders, three kill -9s of the worker and a Temporal restart, and not one
invariant broken. The run starts with the session (tests/fixtures_chaos.py); what it checks is
in scripts/chaos_checks.py (each rule tried in test_chaos_checks.py)."""

from __future__ import annotations

import re

import pytest

from tests.fixtures_chaos import ChaosRun


@pytest.mark.slow(100)
def test_chaos_at_ci_size_breaks_no_invariant(chaos_run: ChaosRun) -> None:
    returncode, report = chaos_run.report()
    assert returncode == 0, report
    assert "broken invariants: 0 (0 cases)" in report, report
    # It did what it says: every kill and the restart, and the world was busy.
    kills = re.search(r"worker kill -9 at ([\d., ]+) s;", report)
    assert kills is not None and len(kills.group(1).split(",")) == 3, report
    assert re.search(r"Temporal restarted at [\d.]+ s \(down", report), report
    assert re.search(r"ended: quiet after .*orders .*paid \d+", report), report
    assert re.search(r"answer +[1-9]\d* posted \(200: [1-9]", report), report
