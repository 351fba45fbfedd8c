"""Small helpers to build Block Kit with slack_sdk's models while respecting Slack's limits:
long text is clipped cleanly (with an ellipsis), never rejected.

Every text they put in a block goes through ``texts.mrkdwn``: text rendered from a template (a
``texts.Mrkdwn``) is sent as it is, any other string is escaped for Slack — so data that reaches a
block without a template (a configured label, a customer's name) cannot ping or link either."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    Option,
    PlainTextObject,
    SectionBlock,
)

from bot import texts

# Slack's documented limits (characters unless said otherwise).
SECTION_TEXT = 3000
SECTION_FIELD = 2000
SECTION_FIELDS = 10
HEADER_TEXT = 150
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
CONTEXT_ELEMENTS = 10
CONTEXT_TEXT = 3000
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
MESSAGE_TEXT = 40_000  # Slack truncates past 40k; we stay well below
NOTIFICATION_TEXT = 3000
OPTION_TEXT = 75
MODAL_TITLE = 24
PRIVATE_METADATA = 3000

ELLIPSIS = "…"


def clip(text: str | None, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters, at a word boundary when one is near, with an ellipsis.
    Never cuts inside a Slack entity such as ``<@U123>`` or ``&amp;``."""
    text = text or ""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    # do not leave half an entity: "<@U12" or "&am"
    lt, gt = cut.rfind("<"), cut.rfind(">")
    if lt > gt:
        cut = cut[:lt]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    space = cut.rfind(" ")
    if space > limit * 0.8:
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS


def md(text: str, limit: int = SECTION_TEXT) -> MarkdownTextObject:
    return MarkdownTextObject(text=clip(texts.mrkdwn(text), limit) or " ")


def plain(text: str, limit: int) -> PlainTextObject:
    return PlainTextObject(text=clip(texts.mrkdwn(text), limit) or " ", emoji=True)


def option(value: str, text: str, limit: int = OPTION_TEXT) -> Option:
    """A choice in a select, checkbox group or radio group (its text escaped like any other)."""
    return Option(value=value, text=plain(text, limit))


def section(text: str, *, block_id: str | None = None, accessory: Any = None) -> SectionBlock:
    return SectionBlock(text=md(text), block_id=block_id, accessory=accessory)


def fields(texts: list[str], *, block_id: str | None = None) -> SectionBlock:
    return SectionBlock(fields=[md(t, SECTION_FIELD) for t in texts[:SECTION_FIELDS] if t.strip()], block_id=block_id)


def header(text: str) -> HeaderBlock:
    return HeaderBlock(text=plain(text, HEADER_TEXT))


def context(*texts: str, block_id: str | None = None) -> ContextBlock:
    return ContextBlock(
        elements=[md(t, CONTEXT_TEXT) for t in texts[:CONTEXT_ELEMENTS] if t.strip()], block_id=block_id
    )


def divider() -> DividerBlock:
    return DividerBlock()


def button(text: str, action_id: str, value: str, *, style: str | None = None) -> ButtonElement:
    return ButtonElement(text=plain(text, BUTTON_TEXT), action_id=action_id, value=value[:BUTTON_VALUE], style=style)


def to_dicts(blocks: list[Block], *, limit: int = MESSAGE_BLOCKS) -> list[dict[str, Any]]:
    """Serialize, dropping empty blocks and keeping within the block-count limit (the last block,
    usually the buttons, is kept)."""
    out = []
    for block in blocks:
        if isinstance(block, ContextBlock) and not block.elements:
            continue
        if isinstance(block, SectionBlock) and block.text is None and not block.fields:
            continue
        block.validate_json()
        out.append(block.to_dict())
    if len(out) > limit:
        out = out[: limit - 1] + out[-1:]
    return out
