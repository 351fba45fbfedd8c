"""Reminder, escalation and follow-up messages, rebuilt from the items' state when sent (read by
``bot.loaders.nudges``): an item decided since the run was queued no longer appears, and a reminder
lists all of the person's waiting items, oldest first, each with the buttons to act."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, OverflowMenuElement

from bot import texts
from bot.config import Config
from bot.ids import ActionId, ItemRef, SnoozeRef
from bot.loaders.nudges import NudgeItems
from bot.models import Item
from bot.slack import blocks as b

SHOWN = 15  # items per message; 3 blocks each stays far below Slack's 50


def _say(macro: str, **values: Any) -> str:
    return texts.say("nudge.j2", macro, **values)


def _waited(now: datetime, since: datetime | None) -> str:
    return texts.duration(max((now - since).total_seconds(), 0) / 3600) if since else "a while"


def _snooze(item: Item) -> OverflowMenuElement:
    return OverflowMenuElement(
        action_id=ActionId.SNOOZE,
        options=[
            b.option(SnoozeRef(item=item.id, days=1).dump(), _say("snooze_day")),
            b.option(SnoozeRef(item=item.id, days=7).dump(), _say("snooze_week")),
        ],
    )


def _item_row(item: Item, line: str, buttons: list[tuple[str, ActionId, str | None]]) -> list[Any]:
    """One item in a reminder: its line with the snooze menu, then the buttons to act on it."""
    ref = ItemRef(item=item.id).dump()
    return [
        b.section(line, block_id=f"item|{item.id}", accessory=_snooze(item)),
        ActionsBlock(
            block_id=f"act|{item.id}",
            elements=[
                b.button(texts.say("buttons.j2", label), action, ref, style=style) for label, action, style in buttons
            ],
        ),
    ]


def reminder(config: Config, data: NudgeItems, now: datetime) -> tuple[str, list[dict]] | None:
    items, names = data.items, data.customer_names
    if not items:
        return None
    parts: list[Any] = [b.section(_say("reminder_intro", count=len(items)))]
    for item in items[:SHOWN]:
        parts += _item_row(
            item,
            _say(
                "reminder_line",
                item_id=item.id,
                category=config.category(item.category).label,
                customer=names.get(item.customer_id, ""),
                event=item.event_name,
                waited=_waited(now, item.offered_at),
                due=item.decision_due_at,
            ),
            [
                ("accept", ActionId.ACCEPT, "primary"),
                ("discard", ActionId.DISCARD, None),
                ("reassign", ActionId.REASSIGN, None),
            ],
        )
    if len(items) > SHOWN:
        parts.append(b.context(_say("more", count=len(items) - SHOWN)))
    return _say("reminder_text", count=len(items)), b.to_dicts(parts)


def escalation(config: Config, data: NudgeItems, now: datetime) -> tuple[str, list[dict]] | None:
    items, names = data.items, data.customer_names
    if not items:
        return None
    lines = [
        _say(
            "escalation_line",
            item_id=i.id,
            category=config.category(i.category).label,
            customer=names.get(i.customer_id, ""),
            holder=texts.user(i.receiver_user_id, i.receiver_email),
            waited=_waited(now, i.offered_at),
        )
        for i in items[: SHOWN * 2]
    ]
    parts: list[Any] = [
        b.section(_say("escalation_intro", count=len(items))),
        b.section(texts.Mrkdwn("\n").join(lines)),
    ]
    if len(items) > SHOWN * 2:
        parts.append(b.context(_say("more", count=len(items) - SHOWN * 2)))
    return _say("escalation_text", count=len(items)), b.to_dicts(parts)


def follow_up(config: Config, data: NudgeItems, now: datetime) -> tuple[str, list[dict]] | None:
    items, names = data.items, data.customer_names
    if not items:
        return None
    parts: list[Any] = [b.section(_say("follow_up_intro", count=len(items)))]
    for item in items[:SHOWN]:
        expected = config.category(item.category).sla.follow_ups_expected
        parts += _item_row(
            item,
            _say(
                "follow_up_line",
                item_id=item.id,
                customer=names.get(item.customer_id, ""),
                count=item.follow_up_count,
                expected=expected,
                since=_waited(now, item.last_follow_up_at or item.accepted_at),
            ),
            [("follow_up", ActionId.FOLLOW_UP, "primary")],
        )
    return _say("follow_up_text", count=len(items)), b.to_dicts(parts)
