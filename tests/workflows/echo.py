"""A workflow that hands its input back, for tests/test_payload_walks.py."""

from __future__ import annotations

from temporalio import workflow


@workflow.defn
class Echo:
    @workflow.run
    async def run(self, words: str) -> str:
        return words
