"""The weekly chart: once per ISO week, last week's funnel (handed over → accepted → followed up →
opportunity) and time to accept, as an image in the reports channel (``channels.reports``).

When: at the configured digest day and time (``digest``, Monday 08:30 by default) in the
*company's* time zone (``timezone``) — the first scheduler tick on or after that moment posts it;
a scheduler that was down catches up at its first tick later in the same week. It charts the
last full ISO week before the one it is posted in, Monday 00:00 to Monday 00:00 company time.

Once: the claim is the outbox row itself, keyed ``chart:<charted ISO week>`` (``chart:2026-W10``).
``outbox.enqueue`` queues nothing when the key exists; two schedulers queueing at the same moment
both pass that check, and the second insert fails on the key's unique index — inside a savepoint,
so it is caught and that run simply queued nothing.

The row holds only the period and the channel: the image is rendered when the dispatcher sends
it (bot/slack/files.py), from the figures at that moment, and never stored in the database. A
week in which nothing was handed over gets no chart.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot import messages, outbox, reports
from bot.config import DAYS, Config
from bot.context import Context
from bot.db import run_in_transaction

WHAT = "weekly_chart"
log = logging.getLogger("handover.weekly_chart")


@dataclass(frozen=True)
class Week:
    label: str  # the charted ISO week, 2026-W10
    start: datetime
    end: datetime

    @property
    def key(self) -> str:
        return f"chart:{self.label}"


def due(config: Config, now: datetime) -> Week | None:
    """The week to chart when ``now`` is at or after this week's posting moment; else None."""
    local = now.astimezone(config.tz)
    monday = local.date() - timedelta(days=local.weekday())
    moment = datetime.combine(monday + timedelta(days=DAYS.index(config.digest.day)), config.digest.time, config.tz)
    if local < moment:
        return None
    start, end = reports.days_period(config, monday - timedelta(days=7), monday)
    return Week(label=reports.iso_week(start, config.tz), start=start, end=end)


def run(ctx: Context) -> bool:
    """Queue this week's chart if it is due and not queued yet; True when this run queued it."""
    channel = ctx.config.channels.reports
    now = ctx.clock.now()
    week = due(ctx.config, now) if channel else None
    if week is None:
        return False

    def work(session: Session) -> bool:
        try:
            with session.begin_nested():  # a concurrent duplicate fails here, not the whole transaction
                chart = messages.File(
                    what=WHAT, channel=channel, week=week.label, start=week.start.isoformat(), end=week.end.isoformat()
                )
                row = outbox.enqueue(session, chart, key=week.key, now=now, channel_key=channel)
                session.flush()
        except IntegrityError:
            log.info("weekly chart of %s: another scheduler queued it meanwhile", week.label)
            return False
        return row is not None

    queued = run_in_transaction(ctx.engine, work)
    if queued:
        log.info("weekly chart of %s queued for %s", week.label, channel)
    return queued
