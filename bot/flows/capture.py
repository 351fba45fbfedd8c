"""Capture: a Business Builder hands an item over from Slack (the /handover new modal, the global
shortcut, or "Hand over this message")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, select

from bot import messages, outbox, texts
from bot.context import Context
from bot.flows.changes import plain
from bot.flows.deliver import hand_over
from bot.ids import Source
from bot.intake.schema import ItemIn
from bot.models import Person

CHECKLIST_PREFIX = "checklist"
MENTION = re.compile(r"<@([A-Z0-9]+)[|>]")


@dataclass
class Captured:
    item_id: int | None
    errors: dict[str, str]  # block_id -> message, shown inside the modal


def message_as_typed(session: Session, markup: str) -> str:
    """A Slack message handed over with "Hand over this message", as the description its modal
    starts with: plain text as typed, people mentioned by the names the bot knows them by."""
    mentioned = set(MENTION.findall(markup))
    names: dict[str, str] = {}
    if mentioned:
        found = session.exec(
            select(Person.slack_user_id, Person.name).where(col(Person.slack_user_id).in_(mentioned))
        ).all()
        names = {user: name for user, name in found if user and name}
    return texts.as_typed(markup, names)


def to_item(values: dict[str, Any]) -> tuple[ItemIn | None, dict[str, str]]:
    checklist: dict[str, bool] = {}
    fields: dict[str, Any] = {}
    for block_id, value in values.items():
        if block_id.startswith(CHECKLIST_PREFIX):
            checklist.update({k: True for k in value or []})
        elif value not in (None, "", []):
            fields[block_id] = value
    try:
        return ItemIn(**fields, checklist=checklist), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for e in exc.errors():
            field = str(e["loc"][0]) if e.get("loc") else "customer"
            message = str(e.get("msg", plain("plain.j2", "invalid"))).removeprefix("Value error, ")
            if e.get("type") == "missing":
                message = plain("plain.j2", "fill_this_in")
            errors.setdefault(field if field in values or field == "customer" else "customer", message)
        return None, errors


def capture(session: Session, ctx: Context, values: dict[str, Any], *, user_id: str, view_id: str) -> Captured:
    """Create the item from a submitted modal. ``view_id`` makes a repeated submission harmless."""
    item_in, errors = to_item(values)
    if item_in is None:
        return Captured(None, errors)
    delivery = hand_over(session, ctx, item_in, source=Source.SLACK, key=view_id, actor=user_id)
    item = delivery.item
    if delivery.created:
        item.business_builder_user_id = item.business_builder_user_id or user_id
        item.sender_user_id = user_id
        session.add(item)
        outbox.enqueue(
            session,
            messages.Direct(
                to_user=user_id,
                text=texts.say(
                    "modals.j2", "handed_over", item_id=item.id, customer=item_in.customer, receiver=item.receiver_email
                ),
            ),
            key=f"captured:{item.id}",
            now=ctx.clock.now(),
            item_id=item.id,
            channel_key=user_id,
        )
    return Captured(item.id, {})
