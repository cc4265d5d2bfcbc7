"""The email outbox shared by every activity that sends: a row per idempotency key, one send.

A row is written `pending` before the send. Once it is `sent`, `failed` or `suppressed` it is
settled: it had its one chance, and no retry sends it again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.charset import QP, Charset
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.utils import formataddr, formatdate, parseaddr
from typing import Any, Generic
from uuid import uuid4

import jinja2
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import metrics
from activities.built import SetupT
from activities.rows import commit_once
from db.history import record_on
from db.models import Email, Owner
from db.session import Sessions
from db.suppressions import suppress
from domain import EmailStatus
from mail.backends import Mailer, PermanentDeliveryError
from mail.render import RenderedEmail, render_email
from mail.unsubscribe import message_id

# The longest line SMTP carries (RFC 5321), without its CRLF.
SMTP_LINE = 998
AS_IS = Charset("utf-8")
AS_IS.body_encoding = None  # type: ignore[assignment]  # documented; typeshed allows only codes
QUOTED = Charset("utf-8")
QUOTED.body_encoding = QP


@dataclass
class EmailSent:
    message_id: str
    status: str  # sent / suppressed


@dataclass(frozen=True)
class Outgoing:
    """An email for the outbox: the key that makes it go once, whose it is, its kind, who it
    goes from and to (with display names), and the workflow's time."""

    key: str
    owner: Owner
    kind: str
    sender: Address | str
    recipient: Address | str
    at: datetime
    reply_to: Address | None = None


# eq=False keeps the instances hashable, as the worker's registered activities must be.
@dataclass(eq=False)
class SendingActivities(Generic[SetupT]):
    """What an activity class that sends email through the outbox is built with: the
    database, the mailer, the templates and its own mail setup."""

    sessions: Sessions
    mailer: Mailer
    templates: jinja2.Environment
    setup: SetupT

    async def send_once(
        self, key: str, send: Callable[[AsyncSession, Email | None], Awaitable[Email]]
    ) -> EmailSent:
        """The email of `key`, at most once: a settled row answers a retry as it stands;
        otherwise `send` gets the pending row an earlier attempt wrote (or None) and settles it."""
        async with self.sessions() as session:
            email = await find(session, key)
            if email is None or not settled(email):
                email = await send(session, email)
            return EmailSent(email.id, email.status)

    def render(
        self, kind: str, language: str, context: dict[str, Any], *, what: str
    ) -> RenderedEmail:
        """The email `kind` in `language`; `what` names it in the failure."""
        try:
            return render_email(self.templates, kind, language, context)
        except jinja2.TemplateError as error:
            # A missing template or variable is a deployment bug: retrying cannot fix it.
            raise ApplicationError(
                f"{what} ({language}) cannot be rendered: {error!r}",
                type="TemplateError",
                non_retryable=True,
            ) from error


async def find(session: AsyncSession, key: str) -> Email | None:
    """The outbox row of an idempotency key, if an attempt wrote one."""
    return await session.scalar(_ROW_OF_KEY, {"key": key})


# Built once (db.history says why).
_ROW_OF_KEY = select(Email).where(Email.key == bindparam("key"))


def settled(email: Email) -> bool:
    """Whether the row had its one chance (sent, failed or suppressed): nothing sends it again."""
    return email.status != EmailStatus.PENDING


async def add(
    session: AsyncSession, outgoing: Outgoing, subject: str, email_id: str | None = None
) -> Email:
    """Write the pending row before anything is sent, so that a retry finds it."""
    recipient = outgoing.recipient
    email = Email(
        id=email_id or uuid4().hex,
        key=outgoing.key,
        owner=outgoing.owner,
        kind=outgoing.kind,
        to_addr=recipient.addr_spec if isinstance(recipient, Address) else recipient,
        from_addr=str(outgoing.sender),
        subject=subject,
        status=EmailStatus.PENDING,
        created_at=outgoing.at,
    )
    session.add(email)
    await commit_once(session, outgoing.key)
    return email


def build_message(
    email: Email,
    rendered: RenderedEmail,
    *,
    sender: Address | str | None = None,
    recipient: Address | str | None = None,
    reply_to: Address | None = None,
    headers: Mapping[str, str] | None = None,
) -> Message:
    """The message of an outbox row; `sender` and `recipient` add display names to its
    addresses. Its Message-ID is the row's: a resend after a crash between the server's 250
    and our commit carries the same one, so the mailbox collapses the two copies into one.
    A header value with a line break in it (an injected header) is refused with ValueError."""
    addresses: dict[str, Address | str | None] = {
        "From": sender if sender is not None else email.from_addr,
        "Reply-To": reply_to,
        "To": recipient if recipient is not None else email.to_addr,
    }
    fields: dict[str, Address | str] = {
        "Subject": email.subject,
        **{name: value for name, value in addresses.items() if value is not None},
        "Date": formatdate(email.created_at.timestamp(), usegmt=True),
        "Message-ID": message_id(email.id, email.from_addr),
        **(headers or {}),
    }
    for name, value in fields.items():
        if len(str(value).splitlines()) > 1:
            raise ValueError(f"the {name} header holds a line break: {str(value)!r}")
    if headers or not all(
        _parts(value)[1].isascii() for value in addresses.values() if value is not None
    ):
        return _modern(fields, rendered)
    return _mime(fields, addresses, rendered)


