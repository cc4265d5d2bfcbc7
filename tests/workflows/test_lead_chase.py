"""The lead chase walked through the HTTP API on the time-skipping server, with the real
activities, a real SMTP server and the database the migrations built."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, time, timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.app import create_app
from db.models import Email, Lead, Notification
from db.session import Sessions
from scripts.devstack.mailbox import Mailbox
from scripts.devstack.servers import serve_api
from scripts.devstack.time_skipping import skip
from scripts.devstack.walk import backend_auth
from settings import Settings
from worker import build_worker, make_deps
from workflows.lead_chase import LeadChase
from workflows.messages import LeadChaseResult

MOSCOW = ZoneInfo("Europe/Moscow")
OLGA = {
    "id": "olga",
    "name": "Olga Smirnova",
    "email": "olga@shop.example",
    "signature": "Olga Smirnova\nHead of sales, Shop Inc.\n+7 495 000-00-00",
}
LEAD = {
    "title": "Website redesign",
    "name": "Ivan Petrov",
    "email": "ivan@client.example",
    "responsible_manager_id": "olga",
}
SUBJECT_1 = "Has a decision been made on «Website redesign»?"
SUBJECT_2 = "We would really like to work with you: «Website redesign»"


class Backend:
    """What the shop's backend and a manager do, over HTTP."""

    def __init__(self, api: httpx.AsyncClient, settings: Settings, env: WorkflowEnvironment):
        self.api = api
        self.auth = backend_auth(settings)
        self.env = env

    async def manager(self, **fields: str) -> dict[str, str]:
        response = await self.api.post("/v1/managers", json=OLGA | fields, headers=self.auth)
        assert response.status_code == 201, response.text
        return {"Authorization": f"Bearer {response.json()['token']}"}

    async def event(
        self, lead_id: str, event_id: str, type: str = "status_changed", **body: Any
    ) -> httpx.Response:
        return await self.api.post(
            f"/v1/leads/{lead_id}/events",
            json={"event_id": event_id, "type": type, **body},
            headers=self.auth,
        )

    async def chase(self, lead_id: str, event_id: str, **lead: str) -> None:
        response = await self.event(lead_id, event_id, status="chasing", lead=LEAD | lead)
        assert response.status_code == 202, response.text

    async def lead(self, lead_id: str) -> dict[str, Any]:
        response = await self.api.get(f"/v1/leads/{lead_id}", headers=self.auth)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def handle(self, lead_id: str) -> WorkflowHandle[LeadChase, LeadChaseResult]:
        return self.env.client.get_workflow_handle_for(LeadChase.run, f"lead-{lead_id}")

    async def result(self, lead_id: str) -> LeadChaseResult:
        """Wait for the chase to end. The API started it, so this handle is not the test
        environment's own, whose `result()` lets the server skip time: do that here."""
        async with self.env.time_skipping_unlocked():  # type: ignore[attr-defined]
            return await self.handle(lead_id).result()

    async def chased_until_a_follow_up(self, lead_id: str, mailbox: Mailbox, **lead: str) -> None:
        """The lead chased (event e-1) until its first follow-up reached it."""
        await self.chase(lead_id, "e-1", **lead)
        await self.skip_until_sent(lead_id, mailbox, 1)

    async def replied(self, lead_id: str, event_id: str) -> LeadChaseResult:
        """The backend tells of the lead's reply; the chase's result."""
        response = await self.event(lead_id, event_id, type="replied")
        assert response.status_code == 202, response.text
        return await self.result(lead_id)

    async def skip_until_sent(self, lead_id: str, mailbox: Mailbox, count: int) -> dict[str, Any]:
        """Let time pass a day at a time until `count` follow-ups reached the lead, then until
        the chase waits for the next one; returns the lead as `GET /v1/leads/{id}` shows it."""
        for _ in range(60):
            if len(to(mailbox, LEAD["email"])) >= count:
                break
            await skip(self.env, timedelta(days=1))
        else:
            raise AssertionError(f"{count} follow-ups expected, got {mailbox.subjects()}")
        for _ in range(200):
            lead = await self.lead(lead_id)
            if lead["emails_sent"] == count and lead["next_email_due"] is not None:
                return lead
            await asyncio.sleep(0.02)
        raise AssertionError(f"the chase did not settle after {count} follow-ups: {lead}")


