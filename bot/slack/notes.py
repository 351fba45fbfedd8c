"""An item's notes ("what the customer said") when they are longer than a card can show.

The card shows the first part (:func:`preview`) and says how many characters are left out; its
*Show full notes* button opens a modal with the whole text in order, split into sections (Slack
allows 3,000 characters per section) and, when even a modal would be too long, into pages with
*Next page* / *Previous page* buttons (``views.update``). Every piece is escaped like any other
user text."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block
from slack_sdk.models.views import View

from bot import texts
from bot.ids import ActionId, CallbackId, NotesRef
from bot.slack import blocks as b

PREVIEW = 2_700  # escaped characters of notes on the card (its section holds 3,000 with the heading)
SECTION = 2_900  # escaped characters per section in the modal
PAGE_SECTIONS = 10  # sections per modal page (~29,000 characters; far below 100 blocks)
_SOFT = 0.8  # cut at a line break or a space when one is in the last fifth
_WIDTH = {"&": len("&amp;"), "<": len("&lt;"), ">": len("&gt;")}  # what texts.escape_mrkdwn makes of them


def _say(macro: str, **values: Any) -> str:
    return texts.say("card.j2", macro, **values)


def _cut(text: str, room: int) -> int:
    """How many characters of ``text`` fit in ``room`` characters once escaped (at a line break or
    a space near the end when there is one, so no word is split)."""
    used = 0
    for n, char in enumerate(text):  # noqa: B007  (n is read after the loop)
        used += _WIDTH.get(char, 1)
        if used > room:
            break
    else:
        return len(text)
    for sep in ("\n", " "):
        at = text.rfind(sep, 0, n)
        if at > n * _SOFT:
            return at + 1
    return n


def preview(text: str | None, room: int = PREVIEW) -> tuple[str, int]:
    """The part of ``text`` a card shows, and how many characters are left out (0: all of it)."""
    text = text or ""
    end = _cut(text, room)
    return text[:end].rstrip(), len(text) - end


def pieces(text: str, room: int = SECTION) -> list[str]:
    """``text`` in order, in pieces that each fit a section once escaped; nothing is lost."""
    out: list[str] = []
    while text:
        end = _cut(text, room) or 1
        out.append(text[:end])
        text = text[end:]
    return out


def page_count(text: str) -> int:
    return max(1, -(-len(pieces(text)) // PAGE_SECTIONS))


def modal(item_id: int, customer: str, text: str, page: int = 0) -> dict[str, Any]:
    """The full notes of item ``item_id``: page ``page`` (0-based) of the modal."""
    parts = pieces(text)
    pages = max(1, -(-len(parts) // PAGE_SECTIONS))
    page = min(max(page, 0), pages - 1)
    shown = parts[page * PAGE_SECTIONS : (page + 1) * PAGE_SECTIONS]
    blocks: list[Block] = [
        b.context(
            _say("notes_intro", item_id=item_id, customer=customer, length=len(text), page=page + 1, pages=pages),
            block_id="notes_intro",
        )
    ]
    if not shown:
        blocks.append(b.section(_say("notes_empty", item_id=item_id)))
    # each piece is escaped on its own: an entity is never split between two sections
    blocks += [
        b.section(texts.escape_mrkdwn(piece), block_id=f"notes:{page * PAGE_SECTIONS + n}")
        for n, piece in enumerate(shown)
    ]
    buttons = []
    if page > 0:
        buttons.append(
            b.button(
                texts.say("buttons.j2", "previous_page"), ActionId.NOTES_PAGE, NotesRef(item=item_id, p=page - 1).dump()
            )
        )
    if page + 1 < pages:
        buttons.append(
            b.button(
                texts.say("buttons.j2", "next_page"),
                ActionId.NOTES_PAGE,
                NotesRef(item=item_id, p=page + 1).dump(),
                style="primary",
            )
        )
    if buttons:
        blocks.append(ActionsBlock(block_id="notes_pages", elements=buttons))
    view = View(
        type="modal",
        callback_id=CallbackId.NOTES,
        title=b.plain(_say("notes_title"), b.MODAL_TITLE),
        close=b.plain(_say("notes_close"), b.MODAL_TITLE),
        private_metadata=NotesRef(item=item_id, p=page).dump(),
        blocks=b.to_dicts(blocks, limit=b.VIEW_BLOCKS),
    )
    return view.to_dict()