def _parts(value: Address | str) -> tuple[str, str]:
    """An address header's display name and address."""
    return (value.display_name, value.addr_spec) if isinstance(value, Address) else parseaddr(value)


def _mime(
    fields: Mapping[str, Address | str],
    addresses: Mapping[str, Address | str | None],
    rendered: RenderedEmail,
) -> Message:
    """The message in the classic MIME classes: a quarter of the CPU of the modern ones,
    whose header objects parse every value and fold it again (2 ms an email). Every
    transactional email goes this way."""
    message = MIMEMultipart("alternative")
    for name, value in fields.items():
        if name in addresses:
            display_name, address = _parts(value)
            # A display name outside ASCII is encoded, the address beside it left readable.
            message[name] = formataddr((display_name, address), "utf-8") if address else str(value)
        else:
            message[name] = str(value)  # the generator encodes what is not ASCII
    message.attach(_text_part(rendered.text, "plain"))
    message.attach(_text_part(rendered.html, "html"))
    return message


def _modern(fields: Mapping[str, Address | str], rendered: RenderedEmail) -> Message:
    """The message in the modern classes, which alone write an address outside ASCII (RFC
    6531; aiosmtplib sends it with SMTPUTF8), and keep a marketing email's List-Unsubscribe
    link on its header's first line (the classic ones fold a value that long onto the next)."""
    message = EmailMessage()
    for name, value in fields.items():
        message[name] = value
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message


def _text_part(text: str, subtype: str) -> MIMENonMultipart:
    """A UTF-8 body as it is (7 or 8 bit; the generator turns it into base64 for a server
    without 8BITMIME), quoted-printable where a line is too long for SMTP."""
    too_long = any(len(line.encode()) > SMTP_LINE for line in text.splitlines())
    part = MIMENonMultipart("text", subtype)
    part.set_payload(text, QUOTED if too_long else AS_IS)
    return part


async def hold_back(session: AsyncSession, email: Email, reason: str, at: datetime) -> None:
    """Settle a pending row unsent (`suppressed`) and say why on its timeline."""
    email.status = EmailStatus.SUPPRESSED
    _note(session, email, "email_suppressed", at, reason=reason)
    await session.commit()


async def deliver(
    session: AsyncSession,
    mailer: Mailer,
    email: Email,
    build: Callable[[], Message],
    at: datetime,
    *,
    to_customer: bool = False,
) -> None:
    """Build and send a pending outbox row, and record the outcome on it and on its timeline.
    A permanent refusal, or a message that cannot be built (a header refusing a name), is
    recorded as `failed`, then raised as PermanentDeliveryError for the caller to judge; a
    customer's address (`to_customer`) goes on the suppression list, and the refusal fails
    the activity for good (the workflow decides what follows)."""
    try:
        try:
            message = build()
        except ValueError as error:
            raise PermanentDeliveryError(f"the message cannot be built: {error}") from error
        await mailer.send(message)
    except PermanentDeliveryError as error:
        email.status, email.error = EmailStatus.FAILED, str(error)
        _note(session, email, "email_failed", at, error=str(error))
        await session.commit()
        metrics.email_delivered(email.kind, "failed")
        activity.logger.warning("email %s %s refused: %s", email.kind, email.id, error)
        if not to_customer:
            raise
        await suppress(session, email.to_addr, "bounced", at, str(error))
        await session.commit()
        raise ApplicationError(
            f"email {email.id} to {email.to_addr} refused: {error}",
            type="PermanentDeliveryError",
            non_retryable=True,
        ) from error
    # When the server accepted it (the wall clock, not the workflow's `at`, which is when the
    # send was scheduled): what "delivered" means to the benchmark and to anyone reading the row.
    email.status, email.sent_at = EmailStatus.SENT, datetime.now(UTC)
    _note(session, email, "email_sent", at, to=email.to_addr, subject=email.subject)
    await session.commit()
    metrics.email_delivered(email.kind, "sent")
    activity.logger.info("email %s %s sent", email.kind, email.id)


def _note(session: AsyncSession, email: Email, kind: str, at: datetime, **detail: Any) -> None:
    """A line about the row on its order's, lead's or subscription's timeline."""
    record_on(
        session,
        email,
        at=at,
        actor="system",
        kind=kind,
        email_kind=email.kind,
        message_id=email.id,
        **detail,
    )
