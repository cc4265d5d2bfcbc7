"""A tiny webhook receiver for trying chaser by hand: prints each verified event.

    WEBHOOK_SECRET=whsec_... python3 scripts/webhook_receiver.py 9000

Standard library only, so a shop can copy it; `verify` is all a receiver needs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

TOLERANCE = 5 * 60  # seconds: an older timestamp is a replay


def verify(secret: str, headers: dict[str, str], body: bytes) -> dict[str, object]:
    """The event, if the Standard Webhooks signature matches; ValueError if not."""
    message_id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
    if abs(time.time() - int(timestamp)) > TOLERANCE:
        raise ValueError("timestamp too far from now")
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for signature in headers["webhook-signature"].split():
        version, _, value = signature.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return json.loads(body)  # type: ignore[no-any-return]
    raise ValueError("no matching signature")


class Receiver(BaseHTTPRequestHandler):
    secret = ""
    seen: set[str] = set()

    def do_POST(self) -> None:  # noqa: N802 (the name http.server calls)
        body = self.rfile.read(int(self.headers["content-length"]))
        headers = {key.lower(): value for key, value in self.headers.items()}
        try:
            event = verify(self.secret, headers, body)
        except (KeyError, ValueError) as error:
            self.send_response(400)
            self.end_headers()
            sys.stderr.write(f"refused: {error}\n")
            return
        # At least once: the same webhook-id may come again; handle it once.
        again = " (again)" if headers["webhook-id"] in self.seen else ""
        self.seen.add(headers["webhook-id"])
        sys.stdout.write(f"{event['type']}{again} {json.dumps(event['data'])}\n")
        sys.stdout.flush()
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass  # one line per event is enough


if __name__ == "__main__":
    Receiver.secret = os.environ["WEBHOOK_SECRET"]
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9000
    HTTPServer(("127.0.0.1", port), Receiver).serve_forever()
