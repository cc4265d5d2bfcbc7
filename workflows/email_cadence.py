"""The customer email cadence (SPEC §1 D): objection emails, then a personal offer.

A branch of the order chase; it runs beside the manager process and stops the moment the
order is paid or cancelled (its host cancels it and every send re-checks the order).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from temporalio import workflow


class CadenceHost(Protocol):
    """What the order chase offers its email branch."""

    order_id: str
    opened: set[str]

    def closed(self) -> bool: ...

    async def send_email(
        self,
        kind: str,
        step: str | None = None,
        discount_percent: int = 0,
        valid_until: datetime | None = None,
    ) -> str | None: ...


class EmailCadence:
    def __init__(self, host: CadenceHost) -> None:
        self.host = host

    async def run(self) -> None:
        """Issue 4 fills this in; until then the order chase sends only its two emails."""
        await workflow.wait_condition(self.host.closed)
