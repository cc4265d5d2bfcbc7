"""The patch-id reader the versioning tests rely on."""

from __future__ import annotations

from tests.patches import patches_in


def test_reads_literal_and_constant_patch_ids_and_their_stage() -> None:
    source = (
        "from temporalio import workflow\n"
        'SMS = "sms-payment-link"\n'
        "async def f():\n"
        "    if workflow.patched(SMS):\n"
        "        pass\n"
        '    workflow.deprecate_patch("old-one")\n'
    )
    assert patches_in(source) == {"sms-payment-link": "patched", "old-one": "deprecated"}


def test_no_patches_in_plain_code() -> None:
    assert patches_in("x = 1\n") == {}


def test_reads_ids_named_in_workflows_patch_ids() -> None:
    source = (
        "from temporalio import workflow\n"
        "from workflows.patch_ids import PAUSE\n"
        "def f():\n"
        "    return workflow.patched(PAUSE)\n"
    )
    assert patches_in(source) == {"pause": "patched"}
