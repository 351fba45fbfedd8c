"""Home: each person's desk in Slack's App Home tab — what waits for their decision (with the
card's buttons), what they own and must follow up, their open questions, what they handed over
and how it went; for team leads, the team; and a few numbers with their trend.

The flow only queues a refresh (an outbox row); the dispatcher rebuilds the view from the
database when it publishes, so a refresh always shows the latest state. Refreshed when the
person opens the tab and after each decision on their items.
"""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot import messages, outbox
from bot.config import Config
from bot.flows.digest import WEEK, Recipient, owner_view, team_view
from bot.models import Item, Outbox, Person, names_person

HANDED_OVER_WINDOW = timedelta(days=30)


OPENED_RECENTLY = timedelta(days=14)  # a decision refreshes the Home of people who opened it since
OPENED = "opened:"  # ``why`` of a refresh because the person opened the tab


def queue_refresh(session: Session, user_id: str | None, now: datetime, *, why: str) -> None:
    """Publish this person's Home again (soon, from the state as it will be then).

    Refreshes after a decision are coalesced: none for someone who has not opened their Home in
    :data:`OPENED_RECENTLY` (it is built afresh when they open it), and none while a refresh for
    them is still waiting to be sent — the dispatcher builds the view when it publishes, so that
    one shows this change too. Opening the tab always publishes."""
    if not user_id or user_id[:1] not in ("U", "W"):
        return
    if not why.startswith(OPENED):
        pending = col(Outbox.status) == outbox.Status.PENDING
        opened = sa.and_(
            col(Outbox.idempotency_key).startswith(f"home:{user_id}:{OPENED}"),
            col(Outbox.created_at) >= now - OPENED_RECENTLY,
        )
        found = session.execute(
            select(pending, opened)
            .where(  # one indexed look-up (channel_key)
                Outbox.channel_key == f"home:{user_id}", Outbox.kind == outbox.Kind.HOME.value, sa.or_(pending, opened)
            )
            .order_by(pending.desc())
            .limit(1)
        ).all()
        if any(row[0] for row in found):
            return  # the refresh already waiting will show this change
        if not found:
            return  # not looking at their Home lately: it is rebuilt when they open it
    outbox.enqueue(
        session, messages.Home(user=user_id), key=f"home:{user_id}:{why}", now=now, channel_key=f"home:{user_id}"
    )


def person(session: Session, user_id: str, email: str | None = None) -> Recipient:
    p = session.exec(select(Person).where(Person.slack_user_id == user_id)).first()
    return Recipient(email=(email or (p.email if p else "")).lower(), user_id=user_id, tz=p.tz if p else None)


def desk(session: Session, config: Config, user_id: str, now: datetime, *, email: str | None = None) -> dict[str, Any]:
    """Everything the Home tab shows, as plain data."""
    me = person(session, user_id, email)
    return {
        "owner": owner_view(session, config, me, now, since=HANDED_OVER_WINDOW),
        "teams": [team_view(session, config, t, now) for t in config.teams_led_by(me.email)],
        "numbers": numbers(session, me, now),
    }


def _accepted_between(session: Session, user_id: str | None, start: datetime, end: datetime) -> list[Item]:
    return list(
        session.exec(
            select(Item).where(
                Item.owner_user_id == user_id, col(Item.accepted_at) >= start, col(Item.accepted_at) < end
            )
        )
    )


def _median_hours(items: list[Item]) -> float | None:
    waits = [(i.accepted_at - i.created_at).total_seconds() / 3600 for i in items if i.accepted_at]
    return round(statistics.median(waits), 1) if waits else None


def _handed_over_between(session: Session, me: Recipient, start: datetime, end: datetime) -> tuple[int, int]:
    mine = names_person(Item.sender_user_id, Item.sender_email, user_id=me.user_id, email=me.email)
    rows = list(session.exec(select(Item).where(mine, Item.created_at >= start, Item.created_at < end)))
    return len(rows), sum(1 for i in rows if i.accepted_at is not None)


def numbers(session: Session, me: Recipient, now: datetime) -> dict[str, Any]:
    """This week against last week: items I accepted and how fast, items I handed over and how many
    were accepted."""
    end = now + timedelta(seconds=1)  # what happened this very second counts
    this_week, last_week = (end - WEEK, end), (end - 2 * WEEK, end - WEEK)
    accepted_now = _accepted_between(session, me.user_id, *this_week)
    accepted_before = _accepted_between(session, me.user_id, *last_week)
    sent_now, sent_now_accepted = _handed_over_between(session, me, *this_week)
    sent_before, sent_before_accepted = _handed_over_between(session, me, *last_week)
    return {
        "accepted": len(accepted_now),
        "accepted_before": len(accepted_before),
        "median_hours": _median_hours(accepted_now),
        "median_hours_before": _median_hours(accepted_before),
        "sent": sent_now,
        "sent_accepted": sent_now_accepted,
        "sent_before": sent_before,
        "sent_accepted_before": sent_before_accepted,
    }
