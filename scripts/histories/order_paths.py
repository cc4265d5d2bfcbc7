"""The order chase's paths: the payment watch, the manager process, the email cadence.

Most are lists of steps (`steps.py`); the few that check what they recorded, or start a
chase the API would not, are functions."""

from __future__ import annotations

from datetime import datetime, timedelta
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

from temporalio.client import WorkflowHandle

from domain import late_payment_workflow_id, order_workflow_id
from scripts.devstack.walk import order_body
from scripts.histories.recording import MANAGER, SUCCESSOR, Recording
from scripts.histories.registry import recorded
from scripts.histories.steps import (
    accept,
    after,
    answer,
    cancel,
    event,
    new_phone,
    open_email,
    order,
    order_path,
    part_paid,
    pause,
    pay,
    reassign,
    refuse,
    resume,
    retry_gap,
    settled,
    status,
    step,
    take,
    task,
    unsubscribe,
)
from workflows.messages import OrderChaseInput, PaymentReceived
from workflows.order_chase import OrderChase

# --- Order chase: payment and cancel watch --------------------------------------------


async def _payment_signalled(rec: Recording, order_id: str) -> None:
    """A `paid` event's signal alone, without the API storing the event first. Two paths need
    it: a payment that reaches the chase in the milliseconds while it writes its cancelled end
    (through the API it mostly comes after the end, and the API closes the order with a late
    payment instead), and a payment heard while the first email is held past the window
    (through the API the email's next attempt finds the payment stored and gives up, so the
    window never runs out first)."""
    await rec.chase(order_id).signal(OrderChase.record_payment, PaymentReceived("pay-1", True))


# The paths below are tables of steps, a line of steps each, as they read best.
# fmt: off
order_path(
    "order-paid",
    "paid in full on day 3: status paid, thank-you email",
    order(), after(days=3), pay(),
)
order_path(
    "order-partly-paid-then-paid",
    "partly paid on day 1 (status partially_paid), paid in full on day 4",
    # Paid an hour before objection 2 falls due: at day 4 itself the two race.
    order(), after(days=1), part_paid("pay-1", "1000.00"), after(days=2, hours=23),
    pay("pay-2"),
)
order_path(
    "order-cancelled",
    "cancelled by the backend after an hour: status cancelled (reason cancelled)",
    order(), after(hours=1), cancel(),
)
order_path(
    "order-paid-after-cancel",
    "cancelled, and paid a moment later while the end is written: status paid, reason "
    "paid_after_cancel, thank-you email",
    order(), after(hours=1), event("cancel-1", "cancelled"), _payment_signalled,
)
order_path(
    "late-payment",
    "a payment for an order whose chase ended cancelled: status paid (paid_after_cancel), "
    "thank-you email",
    # No chase hears the payment: the API starts the late payment's workflow.
    order(), after(hours=1), cancel(), event("pay-1", "paid"),
    workflow="LatePayment",
    result=lambda rec, order_id: rec.handle(late_payment_workflow_id(order_id)),
)
order_path(
    "order-expired",
    "never paid: the 30-day payment window ends, status cancelled (reason expired)",
    # No event at all: awaiting the result lets the server skip the whole window.
    order(phone=None),
)
order_path(
    "order-paid-while-first-email-held",
    "paid while the order-received email is greylisted past a 2-minute window: the payment "
    "stands, status paid, thank-you email",
    refuse("held@example.com", temporarily=True), order(email="held@example.com"),
    _payment_signalled,
    after(minutes=5),  # the email retried well past the window
    accept("held@example.com"),
    settings={"payment_window": timedelta(minutes=2)},
)
# fmt: on


# --- Order chase: the manager process (SPEC §1 C) -------------------------------------


async def nine_unanswered_calls(rec: Recording, order_id: str) -> None:
    """Three calls a day for three days, none answered: the dial child gives up."""
    t = rec.settings.order_timings()
    for attempt in range(1, t.dial_days * t.calls_per_day + 1):
        await rec.answer(order_id, "call", "no_answer")
        if attempt % t.calls_per_day:
            await rec.sleep(timedelta(seconds=t.retry_gap))
        elif attempt < t.dial_days * t.calls_per_day:
            await rec.sleep(timedelta(seconds=t.day_gap))


async def _call_back(rec: Recording, order_id: str, later: timedelta) -> None:
    """Reached, will not pay, kept: call back `later`, and wait until then."""
    await rec.answer(order_id, "call", "reached")
    await rec.answer(order_id, "will_pay", "no")
    await rec.answer(order_id, "confirm_cancel", "no")
    await rec.answer(order_id, "callback_time", "at", at=later)
    await rec.sleep(later)


