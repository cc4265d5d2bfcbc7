"""The HTTP API (SPEC §5): events in, tasks and reports out."""
