"""The worker: builds the activities once with their dependencies and serves every workflow."""

from __future__ import annotations

import asyncio
import functools
import logging
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

import jinja2
import uvloop
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.calendars import CalendarActivities, CalendarSetup
from activities.checkins import CheckinStarter
from activities.discounts import DiscountActivities
from activities.emails import EmailActivities, MailSetup
from activities.enrollment import EnrollmentActivities
from activities.instalments import InstalmentActivities
from activities.leads import LeadActivities, LeadMailSetup
from activities.orders import OrderActivities
from activities.permanent import PermanentErrors
from activities.renewals import RenewalActivities
from activities.sms import FileSmsSender, SmsActivities, SmsSender
from activities.tasks import TaskActivities
from activities.webhooks import WebhookActivities, WebhookSetup
from db.session import Sessions, make_engine, make_sessions
from log_config import configure_logging
from mail.backends import FileMailer, Mailer, SmtpMailer
from mail.links import pay_links
from mail.render import make_templates
from mail.unsubscribe import unsubscribe_links
from process_exit import exit_now
from settings import Settings
from temporal_client import connect_with_retry
from timings import CheckinSetup, OrderTimings
from tracing import temporal_interceptors, tracer_provider
from workflow_code import ValidatedOnce, keep_workflow_code, skip_idle_payload_walks
from workflows.checkin import Checkin
from workflows.dial import Dial
from workflows.enrollment import EnrollmentJob
from workflows.late_payment import LatePayment
from workflows.lead_chase import LeadChase
from workflows.order_chase import OrderChase
from workflows.renewal import Renewal
from workflows.webhook_delivery import (
    WebhookDelivery,
    WebhookDeliveryInput,
    webhook_delivery_id,
)


@dataclass(frozen=True)
class WorkerDeps:
    """What the activities are built with; tests hand in their own."""

    sessions: Sessions
    mailer: Mailer
    templates: jinja2.Environment
    mail: MailSetup
    sms: SmsSender
    # Settings.order_timings (product, customer's zone, today), for the chases enrolment jobs start.
    order_timings: Callable[[str, str | None, date], OrderTimings]
    # Whose hours a call task waits for: managers' and the pool's, on the production calendar.
    calendars: CalendarSetup
    # MANAGER_NOTIFY_EMAIL: lead chase notices reach the manager by email too.
    manager_notify_email: bool = True
    webhooks: WebhookSetup = field(default_factory=WebhookSetup)
    # CHECKIN_AFTER: which paid orders get a check-in, and when.
    checkins: CheckinSetup = field(default_factory=CheckinSetup)


def make_mailer(settings: Settings) -> Mailer:
    if settings.email_backend == "smtp":
        return SmtpMailer(settings.smtp_url)
    return FileMailer(settings.data_dir / "mail")


def make_deps(settings: Settings, sessions: Sessions) -> WorkerDeps:
    return WorkerDeps(
        sessions=sessions,
        mailer=make_mailer(settings),
        templates=make_templates(),
        mail=MailSetup(
            sender=settings.mail_from,
            public_base_url=settings.public_base_url,
            links=pay_links(settings),
            timezone=settings.default_timezone,
            landing_urls=settings.product_landing_urls,
            unsubscribe=unsubscribe_links(settings),
        ),
        # Text messages go to files only: a real SMS gateway is out of scope (activities/sms.py).
        sms=FileSmsSender(settings.data_dir / "sms"),
        manager_notify_email=settings.manager_notify_email,
        webhooks=webhook_setup(settings),
        order_timings=settings.order_timings,
        checkins=settings.checkin_setup(),
        calendars=CalendarSetup(
            default_timezone=settings.default_timezone,
            working_hours=settings.working_hours,
            pool_hours=settings.pool_hours,
            build=settings.calendar,
        ),
    )


def webhook_setup(settings: Settings) -> WebhookSetup:
    secret = settings.webhook_secret
    return WebhookSetup(
        url=settings.webhook_url,
        secret=secret.get_secret_value() if secret is not None else None,
        first_retry=settings.webhook_first_retry.total_seconds(),
        max_retry_gap=settings.webhook_max_retry_gap.total_seconds(),
        retry_for=settings.webhook_retry_for.total_seconds(),
        timeout=settings.webhook_timeout.total_seconds(),
    )


WORKFLOWS: Sequence[type] = (
    OrderChase,
    Dial,
    LatePayment,
    LeadChase,
    EnrollmentJob,
    WebhookDelivery,
    Renewal,
    Checkin,
)


# Modules the sandbox may share between workflows instead of importing them afresh for each
# new one (what a chase's first task spends most of its CPU on). Data only — enums, dataclasses,
# constants, no logic — so nothing here could call the clock or do I/O for a workflow:
# tests/test_determinism.py keeps it that way. Workflow code itself stays in the sandbox, which
# goes on catching `datetime.now()` and the like there.
SANDBOX_PASSTHROUGH = (
    "domain",
    "workflows.activity_policy",
    "workflows.messages",
    "workflows.patch_ids",
    "workflows.search_attributes",
    "workflows.tasks",
)


