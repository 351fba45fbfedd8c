"""Digest: once a week, each person's pending ownership in one message, at their own local time.

An owner or receiver reads what waits for their acceptance (oldest first), what they own with no
follow-up yet, their open questions (asked by them, or waiting for their answer as Business
Builder) and what they handed over in the week and how it went. A team lead also reads the team's
pending items by person and age, the week's acceptance rate and median time to accept, and the
week's discards with their reasons.

Nobody with nothing to report gets a digest, and anyone can switch theirs off. A run is stateless:
who is due is worked out from the configured day and time in each person's time zone, and the
claim is a row in ``digest_sent`` (person, ISO week) inserted with ON CONFLICT DO NOTHING, in the
same transaction as the message it queues — two schedulers never send a digest twice, and a
scheduler that was down catches up within a day (later than that, the week's digest is skipped
rather than sent stale).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot import audit, messages, outbox, people_time, reports
from bot.config import DAYS, Config, Team
from bot.context import Context
from bot.db import insert_once, reading, run_in_transaction
from bot.ids import ItemStatus
from bot.models import Customer, DigestSent, Item, Person, Question

LATE_BY_AT_MOST = timedelta(days=1)  # catch-up window after the digest moment
WEEK = timedelta(days=7)
SHOWN = 10  # lines per section; the rest is counted


@dataclass(frozen=True)
class Recipient:
    email: str
    user_id: str | None
    tz: str | None


# ----- who is due ------------------------------------------------------------------------------------


def _zone(name: str | None, fallback: ZoneInfo) -> ZoneInfo:
    try:
        return ZoneInfo(name) if name else fallback
    except (ZoneInfoNotFoundError, ValueError):
        return fallback


def digest_moment(config: Config, tz: ZoneInfo, now: datetime) -> datetime:
    """This week's digest moment in ``tz`` (the configured weekday and time), as UTC."""
    local = now.astimezone(tz)
    monday = local.date() - timedelta(days=local.weekday())
    day = monday + timedelta(days=DAYS.index(config.digest.day))
    return datetime.combine(day, config.digest.time, tz).astimezone(UTC)


def recipients(session: Session, config: Config) -> list[Recipient]:
    """Everyone the bot knows in Slack (receivers, owners, senders, Business Builders) and every team
    lead, minus those who switched their digest off."""
    people = {p.email: p for p in session.exec(select(Person))}
    out: dict[str, Recipient] = {}
    for p in people.values():
        if p.slack_user_id and p.active and p.digest_enabled:
            out[p.email] = Recipient(p.email, p.slack_user_id, p.tz)
    for team in config.teams:
        if team.lead and team.lead not in out:
            lead = people.get(team.lead)
            if lead is None or (lead.digest_enabled and lead.active):
                out[team.lead] = Recipient(team.lead, lead.slack_user_id if lead else None, lead.tz if lead else None)
    return sorted(out.values(), key=lambda r: r.email)


BATCH = 50  # people read in one snapshot and claimed in one short transaction


def run(ctx: Context) -> list[str]:
    """Queue the digests due now; returns the e-mails of the people who get one. People are taken
    :data:`BATCH` at a time: read in a read-only snapshot (SQLite: no write lock), then claimed in
    one short transaction (each claim with its message), so a run over thousands of people never
    holds the database for long: clicks keep being answered while it runs."""
    now = ctx.clock.now()
    with reading(ctx.engine) as session:
        people = recipients(session, ctx.config)
    sent: list[str] = []
    for start in range(0, len(people), BATCH):
        batch = []
        for person in people[start : start + BATCH]:

            def zone_pending(s: Session, p: Recipient = person) -> bool:
                return people_time.zone_pending(s, user_id=p.user_id, email=p.email, now=now)

            # a person the bot never looked up (a team lead) is looked up first: their digest waits
            # for their own zone (bounded by people_time.ZONE_WAIT, then the company's)
            if person.tz is None and run_in_transaction(ctx.engine, zone_pending):
                continue
            batch.append(person)
        with reading(ctx.engine) as session:
            due = _due_contents(session, ctx, batch, now)
        if due:

            def claim(s: Session, d: list[tuple[Recipient, tuple[str, Content]]] = due) -> list[str]:
                return [p.email for p, c in d if _claim(s, p, c, now)]

            sent += run_in_transaction(ctx.engine, claim)
    return sent


