"""Reports: the figures that tell whether handovers work (DOMAIN.md, "Numbers worth moving").

One read model for three outputs: ``handover report`` (terminal table and CSV), ``/handover stats``
(Slack) and the weekly chart. SQL selects the rows; the figures are counted in plain Python.

What the figures mean (the README's "Reports" section says the same):

- **The items counted** are those *handed over in the period* ``[start, end)`` (``item.created_at``),
  optionally of one event. Every figure follows these items up to the moment the report is made:
  an item handed over on Friday and accepted on Monday counts as accepted in Friday's week.
- **handed over**: the number of those items.
- **accepted**: items accepted at least once — an ``accepted`` entry in the audit trail, or
  ``accepted_at`` set — whatever happened later (closed, recategorized, reopened).
- **accept rate** = accepted ÷ handed over. Items still waiting for a decision count against it,
  as they do in the field average of 42% (DOMAIN.md; the aim is 84%).
- **time to accept**: hours from the handover (``created_at``) to the *first* acceptance (the
  earliest of the ``accepted`` audit entries and ``accepted_at``). The median is
  ``statistics.median`` (the mean of the two middle values for an even count); the 90th
  percentile is the nearest rank: the ⌈0.9·n⌉-th smallest value.
- **recategorized / discarded**: decisions, from the audit trail (``recategorized`` and
  ``discarded`` entries): an item recategorized twice counts twice. **justified**: discards with
  a justification text (the aim is all of them). **discard reasons**: discards per reason label.
- **followed up**: accepted items with at least one recorded follow-up; **follow-up rate** =
  followed up ÷ accepted; **follow-ups**: how many were recorded. (The share of *handed-over*
  items followed up — 30% in the field — is followed up ÷ handed over: the chart's funnel shows it.)
- **feedback**: answered feedback forms; **usefulness**: the mean of their 1–5 scores;
  **reached**: answers saying the customer was reached.
- **opportunities**: items that became an opportunity — a follow-up ``opportunity_created`` or
  ``won``, or a feedback outcome ``opportunity`` or ``won`` — each item once; **won**: a follow-up
  ``won`` or a feedback outcome ``won``.

Grouping puts each item in exactly one group: its event, sender, Business Builder, (current or
last) receiver, team (``item.team_key``, else the configured team whose members include the
receiver), region or (current) category.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.config import Config
from bot.ids import FollowUpKind, Outcome
from bot.models import Feedback, FollowUp, Item, ItemEvent

DIMENSIONS = ("none", "event", "sender", "business_builder", "receiver", "team", "region", "category")
TOTAL = "total"
FIELD_ACCEPT_RATE = 0.42  # DOMAIN.md: the accepted-lead rate today
OPPORTUNITY_FOLLOW_UPS = {FollowUpKind.OPPORTUNITY.value, FollowUpKind.WON.value}
OPPORTUNITY_OUTCOMES = {Outcome.OPPORTUNITY.value, Outcome.WON.value}
DECISIONS = ("accepted", "recategorized", "discarded")


# ----- figures ------------------------------------------------------------------------------------


def percentile(values: list[float], share: int) -> float | None:
    """Nearest rank: the ⌈share/100·n⌉-th smallest value (integer arithmetic, no rounding surprises)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = -(-share * len(ordered) // 100)  # ceil(share * n / 100)
    return ordered[max(rank, 1) - 1]


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass
class Figures:
    """The figures of one group of items (or of all of them: ``group == "total"``)."""

    group: str
    handed_over: int = 0
    accepted: int = 0
    accept_hours: list[float] = field(default_factory=list)
    recategorized: int = 0
    discarded: int = 0
    justified: int = 0
    reasons: Counter = field(default_factory=Counter)  # reason label -> discards
    followed_up: int = 0
    follow_ups: int = 0
    feedback: int = 0
    usefulness: list[int] = field(default_factory=list)
    reached: int = 0
    opportunities: int = 0
    won: int = 0

    @property
    def accept_rate(self) -> float | None:
        return _rate(self.accepted, self.handed_over)

    @property
    def follow_up_rate(self) -> float | None:
        return _rate(self.followed_up, self.accepted)

    @property
    def median_accept_hours(self) -> float | None:
        return statistics.median(self.accept_hours) if self.accept_hours else None

    @property
    def p90_accept_hours(self) -> float | None:
        return percentile(self.accept_hours, 90)

    @property
    def usefulness_mean(self) -> float | None:
        return statistics.mean(self.usefulness) if self.usefulness else None

    def add(self, facts: _Facts) -> None:
        self.handed_over += 1
        if facts.first_accept is not None:
            self.accepted += 1
            self.accept_hours.append(max((facts.first_accept - facts.item.created_at).total_seconds(), 0) / 3600)
            if facts.follow_ups:
                self.followed_up += 1
        self.recategorized += facts.recategorized
        for label, justified in facts.discards:
            self.discarded += 1
            self.justified += justified
            self.reasons[label] += 1
        self.follow_ups += facts.follow_ups
        fb = facts.feedback
        if fb is not None:
            self.feedback += 1
            self.reached += bool(fb.reached_customer)
            if fb.usefulness is not None:
                self.usefulness.append(fb.usefulness)
        self.opportunities += facts.opportunity
        self.won += facts.won

    def row(self) -> dict[str, Any]:
        """Plain values (rates as fractions, hours unrounded) for CSV, JSON and templates."""
        return {
            "group": self.group,
            "handed_over": self.handed_over,
            "accepted": self.accepted,
            "accept_rate": self.accept_rate,
            "median_accept_hours": self.median_accept_hours,
            "p90_accept_hours": self.p90_accept_hours,
            "recategorized": self.recategorized,
            "discarded": self.discarded,
            "justified": self.justified,
            "reasons": dict(self.reasons),
            "followed_up": self.followed_up,
            "follow_up_rate": self.follow_up_rate,
            "follow_ups": self.follow_ups,
            "feedback": self.feedback,
            "usefulness": self.usefulness_mean,
            "reached": self.reached,
            "opportunities": self.opportunities,
            "won": self.won,
        }


@dataclass
class Report:
    start: datetime
    end: datetime
    by: str
    event: str | None
    groups: list[Figures]
    total: Figures

    @property
    def reason_labels(self) -> list[str]:
        """Every discard reason that occurs, the most frequent first."""
        return [label for label, _ in sorted(self.total.reasons.items(), key=lambda kv: (-kv[1], kv[0]))]


# ----- what happened to each item ------------------------------------------------------------------


@dataclass
class _Facts:
    item: Item
    first_accept: datetime | None = None
    recategorized: int = 0
    discards: list[tuple[str, bool]] = field(default_factory=list)  # (reason label, justified)
    follow_ups: int = 0
    opportunity: bool = False
    won: bool = False
    feedback: Feedback | None = None


def _event_filter(event: str | None) -> list[Any]:
    """An event by (part of) its name, case-insensitively: ``stats global`` finds "Global Event 2026"."""
    if not event or not event.strip():
        return []
    needle = event.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return [sa.func.lower(Item.event_name).like(f"%{needle}%", escape="\\")]


def _facts(session: Session, config: Config, start: datetime, end: datetime, event: str | None) -> list[_Facts]:
    where = [Item.created_at >= start, Item.created_at < end, *_event_filter(event)]
    items = list(session.exec(select(Item).where(*where).order_by(col(Item.id))))
    if not items:
        return []
    facts = {i.id: _Facts(i, first_accept=i.accepted_at) for i in items}
    ids = select(col(Item.id)).where(*where)  # a subquery, not a list of thousands of ids

    for e in session.exec(
        select(ItemEvent)
        .where(col(ItemEvent.item_id).in_(ids), col(ItemEvent.kind).in_(DECISIONS))
        .order_by(col(ItemEvent.at), col(ItemEvent.id))
    ):
        f = facts[e.item_id]
        if e.kind == "accepted":
            if f.first_accept is None or e.at < f.first_accept:
                f.first_accept = e.at
        elif e.kind == "recategorized":
            f.recategorized += 1
        else:
            reason = (e.detail or {}).get("reason") or f.item.discard_reason or "unknown"
            f.discards.append((config.discard_reason(reason).label, bool((e.text or "").strip())))

    for fu in session.exec(select(FollowUp).where(col(FollowUp.item_id).in_(ids))):
        f = facts[fu.item_id]
        f.follow_ups += 1
        f.opportunity |= fu.kind in OPPORTUNITY_FOLLOW_UPS
        f.won |= fu.kind == FollowUpKind.WON.value

    for fb in session.exec(
        select(Feedback).where(col(Feedback.item_id).in_(ids), col(Feedback.answered_at).is_not(None))
    ):
        f = facts[fb.item_id]
        f.feedback = fb
        f.opportunity |= fb.outcome in OPPORTUNITY_OUTCOMES
        f.won |= fb.outcome == Outcome.WON.value
    return list(facts.values())


def group_of(config: Config, item: Item, by: str) -> str:
    """The one group ``item`` belongs to along dimension ``by``."""
    if by == "none":
        return "all"
    if by == "event":
        return item.event_name or "(no event)"
    if by == "sender":
        return (item.sender_email or item.sender_user_id or "(unknown)").lower()
    if by == "business_builder":
        return (item.business_builder_email or item.business_builder_user_id or "(none)").lower()
    if by == "receiver":
        return (item.receiver_email or item.receiver_user_id or "(nobody)").lower()
    if by == "team":
        if item.team_key:
            return item.team_key
        team = config.team_of(item.receiver_email)
        return team.key if team else "(no team)"
    if by == "region":
        return item.region or "(no region)"
    if by == "category":
        return str(item.category)
    raise ValueError(f"unknown dimension {by!r}; one of: {', '.join(DIMENSIONS)}")


def compute(
    session: Session, config: Config, start: datetime, end: datetime, *, by: str = "none", event: str | None = None
) -> Report:
    """The figures of the items handed over in ``[start, end)``, grouped ``by`` one dimension."""
    if by not in DIMENSIONS:
        raise ValueError(f"unknown dimension {by!r}; one of: {', '.join(DIMENSIONS)}")
    total = Figures(TOTAL)
    groups: dict[str, Figures] = defaultdict(lambda: Figures(""))
    for facts in _facts(session, config, start, end, event):
        total.add(facts)
        name = group_of(config, facts.item, by)
        groups[name].group = name
        groups[name].add(facts)
    ordered = sorted(groups.values(), key=lambda g: (-g.handed_over, g.group))
    return Report(start=start, end=end, by=by, event=event, groups=ordered, total=total)


# ----- periods ------------------------------------------------------------------------------------


def day_start(day: date, config: Config) -> datetime:
    """Midnight of ``day`` in the company's time zone, as UTC."""
    return datetime.combine(day, time.min, config.tz).astimezone(UTC)


def days_period(config: Config, first: date, last_exclusive: date) -> tuple[datetime, datetime]:
    return day_start(first, config), day_start(last_exclusive, config)


def last_days(config: Config, now: datetime, days: int) -> tuple[datetime, datetime]:
    """The last ``days`` calendar days including today, in the company's time zone."""
    tomorrow = now.astimezone(config.tz).date() + timedelta(days=1)
    return days_period(config, tomorrow - timedelta(days=days), tomorrow)


def rolling(now: datetime, days: int) -> tuple[datetime, datetime]:
    """The ``days`` × 24 hours up to now."""
    return now - timedelta(days=days), now


def iso_week(moment: datetime, tz: tzinfo) -> str:
    """``2026-W10``: the ISO week of ``moment`` in the time zone ``tz``."""
    year, week, _ = moment.astimezone(tz).isocalendar()
    return f"{year}-W{week:02d}"


def describe_period(start: datetime, end: datetime, config: Config) -> str:
    """``Mon 2 Mar 2026 – Sun 8 Mar 2026`` for whole days in the company's time zone, else with times."""
    a, b = start.astimezone(config.tz), end.astimezone(config.tz)
    if a.time() == time.min and b.time() == time.min:
        last = b.date() - timedelta(days=1)
        return f"{a:%a} {a.day} {a:%b %Y} – {last:%a} {last.day} {last:%b %Y}"
    return f"{a.day} {a:%b %Y %H:%M} – {b.day} {b:%b %Y %H:%M}"


# ----- presentation helpers shared by the terminal, CSV and Slack -------------------------------


def pct(rate: float | None) -> str:
    return "–" if rate is None else f"{round(rate * 100)}%"


def hours(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} h"


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def csv_table(report: Report) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of the report as CSV: one row per group, then the total; a column per
    discard reason; rates in percent (one decimal), hours with two decimals."""
    labels = report.reason_labels
    header = [
        report.by if report.by != "none" else "group",
        "handed_over",
        "accepted",
        "accept_rate_pct",
        "median_hours_to_accept",
        "p90_hours_to_accept",
        "recategorized",
        "discarded",
        "discarded_justified",
        "followed_up",
        "follow_up_rate_pct",
        "follow_ups",
        "feedback_answers",
        "usefulness_mean",
        "reached_customer",
        "opportunities",
        "won",
        *[f"discarded: {label}" for label in labels],
        "period_from",
        "period_to",
    ]
    rows = []
    groups = report.groups if report.by != "none" else []
    for g in [*groups, report.total]:
        rate = None if g.accept_rate is None else g.accept_rate * 100
        follow = None if g.follow_up_rate is None else g.follow_up_rate * 100
        rows.append(
            [
                g.group,
                g.handed_over,
                g.accepted,
                _round(rate, 1),
                _round(g.median_accept_hours, 2),
                _round(g.p90_accept_hours, 2),
                g.recategorized,
                g.discarded,
                g.justified,
                g.followed_up,
                _round(follow, 1),
                g.follow_ups,
                g.feedback,
                _round(g.usefulness_mean, 2),
                g.reached,
                g.opportunities,
                g.won,
                *[g.reasons.get(label, 0) for label in labels],
                report.start.isoformat(),
                report.end.isoformat(),
            ]
        )
    return header, rows
