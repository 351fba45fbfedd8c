"""The company's working-hours schedule, built from the configuration."""

from __future__ import annotations

from bot.config import Config
from bot.working_time import DAY_NAMES, Schedule


def company_schedule(config: Config) -> Schedule:
    wh = config.working_hours
    days = frozenset(DAY_NAMES.index(d) if isinstance(d, str) else int(d) for d in wh.days)
    return Schedule(tz=config.tz, start=wh.start, end=wh.end, weekdays=days, holidays=frozenset(wh.holidays))
