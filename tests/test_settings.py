"""The one settings object: parsing the environment's shapes, refusing nonsense early."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from settings import Settings


def test_durations_holidays_and_the_time_scale_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PAYMENT_WINDOW", "P10D")
    monkeypatch.setenv("GRACE", "120")
    monkeypatch.setenv("HOLIDAYS", "2027-01-01, 2027-01-07")
    monkeypatch.setenv("CHASER_TIME_SCALE", "0.001")
    settings = Settings()
    assert settings.payment_window == timedelta(days=10)
    assert settings.holidays == (date(2027, 1, 1), date(2027, 1, 7))
    timings = settings.order_timings("any-product")
    assert timings.payment_window == pytest.approx(864.0)  # 10 days x 0.001, in seconds
    assert timings.grace == pytest.approx(0.12)
    assert timings.retry_gap == pytest.approx(1.8)


@pytest.mark.parametrize(
    ("name", "value"),
    [("DEFAULT_TIMEZONE", "Mars/Base"), ("CHASER_TIME_SCALE", "0"), ("HOLIDAYS", "soon")],
)
def test_nonsense_is_refused_when_settings_load(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=name.lower()):
        Settings()
