"""Pausing a chase (README "Calendar"): while paused it sends nothing and opens no task, and
its timers stand still, so what was due during the pause is due that much later.

One `Pause` per workflow (the order chase, its email cadence through it, the dial child).
Every wait that used `workflow.wait_condition(condition, timeout=...)` goes through
`Pause.wait_condition`, and every side effect first through `Pause.sit_out`. While no pause
was ever asked for both make exactly the commands the plain calls made (one timer, no extra
yield), so histories from before pauses existed replay unchanged. Whether a pause is heard
at all is the patch `pause` (workflows/order_chase.py, workflows/dial.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow

from workflows.waits import seconds_until


def moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text is not None else None


def _seconds(timeout: float | timedelta) -> float:
    return timeout.total_seconds() if isinstance(timeout, timedelta) else timeout


class Pause:
    """Whether a workflow stands still, and waits whose time stands still with it."""

    def __init__(self, until: datetime | None = None, reason: str | None = None) -> None:
        self.until = until
        self.reason = reason
        self.seq = 0  # the last change applied (ChasePause.seq / ChaseResume.seq)
        self.changes = 0  # every change wakes the waits, which re-plan
        # How long `sit_out` has held waits, summed: the dial, one wait at a time, reads
        # how far a pause moved its next call from it.
        self.stood = timedelta(0)

    def paused(self) -> bool:
        return self.until is not None and workflow.now() < self.until

    def remaining(self) -> timedelta:
        """How long the pause still lasts (zero when not paused)."""
        if self.until is None:
            return timedelta(0)
        return max(self.until - workflow.now(), timedelta(0))

    def change(self, until: datetime | None, reason: str | None = None) -> timedelta:
        """Pause until `until` (None: resume); how much longer than before it now lasts
        (negative for an early resume)."""
        before = self.remaining()
        self.until, self.reason = until, reason
        self.changes += 1
        return self.remaining() - before

    def _changed_or(self, condition: Callable[[], bool]) -> Callable[[], bool]:
        """`condition`, or the pause changed since now."""
        changes = self.changes
        return lambda: condition() or self.changes != changes

    async def sit_out(self, stop: Callable[[], bool] = lambda: False) -> timedelta:
        """Wait while paused, or until `stop()`; how long that was. No yield when not
        paused: code that does not pause makes its commands in the same order as before."""
        started = workflow.now()
        while self.paused() and not stop():
            try:
                await workflow.wait_condition(
                    self._changed_or(stop), timeout=self.remaining().total_seconds()
                )
            except TimeoutError:
                pass  # the pause has run out
        stood = workflow.now() - started
        self.stood += stood
        return stood

    async def wait_condition(
        self,
        condition: Callable[[], bool],
        timeout: float | timedelta | None = None,
        due: Callable[[datetime], None] | None = None,
    ) -> None:
        """`workflow.wait_condition` whose timeout stands still while paused: a wait of an
        hour that met a pause of a day ends a day and an hour after it began. Raises
        TimeoutError as that does; `due` hears the moment the timeout moves to."""
        deadline = None
        if timeout is not None:
            deadline = workflow.now() + timedelta(seconds=_seconds(timeout))
        first: float | timedelta | None = timeout  # the first timer as the plain call had it
        while True:
            if self.paused():
                if deadline is not None and due is not None:
                    due(deadline + self.remaining())
                stood = await self.sit_out(condition)
                if deadline is not None:
                    deadline += stood
                    if due is not None:
                        due(deadline)
                if condition():
                    return
                first = None
            if deadline is not None and first is None:
                first = seconds_until(deadline)
            changes = self.changes
            await workflow.wait_condition(self._changed_or(condition), timeout=first)
            if condition() or self.changes == changes:
                return
            first = None  # the pause changed: plan the rest of the wait again