@pytest.fixture
def backend(ts_api: httpx.AsyncClient, settings: Settings, ts_env: WorkflowEnvironment) -> Backend:
    """Over the API judging "now" by the time-skipping server, so timelines read in order."""
    return Backend(ts_api, settings, ts_env)


@asynccontextmanager
async def served(env: WorkflowEnvironment, settings: Settings) -> AsyncIterator[Backend]:
    """The backend over an API of its own, with these settings (holidays, notifications)."""
    async with serve_api(
        create_app(settings, temporal=env.client, clock=env.get_current_time)
    ) as api:
        yield Backend(api, settings, env)


def to(mailbox: Mailbox, address: str) -> list[EmailMessage]:
    return [m for m in mailbox.messages if m["To"].addresses[0].addr_spec == address]


def part(message: EmailMessage, subtype: str) -> str:
    """The text of the plain or HTML part, with the line ends of the wire undone."""
    body = message.get_body((subtype,))
    assert body is not None, f"no {subtype} part"
    content: str = body.get_content()
    return content.replace("\r\n", "\n")


def local_sent_at(message: EmailMessage) -> datetime:
    sent: datetime = message["Date"].datetime
    return sent.astimezone(MOSCOW)


async def next_thursday_10am(env: WorkflowEnvironment) -> datetime:
    """Move the test server's clock to the coming Thursday, 10:00 in Moscow."""
    now = await env.get_current_time()
    local = now.astimezone(MOSCOW)
    thursday = datetime.combine(
        local.date() + timedelta(days=(3 - local.weekday()) % 7), time(10), tzinfo=MOSCOW
    )
    if thursday <= now:
        thursday += timedelta(days=7)
    await skip(env, thursday - now)
    return thursday


async def test_six_follow_ups_land_on_business_days_across_weekends_and_a_holiday(
    ts_env: WorkflowEnvironment, ts_worker: Worker, settings: Settings, mailbox: Mailbox
) -> None:
    start = await next_thursday_10am(ts_env)
    thursday = start.date()
    holiday = thursday + timedelta(days=6)  # the Wednesday after the first follow-up
    with_holiday = settings.model_copy(update={"holidays": (holiday,)})
    async with served(ts_env, with_holiday) as backend:
        olga = await backend.manager()
        await backend.chase("L-1", "e-1")

        result = await backend.result("L-1")

        assert result == LeadChaseResult("no_response", rounds=3, emails_sent=6)
        follow_ups = to(mailbox, "ivan@client.example")
        sent = [local_sent_at(m) for m in follow_ups]
        # Thu start: Tue; then Wed is the holiday, so Mon; Thu; Tue; Fri; Wed.
        assert [d.date() for d in sent] == [
            thursday + timedelta(days=n) for n in (5, 11, 14, 19, 22, 27)
        ]
        assert [d.strftime("%a") for d in sent] == ["Tue", "Mon", "Thu", "Tue", "Fri", "Wed"]
        assert holiday not in [d.date() for d in sent]
        assert all((d.hour, d.minute) == (10, 0) for d in sent)
        assert [str(m["Subject"]) for m in follow_ups] == [SUBJECT_1, SUBJECT_2] * 3
        for message in follow_ups:
            for header in ("From", "Reply-To"):
                (address,) = message[header].addresses
                assert (address.display_name, address.addr_spec) == (
                    "Olga Smirnova",
                    "olga@shop.example",
                )
            body = part(message, "plain")
            assert body.startswith("Hello, Ivan Petrov!\n")
            assert body.rstrip().endswith("--\n" + OLGA["signature"])
            assert "Olga Smirnova<br>" not in part(message, "html")  # the signature's lines kept
        assert "Has a decision been made on the project «Website redesign»?" in part(
            follow_ups[0], "plain"
        )
        assert "We would really like to work with you :)\nHas a decision been made on" in part(
            follow_ups[1], "plain"
        )

        notes = (await backend.api.get("/v1/notifications", headers=olga)).json()
        assert [n["text"] for n in notes] == [
            f"Follow-up {n} of 6 sent to Ivan Petrov: «Website redesign»" for n in range(6, 0, -1)
        ]
        assert all(n["lead_id"] == "L-1" and n["read_at"] is None for n in notes)
        notices = to(mailbox, "olga@shop.example")
        assert len(notices) == 6
        assert all(str(m["From"]) == settings.mail_from for m in notices)

        lead = await backend.lead("L-1")
        assert {k: lead[k] for k in ("chasing", "round", "emails_sent", "stopped_reason")} == {
            "chasing": False,
            "round": 3,
            "emails_sent": 6,
            "stopped_reason": "no_response",
        }
        assert lead["next_email_due"] is None and lead["status"] == "chasing"


