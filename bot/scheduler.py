"""The clock of the service level: APScheduler 3 calls one stateless tick every minute.

Everything a tick decides comes from the database (indexed due times, atomic claims; see
bot/flows/nudge.py), so the scheduler can run inside ``handover serve`` (one process, the default
for small teams) or as ``handover scheduler`` processes next to the web replicas; two of them on
one PostgreSQL never send the same nudge twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.context import Context
from bot.flows import digest, feedback, nudge, review, weekly_chart

log = logging.getLogger("handover.scheduler")
TICK_SECONDS = 60


def _nudges(ctx: Context) -> nudge.Run:
    done = nudge.run(ctx)
    if done.messages or done.reassigned or done.reasked or done.unanswered:
        log.info(
            "tick: %d reminder(s), %d escalation(s), %d follow-up reminder(s), %d reassigned, "
            "%d question(s) re-asked, %d unanswered",
            len(done.reminders),
            len(done.escalations),
            len(done.follow_ups),
            len(done.reassigned),
            len(done.reasked),
            len(done.unanswered),
        )
    return done


def _digests(ctx: Context) -> None:
    if sent := digest.run(ctx):
        log.info("tick: weekly digest queued for %d person(s)", len(sent))


def _feedback(ctx: Context) -> None:
    done = feedback.run(ctx)
    if done.asked or done.reminded:
        log.info("tick: feedback asked for %d item(s), %d reminder(s)", len(done.asked), len(done.reminded))


def _review(ctx: Context) -> None:
    if (started := review.run(ctx)) is not None:
        # the period's first day in the company's zone (its UTC start is the evening before)
        first_day = started.period_start.replace(tzinfo=started.period_start.tzinfo or UTC)
        log.info(
            "tick: lead review of %s started: %d of %d discards",
            first_day.astimezone(ctx.config.tz).date(),
            started.sample_size,
            started.population,
        )


# Each job reads what is due from the database and claims it atomically; one job failing does not
# keep the others from running (and its work is retried by the next tick: nothing was half-done).
JOBS: list[tuple[str, Callable[[Context], object]]] = [
    ("digest", _digests),
    ("feedback", _feedback),
    ("review", _review),
    ("weekly_chart", weekly_chart.run),  # last week's chart to the reports channel, once a week
]


def tick(ctx: Context) -> nudge.Run:
    """One run: the service level (reminders, escalations, reassignments, follow-up reminders,
    unanswered questions), then the weekly digests, feedback requests and the lead review."""
    done = _nudges(ctx)
    for name, job in JOBS:
        try:
            job(ctx)
        except Exception:
            log.exception("scheduler job %s failed", name)
    return done


def _safe_tick(ctx: Context) -> None:
    try:
        tick(ctx)
    except Exception:  # a failed tick is retried by the next one; nothing was half-sent (one transaction)
        log.exception("scheduler tick failed")


def _configure(scheduler: Any, ctx: Context, seconds: int) -> Any:
    # coalesce: after downtime, one catch-up run, not one per missed minute
    scheduler.add_job(
        _safe_tick,
        IntervalTrigger(seconds=seconds),
        args=[ctx],
        id="tick",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=seconds,
        replace_existing=True,
    )
    return scheduler


def start_background(ctx: Context, seconds: int = TICK_SECONDS) -> BackgroundScheduler:
    scheduler = _configure(BackgroundScheduler(timezone="UTC"), ctx, seconds)
    scheduler.start()
    return scheduler


def run_blocking(ctx: Context, seconds: int = TICK_SECONDS) -> None:
    _configure(BlockingScheduler(timezone="UTC"), ctx, seconds).start()
