"""The feedback request message and its form (a modal), drawn when sent from what
``bot.loaders.feedback`` reads."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ActionsBlock, InputBlock, RadioButtonsElement, StaticSelectElement
from slack_sdk.models.views import View

from bot import texts
from bot.flows.feedback import COMMENT_MAX
from bot.ids import ActionId, CallbackId, ItemRef, Outcome
from bot.loaders.feedback import FeedbackRequest
from bot.slack import blocks as b
from bot.slack.modals import text_input


def _say(macro: str, **values: Any) -> str:
    return texts.say("feedback.j2", macro, **values)


def request(data: FeedbackRequest | None, *, reminder: bool) -> tuple[str, list] | None:
    """The request (or its reminder); None when the feedback was given meanwhile (no ``data``)."""
    if data is None:
        return None
    name = data.customer
    sender = texts.user(data.sender_user, data.sender_email or "the sender")
    intro = (
        _say("reminder", item_id=data.item_id, customer=name)
        if reminder
        else _say("request", item_id=data.item_id, customer=name, days=data.days, sender=sender, event=data.event)
    )
    parts = [
        b.section(intro),
        ActionsBlock(
            block_id=f"feedback|{data.item_id}",
            elements=[b.button(_say("button"), ActionId.FEEDBACK, ItemRef(item=data.item_id).dump(), style="primary")],
        ),
    ]
    return _say("request_text", item_id=data.item_id, customer=name), b.to_dicts(parts)


def _radio(block_id: str, label: str, options: list[tuple[str, str]]) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=b.plain(label, 2000),
        element=RadioButtonsElement(action_id=ActionId.INPUT, options=[b.option(v, t) for v, t in options]),
    )


def form(item_id: int, customer: str) -> dict[str, Any]:
    blocks = [
        b.section(_say("intro", item_id=item_id, customer=customer)),
        _radio("reached", _say("reached_label"), [("yes", _say("yes")), ("no", _say("no"))]),
        InputBlock(
            block_id="outcome",
            label=b.plain(_say("outcome_label"), 2000),
            element=StaticSelectElement(
                action_id=ActionId.INPUT,
                options=[b.option(o.value, _say("outcome_name", outcome=o.value)) for o in Outcome],
            ),
        ),
        _radio("usefulness", _say("usefulness_label"), [(str(n), str(n)) for n in range(1, 6)]),
        text_input("comment", _say("comment_label"), max_length=COMMENT_MAX),
    ]
    return View(
        type="modal",
        callback_id=CallbackId.FEEDBACK,
        title=b.plain(_say("title"), b.MODAL_TITLE),
        submit=b.plain(_say("submit"), b.MODAL_TITLE),
        close=b.plain("Cancel", b.MODAL_TITLE),
        private_metadata=ItemRef(item=item_id).dump(),
        blocks=blocks,
    ).to_dict()
