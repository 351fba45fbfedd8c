"""What the operator sees of the outbox and does with it: `handover outbox list|retry|discard`,
the counts `doctor`, `/healthz`, `/metrics` and the admins' App Home show.

Nothing here talks to Slack: retrying a row only makes it due again (the dispatcher sends it);
discarding gives it up. Both are recorded in the row's trail (``outbox_event``) with who and why,
and on the item's audit trail when the message was about an item.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot import audit
from bot.db import transaction
from bot.models import Outbox, OutboxEvent, UTCDateTime
from bot.outbox import WAITING, Status, record

# The admins' Home warns while something is dead, or has waited longer than this.
STALE_AFTER = timedelta(hours=1)
OPEN = (Status.PENDING, Status.SENDING, Status.DEAD)  # what `list` shows by default


@dataclass(frozen=True)
class Health:
    pending: int  # waiting to be sent (pending or being sent right now)
    dead: int
    oldest_pending_seconds: float | None  # age of the oldest waiting row (None: nothing waits)
    stale: int = 0  # waiting for longer than STALE_AFTER

    @property
    def needs_attention(self) -> bool:
        return self.dead > 0 or self.stale > 0

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "outbox_pending": self.pending,
            "outbox_dead": self.dead,
            "outbox_oldest_pending_seconds": None
            if self.oldest_pending_seconds is None
            else round(self.oldest_pending_seconds, 1),
        }


@dataclass(frozen=True)
class KindFigures:
    kind: str
    pending: int
    dead: int
    oldest_pending_seconds: float | None
    stale: int = 0


def _age(now: datetime, then: datetime | None) -> float | None:
    return None if then is None else max(0.0, (now - then).total_seconds())


def by_kind(session: Session, now: datetime) -> list[KindFigures]:
    """Per kind: rows waiting, rows dead, the age of the oldest waiting one, how many waited
    longer than STALE_AFTER (one grouped query)."""
    waiting = col(Outbox.status).in_(WAITING)
    dead = col(Outbox.status) == Status.DEAD
    stale = sa.and_(waiting, col(Outbox.created_at) < now - STALE_AFTER)
    query = (
        sa.select(
            col(Outbox.kind),
            sa.func.sum(sa.case((waiting, 1), else_=0)),
            sa.func.sum(sa.case((dead, 1), else_=0)),
            sa.func.min(sa.case((waiting, col(Outbox.created_at)), else_=None), type_=UTCDateTime()),
            sa.func.sum(sa.case((stale, 1), else_=0)),
        )
        .where(col(Outbox.status).in_(OPEN))
        .group_by(col(Outbox.kind))
        .order_by(col(Outbox.kind))
    )
    return [
        KindFigures(kind, int(pending or 0), int(dead_rows or 0), _age(now, oldest), int(stale_rows or 0))
        for kind, pending, dead_rows, oldest, stale_rows in session.execute(query)
    ]


def health(session: Session, now: datetime) -> Health:
    figures = by_kind(session, now)
    ages = [f.oldest_pending_seconds for f in figures if f.oldest_pending_seconds is not None]
    return Health(
        pending=sum(f.pending for f in figures),
        dead=sum(f.dead for f in figures),
        oldest_pending_seconds=max(ages) if ages else None,
        stale=sum(f.stale for f in figures),
    )


def read_health(engine: Engine, now: datetime) -> Health:
    with transaction(engine) as session:
        return health(session, now)


def rows(
    engine: Engine, *, statuses: tuple[str, ...] = OPEN, kind: str | None = None, limit: int = 200
) -> list[Outbox]:
    """Rows not sent yet (and dead ones), oldest first."""
    with transaction(engine) as session:
        query = select(Outbox).where(col(Outbox.status).in_(statuses))
        if kind:
            query = query.where(Outbox.kind == kind)
        return list(session.exec(query.order_by(col(Outbox.id)).limit(limit)))


def trail(engine: Engine, row_id: int) -> list[OutboxEvent]:
    with transaction(engine) as session:
        return list(
            session.exec(select(OutboxEvent).where(OutboxEvent.outbox_id == row_id).order_by(col(OutboxEvent.id)))
        )


class NothingChosen(ValueError):
    """Neither ids, nor a kind, nor everything: the operator must say which rows."""


def _chosen(
    ids: list[int] | None, kind: str | None, everything: bool, statuses: tuple[str, ...]
) -> sa.ColumnElement[bool]:
    if not ids and not kind and not everything:
        raise NothingChosen("name the rows: ids, --kind KIND, or --all")
    where: sa.ColumnElement[bool] = col(Outbox.status).in_(statuses)
    if ids:
        where = sa.and_(where, col(Outbox.id).in_(ids))
    if kind:
        where = sa.and_(where, col(Outbox.kind) == kind)
    return where


def _changed(session: Session, where: sa.ColumnElement[bool], status: str, **values: object) -> list[tuple]:
    """Set the chosen rows' status (and values); returns (id, old status, item id, kind) of each row
    changed — a row a dispatcher claimed meanwhile is not among them."""
    found = {
        int(r[0]): (int(r[0]), str(r[1]), r[2], str(r[3]))
        for r in session.execute(
            sa.select(col(Outbox.id), col(Outbox.status), col(Outbox.item_id), col(Outbox.kind)).where(where)
        )
    }
    if not found:
        return []
    session.execute(sa.update(Outbox).where(col(Outbox.id).in_(found), where).values(status=status, **values))
    changed = set(
        session.execute(
            sa.select(col(Outbox.id)).where(col(Outbox.id).in_(found), col(Outbox.status) == status)
        ).scalars()
    )
    return [found[row_id] for row_id in sorted(found) if row_id in changed]


def retry(
    engine: Engine,
    now: datetime,
    *,
    ids: list[int] | None = None,
    kind: str | None = None,
    everything: bool = False,
    actor: str,
    reason: str | None = None,
) -> list[int]:
    """Make dead rows (and waiting ones, skipping their backoff) due now, with a fresh horizon.
    Rows being sent right now are left alone. Returns the ids made due."""
    where = _chosen(ids, kind, everything, (Status.PENDING, Status.DEAD))
    with transaction(engine) as session:
        found = _changed(
            session,
            where,
            Status.PENDING,
            next_attempt_at=now,
            attempts=0,
            failing_since=None,
            dead_at=None,
            claimed_until=None,
        )
        for row_id, status, item_id, _ in found:
            record(session, row_id, at=now, action="retry", actor=actor, reason=reason or f"was {status}")
            if item_id is not None and status == Status.DEAD:
                audit.record(
                    session,
                    item_id,
                    actor=actor,
                    kind="message_retried",
                    at=now,
                    text=f"outbox message {row_id} sent again by the operator",
                    outbox_id=row_id,
                )
    return [row_id for row_id, _, _, _ in found]


def discard(
    engine: Engine,
    now: datetime,
    *,
    ids: list[int] | None = None,
    kind: str | None = None,
    everything: bool = False,
    actor: str,
    reason: str,
) -> list[int]:
    """Give rows up for good (dead ones, or waiting ones nobody should receive any more), with a
    reason on the row's trail and on the item's. Returns the ids discarded."""
    if not (reason or "").strip():
        raise ValueError("a discard needs a reason")
    where = _chosen(ids, kind, everything, (Status.PENDING, Status.DEAD))
    with transaction(engine) as session:
        found = _changed(session, where, Status.DISCARDED, claimed_until=None)
        for row_id, status, item_id, row_kind in found:
            record(session, row_id, at=now, action="discard", actor=actor, reason=reason.strip())
            if item_id is not None:
                audit.record(
                    session,
                    item_id,
                    actor=actor,
                    kind="message_discarded",
                    at=now,
                    text=f"a {row_kind} message ({status}) was given up by the operator: {reason.strip()}",
                    outbox_id=row_id,
                )
    return [row_id for row_id, _, _, _ in found]


def age_text(seconds: float | None) -> str:
    """3 min, 2 h 5 min, 3 days: for the operator's table and doctor."""
    if seconds is None:
        return "–"
    minutes = int(seconds // 60)
    if minutes < 1:
        return f"{int(seconds)} s"
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        h, m = divmod(minutes, 60)
        return f"{h} h {m} min" if m else f"{h} h"
    return f"{minutes // (24 * 60)} days"