_CLAIMED = sa.select(col(DigestSent.person), col(DigestSent.week)).where(
    col(DigestSent.person).in_(sa.bindparam("people", expanding=True)),
    col(DigestSent.week).in_(sa.bindparam("weeks", expanding=True)),
)


def _due_contents(
    session: Session, ctx: Context, people: list[Recipient], now: datetime
) -> list[tuple[Recipient, tuple[str, Content]]]:
    """This week's digest of each of ``people`` whose digest is due now and not sent yet (their
    working time and the claims read for all of them at once)."""
    weeks: dict[str, str] = {}
    schedules = people_time.schedules_of(session, ctx.config, [(p.user_id, p.email) for p in people])
    for person, sched in zip(people, schedules, strict=True):
        tz = sched.tz
        nominal = digest_moment(ctx.config, tz, now)
        # the configured day and time, or the first working moment after it (a holiday Monday);
        # a catch-up after downtime also waits for the person's working time, never the night
        moment = sched.next_working_moment(nominal)
        if moment <= now < moment + LATE_BY_AT_MOST and sched.is_working_time(now):
            weeks[person.email] = reports.iso_week(nominal, tz)
    if not weeks:
        return []
    claimed = {
        (who, week)
        for who, week in session.connection().execute(
            _CLAIMED, {"people": sorted(weeks), "weeks": sorted(set(weeks.values()))}
        )
    }
    return [
        (p, (weeks[p.email], build(session, ctx.config, p, now)))
        for p in people
        if p.email in weeks and (p.email, weeks[p.email]) not in claimed
    ]


def _claim(session: Session, person: Recipient, due: tuple[str, Content], now: datetime) -> bool:
    """Claim the week for ``person`` and queue the digest, in one transaction: True when queued."""
    week, content = due
    lines = content.lines
    if not insert_once(session, DigestSent, person=person.email, week=week, at=now, lines=lines):
        return False  # another scheduler claimed it
    if lines == 0:
        return False  # nothing to report: no empty digest
    message = messages.Digest(
        to_user=person.user_id, to_email=person.email, week=week, digest=content.data, working_time=True
    )
    outbox.enqueue(
        session, message, key=f"digest:{person.email}:{week}", now=now, channel_key=person.user_id or person.email
    )
    return True


# ----- what a digest says -----------------------------------------------------------------------------


@dataclass
class Content:
    data: dict[str, Any]

    @property
    def lines(self) -> int:
        owner = self.data.get("owner", {})
        count = sum(len(v) if isinstance(v, list) else 0 for v in owner.values())
        count += sum(1 for t in self.data.get("teams", []) if t["has_news"])
        return count


def build(session: Session, config: Config, person: Recipient, now: datetime) -> Content:
    data: dict[str, Any] = {
        "owner": owner_view(session, config, person, now),
        "teams": [team_view(session, config, t, now) for t in config.teams_led_by(person.email)],
    }
    return Content(data)


def _hours(since: datetime | None, now: datetime) -> float:
    return round(max((now - since).total_seconds(), 0) / 3600, 1) if since else 0.0


def _line(item: Any, config: Config, **extra: Any) -> dict[str, Any]:
    return {
        "id": item.id,
        "customer": item.customer or "",
        "event": item.event_name,
        "category": config.category(item.category).label,
        **extra,
    }


# The digest's statements are built once, with bound parameters, and read plain rows of the columns
# it renders (the customer's name read in the same statement): building the expressions and the ORM
# objects for each person cost more than running the statements.
_CUSTOMER = (
    sa.select(col(Customer.name)).where(col(Customer.id) == Item.customer_id).scalar_subquery().label("customer")
)
_LINE = (col(Item.id), col(Item.event_name), col(Item.category), _CUSTOMER)
_UID, _EMAIL = sa.bindparam("uid", type_=sa.String), sa.bindparam("email", type_=sa.String)
_WEEK_AGO: sa.BindParameter[datetime] = sa.bindparam("week_ago")  # (typed by the column it is compared with)
_NOW: sa.BindParameter[datetime] = sa.bindparam("now")  # (likewise)


