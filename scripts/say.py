"""What the scripts print: a line at a time, flushed at once, so a long run shows where it is."""

from __future__ import annotations

import sys


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
