"""`POST /v1/pay-links/verify`: the shop's payment page checks a link before it takes money."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from db.session import Sessions
from mail.links import PayLinks, PayToken, RenewalToken, pay_links
from scripts.devstack.walk import backend_auth
from settings import Settings
from tests.factories import make_order


async def test_a_signed_token_names_its_order_and_a_forged_one_is_refused(
    api: httpx.AsyncClient, settings: Settings, sessions: Sessions
) -> None:
    auth = backend_auth(settings)
    order = await make_order(sessions)
    links = pay_links(settings)

    plain = await api.post(
        "/v1/pay-links/verify", json={"token": links.token(order.id)}, headers=auth
    )
    assert plain.status_code == 200, plain.text
    assert plain.json() == {
        "order_id": order.id,
        "order_status": "new",
        "discount_percent": 0,
        "discount_valid_until": None,
        "discount_active": False,
    }

    # A discount the workflow never granted is not honoured, whatever the link says.
    until = datetime.now(UTC) + timedelta(days=2)
    ungranted = await api.post(
        "/v1/pay-links/verify", json={"token": links.token(order.id, 5, until)}, headers=auth
    )
    assert ungranted.json()["discount_percent"] == 5
    assert ungranted.json()["discount_active"] is False

    body, _, signature = links.token(order.id).partition(".")
    forged_body = links.token(order.id, 50).partition(".")[0]
    for bad in (f"{forged_body}.{signature}", f"{body}.", "garbage", "ä.ö"):
        refused = await api.post("/v1/pay-links/verify", json={"token": bad}, headers=auth)
        assert refused.status_code == 422, bad
        assert refused.json()["detail"].startswith("payment token is not valid")

    unknown = await api.post(
        "/v1/pay-links/verify", json={"token": links.token("no-such-order")}, headers=auth
    )
    assert unknown.status_code == 404
    assert (await api.post("/v1/pay-links/verify", json={"token": "x"})).status_code == 401


async def test_a_renewal_token_is_checked_like_a_payment_token(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    auth = backend_auth(settings)
    links = pay_links(settings)
    token = links.renewal_link("no-such-subscription", 1).partition("?token=")[2]
    unknown = await api.post("/v1/pay-links/verify-renewal", json={"token": token}, headers=auth)
    assert unknown.status_code == 404

    body, _, signature = token.partition(".")
    forged_body = links.renewal_link("another", 1).partition("?token=")[2].partition(".")[0]
    # An order's payment token is signed by the same key but renews nothing.
    for bad in (f"{forged_body}.{signature}", f"{body}.", "garbage", links.token("order-1")):
        refused = await api.post("/v1/pay-links/verify-renewal", json={"token": bad}, headers=auth)
        assert refused.status_code == 422, bad
        assert refused.json()["detail"].startswith("renewal token is not valid")
    anonymous = await api.post("/v1/pay-links/verify-renewal", json={"token": token})
    assert anonymous.status_code == 401


def test_a_link_signed_before_itsdangerous_still_verifies() -> None:
    """Tokens already in customers' mailboxes were signed by hand (HMAC-SHA256 of the base64
    payload under the secret): the same secret signs the same bytes, and reads them back."""
    links = PayLinks(
        template="{token}",
        base_url="https://shop.example",
        secret=b"shop-secret",
        renewal_template="{token}",
    )
    sent = (
        "eyJvIjoiQS0xMDAxIiwiZCI6MTUsInUiOjE3OTYxMjY0MDB9"
        ".ur4AABVAvy8EC6ijz3TwZyOAI68zXxebkbFX3nkH-9Y"
    )
    until = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert links.verify(sent) == PayToken("A-1001", 15, until)
    assert links.token("A-1001", 15, until) == sent
    renewal = "eyJzIjoiUy03IiwicCI6M30.55_RgpThdPXDqtOdxfvYrFMEip0nxf6DlMFZJrzQH94"
    assert links.verify_renewal(renewal) == RenewalToken("S-7", 3)
    assert links.renewal_link("S-7", 3) == renewal
