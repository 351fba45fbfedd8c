"""Review: each month (or week), a random sample of the period's discards goes to the review
channel, each with its reason, justification and history. Reviewers mark each "good grounds" or
"reopen" (which routes the item again by the rules). When every sampled discard is marked, the
outcome is summarized in the channel and to each participant. The review is there to learn why
leads are refused, "not there to allocate debt" (DOMAIN.md).

The sample is reproducible: the seed is drawn once, recorded on the round, and
``draw(population, seed, size)`` gives the same items again. A round is claimed by inserting its
row (unique period start) with ON CONFLICT DO NOTHING, in the transaction that queues its
messages; a verdict is claimed by a conditional UPDATE, so two reviewers clicking at once make
one verdict.
"""

from __future__ import annotations

import random
import secrets
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot import audit, messages, outbox, reports, texts
from bot.config import Config
from bot.context import Context
from bot.db import insert_once, run_in_transaction
from bot.flows import decide
from bot.flows.decide import Outcome
from bot.ids import ItemStatus, Verdict
from bot.models import Item, ReviewEntry, ReviewRound
from bot.scheduling import company_schedule


def say(macro: str, **values: Any) -> str:
    return texts.say("review.j2", macro, **values)


# ----- the period and the sample ----------------------------------------------------------------------


def last_period(config: Config, now: datetime) -> tuple[datetime, datetime]:
    """The review period that ended most recently, [start, end), in the company's time zone."""
    local = now.astimezone(config.tz)
    if config.review.every == "week":
        this_start = local.date() - timedelta(days=local.weekday())
        start_day = this_start - timedelta(days=7)
    else:
        this_start = local.date().replace(day=1)
        start_day = (this_start - timedelta(days=1)).replace(day=1)
    return reports.days_period(config, start_day, this_start)


def draw(population: list[int], seed: int, size: int) -> list[int]:
    """The sample: the same population, seed and size always give the same items."""
    ordered = sorted(population)
    return sorted(random.Random(seed).sample(ordered, min(size, len(ordered))))


def discarded_in(session: Session, start: datetime, end: datetime) -> list[int]:
    ids = session.exec(
        select(col(Item.id)).where(
            Item.status == ItemStatus.DISCARDED, col(Item.decided_at) >= start, col(Item.decided_at) < end
        )
    )
    return [i for i in ids if i is not None]  # a primary key: never None


def run(ctx: Context, *, seed: int | None = None) -> ReviewRound | None:
    """Start the review of the period that just ended, at the first working moment after it."""

    def work(session: Session) -> ReviewRound | None:
        now = ctx.clock.now()
        start, end = last_period(ctx.config, now)
        if not company_schedule(ctx.config).is_working_time(now):
            return None
        if session.exec(select(ReviewRound.id).where(ReviewRound.period_start == start)).first() is not None:
            return None
        population = discarded_in(session, start, end)
        chosen_seed = seed if seed is not None else secrets.randbits(31)
        sample = draw(population, chosen_seed, ctx.config.review.sample_size)
        channel = ctx.config.channels.review
        if not insert_once(
            session,
            ReviewRound,
            period_start=start,
            period_end=end,
            seed=chosen_seed,
            population=len(population),
            sample_size=len(sample),
            channel=channel,
            created_at=now,
        ):
            return None  # another scheduler started it
        round_ = session.exec(select(ReviewRound).where(ReviewRound.period_start == start)).one()
        assert round_.id is not None  # a stored row
        if not sample:
            session.execute(sa.update(ReviewRound).where(col(ReviewRound.id) == round_.id).values(summarized_at=now))
            return round_
        # keys name the period, not the row id: a losing scheduler's rolled-back insert spends a
        # PostgreSQL sequence number, so ids differ between otherwise identical runs
        period = f"{start:%Y-%m-%d}"
        if channel:
            outbox.enqueue(
                session,
                messages.Review(part="intro", round_id=round_.id),
                key=f"review:{period}:intro",
                now=now,
                channel_key=channel,
            )
        for n, item_id in enumerate(sample, start=1):
            entry = ReviewEntry(
                round_id=round_.id, item_id=item_id, discarded_by=audit.last_actor(session, item_id, "discarded")
            )
            session.add(entry)
            session.flush()
            audit.record(
                session, item_id, actor="scheduler", kind="review_sampled", at=now, round_id=round_.id, seed=chosen_seed
            )
            if channel:
                outbox.enqueue(
                    session,
                    messages.Review(part="entry", entry_id=entry.id),
                    key=f"review:{period}:entry:{n}",
                    now=now,
                    item_id=item_id,
                    channel_key=channel,
                )
        return round_

    return run_in_transaction(ctx.engine, work)


# ----- a reviewer's mark ---------------------------------------------------------------------------


def may_review(config: Config, email: str | None) -> bool:
    return config.is_reviewer(email) or config.is_admin(email)


