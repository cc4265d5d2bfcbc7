"""Strange input and missing dependencies (issue 9, defects 4, 7, 8, 9, 10): a clear 4xx or
503 that changes nothing, never a 500 or a request that hangs. Real HTTP, a real worker on
the dev server; CI runs it on SQLite and on PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from pydantic import SecretStr
from sqlalchemy import func, select
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.redelivery import redeliver_owed
from db.models import Order, OrderEvent
from db.session import Sessions
from mail.links import PayLinks
from scripts.devstack.servers import serve_api, temporal_cli
from scripts.devstack.walk import Walk, backend_auth, register_manager
from settings import DEV_PAY_LINK_SECRET, Settings, WeakSecrets
from tests.api.test_orders import order_body
from tests.api.test_together import ended, eventually, open_task
from tests.factories import history

# What a header, a file name or a template must never carry: one of each category.
POISON = ["\u2028", "\u2029", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\x00", "\u202e"]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"grace": timedelta(seconds=0.2)})


async def count_orders(sessions: Sessions) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Order)) or 0)


@pytest.mark.parametrize("char", POISON, ids=lambda c: f"U+{ord(c):04X}")
async def test_a_name_with_a_control_or_separator_character_is_refused(
    api: httpx.AsyncClient, settings: Settings, sessions: Sessions, char: str
) -> None:
    auth = backend_auth(settings)
    product = order_body("P-1", product={"id": "c", "name": f"Python{char}course"})
    customer = order_body(
        "P-2", customer={"name": f"Anna{char}Petrova", "email": "anna@example.com"}
    )
    for body, field in ((product, "product.name"), (customer, "customer.name")):
        response = await api.post("/v1/orders", json=body, headers=auth)
        assert response.status_code == 422, response.text
        assert response.json()["detail"].startswith(f"{field}: ")
        assert f"U+{ord(char):04X}" in response.json()["detail"]
    assert await count_orders(sessions) == 0


async def test_manager_and_event_texts_follow_the_same_policy(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    auth = backend_auth(settings)
    bad_name = {"id": "m1", "name": "Olga\u2028Admin", "email": "o@shop.example"}
    refused = await api.post("/v1/managers", json=bad_name, headers=auth)
    assert refused.status_code == 422 and "name" in refused.json()["detail"]
    # A signature may have several lines and tabs, but no other control characters.
    signature = {"id": "m2", "name": "Olga", "email": "o@shop.example", "signature": "a\n\tb"}
    assert (await api.post("/v1/managers", json=signature, headers=auth)).status_code == 201
    bell = signature | {"id": "m3", "signature": "a\x07b"}
    assert (await api.post("/v1/managers", json=bell, headers=auth)).status_code == 422
    assert (await api.post("/v1/orders", json=order_body("E-1"), headers=auth)).is_success
    for event_id in ("a\x00b", "two\nlines", ""):
        body = {"event_id": event_id, "type": "paid"}
        response = await api.post("/v1/orders/E-1/events", json=body, headers=auth)
        assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    "path",
    [
        "/v1/orders/a%00b",
        "/v1/orders/" + "x" * 5000,
        "/v1/orders/a%00b/history",
        "/v1/leads/a%00b",
        "/v1/leads/" + "y" * 100,
    ],
)
async def test_ids_no_row_can_have_are_not_found(
    api: httpx.AsyncClient, settings: Settings, path: str
) -> None:
    response = await api.get(path, headers=backend_auth(settings))
    assert response.status_code == 404, response.text
    assert "not found" in response.json()["detail"]


async def test_task_and_notification_ids_of_any_size_are_not_found(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    olga = await register_manager(api, backend_auth(settings), "olga")
    for task_id in ("1180591620717411303424", "9223372036854775808", "2147483648", "0", "-5"):
        assert (await api.get(f"/v1/tasks/{task_id}", headers=olga)).status_code == 404
        answer = await api.post(f"/v1/tasks/{task_id}/answer", json={"answer": "yes"}, headers=olga)
        assert answer.status_code == 404
        read = await api.post(f"/v1/notifications/{task_id}/read", headers=olga)
        assert read.status_code == 404


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "-Infinity", "1e400", "1e20", "0.001"])
async def test_amounts_that_are_not_money_are_refused(
    api: httpx.AsyncClient, settings: Settings, sessions: Sessions, amount: str
) -> None:
    auth = {**backend_auth(settings), "Content-Type": "application/json"}
    # Raw JSON: NaN and Infinity are literals Python's parser accepts, not strings.
    raw = (
        '{"id": "N-1", "product": {"id": "c", "name": "Course"}, "amount": ' + amount + ", "
        '"currency": "RUB", "customer": {"name": "Anna", "email": "anna@example.com"}}'
    )
    response = await api.post("/v1/orders", content=raw, headers=auth)
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith("amount: ")
    assert await count_orders(sessions) == 0
    assert (await api.post("/v1/orders", json=order_body("N-2"), headers=auth)).is_success
    part = '{"event_id": "e-nan", "type": "partially_paid", "amount": ' + amount + "}"
    refused = await api.post("/v1/orders/N-2/events", content=part, headers=auth)
    assert refused.status_code == 422, refused.text


async def test_a_body_over_one_mebibyte_is_refused_before_it_is_read(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    big = b'{"id": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    # Declared length: refused at once, before the token is even looked at.
    anonymous = await api.post("/v1/orders", content=big)
    assert anonymous.status_code == 413, anonymous.text
    assert "larger than" in anonymous.json()["detail"]

    # Chunked, no length declared: counted as it arrives and cut off.
    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]

    chunked = await api.post("/v1/orders", content=chunks(), headers=backend_auth(settings))
    assert chunked.status_code == 413, chunked.text


# --- outages ---------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="module")
async def unreachable_temporal() -> Client:
    """A client connected to a Temporal dev server that has since gone down."""
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=temporal_cli(), ui=False)
    client = env.client
    await env.shutdown()
    return client


async def test_with_temporal_down_writes_are_503_with_retry_after_and_nothing_is_lost(
    dev_walk: Walk, settings: Settings, sessions: Sessions, unreachable_temporal: Client
) -> None:
    api, auth = dev_walk.api, dev_walk.backend
    assert (await api.post("/v1/orders", json=order_body("OUT-1"), headers=auth)).is_success
    async with serve_api(create_app(settings, temporal=unreachable_temporal)) as down:
        started = time.monotonic()
        created = await down.post("/v1/orders", json=order_body("OUT-2"), headers=auth)
        assert created.status_code == 503, created.text
        assert created.headers["Retry-After"].isdigit()
        paid = await down.post(
            "/v1/orders/OUT-1/events", json={"event_id": "p-out", "type": "paid"}, headers=auth
        )
        assert paid.status_code == 503, paid.text
        assert time.monotonic() - started < 10  # two requests, each answered within 5 s
    # The payment is stored and owed; the redelivery tells the chase once Temporal answers.
    async with sessions() as session:
        owed = await session.get(OrderEvent, "p-out")
        assert owed is not None and owed.signalled_at is None
    clock = _far_future
    assert await redeliver_owed(sessions, dev_walk.env.client, settings, clock) == 1
    assert (await ended(api, settings, "OUT-1"))["status"] == "paid"
    # The backend retrying the order it was refused gets it created and chased.
    retried = await api.post("/v1/orders", json=order_body("OUT-2"), headers=auth)
    assert retried.status_code == 200 and retried.json()["status"] == "new"
    assert (await dev_walk.env.client.get_workflow_handle("order-OUT-2").describe()).run_id


async def _far_future() -> datetime:
    """A clock past the redelivery's grace: whatever is owed is due."""
    return datetime.now(UTC) + timedelta(minutes=1)


