"""Every recorded history replays on the current workflow code: the guard against changes that
would break chases already running (README: "Changing a process while chases run")."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio import workflow

from cli.history import history_from_file, workflow_type_of
from cli.replay import Outcome, from_files, make_replayer, replay
from scripts.record_histories import PATHS, PENDING
from tests.patches import FROZEN_NAME, workflow_patches
from worker import WORKFLOWS

ROOT = Path(__file__).resolve().parent.parent
HISTORIES = ROOT / "tests" / "histories"
FILES = sorted(HISTORIES.rglob("*.json"))

pytestmark = pytest.mark.slow(20)  # the corpus replayed


@pytest_asyncio.fixture(scope="module")
async def replayed() -> dict[str, Outcome]:
    """The whole corpus replayed once on one replay worker, as `chaser replay` does: a replay
    worker per file would prepare every workflow's sandbox again for each."""
    summary = await replay(from_files(FILES), make_replayer())
    return {outcome.source: outcome for outcome in summary.outcomes}


@pytest.mark.parametrize("file", FILES, ids=lambda file: str(file.relative_to(HISTORIES)))
def test_history_replays_on_the_current_code(file: Path, replayed: dict[str, Outcome]) -> None:
    outcome = replayed[str(file)]
    if not outcome.ok:
        pytest.fail(
            f"{file.relative_to(ROOT)} does not replay on the current workflow code: "
            f"{outcome.error}\n"
            "A chase running on the old code would fail the same way. Keep the old path "
            "behind workflow.patched() (README: 'Changing a process while chases run'); "
            "re-record with `make record-histories` only if no such chase runs anywhere.",
            pytrace=False,
        )


def test_the_corpus_is_every_registered_path_and_the_index_lists_each_file() -> None:
    recorded = {file.stem for file in HISTORIES.glob("*.json")}
    assert recorded == set(PATHS), "run `make record-histories`"
    index = (HISTORIES / "INDEX.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"`((?:frozen/)?[\w.-]+\.json)`", index))
    assert listed == {str(file.relative_to(HISTORIES)) for file in FILES}


def test_frozen_histories_name_a_patch_the_code_still_serves() -> None:
    """frozen/<path>.before-<patch>.json lives exactly as long as `workflow.patched(<patch>)`."""
    patches = workflow_patches()
    for file in sorted((HISTORIES / "frozen").glob("*.json")):
        name = FROZEN_NAME.match(file.name)
        assert name, f"frozen/{file.name}: name it <path>.before-<patch id>.json"
        stage = patches.get(name["patch"])
        assert stage == "patched", (
            f"frozen/{file.name} was recorded before patch {name['patch']!r}, which the workflow "
            f"code {'has deprecated' if stage else 'does not use'}: delete the file (README: "
            "'Changing a process while chases run')"
        )


def test_every_workflow_has_recorded_histories_or_says_which_are_pending() -> None:
    """A workflow the worker serves is in the corpus, or named in PENDING as still to record."""
    recorded = {workflow_type_of(history_from_file(file)) for file in FILES}
    served = {workflow._Definition.must_from_class(cls).name for cls in WORKFLOWS}
    unaccounted = {
        name
        for name in served - recorded
        if not any(line.startswith(f"{name} ") or line.startswith(f"{name}:") for line in PENDING)
    }
    assert not unaccounted, f"no recorded history and no PENDING line for {sorted(unaccounted)}"
