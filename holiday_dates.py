"""Public holidays of a country from the `holidays` package, as the dates a calendar takes.

Read outside workflows, when a chase starts: the dates travel in its input, so the
package's data (and its updates) never touch a running chase's replay.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import holidays


@dataclass(frozen=True)
class PublicDays:
    days_off: frozenset[date]
    # Weekend days worked in exchange for a bridge day off (Russia's transferred Saturdays).
    working_days: frozenset[date]


def public_days(country: str | None, years: Iterable[int]) -> PublicDays:
    """The country's public holidays and transferred working days in `years`; none without one."""
    if not country:
        return PublicDays(frozenset(), frozenset())
    calendar = holidays.country_holidays(country, years=list(years))
    return PublicDays(frozenset(calendar.keys()), frozenset(calendar.weekend_workdays))


def known_country(country: str) -> bool:
    """Whether the package knows the ISO 3166 code (`RU`, `DE`)."""
    return country.upper() in holidays.list_supported_countries()
