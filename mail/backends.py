"""Where emails go: `.eml` files in a folder (the default for `make run`) or an SMTP server."""

from __future__ import annotations

import functools
import socket
import ssl
from abc import ABC, abstractmethod
from email.message import Message
from pathlib import Path
from typing import Generic, Protocol, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from atomic_write import write_atomically


class PermanentDeliveryError(Exception):
    """The server refused the message for good (a 5xx reply): retrying will not help."""


MessageT = TypeVar("MessageT")
MessageT_contra = TypeVar("MessageT_contra", contravariant=True)


class Sender(Protocol[MessageT_contra]):
    """Where messages of one kind go: emails, text messages."""

    async def send(self, message: MessageT_contra) -> None: ...


Mailer = Sender[Message]


class FolderSender(ABC, Generic[MessageT]):
    """Writes each message to a file in `folder`, named for the message (file_of): a resend
    overwrites the same file. For `make run`, and for a look at what would have gone out."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def send(self, message: MessageT) -> None:
        name, content = self.file_of(message)
        await write_atomically(self.folder / name, content)

    @abstractmethod
    def file_of(self, message: MessageT) -> tuple[str, bytes]:
        """The file's name in the folder and its content."""


class FileMailer(FolderSender[Message]):
    """Each message as `<message id>.eml`."""

    def file_of(self, message: Message) -> tuple[str, bytes]:
        name = str(message["Message-ID"]).strip("<>").split("@")[0]
        return f"{name}.eml", bytes(message)


class SmtpMailer:
    """Sends through SMTP_URL: `smtp://[user:pass@]host:port[?starttls=true]` or `smtps://…`."""

    def __init__(self, url: str, timeout: float = 30) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError(f"SMTP_URL must start with smtp:// or smtps://, got {url!r}")
        query = parse_qs(parts.query)
        self.hostname = parts.hostname or "localhost"
        self.port = parts.port or (465 if parts.scheme == "smtps" else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.use_tls = parts.scheme == "smtps"
        self.start_tls = query.get("starttls", ["false"])[0].lower() == "true"
        verify = query.get("verify", ["true"])[0].lower() == "true"
        # Loading the system's certificates costs ~50 ms: only for a server spoken to in TLS.
        self.tls_context = (
            (ssl.create_default_context() if verify else _unverified_context())
            if self.use_tls or self.start_tls
            else None
        )
        self.timeout = timeout

    async def send(self, message: Message) -> None:
        try:
            await aiosmtplib.send(
                message,
                hostname=self.hostname,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.use_tls,
                start_tls=self.start_tls if self.start_tls else False,
                tls_context=self.tls_context,
                timeout=self.timeout,
                local_hostname=_ehlo_name(),
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            # Every recipient was refused; a 4xx among them (greylisting, a full
            # mailbox) means "come back later", only an all-5xx refusal is final.
            if all(500 <= refused.code < 600 for refused in error.recipients):
                raise PermanentDeliveryError(
                    "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in error.recipients)
                ) from error
            raise
        except aiosmtplib.SMTPResponseException as error:
            if 500 <= error.code < 600:
                raise PermanentDeliveryError(f"{error.code} {error.message}") from error
            raise  # 4xx: the server asks us to come back later


@functools.cache
def _ehlo_name() -> str:
    """The name we greet SMTP servers with, looked up once per process (aiosmtplib would look
    it up again on every send)."""
    return socket.getfqdn()


def _unverified_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
