"""Ask the Business Builder: a question from the card goes to the person who captured the item;
replies in either thread are relayed to the other, so the two can talk without knowing each
other. Every question and answer is kept on the item."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot import audit, messages, outbox, texts
from bot.context import Context
from bot.flows.decide import Outcome, held
from bot.flows.notify import refresh_card
from bot.models import Item, Person, Question, QuestionMessage


def say(macro: str, **values: Any) -> str:
    return texts.say("ask.j2", macro, **values)


def ask(session: Session, ctx: Context, item_id: int, user_id: str, *, question: str | None) -> Outcome:
    item = held(session, item_id, user_id)
    if isinstance(item, Outcome):
        return item
    question = (question or "").strip()
    if len(question) < 3:
        return Outcome(False, errors={"question": say("question_empty")})
    now = ctx.clock.now()
    q = Question(
        item_id=item_id,
        asked_by=user_id,
        text=question,
        asked_at=now,
        business_builder_user_id=item.business_builder_user_id,
    )
    session.add(q)
    session.flush()
    session.add(QuestionMessage(question_id=_id(q), author=user_id, text=question, at=now))
    item.version += 1
    session.add(item)
    session.flush()
    customer = item.customer
    summary = (item.description or "")[:300]
    bb_email = item.business_builder_email
    fallbacks = [e for e in [item.sender_email] if e and e != bb_email]
    outbox.enqueue(
        session,
        messages.Direct(
            to_user=item.business_builder_user_id,
            to_email=bb_email,
            fallbacks=fallbacks,
            text=say(
                "to_business_builder",
                item_id=item.id,
                customer=customer.name if customer else "",
                event=item.event_name,
                asker=user_id,
                question=question,
                summary=summary,
            ),
            on_sent=messages.OnSent(question_bb=q.id),
        ),
        key=f"question:{q.id}",
        now=now,
        item_id=item.id,
        channel_key=item.business_builder_user_id or bb_email or item.sender_email,
    )
    bb = say("business_builder", user_id=item.business_builder_user_id, email=bb_email)
    outbox.enqueue(
        session,
        messages.Thread(text=say("asked_in_card_thread", asker=user_id, question=question, bb=bb)),
        key=f"question-card:{q.id}",
        now=now,
        item_id=item.id,
        channel_key=item.card_channel or f"item:{item.id}",
    )
    audit.record(session, item_id, actor=user_id, kind="asked", at=now, text=question, question_id=q.id)
    refresh_card(session, item, now)
    return Outcome(True, item_id=item.id)


def relay(
    session: Session,
    ctx: Context,
    *,
    event_id: str | None,
    user_id: str,
    channel: str,
    thread_ts: str | None,
    text: str,
    ts: str,
) -> bool:
    """A human wrote in a thread. If it is a question's thread, pass the message to the other side:
    from the Business Builder's thread only what the person asked writes (anyone else is told,
    ephemerally, that it was not passed on); from under the card only what the receiver, the owner
    or the asker writes. Returns True when relayed. Slack's retries of the same event are
    recognized and ignored."""
    if not thread_ts or not text.strip():
        return False
    now = ctx.clock.now()
    # A Business Builder answering in the DM thread of a question.
    q = session.exec(select(Question).where(Question.bb_channel == channel, Question.bb_ts == thread_ts)).first()
    if q is not None:
        item = session.get(Item, q.item_id)
        if item is None:  # a question belongs to an item (foreign key)
            raise LookupError(f"question {q.id} is about item {q.item_id}, which does not exist")
        if not _was_asked(session, q, item, user_id):
            # someone else in that conversation: not an answer; only they are told so
            outbox.enqueue(
                session,
                messages.Ephemeral(channel=channel, user=user_id, text=say("not_the_one_asked", item_id=item.id)),
                key=f"relay-refused:{channel}:{ts}",
                now=now,
                channel_key=user_id,
            )
            return False
        session.add(QuestionMessage(question_id=_id(q), author=user_id, text=text, at=now, slack_ts=ts))
        first_answer = q.open
        session.execute(
            sa.update(Question).where(col(Question.id) == q.id).values(open=False, answered_at=q.answered_at or now)
        )
        outbox.enqueue(
            session,
            messages.Thread(text=say("relay_from_business_builder", author=user_id, text=text)),
            key=f"relay:{channel}:{ts}",
            now=now,
            item_id=item.id,
            channel_key=item.card_channel or f"item:{item.id}",
        )
        audit.record(session, q.item_id, actor=user_id, kind="answered", at=now, text=text, question_id=q.id)
        if first_answer:
            item.version += 1
            session.add(item)
            session.flush()
            refresh_card(session, item, now)
        return True
    # The receiver (or owner) answering back under the card.
    item = session.exec(select(Item).where(Item.card_channel == channel, Item.card_ts == thread_ts)).first()
    if item is None:
        return False
    q = session.exec(select(Question).where(Question.item_id == item.id).order_by(col(Question.id).desc())).first()
    if q is None or user_id not in (item.receiver_user_id, item.owner_user_id, q.asked_by):
        return False
    session.add(QuestionMessage(question_id=_id(q), author=user_id, text=text, at=now, slack_ts=ts))
    outbox.enqueue(
        session,
        messages.Thread(question_id=q.id, text=say("relay_from_receiver", author=user_id, text=text)),
        key=f"relay:{channel}:{ts}",
        now=now,
        item_id=item.id,
        channel_key=q.bb_channel or f"question:{q.id}",
    )
    audit.record(session, q.item_id, actor=user_id, kind="relayed", at=now, text=text, question_id=q.id)
    return True


def _was_asked(session: Session, q: Question, item: Item, user_id: str) -> bool:
    """Whether ``user_id`` is the person the question went to: the Business Builder, or whoever
    handed the item over when the Business Builder is not in Slack (the question's fallback)."""
    if user_id in {q.business_builder_user_id, item.business_builder_user_id, item.sender_user_id} - {None}:
        return True
    person = session.exec(select(Person).where(Person.slack_user_id == user_id)).first()
    emails = {(e or "").strip().lower() for e in (item.business_builder_email, item.sender_email)} - {""}
    return person is not None and person.email.lower() in emails


def _id(q: Question) -> int:
    """A stored question's id (it has one once flushed or loaded)."""
    if q.id is None:
        raise ValueError("the question is not stored yet")
    return q.id
