"""The one rule for errors no retry can fix, applied to every activity by the worker.

Bad data and bugs (a value a header refuses, a missing template, a wrong type, a value the
database refuses to store) fail the same way on every attempt: they become a non-retryable
ApplicationError, so the workflow hears of them at once instead of an activity retrying them
until its policy gives up. Anything else (a database restart, a lock, a network blip) is
left to the retry policy.
"""

from __future__ import annotations

from typing import Any

import jinja2
from sqlalchemy.exc import DataError, ProgrammingError
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

PERMANENT: tuple[type[Exception], ...] = (
    ValueError,
    TypeError,
    LookupError,
    AttributeError,
    jinja2.TemplateError,
    DataError,
    ProgrammingError,
)


class PermanentErrors(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Inbound(next)


class _Inbound(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await super().execute_activity(input)
        except PERMANENT as error:
            raise ApplicationError(
                f"{type(error).__name__}: {error}", type=type(error).__name__, non_retryable=True
            ) from error
