"""The payment watch and the cancel watch, walked with their real durations under time skipping."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from db.session import Sessions
from scripts.devstack.mailbox import Mailbox, SmtpServer
from scripts.devstack.time_skipping import skip
from tests.factories import load_order, outbox
from tests.fixtures_chase import Chase, Chases
from workflows.messages import OrderCancelled, OrderChaseResult, PaymentReceived
from workflows.order_chase import OrderChase


async def test_paid_on_day_29_ends_positively_with_a_thank_you(
    chase: Chase, ts_env: WorkflowEnvironment, sessions: Sessions, mailbox: Mailbox
) -> None:
    await skip(ts_env, timedelta(days=29))
    await chase.handle.signal(OrderChase.record_payment, PaymentReceived("pay-1", full=True))

    assert await chase.handle.result() == OrderChaseResult("paid", "positive", "paid")
    stored = await load_order(sessions, chase.order.id)
    assert (stored.status, stored.outcome, stored.end_reason) == ("paid", "positive", "paid")
    sent = await outbox(sessions, chase.order.id)
    kinds = [email.kind for email in sent if email.status == "sent"]
    assert kinds[0] == "order_received" and kinds[-1] == "thank_you"
    assert mailbox.subjects()[0] == "Your order for Python for analysts"
    assert mailbox.subjects()[-1] == "Thank you for your payment: Python for analysts"
    assert all(str(m["To"]) == "anna@example.com" for m in mailbox.messages)


async def test_unpaid_order_is_cancelled_as_expired_after_exactly_30_days(
    chase: Chase, sessions: Sessions
) -> None:
    assert await chase.handle.result() == OrderChaseResult("cancelled", "negative", "expired")
    stored = await load_order(sessions, chase.order.id)
    assert (stored.status, stored.outcome, stored.end_reason) == (
        "cancelled",
        "negative",
        "expired",
    )
    assert stored.ended_at is not None
    assert abs(stored.ended_at - chase.started - timedelta(days=30)) < timedelta(seconds=1)
    assert "thank_you" not in [email.kind for email in await outbox(sessions, chase.order.id)]


async def test_cancelled_order_gets_no_email_after_the_cancellation(
    chase: Chase, ts_env: WorkflowEnvironment, sessions: Sessions, mailbox: Mailbox
) -> None:
    await skip(ts_env, timedelta(hours=1))
    sent_before = len(mailbox.messages)

    await chase.handle.signal(OrderChase.cancel, OrderCancelled("cancel-1"))

    assert await chase.handle.result() == OrderChaseResult("cancelled", "negative", "cancelled")
    await skip(ts_env, timedelta(days=40))  # long past every reminder the chase could send
    assert len(mailbox.messages) == sent_before
    assert (await load_order(sessions, chase.order.id)).status == "cancelled"


async def test_duplicate_paid_events_send_one_thank_you(
    chase: Chase, ts_env: WorkflowEnvironment, mailbox: Mailbox
) -> None:
    await skip(ts_env, timedelta(minutes=10))

    for event_id in ("pay-1", "pay-1", "pay-2"):
        await chase.handle.signal(OrderChase.record_payment, PaymentReceived(event_id, full=True))

    assert (await chase.handle.result()).status == "paid"
    thanks = [s for s in mailbox.subjects() if s.startswith("Thank you for your payment")]
    assert len(thanks) == 1


async def test_a_thank_you_the_mail_server_defers_goes_out_once_it_takes_it(
    chase: Chase, ts_env: WorkflowEnvironment, smtp_server: SmtpServer, mailbox: Mailbox
) -> None:
    """The thank-you is sent inside the workflow task that heard the payment (a local
    activity); a mail server saying "try again later" for minutes keeps the chase open, its
    retries waiting on timers, until the email is taken, once."""
    await skip(ts_env, timedelta(minutes=10))
    with smtp_server.greylisting(chase.order.customer_email):
        await chase.handle.signal(OrderChase.record_payment, PaymentReceived("pay-1", full=True))
        await skip(ts_env, timedelta(minutes=5))
        assert not [s for s in mailbox.subjects() if s.startswith("Thank you")]
        description = await chase.handle.describe()
        assert description.status == WorkflowExecutionStatus.RUNNING

    assert await chase.handle.result() == OrderChaseResult("paid", "positive", "paid")
    thanks = [s for s in mailbox.subjects() if s.startswith("Thank you for your payment")]
    assert len(thanks) == 1


async def test_a_payment_heard_while_the_first_email_is_held_past_the_window_stands(
    chases: Chases, sessions: Sessions, smtp_server: SmtpServer, mailbox: Mailbox
) -> None:
    """The chase hears the payment while its first email is still being retried (a worker or a
    mail server down); when the email goes out the window is over: the payment wins, not
    the expiry (found by `make chaos`, where a kill -9 holds an activity for 60 s)."""
    timings = replace(chases.settings.order_timings(), payment_window=120.0)
    with smtp_server.greylisting("held@example.com"):
        chase = await chases.start(timings, customer_email="held@example.com")
        await chase.handle.signal(OrderChase.record_payment, PaymentReceived("pay-1", full=True))
        await skip(chases.env, timedelta(seconds=300))  # the email retried well past the window

    assert await chase.handle.result() == OrderChaseResult("paid", "positive", "paid")
    assert (await load_order(sessions, chase.order.id)).status == "paid"
    assert mailbox.subjects()[-1] == "Thank you for your payment: Python for analysts"
