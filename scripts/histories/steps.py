"""Order paths as lists of steps: each step is one thing the backend, a manager, a customer or
the clock does to one order, and `order_path` registers the list as a recorded path.

    order_path("order-paid", "paid in full on day 3: ...", order(), after(days=3), pay())

records the chase of order `paid` (the path's name without `order-`). A step is
`Recording.<method>(order_id, ...)` called later (`step`); `answer`'s `at` is a time from now."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from functools import partial
from typing import Any

from temporalio.client import WorkflowHandle

from scripts.histories.recording import Recording
from scripts.histories.registry import recorded

Step = Callable[[Recording, str], Awaitable[Any]]
Result = Callable[[Recording, str], WorkflowHandle[Any, Any]]


def step(action: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Step:
    """`action(rec, order_id, *args, **kwargs)`, once the path runs."""

    async def run(rec: Recording, order_id: str) -> None:
        await action(rec, order_id, *args, **kwargs)

    return run


order = partial(step, Recording.order)
take = partial(step, Recording.take)
task = partial(step, Recording.task)
answer = partial(step, Recording.answer)
pay = partial(step, Recording.pay)
part_paid = partial(step, Recording.part_paid)
cancel = partial(step, Recording.cancel)
event = partial(step, Recording.event)
new_phone = partial(step, Recording.new_phone)
reassign = partial(step, Recording.reassign)
pause = partial(step, Recording.pause)
resume = partial(step, Recording.resume)
status = partial(step, Recording.status)
open_email = partial(step, Recording.open_email)
unsubscribe = partial(step, Recording.unsubscribe)


async def _sleep(rec: Recording, _: str, duration: timedelta) -> None:
    await rec.sleep(duration)


def after(**delta: float) -> Step:
    """The clock moves on by `delta` (timedelta's keywords)."""
    return step(_sleep, timedelta(**delta))


async def _refuse(rec: Recording, _: str, address: str, temporarily: bool) -> None:
    (rec.smtp.defer if temporarily else rec.smtp.refuse).add(address)


def refuse(address: str, temporarily: bool = False) -> Step:
    """The SMTP server refuses mail to `address` from now on: 550, or 451 (greylisting)."""
    return step(_refuse, address, temporarily)


async def _accept(rec: Recording, _: str, address: str) -> None:
    rec.smtp.refuse.discard(address)
    rec.smtp.defer.discard(address)


def accept(address: str) -> Step:
    """The SMTP server takes mail to `address` again."""
    return step(_accept, address)


async def retry_gap(rec: Recording, _: str) -> None:
    """The clock moves on to the dial's next call of the day."""
    await rec.sleep(timedelta(seconds=rec.settings.order_timings().retry_gap))


async def settled(rec: Recording, order_id: str) -> None:
    await rec.settled(rec.chase(order_id))


def order_path(
    name: str,
    description: str,
    *steps: Step,
    workflow: str = "OrderChase",
    result: Result = Recording.chase,
    settings: Mapping[str, Any] | None = None,
) -> None:
    """Register the path `name`: the steps in turn, then the history of `result` (the
    order's chase unless it says which workflow)."""
    order_id = name.removeprefix("order-")

    async def drive(rec: Recording) -> WorkflowHandle[Any, Any]:
        for each in steps:
            await each(rec, order_id)
        return result(rec, order_id)

    recorded(name, workflow, description, settings=settings)(drive)
