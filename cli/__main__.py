"""`python -m cli …` is the same as `chaser …`."""

from cli.main import run

run()