def mark(session: Session, ctx: Context, entry_id: int, user_id: str, *, email: str | None, verdict: str) -> Outcome:
    entry = session.get(ReviewEntry, entry_id)
    if entry is None:
        return Outcome(False, say("gone"))
    if not may_review(ctx.config, email):
        return Outcome(False, say("not_a_reviewer", reviewers=ctx.config.roles.reviewers))
    try:
        verdict = Verdict(verdict)
    except ValueError:
        return Outcome(False, say("gone"))
    now = ctx.clock.now()
    claimed = (
        session.exec(
            sa.update(ReviewEntry)
            .where(col(ReviewEntry.id) == entry.id, col(ReviewEntry.verdict).is_(None))
            .values(verdict=verdict.value, reviewer=user_id, decided_at=now)
        ).rowcount
        == 1
    )
    if not claimed:
        session.refresh(entry)
        return Outcome(False, say("already_marked", item_id=entry.item_id, verdict=entry.verdict, by=entry.reviewer))
    reopened = None
    if verdict == Verdict.REOPEN:
        reopened = decide.reopen(session, ctx, entry.item_id, user_id, reroute=True)
    audit.record(
        session,
        entry.item_id,
        actor=user_id,
        kind="review_verdict",
        at=now,
        verdict=verdict.value,
        round_id=entry.round_id,
        reopened=bool(reopened and reopened.ok),
    )
    round_ = session.get(ReviewRound, entry.round_id)
    if round_ and round_.channel:
        outbox.enqueue(
            session,
            messages.Review(part="entry", entry_id=entry.id, update=True),
            key=f"review-entry:{entry.id}:verdict",
            now=now,
            item_id=entry.item_id,
            channel_key=round_.channel,
        )
    _summarize_when_done(session, ctx, entry.round_id, now)
    if reopened is not None and not reopened.ok:
        return Outcome(True, say("marked_not_reopened", item_id=entry.item_id, why=reopened.message))
    return Outcome(True)


def _summarize_when_done(session: Session, ctx: Context, round_id: int, now: datetime) -> None:
    entries = list(
        session.exec(select(ReviewEntry).where(ReviewEntry.round_id == round_id).order_by(col(ReviewEntry.item_id)))
    )
    if any(e.verdict is None for e in entries):
        return
    claimed = (
        session.exec(
            sa.update(ReviewRound)
            .where(col(ReviewRound.id) == round_id, col(ReviewRound.summarized_at).is_(None))
            .values(summarized_at=now)
        ).rowcount
        == 1
    )
    if not claimed:
        return
    round_ = session.get(ReviewRound, round_id)
    assert round_ is not None  # the UPDATE above just claimed it
    if round_.channel:
        outbox.enqueue(
            session,
            messages.Review(part="summary", round_id=round_id),
            key=f"review:{round_id}:summary",
            now=now,
            channel_key=round_.channel,
        )
    # each participant hears the outcome: reviewers, and everyone whose discards were reviewed
    by_discarder: dict[str, list[ReviewEntry]] = defaultdict(list)
    for e in entries:
        if e.discarded_by:
            by_discarder[e.discarded_by].append(e)
    reopened = [e.item_id for e in entries if e.verdict == Verdict.REOPEN]
    good = [e.item_id for e in entries if e.verdict == Verdict.GOOD_GROUNDS]
    for who, mine in by_discarder.items():
        _direct(
            session,
            who,
            now,
            working_time=True,  # they did not take part: it waits for their working time
            key=f"review:{round_id}:to:{who}",
            text=say(
                "summary_to_discarder",
                period=round_.period_start,
                tz=ctx.config.timezone,
                good=[e.item_id for e in mine if e.verdict == Verdict.GOOD_GROUNDS],
                reopened=[e.item_id for e in mine if e.verdict == Verdict.REOPEN],
            ),
        )
    for reviewer in sorted({e.reviewer for e in entries if e.reviewer} - set(by_discarder)):
        _direct(
            session,
            reviewer,
            now,
            key=f"review:{round_id}:to:{reviewer}",
            text=say(
                "summary_to_reviewer", period=round_.period_start, tz=ctx.config.timezone, good=good, reopened=reopened
            ),
        )


def _direct(session: Session, who: str, now: datetime, *, key: str, text: str, working_time: bool = False) -> None:
    user, email = (who, None) if "@" not in who else (None, who)
    message = messages.Direct(to_user=user, to_email=email, text=text, working_time=working_time)
    outbox.enqueue(session, message, key=key, now=now, channel_key=who)


def remember_message(session: Session, entry_id: int, channel: str, ts: str) -> None:
    """Where a sampled discard's message landed: its verdict later updates that message."""
    session.execute(sa.update(ReviewEntry).filter_by(id=entry_id).values(message_channel=channel, message_ts=ts))
