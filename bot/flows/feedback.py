"""Feedback: some time after accepting an item (default 14 days), its owner is asked in one message
with a small form — did you reach the customer, what came of it, how useful was the information
(1–5), one optional sentence. One reminder at most. The answer goes to the sender and the
Business Builder, and feeds the quality figures per event, sender and receiver (bot/reports.py).

A run is stateless: an item is due when it was accepted ``feedback.after_days`` ago and has no
``feedback`` row. The row (unique per item) is the claim, inserted with ON CONFLICT DO NOTHING in
the transaction that queues the request; the reminder is claimed by a conditional UPDATE of
``reminded_at``. Requests wait for the owner's working hours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot import audit, customers, messages, outbox, texts
from bot.context import Context
from bot.db import insert_once, run_in_transaction
from bot.flows.decide import Outcome
from bot.flows.notify import tell_business_builder, tell_sender
from bot.flows.nudge import schedule_for
from bot.ids import ItemStatus
from bot.ids import Outcome as Result
from bot.models import Feedback, Item

COMMENT_MAX = 500


@dataclass
class Run:
    asked: list[int] = field(default_factory=list)  # item ids
    reminded: list[int] = field(default_factory=list)


def say(macro: str, **values: Any) -> str:
    return texts.say("feedback.j2", macro, **values)


def run(ctx: Context, *, limit: int = 200) -> Run:
    def work(session: Session) -> Run:
        done = Run()
        _ask(session, ctx, done, limit)
        _remind(session, ctx, done, limit)
        return done

    return run_in_transaction(ctx.engine, work)


def _ask(session: Session, ctx: Context, done: Run, limit: int) -> None:
    now = ctx.clock.now()
    cutoff = now - timedelta(days=ctx.config.feedback.after_days)
    due = session.exec(
        select(Item)
        .outerjoin(Feedback, col(Feedback.item_id) == Item.id)
        .where(
            col(Feedback.id).is_(None),
            col(Item.accepted_at).is_not(None),
            col(Item.accepted_at) <= cutoff,
            col(Item.owner_user_id).is_not(None),
            col(Item.status).in_([ItemStatus.ACCEPTED, ItemStatus.CLOSED]),
        )
        .order_by(col(Item.accepted_at))
        .limit(limit)
    ).all()
    for item in due:
        assert item.id is not None  # a stored row
        if not schedule_for(session, ctx, item.owner_user_id).is_working_time(now):
            continue  # asked at the start of their next working hours
        if not insert_once(session, Feedback, item_id=item.id, owner_user_id=item.owner_user_id, asked_at=now):
            continue
        outbox.enqueue(
            session,
            messages.Feedback(to_user=item.owner_user_id),
            key=f"feedback:{item.id}",
            now=now,
            item_id=item.id,
            channel_key=item.owner_user_id,
        )
        audit.record(session, item.id, actor="scheduler", kind="feedback_requested", at=now)
        done.asked.append(item.id)


def _remind(session: Session, ctx: Context, done: Run, limit: int) -> None:
    now = ctx.clock.now()
    cutoff = now - timedelta(days=ctx.config.feedback.reminder_after_days)
    due = session.exec(
        select(Feedback)
        .where(col(Feedback.answered_at).is_(None), col(Feedback.reminded_at).is_(None), Feedback.asked_at <= cutoff)
        .order_by(col(Feedback.asked_at))
        .limit(limit)
    ).all()
    for fb in due:
        if not schedule_for(session, ctx, fb.owner_user_id).is_working_time(now):
            continue
        claimed = (
            session.exec(
                sa.update(Feedback)
                .where(
                    col(Feedback.id) == fb.id, col(Feedback.reminded_at).is_(None), col(Feedback.answered_at).is_(None)
                )
                .values(reminded_at=now)
            ).rowcount
            == 1
        )
        if not claimed:
            continue
        outbox.enqueue(
            session,
            messages.Feedback(to_user=fb.owner_user_id, reminder=True),
            key=f"feedback-reminder:{fb.item_id}",
            now=now,
            item_id=fb.item_id,
            channel_key=fb.owner_user_id,
        )
        audit.record(session, fb.item_id, actor="scheduler", kind="feedback_reminded", at=now)
        done.reminded.append(fb.item_id)


# ----- the answer -----------------------------------------------------------------------------------


def validate(values: dict[str, Any]) -> dict[str, str]:
    """The form's problems, by block id (shown inside the modal)."""
    errors: dict[str, str] = {}
    if values.get("reached") not in ("yes", "no"):
        errors["reached"] = say("need_reached")
    try:
        Result(values.get("outcome") or "")
    except ValueError:
        errors["outcome"] = say("need_outcome")
    if str(values.get("usefulness") or "") not in {"1", "2", "3", "4", "5"}:
        errors["usefulness"] = say("need_usefulness")
    if len((values.get("comment") or "").strip()) > COMMENT_MAX:
        errors["comment"] = say("too_long", limit=COMMENT_MAX)
    return errors


def may_answer(session: Session, item_id: int, user_id: str) -> tuple[Feedback | None, str | None]:
    """The feedback row this person may answer, or why not."""
    item = session.get(Item, item_id)
    if item is None:
        return None, say("gone", item_id=item_id)
    fb = session.exec(select(Feedback).where(Feedback.item_id == item_id)).first()
    if user_id not in (item.owner_user_id, fb.owner_user_id if fb else None):
        return None, say("not_yours", item_id=item_id)
    if fb is not None and fb.answered_at is not None:
        return None, say("already_given", item_id=item_id)
    return fb, None


def answer(session: Session, ctx: Context, item_id: int, user_id: str, values: dict[str, Any]) -> Outcome:
    errors = validate(values)
    if errors:
        return Outcome(False, errors=errors)
    fb, refusal = may_answer(session, item_id, user_id)
    if refusal:
        return Outcome(False, refusal)
    now = ctx.clock.now()
    answer_values = dict(
        answered_at=now,
        reached_customer=values["reached"] == "yes",
        outcome=values["outcome"],
        usefulness=int(values["usefulness"]),
        comment=(values.get("comment") or "").strip() or None,
        by=user_id,
    )
    if fb is None:  # given before being asked (from the card): the row is created now
        if not insert_once(session, Feedback, item_id=item_id, owner_user_id=user_id, asked_at=now, **answer_values):
            return Outcome(False, say("already_given", item_id=item_id))
    elif (
        session.exec(
            sa.update(Feedback)
            .where(col(Feedback.id) == fb.id, col(Feedback.answered_at).is_(None))
            .values(**answer_values)
        ).rowcount
        != 1
    ):
        return Outcome(False, say("already_given", item_id=item_id))
    item = session.get(Item, item_id)
    assert item is not None  # may_answer() found it, in this transaction
    audit.record(
        session,
        item_id,
        actor=user_id,
        kind="feedback",
        at=now,
        text=answer_values["comment"],
        reached=answer_values["reached_customer"],
        outcome=values["outcome"],
        usefulness=answer_values["usefulness"],
    )
    text = say(
        "relay",
        item_id=item_id,
        customer=customers.name_of(session, item),
        owner=user_id,
        reached=answer_values["reached_customer"],
        outcome=values["outcome"],
        usefulness=answer_values["usefulness"],
        comment=answer_values["comment"],
    )
    tell_sender(session, item, now, key=f"feedback-relay:{item_id}", text=text)
    tell_business_builder(session, item, now, actor=user_id, key=f"feedback-relay-bb:{item_id}", text=text)
    return Outcome(True, say("thanks", item_id=item_id), item_id=item_id)
