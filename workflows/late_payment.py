"""A payment after the order's chase has ended, or for an order never chased: money wins.

The API starts `order-<id>/late-payment` when the chase is no longer there to hear the
payment. It writes the paid end and sends the thank-you, each once, through the same
activities as the chase.
"""

from __future__ import annotations

from dataclasses import dataclass

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.emails import EmailActivities, OrderEmail
    from activities.orders import OrderActivities, OrderEnd

from domain import OrderStatus, Outcome
from workflows.activity_calls import db_activity, email_activity


@dataclass
class LatePaymentInput:
    order_id: str
    reason: str  # EndReason: paid_after_cancel, or paid for an order that was never chased


@workflow.defn
class LatePayment:
    """Close an order as paid and thank the customer."""

    @workflow.run
    async def run(self, input: LatePaymentInput) -> None:
        key = workflow.info().workflow_id
        await db_activity(
            OrderActivities.finish_order,
            OrderEnd(
                key=f"{key}:end:{OrderStatus.PAID}",
                order_id=input.order_id,
                status=OrderStatus.PAID,
                outcome=Outcome.POSITIVE,
                reason=input.reason,
                at=workflow.now(),
            ),
        )
        try:
            await email_activity(
                EmailActivities.send_order_email,
                OrderEmail(
                    key=f"{key}:email:thank_you",
                    order_id=input.order_id,
                    kind="thank_you",
                    at=workflow.now(),
                ),
            )
        except ActivityError as error:
            # Refused for good (recorded as email_failed): the order stays paid.
            workflow.logger.warning("thank-you to order %s not sent: %s", input.order_id, error)