def _mine(user_column: Any, email_column: Any) -> Any:
    """:func:`bot.models.names_person` with the person bound at execution (None matches nothing)."""
    return sa.or_(sa.func.lower(email_column) == _EMAIL, user_column == _UID)


_WAITING = (
    sa.select(*_LINE, col(Item.offered_at), col(Item.decision_due_at))
    .where(col(Item.status) == ItemStatus.PENDING, _mine(Item.receiver_user_id, Item.receiver_email))
    .order_by(col(Item.offered_at), col(Item.id))
)
_NO_FOLLOW_UP = (
    sa.select(*_LINE, col(Item.accepted_at))
    .where(col(Item.status) == ItemStatus.ACCEPTED, col(Item.owner_user_id) == _UID, col(Item.follow_up_count) == 0)
    .order_by(col(Item.accepted_at), col(Item.id))
)
_QUESTION = (
    col(Question.item_id),
    col(Question.text),
    col(Question.asked_at),
    col(Question.asked_by),
    col(Question.business_builder_user_id),
    sa.select(col(Customer.name))
    .join(Item, col(Item.customer_id) == Customer.id)
    .where(col(Item.id) == Question.item_id)
    .scalar_subquery()
    .label("customer"),
)
_ASKED = (
    sa.select(*_QUESTION)
    .where(col(Question.open) == sa.true(), col(Question.asked_by) == _UID)
    .order_by(col(Question.asked_at))
)
# from the (few) open questions, the items' Business Builder by index: never a scan of all items
_TO_ANSWER = (
    sa.select(*_QUESTION)
    .where(
        col(Question.open) == sa.true(),
        sa.or_(
            col(Question.business_builder_user_id) == _UID,
            col(Question.item_id).in_(
                sa.select(col(Item.id)).where(sa.func.lower(Item.business_builder_email) == _EMAIL)
            ),
        ),
    )
    .order_by(col(Question.asked_at))
)
_HANDED_OVER = (
    sa.select(
        *_LINE,
        col(Item.status),
        col(Item.owner_user_id),
        col(Item.receiver_user_id),
        col(Item.receiver_email),
        col(Item.discard_reason),
        col(Item.created_at),
        col(Item.accepted_at),
    )
    .where(
        sa.or_(
            _mine(Item.sender_user_id, Item.sender_email),
            _mine(Item.business_builder_user_id, Item.business_builder_email),
        ),
        sa.or_(
            col(Item.created_at) >= _WEEK_AGO, col(Item.accepted_at) >= _WEEK_AGO, col(Item.decided_at) >= _WEEK_AGO
        ),
    )
    .order_by(col(Item.created_at), col(Item.id))
)


def owner_view(
    session: Session, config: Config, person: Recipient, now: datetime, *, since: timedelta = WEEK
) -> dict[str, Any]:
    """A person's own desk: waiting for them, owned without follow-up, open questions, and what they
    handed over (created or decided within ``since``). The App Home shows the same."""
    uid = person.user_id or None  # (an empty id or e-mail names nobody)
    who = {"uid": uid, "email": person.email or None}
    read = session.connection().execute
    waiting = read(_WAITING, who).all()
    no_follow_up = read(_NO_FOLLOW_UP, who).all() if uid else []
    asked = read(_ASKED, who).all() if uid else []
    to_answer = read(_TO_ANSWER, who).all()
    sent = read(_HANDED_OVER, {**who, "week_ago": now - since}).all()

    def q_line(q: Any, other: str | None) -> dict[str, Any]:
        return {
            "id": q.item_id,
            "customer": q.customer or "",
            "question": q.text,
            "waited_hours": _hours(q.asked_at, now),
            "other": other,
        }

    return {
        "waiting": [
            _line(
                i,
                config,
                waited_hours=_hours(i.offered_at, now),
                due=i.decision_due_at.isoformat() if i.decision_due_at else None,
            )
            for i in waiting
        ],
        "no_follow_up": [_line(i, config, accepted_hours=_hours(i.accepted_at, now)) for i in no_follow_up],
        "asked": [q_line(q, q.business_builder_user_id) for q in asked],
        "to_answer": [q_line(q, q.asked_by) for q in to_answer],
        "handed_over": [
            _line(
                i,
                config,
                status=i.status,
                holder=i.owner_user_id or i.receiver_user_id,
                holder_email=i.receiver_email,
                reason=config.discard_reason(i.discard_reason).label if i.discard_reason else None,
                accept_hours=_hours(i.created_at, i.accepted_at) if i.accepted_at else None,
            )
            for i in sent
        ],
    }


