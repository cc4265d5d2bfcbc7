"""The real servers that the test suite and the scripts (the history recorder, the benchmark,
the chaos run) put beside chaser on this machine: an SMTP server on loopback and its mailbox
(`mailbox`), free ports, the installed server binaries, the API served over HTTP and the
Temporal dev server (`servers`), skipping time on the time-skipping server (`time_skipping`),
and walking a chase through the API as the backend and the managers do (`walk`).
Development tools only: no product module imports them."""
