"""Working-hours schedules built from the configuration: the company's, and each person's (their
Slack time zone, their country's public holidays and the company's own days off)."""

from __future__ import annotations

from collections.abc import Container
from datetime import date
from functools import lru_cache

import holidays as holidays_package

from bot.config import Config, Holidays
from bot.working_time import DAY_NAMES, Schedule


class DaysOff(Container[date]):
    """A calendar that never runs out: the ``holidays`` package works out any year on demand."""

    def __init__(
        self, country: str | None, subdivision: str | None, categories: tuple[str, ...], extra: tuple[date | str, ...]
    ) -> None:
        self.public = _public(country.upper(), subdivision, categories) if country else None
        self.dates = frozenset(d for d in extra if isinstance(d, date))
        self.yearly = frozenset(d for d in extra if isinstance(d, str))

    def __contains__(self, day: object) -> bool:
        if not isinstance(day, date):
            return False
        if day in self.dates or f"{day.month:02d}-{day.day:02d}" in self.yearly:
            return True
        return self.public is not None and day in self.public


@lru_cache(maxsize=64)
def _public(country: str, subdivision: str | None, categories: tuple[str, ...]) -> holidays_package.HolidayBase:
    return holidays_package.country_holidays(country, subdiv=subdivision, categories=categories)


@lru_cache(maxsize=256)
def _calendar(
    country: str | None, subdivision: str | None, categories: tuple[str, ...], extra: tuple[date | str, ...]
) -> DaysOff:
    return DaysOff(country, subdivision, categories, extra)


def _days_off(spec: Holidays, company: Holidays) -> DaysOff:
    extra = tuple(dict.fromkeys([*spec.extra, *(company.extra if spec is not company else [])]))
    return _calendar(spec.country, spec.subdivision, tuple(spec.categories), extra)


def company_schedule(config: Config) -> Schedule:
    return schedule_for_email(config, None)


def schedule_for_email(config: Config, email: str | None, tz: str | None = None) -> Schedule:
    """The configured working hours with this person's days off, in their time zone (``tz``, from
    Slack; the company's when unknown)."""
    wh = config.working_hours
    days = frozenset(DAY_NAMES.index(d) if isinstance(d, str) else int(d) for d in wh.days)
    spec = config.holidays_of(email) if email else wh.holidays
    base = Schedule(tz=config.tz, start=wh.start, end=wh.end, weekdays=days, holidays=_days_off(spec, wh.holidays))
    return base.in_tz(tz)