async def test_with_the_worker_down_reads_answer_fast_from_the_database(
    settings: Settings, dev_env: Any, sessions: Sessions
) -> None:
    """No worker polls this app's task queue: queries cannot be answered."""
    auth = backend_auth(settings)
    async with serve_api(create_app(settings, temporal=dev_env.client)) as api:
        assert (await api.post("/v1/orders", json=order_body("W-1"), headers=auth)).is_success
        started = time.monotonic()
        body = (await api.get("/v1/orders/W-1", headers=auth)).json()
        assert time.monotonic() - started < 5
        assert body["live"] is False and body["process"] is None and body["status"] == "new"


async def test_an_accepted_answer_is_delivered_even_when_its_signal_was_not(
    api: httpx.AsyncClient,
    settings: Settings,
    sessions: Sessions,
    unreachable_temporal: Client,
    dev_env: Any,
) -> None:
    """The crash window: the claim is committed, the signal does not get through."""
    olga = await register_manager(api, backend_auth(settings), "olga")
    assert (
        await api.post("/v1/orders", json=order_body("CW-1"), headers=backend_auth(settings))
    ).is_success
    task = await open_task(api, olga, "CW-1", "take_order")
    async with serve_api(create_app(settings, temporal=unreachable_temporal)) as down:
        taken = await down.post(
            f"/v1/tasks/{task['id']}/answer", json={"answer": "yes"}, headers=olga
        )
        assert taken.status_code == 200, taken.text  # accepted: stored, and owed to the chase
    again = await api.post(f"/v1/tasks/{task['id']}/answer", json={"answer": "yes"}, headers=olga)
    assert again.status_code == 409 and "already answered by 'olga'" in again.json()["detail"]
    assert await redeliver_owed(sessions, dev_env.client, settings, _far_future)

    async def assigned() -> bool:
        order = (await api.get("/v1/orders/CW-1", headers=backend_auth(settings))).json()
        return bool(order["assignee_id"] == "olga")

    await eventually(assigned)
    lines = [line.kind for line in await history(sessions, "CW-1")]
    assert lines.count("task_answered") == 1 and "assigned" in lines