async def _second_call_to_successor(rec: Recording, order_id: str) -> None:
    second = await rec.task(order_id, "call", SUCCESSOR)
    if second["assignee_id"] != SUCCESSOR:
        raise RuntimeError(f"call 2 went to {second['assignee_id']}, not {SUCCESSOR}")


# fmt: off
REACHED = answer("call", "reached")
# Paused for 2 days while call 1 is open, which is answered no_answer meanwhile; call 2
# opens after the pause; then the order is paid.
PAUSED_MID_DIAL = (
    task("call"), pause(timedelta(days=2)), answer("call", "no_answer"),
    after(days=2, minutes=31), task("call"), pay(),
)

order_path(
    "order-duplicate-at-take",
    "manager process: the take-order task is answered duplicate: status false (neutral)",
    order(), after(minutes=1), answer("take_order", "duplicate"),
)
order_path(
    "order-created-by-mistake",
    "manager process: the take-order task is answered mistake: cancelled (reason mistake), neutral",
    order(), after(minutes=1), answer("take_order", "mistake"),
)
order_path(
    "order-duplicate-at-call",
    "manager process: taken, the first call is answered duplicate: dial-1 ends, status false",
    order(), take(), answer("call", "duplicate"),
)
order_path(
    "order-phone-arrives-then-dial",
    "manager process: no phone (not_confirmed), ask_phone email sent, the phone arrives on "
    "day 3, dial-1 opens a call; paid",
    order(phone=None), take(), answer("ask_phone", "send"), after(days=3),
    new_phone("phone-1", "+79005554433"), task("call"), pay(),
)
order_path(
    "order-no-phone-cancelled",
    "manager process: no phone, ask_phone skipped; pending after 5 days, cancelled "
    "(reason no_phone) 3 days later",
    # Awaiting the result skips the phone and pending waits.
    order(phone=None), take(), answer("ask_phone", "skip"),
)
order_path(
    "order-no-phone-check-cancel",
    "manager process: no phone, ask_phone skipped; pending after 5 days with the task 'No "
    "phone for 5 days — check the order', answered cancel: cancelled (reason no_phone)",
    order(phone=None), take(), answer("ask_phone", "skip"), after(days=5),
    answer("no_phone_check", "cancel"),
)
order_path(
    "order-no-phone-check-wait-then-phone",
    "manager process: no phone; after 5 days the check task, answered wait; a phone on day 6 "
    "starts dial-1; paid",
    order(phone=None), take(), answer("ask_phone", "send"), after(days=5),
    answer("no_phone_check", "wait"), after(days=1), new_phone("phone-1", "+79001112233"),
    task("call"), pay(),
)
order_path(
    "order-unreachable-then-new-phone-paid",
    "manager process: nine unanswered calls (dial-1 unreachable), contact-us email, pending; "
    "a new phone starts dial-2; paid",
    order(), take(), nine_unanswered_calls, new_phone("phone-1", "+79007778899"),
    task("call"), pay(),
)
order_path(
    "order-unreachable-expired",
    "manager process: nine unanswered calls (dial-1 unreachable), contact-us email, pending; "
    "no new phone and no payment: the 30-day window ends it, cancelled (reason expired)",
    # Awaiting the result skips to the end of the payment window.
    order(), take(), nine_unanswered_calls,
)
order_path(
    "order-will-pay-reminder-paid",
    "manager process: reached, will pay (payment_pending) on a date 4 days on; the payment "
    "reminder email and dial-2 that day; paid",
    order(), take(), REACHED, answer("will_pay", "yes"),
    answer("payment_date", "at", at=timedelta(days=4)), after(days=4), task("call"), pay(),
)
order_path(
    "order-manager-discount",
    "manager process: reached, will pay with a discount: 7% for 3 days granted, emailed; "
    "payment date 2 days on, its reminder and dial-2; the discount expires; paid",
    order(), take(), REACHED, answer("will_pay", "discount"),
    answer("discount", "number", number=7, valid_days=3),
    answer("payment_date", "at", at=timedelta(days=2)), after(days=2), task("call"),
    after(days=1, hours=1), pay(),
)
order_path(
    "order-instalments-paid",
    "manager process: reached, will pay in 3 instalments; part 1 reminded and paid; part 2 "
    "reminded, missed (call task, reached), paid late; part 3 reminded, paid: the parts add up",
    order(), take(), REACHED, answer("will_pay", "instalments"),
    answer("instalments", "number", number=3), status("payment_pending"),
    after(days=2, hours=1),  # part 1's reminder
    part_paid("part-1", "1633.33"),
    after(days=31),  # part 2 reminded, then due
    answer("instalment_call", "reached"), part_paid("part-2", "1633.33"),
    after(days=29),  # part 3's reminder
    part_paid("part-3", "1633.34"),
)
order_path(
    "order-instalments-unpaid-expired",
    "manager process: 2 instalments, none paid: each reminded and missed, its call task "
    "unanswered (the first closed when the second is reminded); ended expired a week after "
    "the last due date",
    # Awaiting the result skips through both parts to the end.
    order(), take(), REACHED, answer("will_pay", "instalments"),
    answer("instalments", "number", number=2),
)
order_path(
    "order-search-attributes",
    "search attributes: ChaseStage at every stage, AssigneeId when olga takes it, OrderStatus "
    "at each status (payment_pending on will pay, then paid); paid on the promised date",
    order(), take(), REACHED, answer("will_pay", "yes"),
    answer("payment_date", "at", at=timedelta(days=1)), after(hours=12), pay(),
)
order_path(
    "order-wont-pay-cancelled",
    "manager process: reached, will not pay, the manager confirms the cancel: status "
    "cancelled (reason declined)",
    order(), take(), REACHED, answer("will_pay", "no"), answer("confirm_cancel", "yes"),
)
order_path(
    "order-wont-pay-call-back-paid",
    "manager process: reached, will not pay, kept (pending), call back in 2 days: dial-2 "
    "then; paid",
    order(), take(), step(_call_back, timedelta(days=2)), task("call"), pay(),
)
order_path(
    "order-wrong-number-new-phone-paid",
    "manager process: no answer, then wrong number: ask-correct-phone email, not_confirmed; "
    "the right phone a day later starts dial-2; paid",
    order(), take(), answer("call", "no_answer"), retry_gap, answer("call", "wrong_number"),
    after(days=1), new_phone("phone-1", "+79001112233"), task("call"), pay(),
)
order_path(
    "order-wrong-number-no-phone-cancelled",
    "manager process: wrong number: ask-correct-phone email, not_confirmed; no new phone: "
    "pending after 5 days, cancelled (reason no_phone) 3 days later",
    # Awaiting the result skips the phone and pending waits.
    order(), take(), answer("call", "wrong_number"),
)
order_path(
    "order-paid-mid-dial",
    "manager process: paid while the first call task is open: dial-1 is cancelled and "
    "closes it, thank-you email",
    order(), take(), task("call"), pay(),
)
order_path(
    "order-cancelled-mid-dial",
    "manager process: cancelled by the backend while call 2 is open: dial-1 is cancelled "
    "and closes it",
    order(), take(), answer("call", "no_answer"), retry_gap, task("call"), cancel(),
)
order_path(
    "order-reassigned-mid-dial",
    f"manager process: taken by {MANAGER}; while call 1 is open the order is re-assigned to "
    f"{SUCCESSOR}: the chase tells dial-1, whose call 2 goes to {SUCCESSOR}; paid",
    # The open call moves to the successor too, who answers it.
    order(), take(), task("call"), reassign(SUCCESSOR),
    answer("call", "no_answer", SUCCESSOR), retry_gap, _second_call_to_successor, pay(),
)
# fmt: on

