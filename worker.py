"""The worker: builds the activities once with their dependencies and serves every workflow."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence
from dataclasses import dataclass

import jinja2
from temporalio.client import Client
from temporalio.worker import Worker

from activities.discounts import DiscountActivities
from activities.emails import EmailActivities, MailSetup
from activities.leads import LeadActivities, LeadMailSetup
from activities.orders import OrderActivities
from activities.permanent import PermanentErrors
from activities.sms import FileSmsSender, SmsActivities, SmsSender
from activities.tasks import TaskActivities
from db.session import Sessions, make_engine, make_sessions
from mail.backends import FileMailer, Mailer, SmtpMailer
from mail.links import PayLinks
from mail.render import make_templates
from process_exit import exit_now
from settings import Settings
from workflows.dial import Dial
from workflows.late_payment import LatePayment
from workflows.lead_chase import LeadChase
from workflows.order_chase import OrderChase


@dataclass(frozen=True)
class WorkerDeps:
    """What the activities are built with; tests hand in their own."""

    sessions: Sessions
    mailer: Mailer
    templates: jinja2.Environment
    mail: MailSetup
    sms: SmsSender
    # MANAGER_NOTIFY_EMAIL: lead chase notices reach the manager by email too.
    manager_notify_email: bool = True


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
        ),
        # Text messages go to files only: a real SMS gateway is out of scope (activities/sms.py).
        sms=FileSmsSender(settings.data_dir / "sms"),
        manager_notify_email=settings.manager_notify_email,
    )


def pay_links(settings: Settings) -> PayLinks:
    return PayLinks(
        template=settings.pay_link_template,
        base_url=settings.public_base_url,
        secret=settings.pay_link_secret.get_secret_value().encode(),
    )


WORKFLOWS: Sequence[type] = (OrderChase, Dial, LatePayment, LeadChase)


def build_worker(client: Client, deps: WorkerDeps, task_queue: str) -> Worker:
    """The one place that lists every workflow and activity; worker.py and the tests use it."""
    orders = OrderActivities(deps.sessions)
    emails = EmailActivities(deps.sessions, deps.mailer, deps.templates, deps.mail)
    discounts = DiscountActivities(deps.sessions)
    sms = SmsActivities(deps.sessions, deps.sms, deps.mail.links)
    tasks = TaskActivities(deps.sessions, deps.templates)
    leads = LeadActivities(
        deps.sessions,
        deps.mailer,
        deps.templates,
        LeadMailSetup(sender=deps.mail.sender, notify_by_email=deps.manager_notify_email),
    )
    return Worker(
        client,
        task_queue=task_queue,
        workflows=list(WORKFLOWS),
        interceptors=[PermanentErrors()],
        activities=[
            orders.set_status,
            orders.finish_order,
            orders.assign,
            tasks.open_task,
            tasks.close_task,
            emails.send_order_email,
            discounts.grant,
            discounts.expire,
            sms.send_payment_sms,
            leads.send_lead_email,
            leads.notify_manager,
            leads.save_chase_state,
        ],
    )


async def main() -> None:
    settings = Settings()
    settings.check_secrets()
    engine = make_engine(settings.database_url)
    client = await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)
    worker = build_worker(
        client, make_deps(settings, make_sessions(engine)), settings.temporal_task_queue
    )
    # Stop polling on SIGTERM or Ctrl-C and let running activities finish (graceful shutdown).
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    logging.getLogger(__name__).info("worker polling %s", settings.temporal_task_queue)
    async with worker:
        await stop.wait()
    await engine.dispose()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(main())
    exit_now(0)