# --- secrets ---------------------------------------------------------------------------


def test_production_refuses_development_and_short_secrets(settings: Settings) -> None:
    production = settings.model_copy(update={"chaser_env": "production"})
    with pytest.raises(WeakSecrets, match="BACKEND_TOKEN and PAY_LINK_SECRET"):
        production.check_secrets()
    strong = production.model_copy(
        update={
            "backend_token": SecretStr("b" * 32),
            "pay_link_secret": SecretStr("p" * 40),
            "unsubscribe_secret": SecretStr("u" * 32),
            "session_secret": SecretStr("s" * 32),
        }
    )
    strong.check_secrets()
    short = strong.model_copy(update={"pay_link_secret": SecretStr("p" * 31)})
    with pytest.raises(WeakSecrets, match="PAY_LINK_SECRET"):
        short.check_secrets()


async def test_the_api_will_not_start_in_production_with_a_default_secret(
    settings: Settings, dev_env: Any
) -> None:
    production = settings.model_copy(
        update={
            "chaser_env": "production",
            "backend_token": SecretStr("b" * 40),
            "session_secret": SecretStr("s" * 40),
        }
    )
    app = create_app(production, temporal=dev_env.client)
    with pytest.raises(WeakSecrets, match="PAY_LINK_SECRET"):
        async with app.router.lifespan_context(app):
            pass


def test_a_token_forged_with_the_development_secret_does_not_verify() -> None:
    """The development secret is public: production refuses to run with it (above)."""
    template = "{base_url}/pay/{order_id}?token={token}"
    forged = PayLinks(template=template, base_url="x", secret=DEV_PAY_LINK_SECRET.encode())
    production = PayLinks(template=template, base_url="x", secret=b"s" * 40)
    token = forged.link("A-1", 90, None).split("token=")[1]
    with pytest.raises(ValueError):
        production.verify(token)


# --- text stored before the policy existed ----------------------------------------------


async def test_a_poisoned_name_already_stored_fails_its_emails_not_the_chase(
    api: httpx.AsyncClient, settings: Settings, sessions: Sessions, dev_env: Any
) -> None:
    """A name with U+2028 that got in before the text policy: each email is recorded as
    failed at once (no retry), and the manager task, the payment and the end still happen."""
    olga = await register_manager(api, backend_auth(settings), "olga")
    auth = backend_auth(settings)
    assert (await api.post("/v1/orders", json=order_body("POI-1"), headers=auth)).is_success
    async with sessions() as session:
        order = await session.get(Order, "POI-1")
        assert order is not None
        order.product_name = "Python\u2028Bcc: victim@example.com"
        await session.commit()
    # The order-received email may have gone before the name was changed; the next ones fail.
    await open_task(api, olga, "POI-1", "take_order")
    paid = await api.post(
        "/v1/orders/POI-1/events", json={"event_id": "p-poi", "type": "paid"}, headers=auth
    )
    assert paid.status_code == 202
    await dev_env.client.get_workflow_handle("order-POI-1").result()
    lines = await history(sessions, "POI-1")
    failed = [line.detail for line in lines if line.kind == "email_failed"]
    assert [detail["email_kind"] for detail in failed][-1] == "thank_you"
    assert "cannot be built" in str(failed[-1]["error"])
    assert (await ended(api, settings, "POI-1"))["status"] == "paid"
