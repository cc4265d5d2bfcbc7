"""The order chase's paths: the payment watch, the manager process, the email cadence."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

from temporalio.client import WorkflowHandle

from domain import EndReason, late_payment_workflow_id
from scripts.histories.recording import MANAGER, SUCCESSOR, Recording
from scripts.histories.registry import recorded
from workflows.late_payment import LatePayment, LatePaymentInput
from workflows.messages import (
    ChasePause,
    ChaseResume,
    OrderCancelled,
    PaymentReceived,
    Unsubscribed,
)
from workflows.order_chase import OrderChase
from workflows.work_calendar import CalendarSpec

# --- Order chase: payment and cancel watch --------------------------------------------


@recorded("order-paid", "OrderChase", "paid in full on day 3: status paid, thank-you email")
async def order_paid(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("paid"))
    await rec.sleep(timedelta(days=3))
    await handle.signal(OrderChase.record_payment, PaymentReceived("pay-1", full=True))
    return handle


@recorded(
    "order-partly-paid-then-paid",
    "OrderChase",
    "partly paid on day 1 (status partially_paid), paid in full on day 4",
)
async def order_partly_paid_then_paid(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("partly-paid"))
    await rec.sleep(timedelta(days=1))
    await handle.signal(OrderChase.record_payment, PaymentReceived("pay-1", full=False))
    await rec.sleep(timedelta(days=3))
    await handle.signal(OrderChase.record_payment, PaymentReceived("pay-2", full=True))
    return handle


@recorded(
    "order-cancelled",
    "OrderChase",
    "cancelled by the backend after an hour: status cancelled (reason cancelled)",
)
async def order_cancelled(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("cancelled"))
    await rec.sleep(timedelta(hours=1))
    await handle.signal(OrderChase.cancel, OrderCancelled("cancel-1"))
    return handle


@recorded(
    "order-paid-after-cancel",
    "OrderChase",
    "cancelled, and paid a moment later while the end is written: status paid, reason "
    "paid_after_cancel, thank-you email",
)
async def order_paid_after_cancel(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("paid-after-cancel"))
    await rec.sleep(timedelta(hours=1))
    await handle.signal(OrderChase.cancel, OrderCancelled("cancel-1"))
    await handle.signal(OrderChase.record_payment, PaymentReceived("pay-1", full=True))
    return handle


@recorded(
    "late-payment",
    "LatePayment",
    "a payment for an order whose chase ended cancelled: status paid (paid_after_cancel), "
    "thank-you email",
)
async def late_payment(rec: Recording) -> WorkflowHandle[Any, Any]:
    order = await rec.order("late-payment")
    await rec.cancel_chase(order)
    return await rec.env.client.start_workflow(
        LatePayment.run,
        LatePaymentInput(order_id=order.id, reason=EndReason.PAID_AFTER_CANCEL),
        id=late_payment_workflow_id(order.id),
        task_queue=rec.settings.temporal_task_queue,
    )


@recorded(
    "order-expired",
    "OrderChase",
    "never paid: the 30-day payment window ends, status cancelled (reason expired)",
)
async def order_expired(rec: Recording) -> WorkflowHandle[Any, Any]:
    # No signal at all: awaiting the result lets the server skip the whole window.
    return await rec.start_order_chase(await rec.order("expired", phone=None))


@recorded(
    "order-paid-while-first-email-held",
    "OrderChase",
    "paid while the order-received email is greylisted past a 2-minute window: the payment "
    "stands, status paid, thank-you email",
)
async def order_paid_while_first_email_held(rec: Recording) -> WorkflowHandle[Any, Any]:
    order = await rec.order("held", customer_email="held@example.com")
    rec.smtp.defer.add(order.customer_email)
    window = replace(rec.settings.order_timings(), payment_window=120.0)
    handle = await rec.start_order_chase(order, timings=window)
    try:
        await handle.signal(OrderChase.record_payment, PaymentReceived("pay-1", full=True))
        await rec.sleep(timedelta(minutes=5))  # the email retried well past the window
    finally:
        rec.smtp.defer.discard(order.customer_email)
    return handle


# --- Order chase: the manager process (SPEC §1 C) -------------------------------------


@recorded(
    "order-duplicate-at-take",
    "OrderChase",
    "manager process: the take-order task is answered duplicate: status false (neutral)",
)
async def order_duplicate_at_take(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("dup-take"))
    await rec.sleep(timedelta(minutes=1))
    await rec.answer("dup-take", "take_order", "duplicate")
    return handle


@recorded(
    "order-created-by-mistake",
    "OrderChase",
    "manager process: the take-order task is answered mistake: cancelled (reason mistake), neutral",
)
async def order_created_by_mistake(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("mistake"))
    await rec.sleep(timedelta(minutes=1))
    await rec.answer("mistake", "take_order", "mistake")
    return handle


@recorded(
    "order-duplicate-at-call",
    "OrderChase",
    "manager process: taken, the first call is answered duplicate: dial-1 ends, status false",
)
async def order_duplicate_at_call(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("dup-call"))
    await rec.take("dup-call")
    await rec.answer("dup-call", "call", "duplicate")
    return handle


@recorded(
    "order-phone-arrives-then-dial",
    "OrderChase",
    "manager process: no phone (not_confirmed), ask_phone email sent, the phone arrives on "
    "day 3, dial-1 opens a call; paid",
)
async def order_phone_arrives_then_dial(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("phone-later", phone=None))
    await rec.take("phone-later")
    await rec.answer("phone-later", "ask_phone", "send")
    await rec.sleep(timedelta(days=3))
    await rec.new_phone("phone-later", "phone-1", "+79005554433")
    await rec.task("phone-later", "call")
    await rec.pay("phone-later")
    return handle


@recorded(
    "order-no-phone-cancelled",
    "OrderChase",
    "manager process: no phone, ask_phone skipped; pending after 5 days, cancelled "
    "(reason no_phone) 3 days later",
)
async def order_no_phone_cancelled(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("no-phone", phone=None))
    await rec.take("no-phone")
    await rec.answer("no-phone", "ask_phone", "skip")
    return handle  # awaiting the result skips the phone and pending waits


@recorded(
    "order-no-phone-check-cancel",
    "OrderChase",
    "manager process: no phone, ask_phone skipped; pending after 5 days with the task 'No "
    "phone for 5 days — check the order', answered cancel: cancelled (reason no_phone)",
)
async def order_no_phone_check_cancel(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("check-cancel", phone=None))
    await rec.take("check-cancel")
    await rec.answer("check-cancel", "ask_phone", "skip")
    await rec.sleep(timedelta(days=5))
    await rec.answer("check-cancel", "no_phone_check", "cancel")
    return handle


@recorded(
    "order-no-phone-check-wait-then-phone",
    "OrderChase",
    "manager process: no phone; after 5 days the check task, answered wait; a phone on day 6 "
    "starts dial-1; paid",
)
async def order_no_phone_check_wait_then_phone(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("check-wait", phone=None))
    await rec.take("check-wait")
    await rec.answer("check-wait", "ask_phone", "send")
    await rec.sleep(timedelta(days=5))
    await rec.answer("check-wait", "no_phone_check", "wait")
    await rec.sleep(timedelta(days=1))
    await rec.new_phone("check-wait", "phone-1", "+79001112233")
    await rec.task("check-wait", "call")
    await rec.pay("check-wait")
    return handle


@recorded(
    "order-unreachable-then-new-phone-paid",
    "OrderChase",
    "manager process: nine unanswered calls (dial-1 unreachable), contact-us email, pending; "
    "a new phone starts dial-2; paid",
)
async def order_unreachable_then_new_phone_paid(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("unreachable"))
    await rec.take("unreachable")
    await nine_unanswered_calls(rec, "unreachable")
    await rec.new_phone("unreachable", "phone-1", "+79007778899")
    await rec.task("unreachable", "call")
    await rec.pay("unreachable")
    return handle


@recorded(
    "order-unreachable-expired",
    "OrderChase",
    "manager process: nine unanswered calls (dial-1 unreachable), contact-us email, pending; "
    "no new phone and no payment: the 30-day window ends it, cancelled (reason expired)",
)
async def order_unreachable_expired(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("unreachable-expired"))
    await rec.take("unreachable-expired")
    await nine_unanswered_calls(rec, "unreachable-expired")
    return handle  # awaiting the result skips to the end of the payment window


@recorded(
    "order-will-pay-reminder-paid",
    "OrderChase",
    "manager process: reached, will pay (payment_pending) on a date 4 days on; the payment "
    "reminder email and dial-2 that day; paid",
)
async def order_will_pay_reminder_paid(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("will-pay"))
    await rec.take("will-pay")
    await rec.answer("will-pay", "call", "reached")
    await rec.answer("will-pay", "will_pay", "yes")
    await rec.answer("will-pay", "payment_date", "at", at=await rec.now() + timedelta(days=4))
    await rec.sleep(timedelta(days=4))
    await rec.task("will-pay", "call")
    await rec.pay("will-pay")
    return handle


@recorded(
    "order-manager-discount",
    "OrderChase",
    "manager process: reached, will pay with a discount: 7% for 3 days granted, emailed; "
    "payment date 2 days on, its reminder and dial-2; the discount expires; paid",
)
async def order_manager_discount(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("discount"))
    await rec.take("discount")
    await rec.answer("discount", "call", "reached")
    await rec.answer("discount", "will_pay", "discount")
    await rec.answer("discount", "discount", "number", number=7, valid_days=3)
    await rec.answer("discount", "payment_date", "at", at=await rec.now() + timedelta(days=2))
    await rec.sleep(timedelta(days=2))
    await rec.task("discount", "call")
    await rec.sleep(timedelta(days=1, hours=1))
    await rec.pay("discount")
    return handle


@recorded(
    "order-instalments-paid",
    "OrderChase",
    "manager process: reached, will pay in 3 instalments; part 1 reminded and paid; part 2 "
    "reminded, missed (call task, reached), paid late; part 3 reminded, paid: the parts add up",
)
async def order_instalments_paid(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("instalments"))
    await rec.take("instalments")
    await rec.answer("instalments", "call", "reached")
    await rec.answer("instalments", "will_pay", "instalments")
    await rec.answer("instalments", "instalments", "number", number=3)
    await rec.status("instalments", "payment_pending")
    await rec.sleep(timedelta(days=2, hours=1))  # part 1's reminder
    await rec.part_paid("instalments", "part-1", "1633.33")
    await rec.sleep(timedelta(days=31))  # part 2 reminded, then due
    await rec.answer("instalments", "instalment_call", "reached")
    await rec.part_paid("instalments", "part-2", "1633.33")
    await rec.sleep(timedelta(days=29))  # part 3's reminder
    await rec.part_paid("instalments", "part-3", "1633.34")
    return handle


@recorded(
    "order-instalments-unpaid-expired",
    "OrderChase",
    "manager process: 2 instalments, none paid: each reminded and missed, its call task "
    "unanswered (the first closed when the second is reminded); ended expired a week after "
    "the last due date",
)
async def order_instalments_unpaid_expired(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("instalments-unpaid"))
    await rec.take("instalments-unpaid")
    await rec.answer("instalments-unpaid", "call", "reached")
    await rec.answer("instalments-unpaid", "will_pay", "instalments")
    await rec.answer("instalments-unpaid", "instalments", "number", number=2)
    return handle  # awaiting the result skips through both parts to the end


@recorded(
    "order-search-attributes",
    "OrderChase",
    "search attributes: ChaseStage at every stage, AssigneeId when olga takes it, OrderStatus "
    "at each status (payment_pending on will pay, then paid); paid on the promised date",
)
async def order_search_attributes(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("searchable"))
    await rec.take("searchable")
    await rec.answer("searchable", "call", "reached")
    await rec.answer("searchable", "will_pay", "yes")
    await rec.answer("searchable", "payment_date", "at", at=await rec.now() + timedelta(days=1))
    await rec.sleep(timedelta(hours=12))
    await rec.pay("searchable")
    return handle


@recorded(
    "order-wont-pay-cancelled",
    "OrderChase",
    "manager process: reached, will not pay, the manager confirms the cancel: status "
    "cancelled (reason declined)",
)
async def order_wont_pay_cancelled(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("wont-pay"))
    await rec.take("wont-pay")
    await rec.answer("wont-pay", "call", "reached")
    await rec.answer("wont-pay", "will_pay", "no")
    await rec.answer("wont-pay", "confirm_cancel", "yes")
    return handle


@recorded(
    "order-wont-pay-call-back-paid",
    "OrderChase",
    "manager process: reached, will not pay, kept (pending), call back in 2 days: dial-2 "
    "then; paid",
)
async def order_wont_pay_call_back_paid(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("call-back"))
    await rec.take("call-back")
    await _call_back(rec, "call-back", timedelta(days=2))
    await rec.task("call-back", "call")
    await rec.pay("call-back")
    return handle


@recorded(
    "order-wrong-number-new-phone-paid",
    "OrderChase",
    "manager process: no answer, then wrong number: ask-correct-phone email, not_confirmed; "
    "the right phone a day later starts dial-2; paid",
)
async def order_wrong_number_new_phone_paid(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("wrong-number"))
    await rec.take("wrong-number")
    await rec.answer("wrong-number", "call", "no_answer")
    await rec.sleep(timedelta(seconds=rec.settings.order_timings().retry_gap))
    await rec.answer("wrong-number", "call", "wrong_number")
    await rec.sleep(timedelta(days=1))
    await rec.new_phone("wrong-number", "phone-1", "+79001112233")
    await rec.task("wrong-number", "call")
    await rec.pay("wrong-number")
    return handle


@recorded(
    "order-wrong-number-no-phone-cancelled",
    "OrderChase",
    "manager process: wrong number: ask-correct-phone email, not_confirmed; no new phone: "
    "pending after 5 days, cancelled (reason no_phone) 3 days later",
)
async def order_wrong_number_no_phone_cancelled(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("wrong-number-no-phone"))
    await rec.take("wrong-number-no-phone")
    await rec.answer("wrong-number-no-phone", "call", "wrong_number")
    return handle  # awaiting the result skips the phone and pending waits


@recorded(
    "order-paid-mid-dial",
    "OrderChase",
    "manager process: paid while the first call task is open: dial-1 is cancelled and "
    "closes it, thank-you email",
)
async def order_paid_mid_dial(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("paid-mid-dial"))
    await rec.take("paid-mid-dial")
    await rec.task("paid-mid-dial", "call")
    await rec.pay("paid-mid-dial")
    return handle


@recorded(
    "order-cancelled-mid-dial",
    "OrderChase",
    "manager process: cancelled by the backend while call 2 is open: dial-1 is cancelled "
    "and closes it",
)
async def order_cancelled_mid_dial(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("cancelled-mid-dial"))
    await rec.take("cancelled-mid-dial")
    await rec.answer("cancelled-mid-dial", "call", "no_answer")
    await rec.sleep(timedelta(seconds=rec.settings.order_timings().retry_gap))
    await rec.task("cancelled-mid-dial", "call")
    await rec.cancel("cancelled-mid-dial")
    return handle


@recorded(
    "order-reassigned-mid-dial",
    "OrderChase",
    f"manager process: taken by {MANAGER}; while call 1 is open the order is re-assigned to "
    f"{SUCCESSOR}: the chase tells dial-1, whose call 2 goes to {SUCCESSOR}; paid",
)
async def order_reassigned_mid_dial(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("reassigned"))
    await rec.take("reassigned")
    await rec.task("reassigned", "call")
    await rec.reassign("reassigned", SUCCESSOR)
    await rec.answer("reassigned", "call", "no_answer")
    await rec.sleep(timedelta(seconds=rec.settings.order_timings().retry_gap))
    second = await rec.task("reassigned", "call")
    if second.assignee_id != SUCCESSOR:
        raise RuntimeError(f"call 2 went to {second.assignee_id}, not {SUCCESSOR}")
    await rec.pay("reassigned")
    return handle


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
    first = await rec.start_order_chase(
        await rec.order(order_id), max_history_events=LONG_CHASE_EVENTS
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


async def _call_back(rec: Recording, order_id: str, after: timedelta) -> None:
    """Reached, will not pay, kept: call back `after` from now, and wait until then."""
    await rec.answer(order_id, "call", "reached")
    await rec.answer(order_id, "will_pay", "no")
    await rec.answer(order_id, "confirm_cancel", "no")
    await rec.answer(order_id, "callback_time", "at", at=await rec.now() + after)
    await rec.sleep(after)


async def nine_unanswered_calls(rec: Recording, order_id: str) -> None:
    """Three calls a day for three days, none answered: the dial child gives up."""
    t = rec.settings.order_timings()
    for attempt in range(1, t.dial_days * t.calls_per_day + 1):
        await rec.answer(order_id, "call", "no_answer")
        if attempt % t.calls_per_day:
            await rec.sleep(timedelta(seconds=t.retry_gap))
        elif attempt < t.dial_days * t.calls_per_day:
            await rec.sleep(timedelta(seconds=t.day_gap))


# --- Order chase: pause and resume (README "Calendar") ---------------------------------


@recorded(
    "order-paused-and-resumed",
    "OrderChase",
    "paused for 3 days right after the order-received email, resumed after one: the payment "
    "SMS goes then and the grace minute runs from there; paused again while call 1 is open "
    "(the chase tells dial-1, the email cadence's wait stands still), no answer: call 2 "
    "after the pause; paid",
)
async def order_paused_and_resumed(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("paused-resumed"))
    await rec.settled(handle)
    await _pause(rec, "paused-resumed", 1, timedelta(days=3))
    await rec.sleep(timedelta(days=1))
    await handle.signal(OrderChase.resume_chase, ChaseResume(2))
    await rec.take("paused-resumed")
    await _paused_mid_dial(rec, "paused-resumed", seq=3)
    return handle


@recorded(
    "order-paid-while-paused",
    "OrderChase",
    "paused for 5 days while call 1 is open, paid a day in: the chase ends at once, dial-1 "
    "closes its task, thank-you email",
)
async def order_paid_while_paused(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("paid-while-paused"))
    await rec.take("paid-while-paused")
    await rec.task("paid-while-paused", "call")
    await _pause(rec, "paid-while-paused", 1, timedelta(days=5))
    await rec.sleep(timedelta(days=1))
    await rec.pay("paid-while-paused")
    return handle


@recorded(
    "dial-paused",
    "Dial",
    "held by its parent's 2-day pause while call 1 is open; no answer: call 2 opens when the "
    "pause and the rest of the 30-minute gap have passed; the order is paid",
)
async def dial_paused(rec: Recording) -> WorkflowHandle[Any, Any]:
    await rec.start_order_chase(await rec.order("dial-paused"))
    await rec.take("dial-paused")
    await _paused_mid_dial(rec, "dial-paused", seq=1)
    return rec.dial("dial-paused")


async def _pause(rec: Recording, order_id: str, seq: int, length: timedelta) -> None:
    """`POST /v1/orders/{id}/pause` as the chase hears it (its row id is `seq`)."""
    until = (await rec.now() + length).isoformat()
    await rec.chase(order_id).signal(OrderChase.pause_chase, ChasePause(seq, until, "away"))


async def _paused_mid_dial(rec: Recording, order_id: str, seq: int) -> None:
    """Paused for 2 days while call 1 is open, which is answered no_answer meanwhile; call 2
    opens after the pause; then the order is paid."""
    await rec.task(order_id, "call")
    await _pause(rec, order_id, seq, timedelta(days=2))
    await rec.answer(order_id, "call", "no_answer")
    await rec.sleep(timedelta(days=2, minutes=31))
    await rec.task(order_id, "call")
    await rec.pay(order_id)


# --- Order chase: the customer email cadence (SPEC §1 D) ------------------------------


@recorded(
    "order-cadence-offer-expired-then-paid",
    "OrderChase",
    "email cadence, no manager takes the order: objections 1-3 (days 2, 4, 6), the 5 % "
    "offer on day 8 and its expiry on day 10; paid on day 11",
)
async def order_cadence_offer_expired_then_paid(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("cadence-offer"))
    await rec.sleep(timedelta(days=11))
    await rec.pay("cadence-offer")
    return handle


@recorded(
    "order-cadence-email-opened",
    "OrderChase",
    "email cadence: objection 1 opened 3 hours after it went out, so objection 2 follows one "
    "purchase wait later (day 3, not day 4); paid on day 4",
)
async def order_cadence_email_opened(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("cadence-opened"))
    await rec.sleep(timedelta(days=2, hours=3))
    await rec.open_email("cadence-opened", "objection_1")
    await rec.sleep(timedelta(days=1, hours=3))
    await rec.pay("cadence-opened")
    return handle


@recorded(
    "order-cadence-paid-between-objections",
    "OrderChase",
    "email cadence: paid on day 5, between objection 2 (day 4) and objection 3: no more "
    "objections, the thank-you",
)
async def order_cadence_paid_between_objections(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("cadence-paid"))
    await rec.sleep(timedelta(days=5))
    await rec.pay("cadence-paid")
    return handle


@recorded(
    "order-cadence-send-window",
    "OrderChase",
    "email cadence for a customer in Berlin with a 09:00-21:00 send window: objection 1 falls "
    "due at 02:00 there and waits until 09:00; paid the next day",
)
async def order_cadence_send_window(rec: Recording) -> WorkflowHandle[Any, Any]:
    berlin = ZoneInfo("Europe/Berlin")
    now = (await rec.now()).astimezone(berlin)
    start = datetime.combine(now.date() + timedelta(days=1), clock_time(2), tzinfo=berlin)
    await rec.sleep(start - now)  # 02:00 there: objection 1, two days on, falls due at night
    timings = replace(
        rec.settings.order_timings(), send_window=CalendarSpec("Europe/Berlin", "09:00-21:00")
    )
    handle = await rec.start_order_chase(await rec.order("send-window"), timings=timings)
    await rec.sleep(timedelta(days=2, hours=8))  # 10:00 there: objection 1 went at 09:00
    sent = await rec.sent_at("send-window", "objection_1")
    assert sent.astimezone(berlin).time() < clock_time(9, 1), sent
    await rec.sleep(timedelta(hours=4))
    await rec.pay("send-window")
    return handle


@recorded(
    "order-email-bounced-then-paid",
    "OrderChase",
    'the order-received email is refused (SMTP 550): an "Email bounced" task for the pool, '
    "answered fixed; the address is suppressed, so objection 1 is not sent; paid on day 3",
)
async def order_email_bounced_then_paid(rec: Recording) -> WorkflowHandle[Any, Any]:
    address = "bounced@example.com"
    rec.smtp.refuse.add(address)
    try:
        handle = await rec.start_order_chase(await rec.order("bounced", customer_email=address))
        await rec.answer("bounced", "email_bounced", "fixed")
    finally:
        rec.smtp.refuse.discard(address)
    await rec.sleep(timedelta(days=3))
    await rec.pay("bounced")
    return handle


@recorded(
    "order-unsubscribed-then-paid",
    "OrderChase",
    "email cadence: the customer unsubscribes after objection 1 (day 2), so no more "
    "objections and no offer; paid on day 8, the thank-you still goes",
)
async def order_unsubscribed_then_paid(rec: Recording) -> WorkflowHandle[Any, Any]:
    handle = await rec.start_order_chase(await rec.order("unsubscribed"))
    await rec.sleep(timedelta(days=2, hours=1))
    await handle.signal(OrderChase.unsubscribe, Unsubscribed("anna@example.com"))
    await rec.sleep(timedelta(days=6))
    await rec.pay("unsubscribed")
    return handle
