"""Counting in working hours: a reminder "after 4 working hours" skips nights, weekends and
holidays in the receiver's own time zone."""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Schedule:
    tz: ZoneInfo
    start: time = time(8, 0)
    end: time = time(17, 0)
    weekdays: frozenset[int] = frozenset(range(5))  # Monday = 0
    holidays: Container[date] = field(default_factory=frozenset)  # any calendar: `day in holidays`

    def in_tz(self, tz_name: str | None) -> Schedule:
        """The same working hours in another person's time zone (from users.info)."""
        if not tz_name:
            return self
        try:
            tz = ZoneInfo(tz_name)
        except Exception:  # noqa: BLE001  (an unknown zone name from Slack: keep the company's)
            return self
        return Schedule(tz=tz, start=self.start, end=self.end, weekdays=self.weekdays, holidays=self.holidays)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.weekdays and day not in self.holidays

    def _window(self, day: date) -> tuple[datetime, datetime]:
        return (datetime.combine(day, self.start, self.tz), datetime.combine(day, self.end, self.tz))

    def is_working_time(self, when: datetime) -> bool:
        local = when.astimezone(self.tz)
        if not self.is_working_day(local.date()):
            return False
        lo, hi = self._window(local.date())
        return lo <= local < hi

    def next_working_moment(self, when: datetime) -> datetime:
        """``when`` itself if it is working time, otherwise the start of the next working period."""
        local = when.astimezone(self.tz)
        day = local.date()
        for _ in range(400):
            if self.is_working_day(day):
                lo, hi = self._window(day)
                if local < hi:
                    return max(local, lo).astimezone(UTC)
            day += timedelta(days=1)
            local = datetime.combine(day, time(0), self.tz)
        return when  # no working day within a year: configuration says "never"; don't loop forever

    def add(self, start: datetime, hours: float) -> datetime:
        """The moment ``hours`` working hours after ``start``."""
        remaining = timedelta(hours=hours)
        cursor = self.next_working_moment(start).astimezone(self.tz)
        for _ in range(2000):
            _, hi = self._window(cursor.date())
            available = hi - cursor
            if remaining <= available:
                return (cursor + remaining).astimezone(UTC)
            remaining -= available
            cursor = self.next_working_moment(hi + timedelta(seconds=1)).astimezone(self.tz)
        return cursor.astimezone(UTC)

    def between(self, start: datetime, end: datetime) -> float:
        """Working hours elapsed from ``start`` to ``end``."""
        if end <= start:
            return 0.0
        total = timedelta()
        day = start.astimezone(self.tz).date()
        last = end.astimezone(self.tz).date()
        while day <= last:
            if self.is_working_day(day):
                lo, hi = self._window(day)
                a, b = max(lo, start), min(hi, end)
                if b > a:
                    total += b - a
            day += timedelta(days=1)
        return total.total_seconds() / 3600
