"""Whose working time a message waits for: each person's own (their Slack time zone, their
calendar), never the company's when theirs is known.

A person's zone comes from Slack (users.lookupByEmail / users.info) and is cached in the
``person`` table by bot/slack/people.py. Flows don't call Slack: when the scheduler needs the
zone of someone the bot never looked up (a team lead before their first digest or escalation),
it queues a ``zone`` outbox row and the dispatcher looks the person up. Until the answer is in,
the person's scheduled messages wait; if there is still no answer ``ZONE_WAIT`` after it was
asked for (Slack down, no such user), the company's zone is used.

Every message the scheduler sends to a person carries ``working_time: true``: the dispatcher
checks once more, with the zone it resolved itself, and holds the message until that person's
working time (so a zone learnt late, or changed in Slack, still wins).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot import messages, outbox
from bot.config import Config
from bot.models import Outbox, Person
from bot.scheduling import schedule_for_email
from bot.working_time import Schedule

ZONE_WAIT = timedelta(hours=1)


def person(session: Session, *, user_id: str | None = None, email: str | None = None) -> Person | None:
    found = None
    if user_id:
        found = session.exec(select(Person).where(Person.slack_user_id == user_id)).first()
    if found is None and email:
        found = session.exec(select(Person).where(sa.func.lower(Person.email) == email.lower())).first()
    return found


def zone_known(p: Person | None) -> bool:
    """Slack answered for this person (with a zone, or with none: then the company's applies)."""
    return p is not None and (p.tz is not None or p.resolved_at is not None)


def schedule_of(session: Session, config: Config, *, user_id: str | None = None, email: str | None = None) -> Schedule:
    """The person's working time: their zone (the company's while unknown), their calendar."""
    p = person(session, user_id=user_id, email=email)
    return schedule_for_email(config, (p.email if p else None) or email, p.tz if p else None)


def schedules_of(session: Session, config: Config, people: Sequence[tuple[str | None, str | None]]) -> list[Schedule]:
    """:func:`schedule_of` for each (Slack user id, e-mail) of ``people``, in one query: a person is
    found by user id first, then by e-mail, as :func:`person` finds them."""
    uids = sorted({uid for uid, _ in people if uid})
    emails = sorted({email.lower() for _, email in people if email})
    by_uid: dict[str, tuple[str, str | None]] = {}
    by_email: dict[str, tuple[str, str | None]] = {}
    if uids or emails:
        for known, known_uid, tz in session.exec(
            select(Person.email, Person.slack_user_id, Person.tz)
            .where(sa.or_(col(Person.slack_user_id).in_(uids), sa.func.lower(Person.email).in_(emails)))
            .order_by(col(Person.id))
        ):
            if known_uid:
                by_uid.setdefault(known_uid, (known, tz))
            by_email.setdefault(known.lower(), (known, tz))
    out = []
    for uid, email in people:
        found = (by_uid.get(uid) if uid else None) or (by_email.get(email.lower()) if email else None)
        out.append(schedule_for_email(config, (found[0] if found else None) or email, found[1] if found else None))
    return out


def zone_pending(session: Session, *, user_id: str | None, email: str | None, now: datetime) -> bool:
    """True while this person's zone is unknown and worth waiting for: asks the dispatcher to look
    them up (once), and gives up waiting ``ZONE_WAIT`` after asking."""
    p = person(session, user_id=user_id, email=email)
    if zone_known(p):
        return False
    who = (email or (p.email if p else None) or "").lower()
    if not who:
        return False
    key = f"zone:{who}"
    asked = session.exec(select(Outbox.created_at).where(Outbox.idempotency_key == key)).first()
    if asked is None:
        outbox.enqueue(session, messages.Zone(email=who), key=key, now=now, channel_key=f"zone:{who}")
        return True
    return now - _aware(asked, now) < ZONE_WAIT


def _aware(when: datetime, like: datetime) -> datetime:
    return when.replace(tzinfo=like.tzinfo) if when.tzinfo is None else when


def not_before(
    session: Session, config: Config, now: datetime, *, user_id: str | None = None, email: str | None = None
) -> datetime:
    """The first moment from ``now`` within the person's working time."""
    return schedule_of(session, config, user_id=user_id, email=email).next_working_moment(now)


def wait_for(session: Session, config: Config, user_id: str, now: datetime) -> float:
    """Seconds until ``user_id``'s working time (0: now is working time). The dispatcher's check."""
    later = schedule_of(session, config, user_id=user_id).next_working_moment(now)
    return max((later - now).total_seconds(), 0.0)
