"""Which timeline lines become webhook events, and how the signature is made."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from standardwebhooks import Webhook

from scripts.devstack.servers import free_port
from scripts.webhook_receiver import verify
from webhooks.events import EVENT_TYPES, events_for, subject_of
from webhooks.signing import check_secret, new_secret, sign


def test_the_line_that_ends_a_chase_is_a_status_change_and_the_end() -> None:
    detail = {"old": "in_progress", "new": "paid", "reason": "paid", "outcome": "positive"}
    assert events_for("status_changed", "A-1", None, detail) == [
        ("order.status_changed", {"order_id": "A-1", **detail}),
        (
            "order.chase_ended",
            {"order_id": "A-1", "status": "paid", "outcome": "positive", "reason": "paid"},
        ),
    ]
    plain = {"old": "new", "new": "in_progress", "reason": None}
    assert [t for t, _ in events_for("status_changed", "A-1", None, plain)] == [
        "order.status_changed"
    ]


def test_lead_lines_name_the_lead_and_the_manager_notices_stay_inside() -> None:
    assert events_for("chase_started", None, "L-1", {"chase_number": 1}) == [
        ("lead.chase_started", {"lead_id": "L-1", "chase_number": 1})
    ]
    followup = {"email_kind": "lead_followup_1", "message_id": "m"}
    assert [t for t, _ in events_for("email_sent", None, "L-1", followup)] == ["lead.email_sent"]
    notice = {"email_kind": "lead_sent_notice", "message_id": "n"}
    assert events_for("email_sent", None, "L-1", notice) == []
    assert [t for t, _ in events_for("chase_stopped", None, "L-1", {})] == ["lead.chase_ended"]
    assert events_for("event", "A-1", None, {}) == []  # most lines make no event
    assert subject_of(None, "L-1") == "lead:L-1" and subject_of("A-1", None) == "order:A-1"


def test_every_mapped_type_is_one_an_endpoint_can_ask_for() -> None:
    kinds = [
        "status_changed",
        "assigned",
        "paused",
        "resumed",
        "task_created",
        "task_answered",
        "call_result",
        "email_sent",
        "email_opened",
        "email_failed",
        "unsubscribed",
        "discount_granted",
        "discount_expired",
        "instalment_plan",
        "instalment_missed",
        "chase_started",
        "chase_stopped",
        "subscription_created",
        "period_ended",
    ]
    detail = {"new": "paid", "reason": "r", "outcome": "o"}
    made = {
        t
        for k in kinds
        for order, lead, subscription in (("A", None, None), (None, "L", None), (None, None, "S"))
        for t, _ in events_for(k, order, lead, detail, subscription)
    }
    assert made == set(EVENT_TYPES)


def test_a_subscription_s_lines_are_its_own_subject() -> None:
    assert events_for("period_ended", None, None, {"outcome": "renewed"}, "S-1") == [
        ("subscription.period_ended", {"subscription_id": "S-1", "outcome": "renewed"})
    ]
    assert events_for("task_created", None, None, {"task_id": 1}, "S-1") == [
        ("task.created", {"subscription_id": "S-1", "task_id": 1})
    ]
    assert subject_of(None, None, "S-1") == "subscription:S-1"


def test_the_signature_is_the_spec_s_and_the_reference_package_accepts_it() -> None:
    secret = new_secret()
    signature = sign(secret, "msg_1", 1_700_000_000, '{"a":1}')
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, b'msg_1.1700000000.{"a":1}', hashlib.sha256).digest()
    assert signature == "v1," + base64.b64encode(digest).decode()
    at = datetime.fromtimestamp(1_700_000_000, UTC)
    assert Webhook(secret).sign("msg_1", at, '{"a":1}') == signature


def test_secrets_are_checked() -> None:
    assert check_secret(new_secret()).startswith("whsec_")
    for bad in ("plain", "whsec_!!!", "whsec_" + base64.b64encode(b"short").decode()):
        with pytest.raises(ValueError):
            check_secret(bad)


def test_the_readme_s_receiver_accepts_our_signature_and_nothing_else() -> None:
    secret = new_secret()
    body = b'{"data":{},"id":"msg_1","type":"email.sent"}'
    timestamp = str(int(time.time()))
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": timestamp,
        "webhook-signature": sign(secret, "msg_1", int(timestamp), body.decode()),
    }
    assert verify(secret, headers, body)["type"] == "email.sent"
    with pytest.raises(ValueError):
        verify(new_secret(), headers, body)
    with pytest.raises(ValueError):
        verify(secret, headers, body.replace(b"sent", b"fail"))


async def test_the_readme_s_receiver_runs_as_a_script() -> None:
    secret, port = new_secret(), free_port()
    env = {**os.environ, "WEBHOOK_SECRET": secret}
    script = Path(__file__).resolve().parents[2] / "scripts" / "webhook_receiver.py"
    process = subprocess.Popen(
        [sys.executable, str(script), str(port)],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        body = '{"data":{"order_id":"A-1"},"id":"msg_1","type":"order.assigned"}'
        now = int(time.time())
        signed = {
            "webhook-id": "msg_1",
            "webhook-timestamp": str(now),
            "webhook-signature": sign(secret, "msg_1", now, body),
        }
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(100):
                try:
                    response = await client.post("/", content=body, headers=signed)
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.05)
            assert response.status_code == 204
            forged = {**signed, "webhook-signature": sign(new_secret(), "msg_1", now, body)}
            assert (await client.post("/", content=body, headers=forged)).status_code == 400
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=10)
    assert out.splitlines() == ['order.assigned {"order_id": "A-1"}']
