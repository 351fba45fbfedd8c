"""The durable outbox: every message to Slack is a row written in the same transaction as the
state change it reports. The dispatcher (bot.slack.dispatcher) claims due rows, sends them and
marks them sent; a crash between "saved" and "sent" leaves the row pending, never lost.

Through Slack trouble a row waits and is tried again, never dropped:
- transient failures (HTTP 5xx, time-outs, refused connections, 429, a refused token or a
  missing scope the operator must fix) are retried with exponential backoff capped at
  ``HANDOVER_OUTBOX_MAX_BACKOFF`` (60 s) with jitter, so a queue built up during an outage drains
  within about a minute of Slack's return, for as long as ``HANDOVER_OUTBOX_HORIZON_HOURS`` (72 h)
  after the row's first failure;
- only a permanent error (the dispatcher's ``PERMANENT`` list: a message Slack will never accept,
  a channel or person that does not exist) or the horizon ends a row as ``dead``. Dead rows are
  kept: ``handover outbox list`` shows them (``doctor``, ``/healthz``, ``/metrics`` and the admins'
  App Home count them), ``handover outbox retry`` sends them again, ``handover outbox discard``
  gives them up with a reason (bot.outbox_admin; every step is in ``outbox_event``).
- ``maybe_sent`` marks a row whose last attempt may have reached Slack (a time-out, a 5xx, a claim
  taken over from a dispatcher that died): the next attempt looks for its key first.

This module holds the table operations only; it knows nothing about Slack.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.db import is_postgres, transaction
from bot.messages import Kind as Kind  # the kinds live with their messages (bot.messages); outbox.Kind reads on
from bot.messages import Message
from bot.models import Outbox, OutboxEvent


class Status(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DEAD = "dead"  # gave up (permanent error, or failing past the horizon); kept: `handover outbox`
    DISCARDED = "discarded"  # an operator gave a dead or waiting row up, with a reason (outbox_event)


WAITING = (Status.PENDING, Status.SENDING)  # not sent yet, and still being tried
DEFAULT_HORIZON = timedelta(hours=72)
DEFAULT_MAX_BACKOFF = 60.0


def enqueue(
    session: Session,
    message: Message,
    *,
    key: str,
    now: datetime,
    item_id: int | None = None,
    channel_key: str | None = None,
    not_before: datetime | None = None,
) -> Outbox | None:
    """Queue a message in the caller's transaction; its kind is the model's (``message.KIND``).
    ``key`` makes it idempotent: a second enqueue with the same key (a retried request, a re-run
    import) queues nothing."""
    values: dict[str, Any] = dict(
        idempotency_key=key,
        kind=message.KIND.value,
        item_id=item_id,
        channel_key=channel_key,
        payload=message.payload(),
        next_attempt_at=not_before or now,
        created_at=now,
    )
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):  # one statement: INSERT … ON CONFLICT DO NOTHING RETURNING
        insert = sqlite_insert if dialect == "sqlite" else pg_insert
        stmt = insert(Outbox).values(**values).on_conflict_do_nothing(index_elements=["idempotency_key"])
        return session.scalars(stmt.returning(Outbox)).first()
    if session.exec(select(Outbox.id).where(Outbox.idempotency_key == key)).first() is not None:
        return None
    row = Outbox(**values)
    session.add(row)
    return row


def claim(
    engine: Engine,
    *,
    now: datetime,
    worker: str | None = None,
    limit: int = 50,
    lease: timedelta = timedelta(seconds=60),
) -> list[Outbox]:
    """Atomically take up to ``limit`` due rows for one worker. Rows whose lease ran out (a
    dispatcher that crashed mid-send) are due again. Several dispatchers never take the same row:
    PostgreSQL uses SELECT … FOR UPDATE SKIP LOCKED, SQLite a conditional UPDATE under its
    single-writer lock. A worker claims one batch at a time, so rows it still holds from an earlier
    claim (its round broke off: the database went away while it recorded a result) are its to take
    again at once, not after the lease."""
    worker = worker or uuid.uuid4().hex[:12]
    due = sa.or_(
        sa.and_(col(Outbox.status) == Status.PENDING, col(Outbox.next_attempt_at) <= now),
        sa.and_(col(Outbox.status) == Status.SENDING, col(Outbox.claimed_until) < now),
        sa.and_(col(Outbox.status) == Status.SENDING, col(Outbox.claimed_by) == worker),
    )
    with transaction(engine) as session:
        query = select(Outbox.id, Outbox.status).where(due).order_by(col(Outbox.id)).limit(limit)
        if is_postgres(engine):
            query = query.with_for_update(skip_locked=True)
        found = list(session.exec(query))
        if not found:
            return []
        ids = [row_id for row_id, _ in found]
        # Taken over from a dispatcher whose lease ran out (it crashed, or hung): it may have posted
        # the message before it died, so the next attempt looks for the row's key before posting.
        taken_over = {row_id for row_id, status in found if status == Status.SENDING}
        session.execute(
            sa.update(Outbox)
            .where(col(Outbox.id).in_(ids), due)
            .values(status=Status.SENDING, claimed_by=worker, claimed_until=now + lease)
        )
        if taken_over:
            session.execute(
                sa.update(Outbox)
                .where(col(Outbox.id).in_(taken_over), col(Outbox.claimed_by) == worker)
                .values(maybe_sent=True)
            )
        rows = list(
            session.exec(
                select(Outbox).where(col(Outbox.id).in_(ids), col(Outbox.claimed_by) == worker).order_by(col(Outbox.id))
            )
        )
    return rows


def row_id(row: Outbox) -> int:
    """The id of a row read from the table (claimed, listed): it always has one."""
    if row.id is None:
        raise ValueError("an outbox row that was never saved has no id")
    return row.id


def mark_sent(session: Session, row_id: int, *, now: datetime, result: dict[str, Any]) -> None:
    session.execute(
        sa.update(Outbox)
        .where(col(Outbox.id) == row_id)
        .values(status=Status.SENT, sent_at=now, result=result, claimed_until=None, last_error=None, failing_since=None)
    )


def backoff(attempts: int, *, cap: float = DEFAULT_MAX_BACKOFF, rng: random.Random | None = None) -> float:
    """Seconds before attempt ``attempts + 1``: 1, 2, 4, … capped at ``cap``, with jitter (between
    half and all of it) so that rows failed together by an outage don't all come back at once."""
    ceiling = min(2.0 ** max(attempts - 1, 0), cap)
    return ceiling * (rng or random).uniform(0.5, 1.0)


