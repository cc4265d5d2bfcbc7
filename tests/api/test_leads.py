"""The leads and notifications API over real HTTP, with a real worker on the Temporal dev
server; CHASER_TIME_SCALE makes a whole chase take a couple of seconds of real time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from db.models import Lead
from db.session import Sessions
from scripts.devstack.mailbox import Mailbox
from scripts.devstack.walk import backend_auth, register_manager
from settings import Settings

# Three business days (up to five calendar days) pass in under half a second.
TIME_SCALE = 1e-6
LEAD = {
    "title": "Website redesign",
    "name": "Ivan Petrov",
    "email": "ivan@client.example",
    "responsible_manager_id": "olga",
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"chaser_time_scale": TIME_SCALE})


async def post_event(
    api: httpx.AsyncClient, settings: Settings, lead_id: str, **body: Any
) -> httpx.Response:
    return await api.post(f"/v1/leads/{lead_id}/events", json=body, headers=backend_auth(settings))


async def get_lead(api: httpx.AsyncClient, settings: Settings, lead_id: str) -> dict[str, Any]:
    response = await api.get(f"/v1/leads/{lead_id}", headers=backend_auth(settings))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_a_whole_chase_walked_with_a_small_time_scale(
    api: httpx.AsyncClient, settings: Settings, dev_env: WorkflowEnvironment, mailbox: Mailbox
) -> None:
    olga = await register_manager(api, backend_auth(settings), "olga")
    oleg = await register_manager(api, backend_auth(settings), "oleg")
    started = datetime.now(UTC)
    chasing = await post_event(
        api, settings, "L-1", event_id="e-1", type="status_changed", status="Chasing", lead=LEAD
    )
    assert chasing.status_code == 202 and chasing.json() == {"event_id": "e-1", "duplicate": False}
    lead = await get_lead(api, settings, "L-1")
    assert (lead["status"], lead["chasing"], lead["chase_number"]) == ("chasing", True, 1)

    await mailbox.wait_for(12)  # six follow-ups to the lead, six notices to Olga
    for _ in range(200):
        lead = await get_lead(api, settings, "L-1")
        if not lead["chasing"]:
            break
        await asyncio.sleep(0.05)
    assert (lead["round"], lead["emails_sent"], lead["stopped_reason"]) == (3, 6, "no_response")
    handle = dev_env.client.get_workflow_handle("lead-L-1")
    result = await asyncio.wait_for(handle.result(), timeout=30)
    assert result == {"reason": "no_response", "rounds": 3, "emails_sent": 6}
    follow_ups = mailbox.to("Ivan Petrov <ivan@client.example>")
    assert len(follow_ups) == 6
    assert all(str(m["From"]) == "Olga <olga@shop.example>" for m in follow_ups)
    # Thirty-odd days of chase in seconds: every email after the start, none in a burst.
    assert all(m["Date"].datetime >= started - timedelta(seconds=1) for m in follow_ups)

    notes = (await api.get("/v1/notifications", headers=olga)).json()
    assert len(notes) == 6 and notes[0]["text"].startswith("Follow-up 6 of 6 sent to Ivan")
    read = await api.post(f"/v1/notifications/{notes[0]['id']}/read", headers=olga)
    assert read.status_code == 200 and read.json()["read_at"] is not None
    unread = (await api.get("/v1/notifications?unread=true", headers=olga)).json()
    assert [n["id"] for n in unread] == [n["id"] for n in notes[1:]]
    # Another manager sees none of them, and cannot mark them.
    assert (await api.get("/v1/notifications", headers=oleg)).json() == []
    theirs = await api.post(f"/v1/notifications/{notes[1]['id']}/read", headers=oleg)
    assert theirs.status_code == 404


async def test_replied_then_chasing_at_once_starts_the_next_chase(
    api: httpx.AsyncClient, settings: Settings, dev_env: WorkflowEnvironment, mailbox: Mailbox
) -> None:
    """The stopped run may still be writing its last state when Chasing comes again: the
    database says it is over, so it makes way and the new chase runs in full."""
    await register_manager(api, backend_auth(settings), "olga")
    first = await post_event(
        api, settings, "L-7", event_id="e-1", type="status_changed", status="chasing", lead=LEAD
    )
    assert first.status_code == 202
    await mailbox.wait_for(1)
    replied = await post_event(api, settings, "L-7", event_id="e-2", type="replied")
    again = await post_event(
        api, settings, "L-7", event_id="e-3", type="status_changed", status="chasing"
    )
    assert (replied.status_code, again.status_code) == (202, 202)

    handle = dev_env.client.get_workflow_handle("lead-L-7")
    result = await asyncio.wait_for(handle.result(), timeout=30)
    assert result == {"reason": "no_response", "rounds": 3, "emails_sent": 6}
    lead = await get_lead(api, settings, "L-7")
    assert (lead["chase_number"], lead["emails_sent"], lead["stopped_reason"]) == (
        2,
        6,
        "no_response",
    )
    follow_ups = mailbox.to("Ivan Petrov <ivan@client.example>")
    assert 1 + 6 <= len(follow_ups) <= 2 + 6  # one, perhaps two, of the first chase


async def test_tokens_missing_wrong_and_of_the_wrong_kind(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    body = {"event_id": "e-1", "type": "replied"}
    assert (await api.post("/v1/leads/L-1/events", json=body)).status_code == 401
    assert (await api.get("/v1/leads/L-1")).status_code == 401
    olga = await register_manager(api, backend_auth(settings), "olga")
    as_manager = await api.post("/v1/leads/L-1/events", json=body, headers=olga)
    assert as_manager.status_code == 403
    assert (await api.get("/v1/leads/L-1", headers=olga)).status_code == 403
    as_backend = await api.get("/v1/notifications", headers=backend_auth(settings))
    assert as_backend.status_code == 403
    assert as_backend.json()["detail"] == "this route takes a manager's token, not the backend's"


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"event_id": "e", "type": "status_changed", "lead": LEAD}, "needs a status"),
        ({"event_id": "e", "type": "replied", "status": "won"}, "takes no status"),
        ({"event_id": "e", "type": "called"}, "status_changed"),
        ({"event_id": "", "type": "replied"}, "at least 1 character"),
        (
            {"event_id": "e", "type": "status_changed", "status": "chasing!", "lead": LEAD},
            "pattern",
        ),
        (
            {
                "event_id": "e",
                "type": "status_changed",
                "status": "chasing",
                "lead": LEAD | {"email": "not-an-email"},
            },
            "email",
        ),
        (
            {
                "event_id": "e",
                "type": "status_changed",
                "status": "chasing",
                "lead": LEAD | {"title": "Two\nlines"},
            },
            "lead.title: Value error, contains the character U+000A",
        ),
        (
            {
                "event_id": "e",
                "type": "status_changed",
                "status": "chasing",
                "lead": LEAD | {"language": "de"},
            },
            "'en' or 'ru'",
        ),
        ({"event_id": "e", "type": "replied", "extra": 1}, "Extra inputs"),
    ],
)
async def test_bad_input_is_422_and_changes_nothing(
    api: httpx.AsyncClient,
    settings: Settings,
    sessions: Sessions,
    body: dict[str, Any],
    detail: str,
) -> None:
    await register_manager(api, backend_auth(settings), "olga")
    response = await post_event(api, settings, "L-3", **body)
    assert response.status_code == 422, response.text
    assert detail in str(response.json()["detail"])
    async with sessions() as session:
        assert await session.get(Lead, "L-3") is None


async def test_bad_lead_id_in_the_path_is_422(api: httpx.AsyncClient, settings: Settings) -> None:
    response = await post_event(api, settings, "bad id", event_id="e", type="replied")
    assert response.status_code == 422


async def test_unknown_lead_is_404(api: httpx.AsyncClient, settings: Settings) -> None:
    missing = await api.get("/v1/leads/nope", headers=backend_auth(settings))
    assert missing.status_code == 404 and missing.json() == {"detail": "lead 'nope' not found"}
    event = await post_event(api, settings, "nope", event_id="e-1", type="replied")
    assert event.status_code == 404


async def test_the_same_event_twice_changes_nothing_and_ids_are_not_shared(
    api: httpx.AsyncClient, settings: Settings, sessions: Sessions
) -> None:
    await register_manager(api, backend_auth(settings), "olga")
    body = {"event_id": "e-1", "type": "status_changed", "status": "new", "lead": LEAD}
    assert (await post_event(api, settings, "L-4", **body)).json()["duplicate"] is False
    # The same event again, even with other data, is the same event.
    again = await post_event(api, settings, "L-4", **body | {"status": "chasing"})
    assert again.status_code == 202 and again.json() == {"event_id": "e-1", "duplicate": True}
    lead = await get_lead(api, settings, "L-4")
    assert (lead["status"], lead["chasing"], lead["chase_number"]) == ("new", False, 0)

    other = await post_event(api, settings, "L-5", **body)
    assert other.status_code == 409
    assert other.json()["detail"] == "event 'e-1' was already used for another lead"


async def test_a_reply_or_status_change_without_a_chase_only_records_it(
    api: httpx.AsyncClient, settings: Settings, dev_env: WorkflowEnvironment
) -> None:
    await register_manager(api, backend_auth(settings), "olga")
    await post_event(
        api, settings, "L-6", event_id="e-1", type="status_changed", status="new", lead=LEAD
    )
    assert (
        await post_event(api, settings, "L-6", event_id="e-2", type="replied")
    ).status_code == 202
    won = await post_event(
        api, settings, "L-6", event_id="e-3", type="status_changed", status="WON"
    )
    assert won.status_code == 202
    lead = await get_lead(api, settings, "L-6")
    assert (lead["status"], lead["chasing"], lead["chase_number"], lead["stopped_reason"]) == (
        "won",
        False,
        0,
        None,
    )
    runs = [w async for w in dev_env.client.list_workflows("WorkflowId = 'lead-L-6'")]
    assert runs == []