# A chase that continues as new: the limit is lowered so that a few call-backs reach it.
LONG_CHASE_EVENTS = 150


@recorded(
    "order-continued-as-new",
    "OrderChase",
    f"first run of a long chase (max_history_events={LONG_CHASE_EVENTS}): call-backs every "
    "3 days until the email cadence is done and the history is long: continued as new",
)
async def order_continued_as_new(rec: Recording) -> WorkflowHandle[Any, Any]:
    first, _ = await _long_chase(rec, "long-first")
    return first


@recorded(
    "order-continued-as-new-resumed",
    "OrderChase",
    "the run a long chase continued as new into: it resumes at a dial (assignee, counters "
    "and payment deadline carried); paid",
)
async def order_continued_as_new_resumed(rec: Recording) -> WorkflowHandle[Any, Any]:
    _, last = await _long_chase(rec, "long-last")
    return last


async def _long_chase(
    rec: Recording, order_id: str
) -> tuple[WorkflowHandle[Any, Any], WorkflowHandle[Any, Any]]:
    """Call back until the chase continues as new, then pay; returns both runs' handles."""
    # `POST /v1/orders` starts a chase with the production limit of thousands of events; this
    # path lowers it, so it imports the order and starts the chase itself.
    await rec.import_orders(order_body(order_id))
    first = await rec.env.client.start_workflow(
        OrderChase.run,
        OrderChaseInput(
            order_id=order_id,
            has_phone=True,
            timings=rec.settings.order_timings(),
            max_history_events=LONG_CHASE_EVENTS,
        ),
        id=order_workflow_id(order_id),
        task_queue=rec.settings.temporal_task_queue,
    )
    await rec.take(order_id)
    for _ in range(10):
        await _call_back(rec, order_id, timedelta(days=3))
        await rec.task(order_id, "call")  # the next dial: in this run or the next
        latest = (await rec.chase(order_id).describe()).run_id
        if latest != first.first_execution_run_id:
            await rec.pay(order_id)
            return rec.chase(order_id, first.first_execution_run_id), rec.chase(order_id, latest)
    raise RuntimeError(f"order-{order_id} never continued as new")


