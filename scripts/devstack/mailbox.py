"""A real SMTP server on loopback (aiosmtpd) and the mailbox it delivers into."""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class Mailbox:
    """What the server received, parsed; thread-safe because aiosmtpd runs in its own thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[EmailMessage] = []

    def deliver(self, raw: bytes) -> None:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self._messages.append(message)

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()

    @property
    def messages(self) -> list[EmailMessage]:
        with self._lock:
            return list(self._messages)

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if str(m["To"]) == address]

    async def wait_for(self, count: int, timeout: float = 20) -> list[EmailMessage]:
        """Wait until at least `count` messages arrived (for real-time tests only)."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} emails, got {self.subjects()}")
            await asyncio.sleep(0.05)
        return self.messages


class _Handler:
    def __init__(self, mailbox: Mailbox, refuse: set[str], defer: set[str]) -> None:
        self.mailbox = mailbox
        self.refuse = refuse
        self.defer = defer

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        if address in self.defer:
            return "451 4.7.1 greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.original_content, bytes)
        self.mailbox.deliver(envelope.original_content)
        return "250 Message accepted for delivery"


class SmtpServer:
    """Start, stop and start again on the same port: a mail server that goes down for a while."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.mailbox = Mailbox()
        self.refuse: set[str] = set()  # addresses answered with a permanent 550
        self.defer: set[str] = set()  # addresses answered with a temporary 451 (greylisting)
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(
            _Handler(self.mailbox, self.refuse, self.defer), hostname="127.0.0.1", port=self.port
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @contextmanager
    def down(self) -> Iterator[None]:
        self.stop()
        try:
            yield
        finally:
            self.start()

    @contextmanager
    def greylisting(self, address: str) -> Iterator[None]:
        """451 at RCPT TO for `address` ("try again later") while inside."""
        with _added(self.defer, address):
            yield

    @contextmanager
    def refusing(self, address: str) -> Iterator[None]:
        """A permanent 550 for `address` while inside."""
        with _added(self.refuse, address):
            yield


@contextmanager
def _added(addresses: set[str], address: str) -> Iterator[None]:
    addresses.add(address)
    try:
        yield
    finally:
        addresses.discard(address)
