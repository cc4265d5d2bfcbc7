"""The check-in after a purchase (seed 003: "a month later, remind the manager to contact the
client, ask whether they liked the course and offer a new training … a separate process
outside order processing"): `checkin-<order_id>`, started when an order of a product listed
in CHECKIN_AFTER is paid (activities.checkins)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.emails import EmailActivities, OrderEmail

from domain import TaskKind
from workflows.activity_calls import email_activity, open_task
from workflows.messages import CheckinInput, CheckinResult, CheckinState
from workflows.tasks import CHECKIN, TaskAnswer


@workflow.defn
class Checkin:
    """Wait, then ask the order's manager how the customer likes the course."""

    @workflow.init
    def __init__(self, input: CheckinInput) -> None:
        self.due_at = workflow.now() + timedelta(seconds=input.wait)
        self.answers: dict[int, TaskAnswer] = {}
        self.task_id: int | None = None
        self.answer: str | None = None

    @workflow.run
    async def run(self, input: CheckinInput) -> CheckinResult:
        await workflow.sleep(timedelta(seconds=input.wait))
        if input.send_email:
            await self._email(input.order_id)
        task_id = await open_task(
            self._key(f"task:{TaskKind.CHECKIN}"),
            TaskKind.CHECKIN,
            CHECKIN,
            input.order_id,
            None,  # the activity gives it to the order's assignee, else the pool
        )
        self.task_id = task_id
        await workflow.wait_condition(lambda: task_id in self.answers)
        self.task_id = None
        self.answer = self.answers[task_id].answer
        await workflow.wait_condition(workflow.all_handlers_finished)
        return CheckinResult(self.answer)

    @workflow.signal
    def answer_task(self, answer: TaskAnswer) -> None:
        """The manager's answer; the API has checked it against the task first."""
        self.answers.setdefault(answer.task_id, answer)

    @workflow.query
    def state(self) -> CheckinState:
        return CheckinState(self.due_at.isoformat(), self.task_id, self.answer)

    async def _email(self, order_id: str) -> None:
        try:
            await email_activity(
                EmailActivities.send_order_email,
                OrderEmail(
                    key=self._key("email:checkin"),
                    order_id=order_id,
                    kind="checkin",
                    at=workflow.now(),
                ),
            )
        except ActivityError as error:
            # Refused for good (recorded as email_failed): the manager still asks.
            workflow.logger.warning("check-in email to order %s not sent: %s", order_id, error)

    def _key(self, step: str) -> str:
        return f"{workflow.info().workflow_id}:{step}"
