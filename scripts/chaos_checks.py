"""The invariants `make chaos` checks once the stack is quiet, judged from what the harness was
answered (its calls) and what it finds afterwards (database, mailbox, Temporal): plain data in,
a count of checked and broken cases out, so each rule can be tried on a world made by hand."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from scripts.chaos_facts import Call, EmailRow, Facts, OrderRow

CLOSED = frozenset({"paid", "cancelled", "false"})
# Emails sent once per step of a loop (each dial may end in one): their outbox keys differ.
REPEATABLE_KINDS = frozenset(
    {
        "payment_reminder",
        "ask_correct_phone",
        "contact_us",
        "manager_discount",
        "instalment_reminder",
    }
)
# Only this may reach the customer after the order ended.
AFTER_THE_END = "thank_you"
# An email whose send was already past its last check when the order ended may land a
# moment after the end; anything later was decided after it.
IN_FLIGHT_SECONDS = 2.0
FAILED_STATUSES = frozenset({"FAILED", "TERMINATED", "TIMED_OUT", "CANCELED"})
# A chase that ends mid-dial cancels its dial child: that one ends CANCELED by design.
CANCELLED_BY_ITS_PARENT = "Dial"
# The deployment's webhook delivery loop runs as long as the worker does: it is no chase.
ALWAYS_RUNNING = "WebhookDelivery"


@dataclass
class Check:
    name: str
    checked: int = 0
    broken: list[str] = field(default_factory=list)

    def case(self, ok: bool, why: str) -> None:
        self.checked += 1
        if not ok:
            self.broken.append(why)


# The orders the harness called about that the database holds, each with its calls.
Known = list[tuple[OrderRow, list[Call]]]


def check(calls: Iterable[Call], facts: Facts) -> list[Check]:
    calls = list(calls)
    by_order: dict[str, list[Call]] = defaultdict(list)
    for call in calls:
        by_order[call.order_id].append(call)
    known = [(facts.orders[o], calls) for o, calls in by_order.items() if o in facts.orders]
    return [
        _money_kept(known),
        _payments_not_refused(known),
        _parts_added(known),
        _cancels_kept(known),
        _no_cancel_after_paid(by_order),
        _one_new_per_event(calls),
        _one_thank_you(facts),
        _no_email_twice(facts),
        _sent_rows_delivered(facts),
        _nothing_after_the_end(facts),
        _no_open_task_on_ended_order(facts),
        _one_winner_per_task(calls, facts),
        _answers_agree(calls, facts),
        _no_workflow_failed(facts),
        _nothing_stuck(facts),
        _no_server_error(facts),
    ]


def _full_payments(calls: list[Call]) -> list[Call]:
    return [c for c in calls if c.what == "paid"]


def _accepted_parts(calls: list[Call]) -> dict[str, Decimal]:
    """Accepted partial payments by event id (a duplicate post is the same part)."""
    return {
        c.event_id: c.amount
        for c in calls
        if c.what == "partially_paid" and c.accepted and c.event_id and c.amount
    }


def _money_accepted(calls: list[Call], order: OrderRow) -> bool:
    paid = any(c.accepted for c in _full_payments(calls))
    return paid or sum(_accepted_parts(calls).values(), Decimal(0)) >= order.amount


def _money_kept(known: Known) -> Check:
    result = Check("an accepted payment (or parts reaching the amount) ends paid")
    for order, calls in known:
        if _money_accepted(calls, order):
            result.case(order.status == "paid", f"{order.id} ended {order.status}")
    return result


def _payments_not_refused(known: Known) -> Check:
    """Money wins: a full payment is accepted even after the chase gave up, unless the order
    is paid already or was found a duplicate (`false`)."""
    result = Check("a full payment is refused only on a paid or duplicate order")
    for order, calls in known:
        for call in _full_payments(calls):
            if call.accepted:
                continue
            result.case(
                order.status in ("paid", "false"),
                f"{order.id}: paid {call.event_id} got {call.status or 'no answer'}, "
                f"the order ended {order.status}",
            )
    return result


def _parts_added(known: Known) -> Check:
    result = Check("paid_amount holds every accepted part")
    for order, calls in known:
        parts = _accepted_parts(calls)
        if not parts:
            continue
        total = sum(parts.values(), Decimal(0))
        result.case(
            order.paid_amount >= total,
            f"{order.id}: {len(parts)} parts accepted for {total}, paid_amount {order.paid_amount}",
        )
    return result


def _cancels_kept(known: Known) -> Check:
    result = Check("an accepted cancel (no money) ends the order cancelled")
    for order, calls in known:
        cancelled = any(c.what == "cancelled" and c.accepted for c in calls)
        if not cancelled or _money_accepted(calls, order):
            continue
        result.case(
            order.status in ("cancelled", "false"),
            f"{order.id}: cancel accepted, the order is {order.status}",
        )
    return result


def _no_cancel_after_paid(by_order: dict[str, list[Call]]) -> Check:
    """A cancel sent once a full payment had been accepted must be refused (409)."""
    result = Check("a cancel after an accepted payment is refused")
    for calls in by_order.values():
        paid_at = min((c.finished for c in _full_payments(calls) if c.accepted), default=None)
        if paid_at is None:
            continue
        for call in calls:
            if call.what == "cancelled" and call.started > paid_at and call.status:
                result.case(
                    call.status == 409,
                    f"{call.order_id}: cancel {call.event_id} after paid got {call.status}",
                )
    return result


def _one_new_per_event(calls: list[Call]) -> Check:
    """The same event id posted several times, at once or again after a 503: at most one post
    is answered as new (none when the first answer was lost after the event was stored)."""
    result = Check("an event id is accepted as new at most once")
    new: Counter[str] = Counter()
    for call in calls:
        if call.event_id is not None and call.accepted:
            new[call.event_id] += int(call.duplicate is False)
    for event_id, count in new.items():
        result.case(count <= 1, f"event {event_id} accepted as new {count}×")
    return result


def _delivered_by_order(facts: Facts) -> dict[str, list[EmailRow]]:
    """Each delivered message once (a redelivery of one Message-ID is the same message)."""
    delivered: dict[str, list[EmailRow]] = defaultdict(list)
    for message_id in {d.message_id for d in facts.deliveries}:
        email = facts.emails.get(message_id)
        if email is not None:
            delivered[email.order_id].append(email)
    return delivered


def _one_thank_you(facts: Facts) -> Check:
    result = Check("exactly one thank-you per paid order, none otherwise")
    delivered = _delivered_by_order(facts)
    for order in facts.orders.values():
        thanks = sum(e.kind == AFTER_THE_END for e in delivered.get(order.id, []))
        expected = 1 if order.status == "paid" else 0
        result.case(
            thanks == expected,
            f"{order.id} ({order.status}): {thanks} thank-you emails",
        )
    return result


def _no_email_twice(facts: Facts) -> Check:
    """Per outbox key one message, per order each kind once (but the kinds sent per dial),
    and every message delivered is one the outbox knows."""
    result = Check("no email kind twice per order; every delivery in the outbox")
    for message_id in sorted({d.message_id for d in facts.deliveries}):
        result.case(message_id in facts.emails, f"message {message_id} is not in the outbox")
    for order_id, emails in _delivered_by_order(facts).items():
        keys = Counter(e.key for e in emails)
        kinds = Counter(e.kind for e in emails if e.kind not in REPEATABLE_KINDS)
        for key, count in keys.items():
            result.case(count == 1, f"{key}: {count} messages")
        for kind, count in kinds.items():
            result.case(count == 1, f"{order_id}: {kind} sent {count}×")
    return result


def _sent_rows_delivered(facts: Facts) -> Check:
    result = Check("every email the outbox says sent was delivered")
    delivered = {d.message_id for d in facts.deliveries}
    for email in facts.emails.values():
        if email.status == "sent":
            result.case(
                email.message_id in delivered,
                f"{email.key} ({email.message_id}) recorded sent, never delivered",
            )
    return result


def _nothing_after_the_end(facts: Facts) -> Check:
    result = Check(f"nothing but the thank-you sent after the end (+{IN_FLIGHT_SECONDS:g} s)")
    first: dict[str, float] = {}
    for delivery in sorted(facts.deliveries, key=lambda d: d.received_at, reverse=True):
        first[delivery.message_id] = delivery.received_at
    for message_id, received_at in first.items():
        email = facts.emails.get(message_id)
        order = facts.orders.get(email.order_id) if email else None
        if email is None or order is None or order.ended_at is None:
            continue
        late = received_at - order.ended_at
        result.case(
            email.kind == AFTER_THE_END or late <= IN_FLIGHT_SECONDS,
            f"{email.order_id}: {email.kind} delivered {late:.1f} s after the end",
        )
    return result


def _no_open_task_on_ended_order(facts: Facts) -> Check:
    result = Check("no open task on an ended order")
    for task in facts.tasks.values():
        order = facts.orders.get(task.order_id)
        if order is not None and order.status in CLOSED:
            result.case(
                task.status != "open",
                f"task {task.id} ({task.kind}) open on {order.id} ({order.status})",
            )
    return result


def _accepted_answers(calls: list[Call]) -> dict[int, list[Call]]:
    accepted: dict[int, list[Call]] = defaultdict(list)
    for call in calls:
        if call.what == "answer" and call.task_id is not None and call.accepted:
            accepted[call.task_id].append(call)
    return accepted


def _one_winner_per_task(calls: list[Call], facts: Facts) -> Check:
    result = Check("one accepted answer per task, one answer line in its history")
    accepted = _accepted_answers(calls)
    answered = {c.task_id for c in calls if c.what == "answer" and c.task_id is not None}
    for task_id in sorted(answered | set(facts.answer_lines)):
        winners = [c.manager_id for c in accepted.get(task_id, [])]
        lines = facts.answer_lines.get(task_id, [])
        result.case(
            len(winners) <= 1 and len(lines) <= 1,
            f"task {task_id}: 200 for {winners}, {len(lines)} answer lines",
        )
    return result


def _answers_agree(calls: list[Call], facts: Facts) -> Check:
    """The task row, its history line and the chase's assignee name the manager who got 200."""
    result = Check("task row, history and assignee agree with the accepted answer")
    for task_id, winners in _accepted_answers(calls).items():
        task = facts.tasks.get(task_id)
        if len(winners) != 1 or task is None:
            continue  # two winners are broken above; an unknown task is not ours
        winner = winners[0]
        lines = facts.answer_lines.get(task_id, [])
        order = facts.orders.get(task.order_id)
        assignee = order.assignee_id if order is not None else None
        agree = (
            task.status == "answered"
            and task.answered_by == winner.manager_id
            and lines == [f"manager:{winner.manager_id}"]
        )
        if task.kind == "take_order" and winner.answer == "yes" and order is not None:
            agree = agree and assignee in (None, winner.manager_id)
        result.case(
            agree,
            f"task {task.id} ({task.kind}): 200 for {winner.manager_id}, row {task.status} "
            f"by {task.answered_by}, history {lines}, assignee {assignee}",
        )
    return result


def _no_workflow_failed(facts: Facts) -> Check:
    result = Check("no workflow failed, terminated or timed out")
    for execution in facts.executions:
        cancelled_dial = (
            execution.status == "CANCELED" and execution.workflow_type == CANCELLED_BY_ITS_PARENT
        )
        result.case(
            execution.status not in FAILED_STATUSES or cancelled_dial,
            f"{execution.workflow_id} ({execution.workflow_type}) {execution.status}",
        )
    return result


def _nothing_stuck(facts: Facts) -> Check:
    """Once quiet, every order has ended and no chase or dial still runs."""
    result = Check("every order ended, no workflow still running")
    for order in facts.orders.values():
        result.case(order.status in CLOSED, f"{order.id} still {order.status}")
    for execution in facts.executions:
        result.case(
            execution.status != "RUNNING" or execution.workflow_type == ALWAYS_RUNNING,
            f"{execution.workflow_id} ({execution.workflow_type}) still running",
        )
    return result


def _no_server_error(facts: Facts) -> Check:
    result = Check("no 5xx answer but 503 (Temporal down)")
    result.checked = facts.responses
    result.broken = list(facts.server_errors)
    return result
