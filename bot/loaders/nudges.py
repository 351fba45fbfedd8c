"""The data of reminders, escalations and follow-up reminders, read when they are sent: an item
decided since the run was queued no longer appears, and a snoozed one stays out of reminders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from bot import customers
from bot.ids import ItemStatus
from bot.models import Item


@dataclass(frozen=True)
class NudgeItems:
    items: list[Item] = field(default_factory=list)  # in the order shown; empty: nothing left to send
    customer_names: dict[int, str] = field(default_factory=dict)  # customer id -> name


def _with_names(session: Session, items: list[Item]) -> NudgeItems:
    if not items:
        return NudgeItems()
    return NudgeItems(items=items, customer_names=customers.names_of(session, items))


def waiting_for(session: Session, user_id: str) -> list[Item]:
    return list(
        session.exec(
            select(Item)
            .where(Item.status == ItemStatus.PENDING, Item.receiver_user_id == user_id)
            .order_by(col(Item.offered_at), col(Item.id))
        )
    )


def _snoozed(item: Item, now: datetime) -> bool:
    until = item.snoozed_until
    if until is not None and until.tzinfo is None:
        until = until.replace(tzinfo=now.tzinfo)
    return until is not None and now < until


def reminder(session: Session, user_id: str, now: datetime) -> NudgeItems:
    """The person's waiting items, oldest first; a snoozed item stays out until its snooze ends."""
    return _with_names(session, [i for i in waiting_for(session, user_id) if not _snoozed(i, now)])


def escalation(session: Session, item_ids: list[int]) -> NudgeItems:
    """The items of ``item_ids`` still waiting for a decision, oldest offer first."""
    return _with_names(
        session,
        [
            i
            for i in session.exec(select(Item).where(col(Item.id).in_(item_ids)).order_by(col(Item.offered_at)))
            if i.status == ItemStatus.PENDING
        ],
    )


def follow_up(session: Session, user_id: str, item_ids: list[int]) -> NudgeItems:
    """The items of ``item_ids`` the person still owns, accepted and open, oldest acceptance first."""
    return _with_names(
        session,
        [
            i
            for i in session.exec(select(Item).where(col(Item.id).in_(item_ids)).order_by(col(Item.accepted_at)))
            if i.status == ItemStatus.ACCEPTED and i.owner_user_id == user_id
        ],
    )