def in_team(team: Team) -> Any:
    return sa.or_(col(Item.team_key) == team.key, sa.func.lower(Item.receiver_email).in_(team.members))


_IN_TEAM = sa.or_(
    col(Item.team_key) == sa.bindparam("team_key", type_=sa.String),
    sa.func.lower(Item.receiver_email).in_(sa.bindparam("members", expanding=True)),
)
_TEAM_PENDING = (
    sa.select(col(Item.id), col(Item.receiver_user_id), col(Item.receiver_email), col(Item.offered_at))
    .where(col(Item.status) == ItemStatus.PENDING, _IN_TEAM)
    .order_by(col(Item.offered_at))
)
_TEAM_ACCEPTED = sa.select(col(Item.created_at), col(Item.accepted_at)).where(
    _IN_TEAM, col(Item.accepted_at) >= _WEEK_AGO, col(Item.accepted_at) <= _NOW
)
_TEAM_DISCARDED = (
    sa.select(*_LINE, col(Item.discard_reason), col(Item.discard_justification), col(Item.receiver_user_id))
    .where(
        _IN_TEAM,
        col(Item.status) == ItemStatus.DISCARDED,
        col(Item.decided_at) >= _WEEK_AGO,
        col(Item.decided_at) <= _NOW,
    )
    .order_by(col(Item.decided_at))
)


def team_view(session: Session, config: Config, team: Team, now: datetime) -> dict[str, Any]:
    """A team lead's view of the team: pending by person and age, the week's figures and discards."""
    read = session.connection().execute
    params = {"team_key": team.key, "members": list(team.members), "week_ago": now - WEEK, "now": now}
    pending = read(_TEAM_PENDING, params).all()
    by_person: dict[str, list[Any]] = defaultdict(list)
    for item in pending:
        by_person[item.receiver_user_id or item.receiver_email or "?"].append(item)
    accepted = read(_TEAM_ACCEPTED, params).all()
    discarded = read(_TEAM_DISCARDED, params).all()
    decided = len(accepted) + len(discarded)
    waits = [_hours(i.created_at, i.accepted_at) for i in accepted if i.accepted_at]  # all (accepted this week)
    discarded_by = {i.id: audit.last_actor(session, i.id, "discarded") or i.receiver_user_id for i in discarded}
    people = [
        {
            "who": who,
            "count": len(items),
            "oldest_hours": _hours(items[0].offered_at, now),
            "ids": [i.id for i in items[:SHOWN]],
        }
        for who, items in sorted(by_person.items(), key=lambda kv: kv[1][0].offered_at)
    ]
    return {
        "key": team.key,
        "name": team.name,
        "pending": people,
        "accepted": len(accepted),
        "discarded": len(discarded),
        "acceptance_rate": round(100 * len(accepted) / decided) if decided else None,
        "median_accept_hours": round(statistics.median(waits), 1) if waits else None,
        "discards": [
            _line(
                i,
                config,
                reason=config.discard_reason(i.discard_reason or "").label,
                justification=i.discard_justification,
                by=discarded_by[i.id],
            )
            for i in discarded
        ],
        "has_news": bool(people or accepted or discarded),
    }


# ----- switching it off and on ---------------------------------------------------------------------


def set_enabled(session: Session, *, email: str | None, user_id: str, enabled: bool) -> None:
    """Switch a person's weekly digest off (or back on)."""
    person = session.exec(select(Person).where(Person.slack_user_id == user_id)).first()
    if person is None and email:
        person = session.exec(select(Person).where(Person.email == email.lower())).first()
    if person is None:
        person = Person(email=(email or user_id).lower(), slack_user_id=user_id)
    person.digest_enabled = enabled
    session.add(person)
