"""The modals behind the card's buttons. Each carries the item in private_metadata (ItemRef)."""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.blocks import (
    CheckboxesElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot import texts
from bot.config import Config
from bot.ids import ActionId, CallbackId, Category, FollowUpKind, ItemRef
from bot.slack import blocks as b
from bot.slack.modals import say, text_input


def _view(
    callback: CallbackId, title: str, submit: str, ref: ItemRef, blocks: list, *, extra_metadata: str | None = None
) -> dict[str, Any]:
    metadata = ref.dump() if extra_metadata is None else extra_metadata
    return View(
        type="modal",
        callback_id=callback,
        title=b.plain(title, b.MODAL_TITLE),
        submit=b.plain(submit, b.MODAL_TITLE),
        close=b.plain(say("cancel"), b.MODAL_TITLE),
        private_metadata=metadata,
        blocks=blocks,
    ).to_dict()


def _select(
    block_id: str, label: str, options: list[Option], *, optional: bool = False, initial: Option | None = None
) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=b.plain(label, 2000),
        optional=optional,
        element=StaticSelectElement(action_id=ActionId.INPUT, options=options, initial_option=initial),
    )


def recategorize(config: Config, ref: ItemRef, *, customer: str, current: Category) -> dict[str, Any]:
    options = [b.option(c.value, config.category(c).label) for c in Category if c != current]
    blocks = [
        b.section(say("recategorize_intro", customer=customer, current=config.category(current).label)),
        _select("category", say("category"), options),
        b.context(*[f"*{config.category(c).label}*: {config.category(c).definition}" for c in Category]),
        text_input("note", say("note"), multiline=True, max_length=1000),
    ]
    return _view(CallbackId.RECATEGORIZE, say("recategorize_title"), say("save"), ref, blocks)


def ask(ref: ItemRef, *, business_builder: str) -> dict[str, Any]:
    blocks = [
        b.section(say("ask_intro", bb=business_builder)),
        text_input("question", say("question"), optional=False, multiline=True, max_length=2000),
    ]
    return _view(CallbackId.ASK, say("ask_title"), say("send"), ref, blocks)


def reassign(ref: ItemRef) -> dict[str, Any]:
    blocks = [
        b.section(say("reassign_intro")),
        InputBlock(
            block_id="to", label=b.plain(say("reassign_to"), 2000), element=UserSelectElement(action_id=ActionId.INPUT)
        ),
        text_input("note", say("note"), multiline=True, max_length=1000),
    ]
    return _view(CallbackId.REASSIGN, say("reassign_title"), say("save"), ref, blocks)


def discard(config: Config, ref: ItemRef, *, customer: str) -> dict[str, Any]:
    options = [b.option(r.key, r.label) for r in config.discard_reasons]
    blocks = [
        b.section(say("discard_intro", customer=customer)),
        _select("reason", say("discard_reason"), options),
        InputBlock(
            block_id="justification",
            label=b.plain(say("discard_justification"), 2000),
            hint=b.plain(say("discard_justification_hint"), 2000),
            element=PlainTextInputElement(action_id=ActionId.INPUT, multiline=True, max_length=2000),
        ),
    ]
    return _view(CallbackId.DISCARD, say("discard_title"), say("discard_submit"), ref, blocks)


def discard_suggestion(
    config: Config, ref: ItemRef, *, reason_key: str, reason_label: str, justification: str, suggested: Category
) -> dict[str, Any]:
    """Shown instead of discarding when the reason is really a recategorization."""
    label = config.category(suggested).label
    options = [
        b.option(f"recategorize:{suggested.value}", say("discard_choice_recategorize", category=label)),
        b.option("discard", say("discard_choice_discard")),
    ]
    choice = RadioButtonsElement(action_id=ActionId.INPUT, options=options)
    choice.initial_option = options[0]
    blocks = [
        b.section(say("discard_suggest", reason=reason_label, category=label)),
        InputBlock(block_id="choice", label=b.plain(say("discard_choice"), 2000), element=choice),
        text_input(
            "justification",
            say("discard_justification"),
            optional=False,
            multiline=True,
            initial=justification,
            max_length=2000,
        ),
    ]
    metadata = ItemRef(item=ref.item).model_dump()
    metadata["reason"] = reason_key
    return _view(
        CallbackId.DISCARD, say("discard_title"), say("save"), ref, blocks, extra_metadata=json.dumps(metadata)
    )


def follow_up(ref: ItemRef) -> dict[str, Any]:
    options = [
        b.option(k.value, texts.say("decisions.j2", "follow_up_kind", kind=k.value).capitalize()) for k in FollowUpKind
    ]
    blocks = [
        _select("kind", say("follow_up_kind"), options),
        text_input("note", say("follow_up_note"), multiline=True, max_length=2000),
        InputBlock(
            block_id="close",
            label=b.plain(" ", 2000),
            optional=True,
            element=CheckboxesElement(action_id=ActionId.INPUT, options=[b.option("close", say("follow_up_close"))]),
        ),
    ]
    return _view(CallbackId.FOLLOW_UP, say("follow_up_title"), say("save"), ref, blocks)


def accept_note(ref: ItemRef, *, customer: str) -> dict[str, Any]:
    """After accepting: why the item was interesting, for the sender and the Business Builder."""
    blocks = [
        b.section(say("accept_note_intro", customer=customer)),
        text_input("note", say("accept_note_label"), optional=False, multiline=True, max_length=1000),
    ]
    return _view(CallbackId.ACCEPT_NOTE, say("accept_note_title"), say("send"), ref, blocks)
