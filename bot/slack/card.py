"""The item card: the Block Kit message a receiver gets, rebuilt from the item's state every time
it is posted or updated (so it can never disagree with the database): ``bot.loaders.card`` reads
the :class:`CardData`, :func:`build` draws it."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, CheckboxesElement

from bot import texts
from bot.checklist import INTELLIGENCE, assess
from bot.config import Config
from bot.ids import ActionId, Category, ItemRef, ItemStatus
from bot.loaders.card import CardData
from bot.models import Item
from bot.slack import blocks as b
from bot.slack import notes

CHECKBOXES_PER_ELEMENT = 10


def _say(macro: str, **values: Any) -> str:
    return texts.say("card.j2", macro, **values)


def _label(macro: str) -> str:
    return texts.say("buttons.j2", macro)


def notification_text(data: CardData, config: Config) -> str:
    label = config.category(data.item.category).label
    return b.clip(
        _say("notification", category_label=label, customer=data.customer.name, item=data.item), b.NOTIFICATION_TEXT
    )


def _checklist_blocks(data: CardData, config: Config, interactive: bool) -> list[Block]:
    item = data.item
    entries: list[dict[str, Any]] = [
        {"key": i.key, "label": i.label, "filled": bool(item.checklist.get(i.key))} for i in config.checklist.items
    ]
    filled = sum(1 for e in entries if e["filled"])
    title = _say("checklist_title", filled=filled, total=len(entries))
    if not interactive:
        return [b.section(title + "\n" + _say("checklist_lines", items=entries), block_id="checklist")]
    ref = ItemRef(item=item.id).dump()
    elements = []
    for n in range(0, len(entries), CHECKBOXES_PER_ELEMENT):
        chunk = entries[n : n + CHECKBOXES_PER_ELEMENT]
        options = [b.option(e["key"], e["label"]) for e in chunk]
        initial = [o for o, e in zip(options, chunk) if e["filled"]]
        elements.append(
            CheckboxesElement(
                action_id=f"{ActionId.CHECKLIST}:{n // CHECKBOXES_PER_ELEMENT}",
                options=options,
                initial_options=initial or None,
            )
        )
    return [b.section(title, block_id="checklist_title"), ActionsBlock(block_id=f"checklist|{ref}", elements=elements)]


def _buttons(item: Item) -> list[Block]:
    ref = ItemRef(item=item.id).dump()
    if item.status == ItemStatus.PENDING:
        buttons = [
            b.button(_label("accept"), ActionId.ACCEPT, ref, style="primary"),
            b.button(_label("recategorize"), ActionId.RECATEGORIZE, ref),
            b.button(_label("ask"), ActionId.ASK, ref),
            b.button(_label("reassign"), ActionId.REASSIGN, ref),
            b.button(_label("discard"), ActionId.DISCARD, ref, style="danger"),
        ]
    elif item.status == ItemStatus.ACCEPTED:
        buttons = [
            b.button(_label("follow_up"), ActionId.FOLLOW_UP, ref, style="primary"),
            b.button(_label("accept_note"), ActionId.ACCEPT_NOTE, ref),
            b.button(_label("ask"), ActionId.ASK, ref),
            b.button(_label("recategorize"), ActionId.RECATEGORIZE, ref),
            b.button(_label("close"), ActionId.CLOSE, ref),
        ]
    else:
        buttons = [b.button(_label("reopen"), ActionId.REOPEN, ref)]
    return [ActionsBlock(block_id="decide", elements=buttons)]


def build(data: CardData, config: Config) -> tuple[str, list[dict[str, Any]]]:
    """The card's notification text and blocks."""
    item, customer = data.item, data.customer
    category = Category(item.category)
    label = config.category(category).label
    assessment = assess(config, item.checklist, category)
    live = item.status in (ItemStatus.PENDING, ItemStatus.ACCEPTED)
    parts: list[Block] = [
        b.header(_say("header", category_label=label, customer=customer.name)),
        b.fields(
            [
                _say("facts", item=item, customer=customer),
                _say("contact", item=item),
                _say("source", item=item),
                _say("business_builder", item=item, bb_user=data.business_builder_user),
            ]
        ),
    ]
    if item.customer_request:
        parts.append(
            b.section(
                _say("request", text=item.customer_request, open=item.customer_request_open),
                block_id="customer_request",
            )
        )
    shown, more = notes.preview(item.description)
    show_all = b.button(_label("show_notes"), ActionId.SHOW_NOTES, ItemRef(item=item.id).dump()) if more else None
    parts.append(b.section(_say("said", text=shown, more=more), block_id="said", accessory=show_all))
    parts.extend(_checklist_blocks(data, config, interactive=live))
    parts.append(
        b.context(
            _say(
                "suggestion",
                suggested_label=config.category(assessment.suggested).label,
                current_label=label,
                gap=assessment.lead_gap,
                intelligence=data.item.category in INTELLIGENCE,
                lead_ready=assessment.lead_ready,
            ),
            block_id="suggestion",
        )
    )
    if data.open_question is not None:
        parts.append(b.section(_say("open_question", question=data.open_question), block_id="open_question"))
    if item.status == ItemStatus.PENDING:
        parts.append(b.context(_say("due", item=item, receiver_user=data.receiver_user), block_id="due"))
    else:
        reason = config.discard_reason(item.discard_reason).label if item.discard_reason else ""
        parts.append(b.section(_say("status", item=item, reason_label=reason), block_id="status"))
    parts.append(b.context(_say("item_id", item=item), block_id="item_id"))
    parts.extend(_buttons(item))
    return notification_text(data, config), b.to_dicts(parts)


def retired(customer_name: str, why: str) -> tuple[str, list[dict[str, Any]]]:
    """What an old card turns into once the item has moved on to someone else (``why`` was rendered
    from a template when the decision was made, and waited in the outbox as text)."""
    text = _say("retired", customer=customer_name, why=texts.Mrkdwn(why))
    return b.clip(text, b.NOTIFICATION_TEXT), b.to_dicts([b.section(text)])
