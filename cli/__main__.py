"""`python -m cli …` is the same as `chaser …`."""

from cli.main import main

raise SystemExit(main())
