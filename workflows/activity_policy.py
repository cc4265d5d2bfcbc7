"""How long an activity may take and how long it is retried: one place for every workflow.

Permanent errors never retry whatever the policy says: activities raise a non-retryable
ApplicationError for them, and activities.permanent turns bugs and bad data into one.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

# Every side effect is a short database write or one email.
ACTIVITY_TIMEOUT = timedelta(seconds=60)

# A database write is retried through a restart or a long lock (1 s doubling to 5 minutes,
# 60 attempts: about four and a half hours), then fails the step loudly instead of hanging.
WRITE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=60,
)

# A mail server that is down for hours must not lose the email: here retrying is the point,
# so there is no attempt limit; a refusal (5xx) or a message that cannot be built is permanent.
EMAIL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=10)
)

# A local activity's retry that would wait longer than this waits on a workflow timer: every
# email retry does (its first wait is 5 s), so no workflow task is held open through it.
LOCAL_RETRY_THRESHOLD = timedelta(seconds=1)
