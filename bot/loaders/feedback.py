"""The feedback request's data: the item it asks about, while the feedback is still unanswered."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from bot.models import Feedback, Item


@dataclass(frozen=True)
class FeedbackRequest:
    item_id: int
    customer: str
    days: int  # since the item was accepted, when the feedback was asked for
    sender_user: str | None  # who handed the item over (the sender, else its Business Builder)
    sender_email: str | None
    event: str | None


def request(session: Session, item_id: int | None) -> FeedbackRequest | None:
    """None when the item is gone or its feedback was given (or never asked for)."""
    item = session.get(Item, item_id) if item_id else None
    fb = session.exec(select(Feedback).where(Feedback.item_id == item_id)).first() if item else None
    if item is None or fb is None or fb.answered_at is not None:
        return None
    assert item.id is not None  # a row read from the database
    customer = item.customer
    name = customer.name if customer else ""
    days = max((fb.asked_at - item.accepted_at).days, 0) if item.accepted_at else 0
    return FeedbackRequest(
        item_id=item.id,
        customer=name,
        days=days,
        sender_user=item.sender_user_id or item.business_builder_user_id,
        sender_email=item.sender_email or item.business_builder_email,
        event=item.event_name,
    )