async def test_replied_after_two_follow_ups_means_no_third(
    backend: Backend, mailbox: Mailbox
) -> None:
    olga = await backend.manager()
    await backend.chase("L-2", "e-1")
    running = await backend.skip_until_sent("L-2", mailbox, 2)
    assert (running["chasing"], running["round"], running["emails_sent"]) == (True, 2, 2)
    assert datetime.fromisoformat(running["next_email_due"]) > await backend.env.get_current_time()

    assert await backend.replied("L-2", "e-2") == LeadChaseResult("replied", 2, 2)
    await skip(backend.env, timedelta(days=60))
    assert [str(m["Subject"]) for m in to(mailbox, "ivan@client.example")] == [
        SUBJECT_1,
        SUBJECT_2,
    ]
    lead = await backend.lead("L-2")
    assert (lead["chasing"], lead["emails_sent"], lead["stopped_reason"]) == (False, 2, "replied")
    assert lead["status"] == "chasing"  # a reply stops the chase; the CRM status is the backend's
    assert len((await backend.api.get("/v1/notifications", headers=olga)).json()) == 2

    timeline = (await backend.api.get("/v1/leads/L-2/history", headers=backend.auth)).json()
    assert [(line["kind"], line["detail"].get("email_kind")) for line in timeline] == [
        ("event", None),
        ("chase_started", None),
        ("email_sent", "lead_followup_1"),
        ("email_sent", "lead_sent_notice"),
        ("email_sent", "lead_followup_2"),
        ("email_sent", "lead_sent_notice"),
        ("event", None),
        ("chase_stopped", None),
    ]
    assert timeline[-1]["detail"] == {"chase_number": 1, "reason": "replied", "emails_sent": 2}
    unknown = await backend.api.get("/v1/leads/L-404/history", headers=backend.auth)
    assert unknown.status_code == 404


async def test_status_changed_away_mid_wait_stops_at_once_and_nothing_more_goes_out(
    backend: Backend, mailbox: Mailbox
) -> None:
    await backend.manager()
    await backend.chased_until_a_follow_up("L-3", mailbox)
    await skip(backend.env, timedelta(hours=30))  # well inside the next three business days

    won = await backend.event("L-3", "e-2", status="won")
    assert won.status_code == 202, won.text

    assert await backend.result("L-3") == LeadChaseResult("status_changed", 1, 1)
    await skip(backend.env, timedelta(days=60))
    assert len(to(mailbox, "ivan@client.example")) == 1
    lead = await backend.lead("L-3")
    assert (lead["status"], lead["chasing"], lead["stopped_reason"], lead["next_email_due"]) == (
        "won",
        False,
        "status_changed",
        None,
    )


async def test_a_stop_the_workflow_never_heard_of_still_stops_the_next_email(
    backend: Backend, sessions: Sessions, mailbox: Mailbox
) -> None:
    """Stop is absolute: the email activity reads the lead's status before it sends."""
    await backend.manager()
    await backend.chased_until_a_follow_up("L-4", mailbox)
    async with sessions() as session:  # as if the signal had been lost on the way
        lead = await session.get(Lead, "L-4")
        assert lead is not None
        lead.status = "lost"
        await session.commit()

    assert await backend.result("L-4") == LeadChaseResult("status_changed", 1, 1)
    assert len(to(mailbox, "ivan@client.example")) == 1
    assert (await backend.lead("L-4"))["stopped_reason"] == "status_changed"


