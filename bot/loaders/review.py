"""A lead review's messages' data: the round (for the intro and the summary, with its verdicts) or
one sampled discard with its history as it stood when the round was drawn."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from bot.models import Item, ItemEvent, ReviewEntry, ReviewRound
from bot.outbox import Defer


@dataclass(frozen=True)
class RoundPost:
    """The intro (``part`` "intro") or the summary (any other part, with the round's entries)."""

    part: str | None
    round: ReviewRound
    entries: list[ReviewEntry]


@dataclass(frozen=True)
class EntryPost:
    """One sampled discard: posted, or (``update``) its message updated with the verdict."""

    entry: ReviewEntry
    round: ReviewRound
    item: Item
    customer: str
    trail: list[ItemEvent]  # the item's history up to the round, oldest first
    update: bool


def load(
    session: Session, part: str | None, *, round_id: int | None, entry_id: int | None, update: bool
) -> RoundPost | EntryPost | None:
    """None when there is nothing to show (the round or entry is gone, or has no channel); raises
    :class:`Defer` when a verdict would update a message not posted yet."""
    if part == "entry":
        return _entry(session, entry_id, update=update)
    round_ = session.get(ReviewRound, round_id)
    if round_ is None or not round_.channel:
        return None
    if part == "intro":
        return RoundPost(part=part, round=round_, entries=[])
    entries = list(
        session.exec(select(ReviewEntry).where(ReviewEntry.round_id == round_.id).order_by(col(ReviewEntry.item_id)))
    )
    return RoundPost(part=part, round=round_, entries=entries)


def _entry(session: Session, entry_id: int | None, *, update: bool) -> EntryPost | None:
    entry = session.get(ReviewEntry, entry_id)
    round_ = session.get(ReviewRound, entry.round_id) if entry else None
    item = session.get(Item, entry.item_id) if entry else None
    if entry is None or round_ is None or item is None or not round_.channel:
        return None
    if update and not entry.message_ts:
        raise Defer(1.0, "the review message has not been posted yet")
    customer = item.customer
    name = customer.name if customer else ""
    trail = list(
        session.exec(
            select(ItemEvent)
            .where(ItemEvent.item_id == item.id, col(ItemEvent.at) <= round_.created_at)
            .order_by(col(ItemEvent.id))
        )
    )
    return EntryPost(entry=entry, round=round_, item=item, customer=name, trail=trail, update=update)
