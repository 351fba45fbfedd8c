"""Telling people about an item: its card refreshed or retired, and direct messages to the sender,
the Business Builder or a colleague — all queued in the outbox, in the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from bot import customers, messages, outbox
from bot.flows.home import queue_refresh
from bot.models import Item, Person


def refresh_card(session: Session, item: Item, now: datetime) -> None:
    outbox.enqueue(
        session,
        messages.CardRefresh(item_id=item.id),
        key=f"refresh:{item.id}:{item.version}",
        now=now,
        item_id=item.id,
        channel_key=item.card_channel or f"item:{item.id}",
    )
    # every decision shows on the desks of the people it concerns (their App Home)
    for user in {item.receiver_user_id, item.owner_user_id, item.sender_user_id} - {None}:
        queue_refresh(session, user, now, why=f"item:{item.id}:{item.version}")


def retire_card(session: Session, item: Item, now: datetime, *, why: str) -> None:
    """The previous receiver's card stops offering buttons and says where the item went."""
    if item.card_channel and item.card_ts:
        message = messages.CardRetire(
            channel=item.card_channel, ts=item.card_ts, customer=customers.name_of(session, item), why=why
        )
        outbox.enqueue(
            session,
            message,
            key=f"retire:{item.id}:{item.card_ts}:{item.version}",
            now=now,
            item_id=item.id,
            channel_key=item.card_channel,
        )


def tell_sender(
    session: Session, item: Item, now: datetime, *, key: str, text: str, working_time: bool = False
) -> None:
    """``working_time``: a scheduled message, held until the sender's working time (bot/people_time.py)."""
    if item.sender_user_id or item.sender_email or item.business_builder_email:
        message = messages.Direct(
            to_user=item.sender_user_id,
            to_email=item.sender_email or item.business_builder_email,
            fallbacks=[e for e in [item.business_builder_email] if e],
            text=text,
            working_time=working_time,
        )
        outbox.enqueue(
            session,
            message,
            key=key,
            now=now,
            item_id=item.id,
            channel_key=item.sender_user_id or item.sender_email or item.business_builder_email,
        )


def tell_user(session: Session, item: Item, now: datetime, *, user: str, key: str, text: str) -> None:
    outbox.enqueue(
        session, messages.Direct(to_user=user, text=text), key=key, now=now, item_id=item.id, channel_key=user
    )


def tell_business_builder(session: Session, item: Item, now: datetime, *, actor: str, key: str, text: str) -> None:
    """The Business Builder hears the outcome too, unless they are the sender or the one who acted."""
    bb_user, bb_email = item.business_builder_user_id, (item.business_builder_email or "").lower()
    if not (bb_user or bb_email) or bb_user == actor:
        return
    if (bb_user and bb_user == item.sender_user_id) or (bb_email and bb_email == (item.sender_email or "").lower()):
        return
    if bb_email and bb_email == (email_of(session, actor) or ""):
        return
    outbox.enqueue(
        session,
        messages.Direct(to_user=bb_user, to_email=bb_email or None, fallbacks=[], text=text),
        key=key,
        now=now,
        item_id=item.id,
        channel_key=bb_user or bb_email,
    )


def notify_sender(session: Session, item: Item, *, key: str, now: datetime, text: str) -> None:
    """Tell whoever handed the item over (the feedback senders never had). Falls back to the
    Business Builder when the sender is unknown."""
    to_user = item.sender_user_id
    to_email = item.sender_email or item.business_builder_email
    if not (to_user or to_email):
        return
    message = messages.Direct(
        to_user=to_user, to_email=to_email, text=text, fallbacks=[e for e in [item.business_builder_email] if e]
    )
    outbox.enqueue(session, message, key=key, now=now, item_id=item.id, channel_key=to_user or to_email)


def email_of(session: Session, user_id: str) -> str | None:
    """The e-mail (lower case) of the person with Slack id ``user_id``, if Handover knows them."""
    person = session.exec(select(Person).where(col(Person.slack_user_id) == user_id)).first()
    return person.email.lower() if person else None
