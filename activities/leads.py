"""Lead chase side effects: follow-ups from the manager, notices to the manager, chase state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import outbox
from activities.outbox import Outgoing
from activities.rows import commit_once, load
from db.history import already_done, record_step, step_key
from db.models import Email, Lead, Manager, Notification, Owner
from domain import LEAD_CHASING, EmailStatus
from mail.backends import PermanentDeliveryError
from mail.render import RenderedEmail, render_email


@dataclass
class LeadEmail:
    key: str
    lead_id: str
    chase_number: int
    kind: str  # lead_followup_1 / lead_followup_2, templates under templates/emails/<language>/
    round: int
    at: datetime


@dataclass
class LeadEmailSent:
    status: str  # sent / suppressed
    message_id: str | None = None
    reason: str | None = None  # why it was suppressed: the chase is over for this lead


@dataclass
class ManagerNotice:
    key: str
    lead_id: str
    chase_number: int
    message_id: str  # the follow-up that went out
    round: int
    number: int  # the n-th follow-up of this chase
    total: int
    at: datetime


@dataclass
class ChaseProgress:
    key: str  # keys the timeline line written when the chase stops
    lead_id: str
    chase_number: int
    round: int
    emails_sent: int
    next_email_due: datetime | None
    stopped_reason: str | None
    at: datetime


@dataclass(frozen=True)
class LeadMailSetup:
    sender: str  # MAIL_FROM: notices to managers come from the system, not from a person
    notify_by_email: bool  # MANAGER_NOTIFY_EMAIL


class LeadActivities(outbox.SendingActivities[LeadMailSetup]):
    @activity.defn
    async def send_lead_email(self, request: LeadEmail) -> LeadEmailSent:
        """Send one follow-up from the responsible manager, unless the lead's chase is over."""
        async with self.sessions() as session:
            email = await outbox.find(session, request.key)
            if email is not None and outbox.settled(email):
                return await self._outcome(session, email, request)
            lead = await load_lead(session, request.lead_id)
            # Stop is absolute: re-checked under the outbox key right before sending, so a
            # reply or a status change the API recorded wins over a scheduled or retried send.
            reason = stop_reason(lead, request.chase_number)
            if reason is not None:
                if email is not None:
                    email.status = EmailStatus.SUPPRESSED
                if not await already_done(session, step_key(request, "suppressed")):
                    record_step(
                        session,
                        request,
                        "email_suppressed",
                        sub_key="suppressed",
                        email_kind=request.kind,
                        reason=reason,
                    )
                await session.commit()
                return LeadEmailSent(EmailStatus.SUPPRESSED, email.id if email else None, reason)
            manager = await load_manager(session, lead.responsible_manager_id)
            sender = Address(manager.name, addr_spec=manager.email)
            context = {
                "lead_name": lead.name,
                "title": lead.title,
                "manager_name": manager.name,
                "signature": manager.signature or manager.name,
                "round": request.round,
            }
            rendered = render_email(self.templates, request.kind, lead.language, context)
            email = await self._send_once(
                session,
                email,
                Outgoing(
                    key=request.key,
                    owner=Owner(lead_id=lead.id),
                    kind=request.kind,
                    sender=sender,
                    recipient=Address(lead.name, addr_spec=lead.email),
                    at=request.at,
                    reply_to=sender,
                ),
                rendered,
            )
            return await self._outcome(session, email, request)

    @activity.defn
    async def notify_manager(self, notice: ManagerNotice) -> None:
        """Tell the responsible manager a follow-up went out: a notification, maybe an email."""
        async with self.sessions() as session:
            lead = await load_lead(session, notice.lead_id)
            manager = await load_manager(session, lead.responsible_manager_id)
            context = {
                "manager_name": manager.name,
                "lead_name": lead.name,
                "lead_email": lead.email,
                "title": lead.title,
                "number": notice.number,
                "total": notice.total,
                "round": notice.round,
            }
            rendered = render_email(self.templates, "lead_sent_notice", lead.language, context)
            note = await session.scalar(
                select(Notification.id).where(Notification.key == notice.key)
            )
            if note is None:
                session.add(
                    Notification(
                        key=notice.key,
                        manager_id=manager.id,
                        lead_id=lead.id,
                        text=rendered.subject,
                        created_at=notice.at,
                    )
                )
                await commit_once(session, notice.key)
            if not self.setup.notify_by_email:
                return
            key = f"{notice.key}:email"
            email = await outbox.find(session, key)
            # A manager's address that refuses mail loses the email only: the
            # notification above stands, and the chase goes on.
            await self._send_once(
                session,
                email,
                Outgoing(
                    key=key,
                    owner=Owner(lead_id=lead.id),
                    kind="lead_sent_notice",
                    sender=self.setup.sender,
                    recipient=Address(manager.name, addr_spec=manager.email),
                    at=notice.at,
                ),
                rendered,
            )

    @activity.defn
    async def save_chase_state(self, progress: ChaseProgress) -> None:
        """Round, emails sent, next due and stop reason onto the lead: readable after the end."""
        async with self.sessions() as session, session.begin():
            lead = await load_lead(session, progress.lead_id)
            if lead.chase_number != progress.chase_number:
                return  # a newer chase owns the row now
            lead.chase_round = progress.round
            lead.emails_sent = progress.emails_sent
            lead.next_email_due = progress.next_email_due
            lead.updated_at = progress.at
            if progress.stopped_reason is None:
                return
            # The API may have written the reason first (a reply): the first reason stands.
            lead.stopped_reason = lead.stopped_reason or progress.stopped_reason
            if not await already_done(session, progress.key):
                record_step(
                    session,
                    progress,
                    "chase_stopped",
                    chase_number=progress.chase_number,
                    reason=lead.stopped_reason,
                    emails_sent=progress.emails_sent,
                )

    async def _outcome(
        self, session: AsyncSession, email: Email, request: LeadEmail
    ) -> LeadEmailSent:
        """What a settled follow-up's row says: sent, suppressed (and why), or refused."""
        if email.status == EmailStatus.FAILED:
            raise ApplicationError(
                f"follow-up {email.id} to {email.to_addr} refused: {email.error}",
                type="PermanentDeliveryError",
                non_retryable=True,
            )
        if email.status == EmailStatus.SUPPRESSED:
            lead = await load_lead(session, request.lead_id)
            return LeadEmailSent(
                EmailStatus.SUPPRESSED, email.id, stop_reason(lead, request.chase_number)
            )
        return LeadEmailSent(EmailStatus.SENT, email.id)

    async def _send_once(
        self,
        session: AsyncSession,
        email: Email | None,
        outgoing: Outgoing,
        rendered: RenderedEmail,
    ) -> Email:
        """Through the outbox: a row keyed first, then one send; a retry finds the row."""
        if email is not None and outbox.settled(email):
            return email
        if email is None:
            email = await outbox.add(session, outgoing, rendered.subject)
        try:
            await outbox.deliver(
                session,
                self.mailer,
                email,
                lambda: outbox.build_message(
                    email,
                    rendered,
                    sender=outgoing.sender,
                    recipient=outgoing.recipient,
                    reply_to=outgoing.reply_to,
                ),
                outgoing.at,
            )
        except PermanentDeliveryError:
            pass  # recorded on the row and the lead's timeline: this email only is lost
        return email


def stop_reason(lead: Lead, chase_number: int) -> str | None:
    """Why the chase `chase_number` must send nothing more; None while it is still on."""
    if lead.chase_number != chase_number:
        return "superseded"
    if lead.stopped_reason is not None:
        return lead.stopped_reason
    if lead.status != LEAD_CHASING:
        return "status_changed"
    return None


async def load_lead(session: AsyncSession, lead_id: str) -> Lead:
    """The lead an activity works on; a missing one is a permanent failure, not a retry."""
    return await load(session, Lead, "lead", lead_id)


async def load_manager(session: AsyncSession, manager_id: str) -> Manager:
    return await load(session, Manager, "manager", manager_id)
