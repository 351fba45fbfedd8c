"""The App Home view: a person's desk, drawn when published from what ``bot.loaders.home`` reads."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ActionsBlock
from slack_sdk.models.views import View

from bot import texts
from bot.ids import ActionId, ItemRef
from bot.loaders.home import HomeData
from bot.outbox_admin import Health
from bot.slack import blocks as b
from bot.slack import digest as digest_blocks

SHOWN = 10  # items with buttons per part: 3 blocks each keeps the view far below Slack's 100


def _say(macro: str, **values: Any) -> str:
    return texts.say("home.j2", macro, **values)


def _with_buttons(line: str, item_id: int, buttons: list[tuple[str, ActionId, str | None]]) -> list:
    ref = ItemRef(item=item_id).dump()
    return [
        b.section(line, block_id=f"home|{item_id}"),
        ActionsBlock(
            block_id=f"home-act|{item_id}",
            elements=[b.button(_say(label), action, ref, style=style) for label, action, style in buttons],
        ),
    ]


def build(data: HomeData) -> dict[str, Any]:
    desk = data.desk
    owner = desk["owner"]
    parts: list[Any] = [
        b.header(_say("title")),
        *_outbox_warning(data.outbox),
        b.context(_say("numbers", n=desk["numbers"])),
    ]
    waiting, owned = owner["waiting"], owner["no_follow_up"]
    # The parts are read one query after another: an item accepted in between (another replica, on
    # PostgreSQL's READ COMMITTED) can show up in both, and a block_id twice makes Slack refuse the
    # whole Home. Accepted is the newer state.
    owned_ids = {line["id"] for line in owned}
    waiting = [line for line in waiting if line["id"] not in owned_ids]
    if not waiting and not owned:
        parts.append(b.section(_say("nothing_waiting")))
    if waiting:
        parts += [b.divider(), b.section(_say("waiting_title", count=len(waiting)))]
        for line in waiting[:SHOWN]:
            parts += _with_buttons(
                _say("waiting_line", l=line),
                line["id"],
                [
                    ("accept", ActionId.ACCEPT, "primary"),
                    ("discard", ActionId.DISCARD, None),
                    ("reassign", ActionId.REASSIGN, None),
                ],
            )
        if len(waiting) > SHOWN:
            parts.append(b.context(_say("more", count=len(waiting) - SHOWN)))
    if owned:
        parts += [b.divider(), b.section(_say("owned_title", count=len(owned)))]
        for line in owned[:SHOWN]:
            parts += _with_buttons(
                _say("owned_line", l=line), line["id"], [("follow_up", ActionId.FOLLOW_UP, "primary")]
            )
        if len(owned) > SHOWN:
            parts.append(b.context(_say("more", count=len(owned) - SHOWN)))
    for key in ("asked", "to_answer"):
        if owner[key]:
            parts += [b.divider(), digest_blocks.part(key, owner[key])]
    if owner["handed_over"]:
        parts += [b.divider(), digest_blocks.part("handed_over", owner["handed_over"], title=_say("handed_over_title"))]
    for team in desk["teams"]:
        parts += digest_blocks.team_parts(team)
    return View(type="home", blocks=b.to_dicts(parts, limit=b.VIEW_BLOCKS)).to_dict()


def _outbox_warning(queue: Health | None) -> list[Any]:
    """For admins only (the loader reads the queue for them): while a message is dead, or has waited
    longer than an hour."""
    if queue is None or not queue.needs_attention:
        return []
    return [
        b.section(
            texts.say(
                "outbox.j2",
                "home_warning",
                dead=queue.dead,
                stale=queue.stale,
                oldest=texts.duration((queue.oldest_pending_seconds or 0) / 3600),
            ),
            block_id="outbox-warning",
        )
    ]
