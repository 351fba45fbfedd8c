"""The browser's clicks as Slack sends them: the test agent (bot/fakeslack/agent.py), extended to
every interactive element the page renders — buttons, checkboxes, static, overflow and user
selects, date pickers, radio buttons, inputs dispatching actions — in a message, a modal or the
App Home tab. Each becomes one signed ``block_actions`` request with Slack's payload shape."""

from __future__ import annotations

import time
from typing import Any

import httpx

from bot.fakeslack import SlackAgent
from bot.fakeslack.server import Message, View

TEXT_INPUTS = ("plain_text_input", "email_text_input", "url_text_input", "number_input")


def options_of(element: dict[str, Any]) -> list[dict[str, Any]]:
    out = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        out += group.get("options") or []
    return out


def element_at(blocks: list[dict[str, Any]], index: int, action_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The element ``action_id`` in the block at ``index`` (an actions block, a section's accessory
    or an input's element): what a person can click there."""
    if not 0 <= index < len(blocks):
        raise LookupError("that block is no longer there (the message changed)")
    block = blocks[index]
    candidates = list(block.get("elements") or []) if block.get("type") == "actions" else []
    candidates += [e for e in (block.get("accessory"), block.get("element")) if isinstance(e, dict)]
    for element in candidates:
        if element.get("action_id") == action_id:
            return block, element
    raise LookupError(f"there is no {action_id!r} in that block any more")


def action_payload(block: dict[str, Any], element: dict[str, Any], chosen: Any) -> dict[str, Any]:
    """The ``actions[0]`` Slack sends for ``element`` after the person chose ``chosen``."""
    kind = element["type"]
    action: dict[str, Any] = {
        "action_id": element["action_id"],
        "block_id": block.get("block_id", ""),
        "type": kind,
        "action_ts": f"{time.time():.6f}",
    }
    if kind == "button":
        action.update(text=element.get("text"), value=element.get("value"))
        if element.get("style"):
            action["style"] = element["style"]
    elif kind in ("static_select", "overflow", "radio_buttons", "external_select"):
        option = next((o for o in options_of(element) if o.get("value") == chosen), None)
        if option is None:
            raise LookupError(f"{chosen!r} is not one of the options")
        action["selected_option"] = option
    elif kind in ("checkboxes", "multi_static_select"):
        chosen = list(chosen or [])
        action["selected_options"] = [o for o in options_of(element) if o.get("value") in chosen]
    elif kind == "users_select":
        action["selected_user"] = chosen
    elif kind == "multi_users_select":
        action["selected_users"] = list(chosen or [])
    elif kind == "conversations_select":
        action["selected_conversation"] = chosen
    elif kind == "channels_select":
        action["selected_channel"] = chosen
    elif kind == "datepicker":
        action["selected_date"] = chosen
    elif kind == "timepicker":
        action["selected_time"] = chosen
    else:  # text inputs that dispatch actions
        action["value"] = chosen
    return action


class SandboxAgent(SlackAgent):
    def act_on_message(self, *, user: str, message: Message, index: int, action_id: str, chosen: Any) -> httpx.Response:
        block, element = element_at(message.blocks, index, action_id)
        payload = {
            **self._base("block_actions", user),
            "trigger_id": self.fake.issue_trigger(user),
            **self._message_container(message, user),
            "actions": [action_payload(block, element, chosen)],
        }
        return self._interaction(payload)

    def act_in_view(
        self, *, user: str, view: View, index: int, action_id: str, chosen: Any, values: dict[str, Any] | None = None
    ) -> httpx.Response:
        block, element = element_at(view.blocks, index, action_id)
        try:
            state = self._state(view, values or {})
        except AssertionError:
            state = {}
        payload = {
            **self._base("block_actions", user),
            "trigger_id": self.fake.issue_trigger(user),
            "container": {"type": "view", "view_id": view.id},
            "view": {**view.as_slack(), "state": {"values": state}},
            "actions": [action_payload(block, element, chosen)],
        }
        return self._interaction(payload)

    def act_in_home(self, *, user: str, index: int, action_id: str, chosen: Any) -> httpx.Response:
        home = self.fake.published_home(user)
        if home is None:
            raise LookupError("the Home tab is not published yet")
        block, element = element_at(home.get("blocks") or [], index, action_id)
        payload = {
            **self._base("block_actions", user),
            "trigger_id": self.fake.issue_trigger(user),
            "container": {"type": "view", "view_id": "VHOME" + user},
            "view": {**home, "id": "VHOME" + user, "type": "home"},
            "actions": [action_payload(block, element, chosen)],
        }
        return self._interaction(payload)
