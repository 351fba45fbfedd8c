"""The append-only audit trail of an item. Rows are only ever added, never changed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from bot.models import ItemEvent


def record(
    session: Session, item_id: int, *, actor: str, kind: str, at: datetime, text: str | None = None, **detail: Any
) -> ItemEvent:
    event = ItemEvent(item_id=item_id, actor=actor, kind=kind, at=at, text=text, detail=detail)
    session.add(event)
    # the outbound webhooks' hook: a state change is queued for them in this same transaction
    from bot.webhooks.events import on_audit

    on_audit(session, event)
    return event


def history(session: Session, item_id: int) -> list[ItemEvent]:
    return list(session.exec(select(ItemEvent).where(ItemEvent.item_id == item_id).order_by(col(ItemEvent.id))))


def last_actor(session: Session, item_id: int, kind: str) -> str | None:
    """Who last did ``kind`` to the item (e.g. who discarded it), from the trail."""
    event = session.exec(
        select(ItemEvent).where(ItemEvent.item_id == item_id, ItemEvent.kind == kind).order_by(col(ItemEvent.id).desc())
    ).first()
    return event.actor if event else None
