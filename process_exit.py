"""Leaving a process that used the Temporal client, without an abort on the way out."""

from __future__ import annotations

import logging
import os
import sys
from typing import NoReturn


def exit_now(status: int) -> NoReturn:
    """Flush what was written, then exit without interpreter teardown.

    The Temporal client's Rust threads can still be winding down while CPython finalizes;
    one of them then releases the GIL too late and the process aborts with "PyGILState_Release:
    thread state must be current" (temporalio/sdk-python#300) after its work is done. Skipping
    teardown avoids that; nothing of ours needs it once logs and streams are flushed.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