async def test_chasing_twice_is_one_chase(
    backend: Backend, sessions: Sessions, mailbox: Mailbox
) -> None:
    await backend.manager()
    await backend.chase("L-5", "e-1")
    first = await backend.handle("L-5").describe()
    await skip(backend.env, timedelta(days=1))

    await backend.chase("L-5", "e-2")
    again = await backend.event("L-5", "e-2", status="chasing")
    assert again.json() == {"event_id": "e-2", "duplicate": True}

    second = await backend.handle("L-5").describe()
    assert second.run_id == first.run_id
    assert second.status == WorkflowExecutionStatus.RUNNING
    assert (await backend.lead("L-5"))["chase_number"] == 1
    assert (await backend.result("L-5")).emails_sent == 6
    assert len(to(mailbox, "ivan@client.example")) == 6
    async with sessions() as session:
        keys = list(await session.scalars(select(Email.key).where(Email.kind.like("lead_f%"))))
    assert sorted(keys) == sorted(f"lead-L-5:1:email:{r}:{n}" for r in (1, 2, 3) for n in (1, 2))


async def test_a_new_chasing_after_a_stop_starts_a_new_chase(
    backend: Backend, sessions: Sessions, mailbox: Mailbox
) -> None:
    await backend.manager()
    await backend.chased_until_a_follow_up("L-6", mailbox)
    assert await backend.replied("L-6", "e-2") == LeadChaseResult("replied", 1, 1)
    # (Chasing again while the stopped run still finishes is walked on the dev server, in
    # tests/api/test_leads.py: this test server leaks its clock lock when it terminates a
    # run with an activity in flight.)

    await backend.chase("L-6", "e-3")

    assert await backend.result("L-6") == LeadChaseResult("no_response", 3, 6)
    assert len(to(mailbox, "ivan@client.example")) == 1 + 6
    lead = await backend.lead("L-6")
    assert (lead["chase_number"], lead["emails_sent"], lead["stopped_reason"]) == (
        2,
        6,
        "no_response",
    )
    async with sessions() as session:
        keys = set(await session.scalars(select(Email.key).where(Email.kind.like("lead_f%"))))
    assert "lead-L-6:1:email:1:1" in keys and "lead-L-6:2:email:3:2" in keys
    assert len(keys) == 7


async def test_an_unknown_manager_is_422_and_starts_nothing(
    backend: Backend, sessions: Sessions
) -> None:
    await backend.manager()
    refused = await backend.event(
        "L-7", "e-1", status="chasing", lead=LEAD | {"responsible_manager_id": "ghost"}
    )
    assert refused.status_code == 422
    assert refused.json() == {"detail": "responsible manager 'ghost' does not exist"}
    assert (await backend.api.get("/v1/leads/L-7", headers=backend.auth)).status_code == 404
    with pytest.raises(RPCError) as missing:
        await backend.handle("L-7").describe()
    assert missing.value.status == RPCStatusCode.NOT_FOUND

    # A known lead keeps its row as it was.
    assert (await backend.event("L-7", "e-2", status="new", lead=LEAD)).status_code == 202
    before = await backend.lead("L-7")
    moved = await backend.event(
        "L-7",
        "e-3",
        status="chasing",
        lead=LEAD | {"title": "Changed", "responsible_manager_id": "ghost"},
    )
    assert moved.status_code == 422
    assert await backend.lead("L-7") == before
    assert before["status"] == "new" and before["chase_number"] == 0
    with pytest.raises(RPCError):
        await backend.handle("L-7").describe()
    async with sessions() as session:
        assert await session.get(Lead, "L-7") is not None
        assert list(await session.scalars(select(Notification))) == []