# --- Order chase: pause and resume (README "Calendar") ---------------------------------

# fmt: off
order_path(
    "order-paused-and-resumed",
    "paused for 3 days right after the order-received email, resumed after one: the payment "
    "SMS goes then and the grace minute runs from there; paused again while call 1 is open "
    "(the chase tells dial-1, the email cadence's wait stands still), no answer: call 2 "
    "after the pause; paid",
    # The email is greylisted until the pause is in: it lands while the email is on its way.
    refuse("paused@example.com", temporarily=True), order(email="paused@example.com"),
    pause(timedelta(days=3)), accept("paused@example.com"), settled, after(days=1), resume(),
    take(), *PAUSED_MID_DIAL,
)
order_path(
    "order-paid-while-paused",
    "paused for 5 days while call 1 is open, paid a day in: the chase ends at once, dial-1 "
    "closes its task, thank-you email",
    order(), take(), task("call"), pause(timedelta(days=5)), after(days=1), pay(),
)
order_path(
    "dial-paused",
    "held by its parent's 2-day pause while call 1 is open; no answer: call 2 opens when the "
    "pause and the rest of the 30-minute gap have passed; the order is paid",
    order(), take(), *PAUSED_MID_DIAL,
    workflow="Dial",
    result=Recording.dial,
)
# fmt: on

# --- Order chase: the customer email cadence (SPEC §1 D) ------------------------------

# fmt: off
order_path(
    "order-cadence-offer-expired-then-paid",
    "email cadence, no manager takes the order: objections 1-3 (days 2, 4, 6), the 5 % "
    "offer on day 8 and its expiry on day 10; paid on day 11",
    order(), after(days=11), pay(),
)
order_path(
    "order-cadence-email-opened",
    "email cadence: objection 1 opened 3 hours after it went out, so objection 2 follows one "
    "purchase wait later (day 3, not day 4); paid on day 4",
    order(), after(days=2, hours=3), open_email("objection_1"), after(days=1, hours=3), pay(),
)
order_path(
    "order-cadence-paid-between-objections",
    "email cadence: paid on day 5, between objection 2 (day 4) and objection 3: no more "
    "objections, the thank-you",
    order(), after(days=5), pay(),
)
order_path(
    "order-unsubscribed-then-paid",
    "email cadence: the customer unsubscribes after objection 1 (day 2), so no more "
    "objections and no offer; paid on day 8, the thank-you still goes",
    # An address of its own: the unsubscription stands, and later paths write to Anna.
    order(email="unsubscribed@example.com"), after(days=2, hours=1), unsubscribe(),
    after(days=6), pay(),
)
# fmt: on


@recorded(
    "order-cadence-send-window",
    "OrderChase",
    "email cadence for a customer in Berlin with a 09:00-21:00 send window: objection 1 falls "
    "due at 02:00 there and waits until 09:00; paid the next day",
    settings={"send_window": "09:00-21:00"},
)
async def order_cadence_send_window(rec: Recording) -> WorkflowHandle[Any, Any]:
    berlin = ZoneInfo("Europe/Berlin")
    now = (await rec.now()).astimezone(berlin)
    start = datetime.combine(now.date() + timedelta(days=1), clock_time(2), tzinfo=berlin)
    await rec.sleep(start - now)  # 02:00 there: objection 1, two days on, falls due at night
    handle = await rec.order("send-window", timezone="Europe/Berlin")
    await rec.sleep(timedelta(days=2, hours=8))  # 10:00 there: objection 1 went at 09:00
    sent = await rec.sent_at("send-window", "objection_1")
    assert sent.astimezone(berlin).time() < clock_time(9, 1), sent
    await rec.sleep(timedelta(hours=4))
    await rec.pay("send-window")
    return handle


# fmt: off
order_path(
    "order-email-bounced-then-paid",
    'the order-received email is refused (SMTP 550): an "Email bounced" task for the pool, '
    "answered fixed; the address is suppressed, so objection 1 is not sent; paid on day 3",
    refuse("bounced@example.com"), order(email="bounced@example.com"),
    answer("email_bounced", "fixed"), accept("bounced@example.com"), after(days=3), pay(),
)
# fmt: on
