"""The invariants of `make chaos` on worlds made by hand: a sound world breaks none, and each
kind of damage breaks exactly the invariant meant to catch it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

import pytest

from scripts.chaos_checks import check
from scripts.chaos_facts import Call, Delivery, EmailRow, Execution, Facts, OrderRow, TaskRow

T = 1_000.0  # seconds since the epoch: only the order of moments matters here


def sound_world() -> tuple[list[Call], Facts]:
    """P paid in two parts after robot-1 took it from robot-2; X cancelled; Q paid, a second
    payment and a late cancel refused."""
    calls = [
        Call("create", "P", T, T + 0.1, 201),
        Call("create", "X", T, T + 0.1, 201),
        Call("answer", "P", T + 1, T + 1.1, 200, task_id=1, task_kind="take_order",
             manager_id="robot-1", answer="yes"),
        Call("answer", "P", T + 1, T + 1.2, 409, task_id=1, task_kind="take_order",
             manager_id="robot-2", answer="yes"),
        Call("partially_paid", "P", T + 2, T + 2.1, 202, event_id="P-part0",
             amount=Decimal("60.00"), duplicate=False),
        Call("partially_paid", "P", T + 2, T + 2.1, 202, event_id="P-part1",
             amount=Decimal("40.00"), duplicate=False),
        Call("partially_paid", "P", T + 2, T + 2.2, 202, event_id="P-part1",
             amount=Decimal("40.00"), duplicate=True),
        Call("cancelled", "X", T + 2, T + 2.1, 202, event_id="X-cancel", duplicate=False),
        Call("paid", "Q", T + 3, T + 3.1, 202, event_id="Q-pay", duplicate=False),
        Call("paid", "Q", T + 3.2, T + 3.3, 409, event_id="Q-pay-again"),
        Call("cancelled", "Q", T + 3.5, T + 3.6, 409, event_id="Q-cancel"),
    ]  # fmt: skip
    facts = Facts(
        orders={
            "P": OrderRow("P", "paid", Decimal("100.00"), Decimal("100.00"), "robot-1", T + 3),
            "X": OrderRow("X", "cancelled", Decimal("50.00"), Decimal(0), None, T + 3),
            "Q": OrderRow("Q", "paid", Decimal("70.00"), Decimal(0), None, T + 4),
        },
        tasks={
            1: TaskRow(1, "P", "take_order", "answered", "robot-1"),
            2: TaskRow(2, "X", "take_order", "closed", None),
        },
        answer_lines={1: ["manager:robot-1"]},
        emails={
            "m1": EmailRow("m1", "order-P:email:order_received", "P", "order_received", "sent"),
            "m2": EmailRow("m2", "order-P:email:thank_you", "P", "thank_you", "sent"),
            "m3": EmailRow("m3", "order-X:email:order_received", "X", "order_received", "sent"),
            "m4": EmailRow("m4", "order-X:email:objection_1", "X", "objection_1", "suppressed"),
            "m5": EmailRow("m5", "order-Q:email:thank_you", "Q", "thank_you", "sent"),
        },
        deliveries=[
            Delivery("m1", T + 0.5),
            Delivery("m3", T + 0.5),
            Delivery("m2", T + 3.5),
            Delivery("m2", T + 9.0),  # redelivered after a kill: the same message
            Delivery("m5", T + 5.0),
        ],
        executions=[
            Execution("order-P", "OrderChase", "COMPLETED"),
            Execution("order-P-dial-1", "Dial", "COMPLETED"),
            Execution("order-X", "OrderChase", "COMPLETED"),
            Execution("order-X-dial-1", "Dial", "CANCELED"),  # X was cancelled mid-dial
            Execution("order-Q", "OrderChase", "CONTINUED_AS_NEW"),
            Execution("order-Q", "OrderChase", "COMPLETED"),
        ],
        responses=10,
    )
    return calls, facts


def broken(calls: list[Call], facts: Facts) -> dict[str, int]:
    return {result.name: len(result.broken) for result in check(calls, facts) if result.broken}


def test_a_sound_world_breaks_nothing_and_every_invariant_has_cases() -> None:
    results = check(*sound_world())
    assert {r.name: r.broken for r in results if r.broken} == {}
    assert {r.name for r in results if r.checked == 0} == set()


Damage = Callable[[list[Call], Facts], None]


def _order(facts: Facts, order_id: str, **changes: object) -> None:
    facts.orders[order_id] = replace(facts.orders[order_id], **changes)  # type: ignore[arg-type]


def lose_payment(calls: list[Call], facts: Facts) -> None:
    _order(facts, "Q", status="cancelled")
    del facts.emails["m5"]
    facts.deliveries = [d for d in facts.deliveries if d.message_id != "m5"]


def refuse_payment(calls: list[Call], facts: Facts) -> None:
    calls.append(Call("paid", "X", T + 4, T + 4.1, 409, event_id="X-pay"))


def lose_a_part(calls: list[Call], facts: Facts) -> None:
    _order(facts, "P", paid_amount=Decimal("60.00"))


def lose_cancel(calls: list[Call], facts: Facts) -> None:
    _order(facts, "X", status="in_progress", ended_at=None)
    facts.tasks[2] = replace(facts.tasks[2], status="answered")


def accept_cancel_after_paid(calls: list[Call], facts: Facts) -> None:
    calls[-1] = replace(calls[-1], status=202, duplicate=False)


def accept_one_event_twice(calls: list[Call], facts: Facts) -> None:
    calls[6] = replace(calls[6], duplicate=False)


def thank_twice(calls: list[Call], facts: Facts) -> None:
    facts.emails["m6"] = EmailRow("m6", "order-Q:email:thank_you:2", "Q", "thank_you", "sent")
    facts.deliveries.append(Delivery("m6", T + 5.0))


def send_a_kind_twice(calls: list[Call], facts: Facts) -> None:
    facts.emails["m6"] = EmailRow("m6", "order-X:email:order_received:2", "X", "order_received",
                                  "sent")  # fmt: skip
    facts.deliveries.append(Delivery("m6", T + 1.0))


def lose_a_sent_email(calls: list[Call], facts: Facts) -> None:
    facts.deliveries = [d for d in facts.deliveries if d.message_id != "m1"]


def send_after_the_end(calls: list[Call], facts: Facts) -> None:
    facts.emails["m4"] = replace(facts.emails["m4"], status="sent")
    facts.deliveries.append(Delivery("m4", T + 3 + 10))


def leave_a_task_open(calls: list[Call], facts: Facts) -> None:
    facts.tasks[2] = replace(facts.tasks[2], status="open")


def let_two_managers_win(calls: list[Call], facts: Facts) -> None:
    calls[3] = replace(calls[3], status=200)


def assign_the_loser(calls: list[Call], facts: Facts) -> None:
    _order(facts, "P", assignee_id="robot-2")


def fail_a_dial(calls: list[Call], facts: Facts) -> None:
    facts.executions[1] = replace(facts.executions[1], status="FAILED")


def leave_a_chase_running(calls: list[Call], facts: Facts) -> None:
    facts.executions[2] = replace(facts.executions[2], status="RUNNING")


def cancel_a_chase(calls: list[Call], facts: Facts) -> None:
    facts.executions[2] = replace(facts.executions[2], status="CANCELED")


def answer_500(calls: list[Call], facts: Facts) -> None:
    facts.server_errors.append("POST /v1/orders/P/events 500 'Internal Server Error'")


MONEY = "an accepted payment (or parts reaching the amount) ends paid"
REFUSED = "a full payment is refused only on a paid or duplicate order"
ENDED = "every order ended, no workflow still running"
THANKS = "exactly one thank-you per paid order, none otherwise"
TWICE = "no email kind twice per order; every delivery in the outbox"


@pytest.mark.parametrize(
    ("damage", "caught_by"),
    [
        # Q's later payment was refused as on a paid order: now it is refused on a cancelled one.
        (lose_payment, {MONEY, REFUSED}),
        (refuse_payment, {REFUSED}),
        (lose_a_part, {"paid_amount holds every accepted part"}),
        (lose_cancel, {"an accepted cancel (no money) ends the order cancelled", ENDED}),
        (accept_cancel_after_paid, {"a cancel after an accepted payment is refused"}),
        (accept_one_event_twice, {"an event id is accepted as new at most once"}),
        (thank_twice, {THANKS, TWICE}),
        (send_a_kind_twice, {TWICE}),
        (lose_a_sent_email, {"every email the outbox says sent was delivered"}),
        (send_after_the_end, {"nothing but the thank-you sent after the end (+2 s)"}),
        (leave_a_task_open, {"no open task on an ended order"}),
        (let_two_managers_win, {"one accepted answer per task, one answer line in its history"}),
        (assign_the_loser, {"task row, history and assignee agree with the accepted answer"}),
        (fail_a_dial, {"no workflow failed, terminated or timed out"}),
        (leave_a_chase_running, {ENDED}),
        (cancel_a_chase, {"no workflow failed, terminated or timed out"}),
        (answer_500, {"no 5xx answer but 503 (Temporal down)"}),
    ],
)
def test_each_damage_breaks_the_invariants_meant_for_it(
    damage: Damage, caught_by: set[str]
) -> None:
    calls, facts = sound_world()
    damage(calls, facts)
    assert broken(calls, facts) == dict.fromkeys(caught_by, 1)