async def test_html_in_a_lead_title_is_escaped(backend: Backend, mailbox: Mailbox) -> None:
    await backend.manager()
    title = '<b>Shop</b> & "Co" <script>alert(1)</script>'
    await backend.chased_until_a_follow_up("L-8", mailbox, title=title, name="<i>Ivan</i>")
    await backend.replied("L-8", "e-2")

    (follow_up,) = to(mailbox, "ivan@client.example")
    (notice,) = to(mailbox, "olga@shop.example")
    for message in (follow_up, notice):
        html = part(message, "html")
        assert "&lt;b&gt;Shop&lt;/b&gt; &amp; &#34;Co&#34; &lt;script&gt;" in html
        assert "<script>" not in html and "<b>Shop" not in html and "<i>Ivan" not in html
        assert "&lt;i&gt;Ivan&lt;/i&gt;" in html
    # Plain text and the subject are not HTML: they carry the title as it is.
    assert str(follow_up["Subject"]) == f"Has a decision been made on «{title}»?"
    assert title in part(follow_up, "plain")


async def test_a_russian_lead_gets_russian_follow_ups_and_notices(
    backend: Backend, mailbox: Mailbox
) -> None:
    await backend.manager(name="Ольга Смирнова", signature="Ольга Смирнова, отдел продаж")
    await backend.chase("L-9", "e-1", title="Редизайн сайта", name="Иван Петров", language="ru")
    await backend.skip_until_sent("L-9", mailbox, 2)
    assert (await backend.event("L-9", "e-2", status="won")).status_code == 202
    await backend.result("L-9")

    first, second = to(mailbox, "ivan@client.example")
    assert str(first["Subject"]) == "Принято ли решение по проекту «Редизайн сайта»?"
    assert str(second["Subject"]) == "Очень хотим с вами поработать: «Редизайн сайта»"
    assert first["From"].addresses[0].display_name == "Ольга Смирнова"
    body = part(second, "plain")
    assert body.startswith("Здравствуйте, Иван Петров!\n")
    assert "Мы очень хотели бы с вами поработать :)" in body
    assert body.rstrip().endswith("--\nОльга Смирнова, отдел продаж")
    notices = [str(m["Subject"]) for m in to(mailbox, "olga@shop.example")]
    assert notices[0] == "Письмо 1 из 6 отправлено: Иван Петров, «Редизайн сайта»"


async def test_without_manager_emails_the_notifications_are_still_kept(
    ts_env: WorkflowEnvironment, settings: Settings, sessions: Sessions, mailbox: Mailbox
) -> None:
    quiet = settings.model_copy(update={"manager_notify_email": False})
    worker = build_worker(ts_env.client, make_deps(quiet, sessions), quiet.temporal_task_queue)
    async with (
        worker,
        served(ts_env, quiet) as backend,
    ):
        olga = await backend.manager()
        await backend.chased_until_a_follow_up("L-10", mailbox)
        await backend.replied("L-10", "e-2")

        assert to(mailbox, "olga@shop.example") == []
        (note,) = (await backend.api.get("/v1/notifications", headers=olga)).json()
        assert note["text"] == "Follow-up 1 of 6 sent to Ivan Petrov: «Website redesign»"


async def test_follow_ups_skip_a_new_year_holiday_week(
    ts_env: WorkflowEnvironment, ts_worker: Worker, settings: Settings, mailbox: Mailbox
) -> None:
    """Russia's 1-8 January as days off (the package's dates are tested in
    test_work_calendar.py; the shared test server's clock may be past the years it knows),
    through the workflow sandbox."""
    now = (await ts_env.get_current_time()).astimezone(MOSCOW)
    start = datetime(now.year, 12, 29, 10, 0, tzinfo=MOSCOW)
    if start <= now:
        start = start.replace(year=now.year + 1)
    await ts_env.sleep(start - now)
    new_year = [date(start.year + 1, 1, day) for day in range(1, 9)]
    with_holidays = settings.model_copy(update={"holidays": tuple(new_year)})
    async with served(ts_env, with_holidays) as backend:
        await backend.manager()
        await backend.chase("L-ny", "e-1")
        assert await backend.result("L-ny") == LeadChaseResult("no_response", 3, 6)

    sent = [local_sent_at(m) for m in to(mailbox, "ivan@client.example")]
    working = [
        day
        for day in (start.date() + timedelta(days=n) for n in range(1, 60))
        if day.weekday() < 5 and day not in new_year
    ]
    assert [d.date() for d in sent] == working[2::3][:6]
    assert not set(new_year) & {d.date() for d in sent}
    assert all((d.hour, d.minute) == (10, 0) for d in sent)
