"""The worker skips the SDK's payload walks only where they would change nothing
(workflow_code.skip_idle_payload_walks): with a payload codec, every payload is still decoded
for the workflow and encoded for the server."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Sequence

from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.converter import PayloadCodec
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from tests.workflows.echo import Echo
from worker import workflow_runner

ENCODING = b"binary/reversed"


class Reversed(PayloadCodec):
    """Turns each payload into its bytes reversed: unreadable to anyone who skips decoding."""

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [
            Payload(metadata={"encoding": ENCODING}, data=p.SerializeToString()[::-1])
            for p in payloads
        ]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        decoded = []
        for payload in payloads:
            assert payload.metadata["encoding"] == ENCODING, "a payload was not encoded"
            decoded.append(Payload.FromString(payload.data[::-1]))
        return decoded


async def test_a_worker_with_a_codec_still_decodes_and_encodes_every_payload(
    dev_env: WorkflowEnvironment,
) -> None:
    config = dev_env.client.config()
    config["data_converter"] = dataclasses.replace(
        config["data_converter"], payload_codec=Reversed()
    )
    client = Client(**config)
    queue = f"codec-{uuid.uuid4()}"
    async with Worker(
        client, task_queue=queue, workflows=[Echo], workflow_runner=workflow_runner()
    ):
        handle = await client.start_workflow(
            Echo.run, "paid in full", id=f"echo-{uuid.uuid4()}", task_queue=queue
        )
        # A workflow that cannot read its input fails its task again and again: wait a while.
        assert await asyncio.wait_for(handle.result(), timeout=10) == "paid in full"
    # What the worker sent the server is encoded, as the client's input was.
    history = await handle.fetch_history()
    [completed] = [
        event.workflow_execution_completed_event_attributes
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
    ]
    [result] = completed.result.payloads
    assert result.metadata["encoding"] == ENCODING
