"""Modals. Input blocks are named by the field they fill (block_id = field, action_id = "input"),
so a validation error from the intake schema lands under the right input."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    CheckboxesElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot import texts
from bot.config import Config
from bot.ids import ActionId, CallbackId, Category
from bot.slack import blocks as b

CHECKLIST_BLOCK = "checklist"


def say(macro: str, **values: Any) -> str:
    return texts.say("modals.j2", macro, **values)


def text_input(
    field: str,
    label: str,
    *,
    optional: bool = True,
    multiline: bool = False,
    initial: str | None = None,
    hint: str | None = None,
    max_length: int = 3000,
) -> InputBlock:
    return InputBlock(
        block_id=field,
        label=b.plain(label, 2000),
        optional=optional,
        hint=b.plain(hint, 2000) if hint else None,
        element=PlainTextInputElement(
            action_id=ActionId.INPUT,
            multiline=multiline,
            initial_value=b.clip(initial, max_length) if initial else None,
            max_length=max_length,
        ),
    )


def category_options(config: Config) -> list[Option]:
    return [b.option(c.value, config.category(c).label) for c in Category]


def checklist_inputs(config: Config, filled: set[str] | None = None) -> list[InputBlock]:
    filled = filled or set()
    items = list(config.checklist.items)
    out = []
    for n in range(0, len(items), 10):
        chunk = items[n : n + 10]
        options = [b.option(i.key, i.label) for i in chunk]
        initial = [o for o, i in zip(options, chunk) if i.key in filled]
        out.append(
            InputBlock(
                block_id=f"{CHECKLIST_BLOCK}{n // 10}",
                optional=True,
                label=b.plain(say("checklist") if n == 0 else "…", 2000),
                element=CheckboxesElement(action_id=ActionId.INPUT, options=options, initial_options=initial or None),
            )
        )
    return out


def new_item(
    config: Config,
    *,
    prefill: dict[str, str] | None = None,
    metadata: str = "{}",
    callback_id: str = CallbackId.NEW_ITEM,
) -> dict[str, Any]:
    """The capture modal: what a Business Builder fills in at the stand."""
    p = prefill or {}
    blocks = [
        b.section(say("new_intro")),
        text_input("customer", say("customer"), optional=False, initial=p.get("customer"), max_length=500),
        text_input("contact_name", say("contact_name"), initial=p.get("contact_name"), max_length=500),
        text_input("contact_email", say("contact_email"), initial=p.get("contact_email"), max_length=254),
        text_input("contact_phone", say("contact_phone"), max_length=100),
        text_input("customer_domain", say("customer_domain"), max_length=255),
        text_input("event", say("event"), initial=p.get("event"), max_length=500),
        text_input("region", say("region"), max_length=100),
        text_input("product_area", say("product_area"), max_length=100),
        InputBlock(
            block_id="category",
            label=b.plain(say("category"), 2000),
            optional=True,
            hint=b.plain(say("category_hint"), 2000),
            element=StaticSelectElement(action_id=ActionId.INPUT, options=category_options(config)),
        ),
        text_input("description", say("description"), multiline=True, initial=p.get("description")),
        text_input("customer_request", say("customer_request"), multiline=True, hint=say("customer_request_hint")),
        *checklist_inputs(config),
    ]
    view = View(
        type="modal",
        callback_id=callback_id,
        title=b.plain(say("new_title"), b.MODAL_TITLE),
        submit=b.plain(say("new_submit"), b.MODAL_TITLE),
        close=b.plain(say("cancel"), b.MODAL_TITLE),
        private_metadata=metadata[: b.PRIVATE_METADATA],
        blocks=blocks,
    )
    return view.to_dict()


def values(view: dict[str, Any]) -> dict[str, Any]:
    """A submitted view's inputs as {block_id: value}; checkboxes give a list of option values."""
    out: dict[str, Any] = {}
    for block_id, actions in ((view.get("state") or {}).get("values") or {}).items():
        for state in actions.values():
            kind = state.get("type")
            if kind in ("plain_text_input", "email_text_input", "url_text_input", "number_input"):
                out[block_id] = state.get("value")
            elif kind in ("static_select", "radio_buttons", "external_select"):
                option = state.get("selected_option")
                out[block_id] = option.get("value") if option else None
            elif kind == "checkboxes":
                out[block_id] = [o.get("value") for o in state.get("selected_options") or []]
            elif kind == "users_select":
                out[block_id] = state.get("selected_user")
            elif kind == "datepicker":
                out[block_id] = state.get("selected_date")
            else:
                out[block_id] = state.get("value")
    return out
