"""Changes to an item: applied under its optimistic lock (:func:`commit_change`), and told in its
history — the card's thread (:func:`history_line`) — and the words the database keeps about them
(:func:`plain`: audit-trail text, routing notes)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

import jinja2
import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from bot import messages, outbox, texts
from bot.models import Item

# a change of any of these restarts the service-level ladder (bot/flows/nudge.py)
NUDGE_RESET = {"status", "offered_at", "last_follow_up_at", "receiver_user_id", "receiver_email"}


def commit_change(session: Session, item: Item, read_version: int, **values: Any) -> bool:
    """Apply ``values`` only if nobody changed the item since we read it (optimistic lock).
    A change of status, offer or follow-up restarts the service-level ladder (bot/flows/nudge.py).

    One statement: ``UPDATE … WHERE version = read RETURNING`` the row as written, its columns set
    on ``item`` as loaded, so no SELECT follows; no row means somebody else was first."""
    if NUDGE_RESET.intersection(values):
        values = {"nudge_step": 0, "next_nudge_at": None, "snoozed_until": None, **values}
    table: sa.Table = Item.__table__  # type: ignore[attr-defined]  # SQLModel's stubs do not declare __table__
    written = session.execute(
        sa.update(table)
        .where(table.c.id == item.id, table.c.version == read_version)
        .values(version=read_version + 1, **values)
        .returning(*table.columns)
    ).first()
    if written is None:
        return False
    for name, value in written._mapping.items():
        set_committed_value(item, name, value)
    return True


def history(kind: str, by: str, text: str = "") -> str:
    """One short line of the item's history, by kind (templates/decisions.j2 ``history``)."""
    return texts.say("decisions.j2", "history", kind=kind, by=by, text=text)


def history_line(session: Session, item: Item, now: datetime, *, kind: str, line: str) -> None:
    """``line`` (see :func:`history` and the ``history_*`` macros) in the thread under the item's card."""
    # the thread is under the card; the THREAD sender waits until the card exists
    outbox.enqueue(
        session,
        messages.Thread(text=line),
        key=f"history:{item.id}:{item.version}:{kind}",
        now=now,
        item_id=item.id,
        channel_key=item.card_channel or f"item:{item.id}",
    )


def history_on_card(
    session: Session, item: Item, now: datetime, card_at: tuple[str | None, str | None], *, kind: str, line: str
) -> None:
    """A history line under a card that is no longer the item's current card."""
    channel, ts = card_at
    if channel and ts:
        outbox.enqueue(
            session,
            messages.Thread(channel=channel, thread_ts=ts, text=line),
            key=f"history:{item.id}:{item.version}:{kind}",
            now=now,
            item_id=item.id,
            channel_key=channel,
        )


@lru_cache(maxsize=1)
def _plain_environment(env: jinja2.Environment) -> jinja2.Environment:
    # the same templates, loader and filters, without escaping for Slack; its own template cache
    # (templates compiled for the escaping environment must not be shared)
    return env.overlay(autoescape=False, finalize=None, cache_size=50)


def plain(template: str, macro: str, /, **values: Any) -> str:
    """A sentence kept as typed — written into the database (the audit trail, a routing note) and
    escaped where it is shown, or a modal error Slack shows as typed — from a one-line macro of
    ``template``: rendered without Slack escaping and without trimming (templates/trail.j2)."""
    # every value is a macro argument, so the template's module (made once, cached) serves every call
    module = _plain_environment(texts.environment()).get_template(template).module
    return str(getattr(module, macro)(**values))
