"""Starting the check-in after a purchase (workflows/checkin.py) when an order is paid.

Started by the activity that writes the paid end (activities.orders.finish_order), which both
the order chase and the late payment run, rather than by the chase itself: no workflow code
changes, so running chases keep their histories (no `workflow.patched`), and an order paid
after its chase ended, or never chased, gets its check-in too. The workflow id is fixed,
`checkin-<order_id>`, and a duplicate start is refused, so a retried activity starts nothing new.
"""

from __future__ import annotations

from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from domain import checkin_workflow_id
from timings import CheckinSetup
from workflows.checkin import Checkin
from workflows.messages import CheckinInput


class CheckinStarter:
    def __init__(self, client: Client, setup: CheckinSetup, task_queue: str) -> None:
        self.client = client
        self.setup = setup
        self.task_queue = task_queue

    async def start(self, order_id: str, product_id: str) -> None:
        """Start the order's check-in once; a product not listed gets none."""
        wait = self.setup.after.get(product_id)
        if wait is None:
            return
        try:
            await self.client.start_workflow(
                Checkin.run,
                CheckinInput(order_id=order_id, wait=wait, send_email=self.setup.send_email),
                id=checkin_workflow_id(order_id),
                task_queue=self.task_queue,
                # An order is paid once: a second start (a retry) finds the first, even ended.
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        except WorkflowAlreadyStartedError:
            pass
