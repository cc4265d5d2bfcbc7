"""The one settings object: parsing the environment's shapes, refusing nonsense early."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from settings import DefaultSettings, Settings

Load = Callable[..., Settings]


@pytest.fixture
def scaled(monkeypatch: pytest.MonkeyPatch) -> Load:
    """Settings read from an environment with the variables given set, and every duration
    scaled by CHASER_TIME_SCALE=0.001."""

    def load(**environment: str) -> Settings:
        for name, value in {"CHASER_TIME_SCALE": "0.001", **environment}.items():
            monkeypatch.setenv(name, value)
        return Settings()

    return load


def test_durations_holidays_and_the_time_scale_come_from_the_environment(scaled: Load) -> None:
    settings = scaled(
        PAYMENT_WINDOW="P10D",
        GRACE="120",
        HOLIDAYS="2027-01-01, 2027-01-07",
    )
    assert settings.payment_window == timedelta(days=10)
    assert settings.holidays == (date(2027, 1, 1), date(2027, 1, 7))
    timings = settings.order_timings("any-product")
    assert timings.payment_window == pytest.approx(864.0)  # 10 days x 0.001, in seconds
    assert timings.grace == pytest.approx(0.12)
    assert timings.retry_gap == pytest.approx(1.8)


@pytest.mark.parametrize(
    ("name", "value", "named"),
    [
        ("DEFAULT_TIMEZONE", "Mars/Base", "default_timezone"),
        ("CHASER_TIME_SCALE", "0", "chaser_time_scale"),
        ("HOLIDAYS", "soon", "holidays"),
        # The renewal's and the check-in's settings name the variable as it is written.
        ("RENEWAL_NOTICES", "a week", "RENEWAL_NOTICES"),
        ("RENEWAL_NOTICES", "7,-1", "RENEWAL_NOTICES"),
        ("CHECKIN_AFTER", "c=soon", "CHECKIN_AFTER"),
    ],
)
def test_nonsense_is_refused_when_settings_load(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, named: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=named):
        Settings()


def test_renewal_notices_and_check_in_products_come_from_the_environment(scaled: Load) -> None:
    settings = scaled(
        RENEWAL_NOTICES="1, 14,7",
        RENEWAL_CALL_BEFORE="P2D",
        CHECKIN_AFTER="course-1=14, course-2",
        CHECKIN_EMAIL="false",
    )
    renewal = settings.renewal_timings()
    # Seconds before the period's end on the real calendar: the scale shrinks only the waits.
    assert renewal.notices == [14 * 86_400, 7 * 86_400, 86_400]
    assert (renewal.call_before, renewal.time_scale) == (2 * 86_400, 0.001)
    checkins = settings.checkin_setup()
    assert checkins.after == {
        "course-1": pytest.approx(14 * 86.4),  # 14 days x 0.001
        "course-2": pytest.approx(30 * 86.4),  # named without days: CHECKIN_DEFAULT_DAYS
    }
    assert checkins.send_email is False
    assert DefaultSettings().checkin_setup().after == {}  # none unless named
