"""Where a listener's reference is (an item, a snooze, a page of notes, a review entry, a look-up),
declared where the listener is registered, as Bolt listener middleware::

    app.action(ActionId.ACCEPT, middleware=[ITEM_VALUE])(one_click(decide.accept))

Before the listener runs, its middleware reads the reference and parses it. One that points
nowhere (garbage, an altered message, an id out of range) gets a clear answer for the person, an
ephemeral message or the modal replaced by a short explanation, and nothing changes: the listener
does not run. One that parses is in ``context["ref"]`` (what ``act.ref`` is, bot/handlers/common.py)
and the item's id goes on the request's log lines (:mod:`bot.logs`).

There is no list of "buttons that carry an item" to keep in step: a listener that reads a
reference gets it only from the middleware it is registered with.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from slack_bolt import BoltContext, BoltResponse

from bot import logs, texts
from bot.handlers.common import answer_at_the_boundary, first_action, notice_view
from bot.ids import ItemRef, LookupRef, NotesRef, ReviewRef, SnoozeRef

R = TypeVar("R")
MAX_ID = 2**31 - 1  # item and review ids are INTEGER columns
Middleware = Callable[[dict[str, Any], BoltContext, Callable[[], None]], BoltResponse | None]


def _in_range(n: int) -> bool:
    return 1 <= n <= MAX_ID


def reference(
    find: Callable[[dict[str, Any]], str | None],
    parse: Callable[[str | None], R | None],
    good: Callable[[R], bool],
    *,
    item: Callable[[R], int] | None = None,
) -> Middleware:
    """Listener middleware: the reference ``find`` takes from the payload, as ``parse`` reads it,
    if ``good``; ``item`` says which item it names (for the log lines)."""

    def check_reference(body: dict[str, Any], context: BoltContext, next: Callable[[], None]) -> BoltResponse | None:
        ref = parse(find(body))
        if ref is None or not good(ref):
            return _points_nowhere(body, context)
        context["ref"] = ref
        if item is not None:
            logs.bind(item_id=item(ref))
        next()
        return None

    return check_reference


def _points_nowhere(body: dict[str, Any], context: BoltContext) -> BoltResponse:
    if body.get("type") == "view_submission":
        return BoltResponse(
            status=200,
            body=json.dumps({"response_action": "update", "view": notice_view(texts.say("boundary.j2", "bad_form"))}),
            headers={"content-type": ["application/json"]},
        )
    answer_at_the_boundary(body, context, texts.say("boundary.j2", "bad_button"))
    return BoltResponse(status=200, body="")


def _value(body: dict[str, Any]) -> str | None:
    return first_action(body).get("value")


def _checklist_block(body: dict[str, Any]) -> str | None:
    return (first_action(body).get("block_id") or "").partition("|")[2]


def _selected(body: dict[str, Any]) -> str | None:
    return (first_action(body).get("selected_option") or {}).get("value")


def _metadata(body: dict[str, Any]) -> str | None:
    return (body.get("view") or {}).get("private_metadata")


# a button's value names an item (the card's buttons, "Give feedback", "Show full notes")
ITEM_VALUE = reference(_value, ItemRef.parse, lambda ref: _in_range(ref.item), item=lambda ref: ref.item)
# a checklist's block id ends in the item's reference: ``checklist|{"item": 7}``
ITEM_BLOCK = reference(_checklist_block, ItemRef.parse, lambda ref: _in_range(ref.item), item=lambda ref: ref.item)
# a decision modal's private_metadata names its item
ITEM_FORM = reference(_metadata, ItemRef.parse, lambda ref: _in_range(ref.item), item=lambda ref: ref.item)
NOTES_VALUE = reference(
    _value, NotesRef.parse, lambda ref: _in_range(ref.item) and ref.p <= MAX_ID, item=lambda ref: ref.item
)
SNOOZE_OPTION = reference(_selected, SnoozeRef.parse, lambda ref: _in_range(ref.item), item=lambda ref: ref.item)
REVIEW_VALUE = reference(_value, ReviewRef.parse, lambda ref: _in_range(ref.entry))
LOOKUP_VALUE = reference(_value, LookupRef.parse, lambda ref: (ref.c is None or _in_range(ref.c)) and ref.p <= MAX_ID)
