"""Webhook delivery, `webhook-delivery-<task queue>`: one long-lived workflow that keeps the
delivery activity running in the worker, never inside an API request.

Each activity run delivers for a few minutes and heartbeats; a worker that dies mid-run is
noticed by the heartbeat timeout and the activity starts again elsewhere. The messages
themselves are in the database, so nothing here needs to survive but the loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.webhooks import DeliverWebhooks, WebhookActivities

# A few workflow events per run: a day of delivery is a few hundred events.
RUN_FOR = timedelta(minutes=5)
HEARTBEAT = timedelta(seconds=30)
# A database that is away for a while: keep trying, never give up the loop.
LOOP_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)
# Continue as new well before the history grows long.
RUNS_PER_HISTORY = 100


def webhook_delivery_id(task_queue: str) -> str:
    """One delivery loop per deployment (its task queue)."""
    return f"webhook-delivery-{task_queue}"


@dataclass
class WebhookDeliveryInput:
    poll: float  # seconds between looks for new events (WEBHOOK_POLL)
    run_for: float = RUN_FOR.total_seconds()
    runs: int = RUNS_PER_HISTORY  # activity runs before continuing as new


@workflow.defn
class WebhookDelivery:
    """Keep delivering webhooks: activity runs back to back, continued as new now and then."""

    @workflow.run
    async def run(self, input: WebhookDeliveryInput) -> None:
        for _ in range(input.runs):
            await workflow.execute_activity_method(
                WebhookActivities.deliver_webhooks,
                DeliverWebhooks(run_for=input.run_for, poll=input.poll),
                start_to_close_timeout=timedelta(seconds=input.run_for) + HEARTBEAT * 2,
                heartbeat_timeout=HEARTBEAT,
                retry_policy=LOOP_RETRY,
            )
            if workflow.info().is_continue_as_new_suggested():
                break
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(input)