@functools.cache
def workflow_runner() -> SandboxedWorkflowRunner:
    """The sandbox of the worker, the tests and `chaser replay`: one per process, served
    compiled code, validating each workflow class once, walking no payload for nothing."""
    keep_workflow_code()
    skip_idle_payload_walks()
    return ValidatedOnce(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*SANDBOX_PASSTHROUGH)
    )


def build_worker(client: Client, deps: WorkerDeps, task_queue: str) -> Worker:
    """The one place that lists every workflow and activity; worker.py and the tests use it."""
    checkins = CheckinStarter(client, deps.checkins, task_queue)
    orders = OrderActivities(deps.sessions, checkins.start)
    emails = EmailActivities(deps.sessions, deps.mailer, deps.templates, deps.mail)
    discounts = DiscountActivities(deps.sessions)
    instalments = InstalmentActivities(deps.sessions)
    sms = SmsActivities(deps.sessions, deps.sms, deps.mail.links)
    tasks = TaskActivities(deps.sessions, deps.templates)
    calendars = CalendarActivities(deps.sessions, deps.calendars)
    leads = LeadActivities(
        deps.sessions,
        deps.mailer,
        deps.templates,
        LeadMailSetup(sender=deps.mail.sender, notify_by_email=deps.manager_notify_email),
    )
    renewals = RenewalActivities(deps.sessions, deps.mailer, deps.templates, deps.mail)
    webhooks = WebhookActivities(deps.sessions, deps.webhooks)
    enrollment = EnrollmentActivities(deps.sessions, client, deps.order_timings, task_queue)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=list(WORKFLOWS),
        workflow_runner=workflow_runner(),
        interceptors=[PermanentErrors()],
        activities=[
            orders.set_status,
            orders.finish_order,
            orders.assign,
            tasks.open_task,
            tasks.close_task,
            calendars.working_calendar,
            emails.send_order_email,
            discounts.grant,
            discounts.expire,
            instalments.record_plan,
            instalments.check_part,
            sms.send_payment_sms,
            leads.send_lead_email,
            leads.notify_manager,
            leads.save_chase_state,
            renewals.renewal_manager,
            renewals.send_renewal_email,
            renewals.finish_period,
            webhooks.deliver_webhooks,
            enrollment.count_orders,
            enrollment.enroll_batch,
            enrollment.finish_enrollment,
        ],
    )


async def start_webhook_delivery(client: Client, settings: Settings) -> None:
    """The delivery loop, once per task queue: a worker that starts finds it running."""
    await client.start_workflow(
        WebhookDelivery.run,
        WebhookDeliveryInput(poll=settings.webhook_poll.total_seconds()),
        id=webhook_delivery_id(settings.temporal_task_queue),
        task_queue=settings.temporal_task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )


# Finer than the SDK's default buckets below a second, where a healthy worker's task and
# activity start latencies live (the benchmark reads their quantiles from these).
START_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
LATENCY_BUCKETS = {
    "activity_schedule_to_start_latency": START_LATENCY_BUCKETS,
    "workflow_task_schedule_to_start_latency": START_LATENCY_BUCKETS,
}


def make_runtime(settings: Settings) -> Runtime | None:
    """With WORKER_METRICS_PORT, a runtime that serves the SDK's metrics (and the activities'
    business counters, activities/metrics.py) to Prometheus on that port."""
    if settings.worker_metrics_port is None:
        return None
    prometheus = PrometheusConfig(
        bind_address=f"0.0.0.0:{settings.worker_metrics_port}",
        durations_as_seconds=True,
        histogram_bucket_overrides=LATENCY_BUCKETS,
    )
    return Runtime(telemetry=TelemetryConfig(metrics=prometheus))


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    """Wait for Temporal (it may be down at start), then poll until `stop` is set."""
    engine = make_engine(settings.database_url)
    # The tracing interceptor on the client is the worker's too: workflows and activities
    # continue the trace of the request that started or signalled them.
    tracer = tracer_provider(settings, "chaser-worker")
    try:
        connecting = asyncio.create_task(
            connect_with_retry(
                settings, runtime=make_runtime(settings), interceptors=temporal_interceptors(tracer)
            )
        )
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({connecting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not connecting.done():
            connecting.cancel()
            return
        worker = build_worker(
            connecting.result(),
            make_deps(settings, make_sessions(engine)),
            settings.temporal_task_queue,
        )
        await start_webhook_delivery(connecting.result(), settings)
        logging.getLogger(__name__).info("worker polling %s", settings.temporal_task_queue)
        async with worker:
            await stop.wait()
    finally:
        if tracer is not None:
            tracer.shutdown()  # the spans still batched go out
        await engine.dispose()


async def main() -> None:
    # Stop polling on SIGTERM or Ctrl-C and let running activities finish (graceful shutdown).
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    settings.check_secrets()
    await serve(settings, stop)


if __name__ == "__main__":
    # uvloop: the activities' sockets (database, SMTP) and the SDK's callbacks cost less.
    uvloop.run(main())
    exit_now(0)
