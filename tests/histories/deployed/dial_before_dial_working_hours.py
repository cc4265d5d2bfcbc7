"""The dial sub-process: a child workflow that calls a customer up to N times a day for D days."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.tasks import CloseTask, NewTask, TaskActivities

from workflows.activity_policy import ACTIVITY_TIMEOUT, WRITE_RETRY
from workflows.tasks import CALL_ANSWERS, Reassignment, TaskAnswer


@dataclass
class DialInput:
    order_id: str
    assignee_id: str | None
    dial_days: int
    calls_per_day: int
    retry_gap: float  # seconds between calls on one day
    day_gap: float  # seconds between the last call of a day and the first of the next


@dataclass
class DialResult:
    outcome: str  # reached / wrong_number / duplicate / unreachable
    day: int
    call: int
    attempts: int


@dataclass
class DialStop:
    reason: str  # why the parent is about to cancel the dial, for the open task


@dataclass
class DialCounters:
    day: int
    call: int
    attempts: int
    open_task_id: int | None


@workflow.defn
class Dial:
    """One call task at a time for the assigned manager, until an answer other than no_answer."""

    @workflow.init
    def __init__(self, input: DialInput) -> None:
        self.day = 1  # the day of dialling in use, 1-based
        self.call = 0  # unanswered calls made today
        self.attempts = 0
        self.open_task_id: int | None = None
        self.answers: dict[int, TaskAnswer] = {}
        self.stop_reason = "dial cancelled"
        self.assignee_id = input.assignee_id  # re-assigning the order changes it

    @workflow.run
    async def run(self, input: DialInput) -> DialResult:
        try:
            while True:
                answer = await self._call(input)
                self.attempts += 1
                if answer.answer != "no_answer":
                    return self._result(answer.answer)
                self.call += 1
                if self.call < input.calls_per_day:
                    await workflow.sleep(timedelta(seconds=input.retry_gap))
                elif self.day < input.dial_days:
                    await workflow.sleep(timedelta(seconds=input.day_gap))
                    self.day, self.call = self.day + 1, 0
                else:
                    return self._result("unreachable")
        except asyncio.CancelledError:
            # The order ended (paid, cancelled, expired): leave no call task behind.
            if self.open_task_id is not None:
                await workflow.execute_activity_method(
                    TaskActivities.close_task,
                    CloseTask(self.open_task_id, self.stop_reason, workflow.now()),
                    start_to_close_timeout=ACTIVITY_TIMEOUT,
                    retry_policy=WRITE_RETRY,
                )
            raise

    @workflow.signal
    def answer_task(self, answer: TaskAnswer) -> None:
        """A manager's call result, checked by the API before it arrives."""
        if answer.answer not in CALL_ANSWERS:
            workflow.logger.warning("ignoring answer %r to a call task", answer.answer)
            return
        self.answers[answer.task_id] = answer

    @workflow.signal
    def reassign(self, change: Reassignment) -> None:
        """The order moved: the next call tasks go to the new assignee."""
        self.assignee_id = change.manager_id

    @workflow.signal
    def stopping(self, stop: DialStop) -> None:
        """The parent says why it is about to cancel us."""
        self.stop_reason = stop.reason

    @workflow.query
    def counters(self) -> DialCounters:
        return DialCounters(self.day, self.call, self.attempts, self.open_task_id)

    async def _call(self, input: DialInput) -> TaskAnswer:
        attempt = self.attempts + 1
        task_id = await workflow.execute_activity_method(
            TaskActivities.open_task,
            NewTask(
                key=f"{workflow.info().workflow_id}:call:{attempt}",
                order_id=input.order_id,
                workflow_id=workflow.info().workflow_id,
                kind="call",
                title=f"Call the customer (day {self.day}, call {self.call + 1})",
                options=list(CALL_ANSWERS),
                assignee_id=self.assignee_id,
                at=workflow.now(),
                day=self.day,
                call=self.call + 1,
            ),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=WRITE_RETRY,
        )
        self.open_task_id = task_id
        await workflow.wait_condition(lambda: task_id in self.answers)
        self.open_task_id = None
        return self.answers.pop(task_id)

    def _result(self, outcome: str) -> DialResult:
        return DialResult(outcome, self.day, self.call, self.attempts)