@dataclass(frozen=True)
class Rescheduled:
    wait: float  # seconds until the row is due again (0 when it died)
    dead: bool  # the row failed for longer than the horizon and was given up


def reschedule(
    session: Session,
    row: Outbox,
    *,
    now: datetime,
    error: str,
    retry_after: float | None = None,
    ambiguous: bool = False,
    count_attempt: bool = True,
    failure: bool = True,
    horizon: timedelta = DEFAULT_HORIZON,
    max_backoff: float = DEFAULT_MAX_BACKOFF,
    rng: random.Random | None = None,
) -> Rescheduled:
    """Put a row back for a later attempt: after Slack's Retry-After, or with capped exponential
    backoff. ``ambiguous`` records that the last attempt may have reached Slack (a time-out, a 5xx),
    so the next attempt first checks whether the message already arrived. ``failure`` (the default)
    counts toward the horizon: a row that has been failing for ``horizon`` is given up as dead; a
    row that only waits for another one (``failure=False``) never dies of waiting."""
    attempts = row.attempts + (1 if count_attempt else 0)
    if retry_after is None:
        retry_after = backoff(attempts, cap=max_backoff, rng=rng)
    failing_since = (row.failing_since or now) if failure else row.failing_since
    if failure and failing_since is not None and now - failing_since >= horizon:  # (never None on failure)
        session.execute(
            sa.update(Outbox)
            .where(col(Outbox.id) == row.id)
            .values(
                status=Status.DEAD,
                attempts=attempts,
                dead_at=now,
                failing_since=failing_since,
                last_error=error[:1000],
                claimed_until=None,
                maybe_sent=row.maybe_sent or ambiguous,
            )
        )
        record(
            session,
            row_id(row),
            at=now,
            action="dead",
            reason=f"still failing after {horizon} (since {failing_since:%Y-%m-%d %H:%M} UTC): {error}",
        )
        return Rescheduled(0.0, True)
    session.execute(
        sa.update(Outbox)
        .where(col(Outbox.id) == row.id)
        .values(
            status=Status.PENDING,
            attempts=attempts,
            next_attempt_at=now + timedelta(seconds=retry_after),
            last_error=error[:1000],
            claimed_until=None,
            maybe_sent=row.maybe_sent or ambiguous,
            failing_since=failing_since,
        )
    )
    return Rescheduled(float(retry_after), False)


def mark_dead(session: Session, row_id: int, *, error: str, now: datetime) -> None:
    session.execute(
        sa.update(Outbox)
        .where(col(Outbox.id) == row_id)
        .values(status=Status.DEAD, last_error=error[:1000], claimed_until=None, dead_at=now)
    )
    record(session, row_id, at=now, action="dead", reason=error)


def record(
    session: Session, row_id: int, *, at: datetime, action: str, reason: str | None = None, actor: str = "system"
) -> OutboxEvent:
    """Add to a row's trail (append-only): ``dead``, ``retry`` or ``discard``."""
    event = OutboxEvent(outbox_id=row_id, at=at, actor=actor[:254], action=action, reason=reason)
    session.add(event)
    return event


def pending_count(engine: Engine) -> int:
    with transaction(engine) as session:
        return session.exec(
            select(sa.func.count()).select_from(Outbox).where(col(Outbox.status).in_([Status.PENDING, Status.SENDING]))
        ).one()


# ----- what a sender says about a row's fate (raised while sending, read by the dispatcher) -------------


class Defer(Exception):
    """The row can't be sent yet (it waits for another one); try again shortly."""

    def __init__(self, seconds: float, why: str, *, holds_channel: bool = True) -> None:
        super().__init__(why)
        self.seconds = seconds
        self.holds_channel = holds_channel  # False: later messages to the same person need not wait


class Done(Exception):
    """Nothing to send after all (the item moved on); the row is complete."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why
