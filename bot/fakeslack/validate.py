"""Block Kit checks, as Slack applies them when a message or a view arrives.

The fake answers ``invalid_blocks`` (with Slack's json-pointer style reasons) for anything
Slack would refuse, so a test fails where production would. The limits are Slack's published
ones (api.slack.com/reference/block-kit).
"""

from __future__ import annotations

from typing import Any

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
MESSAGE_TEXT = 40_000

TEXT_TYPES = {"plain_text", "mrkdwn"}
BLOCK_TYPES = {"section", "header", "context", "actions", "divider", "input", "image", "rich_text", "file", "video"}
ELEMENT_TYPES = {
    "button",
    "checkboxes",
    "radio_buttons",
    "static_select",
    "multi_static_select",
    "users_select",
    "multi_users_select",
    "conversations_select",
    "channels_select",
    "overflow",
    "datepicker",
    "timepicker",
    "plain_text_input",
    "email_text_input",
    "number_input",
    "url_text_input",
    "image",
    "external_select",
}
INPUT_ELEMENTS = {
    "checkboxes",
    "radio_buttons",
    "static_select",
    "multi_static_select",
    "users_select",
    "multi_users_select",
    "conversations_select",
    "channels_select",
    "datepicker",
    "timepicker",
    "plain_text_input",
    "email_text_input",
    "number_input",
    "url_text_input",
    "external_select",
}


class _Check:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def fail(self, where: str, why: str) -> None:
        self.errors.append(f"{why} [json-pointer:{where}]")

    def text(self, obj: Any, where: str, *, limit: int, plain_only: bool = False, required: bool = True) -> None:
        if obj is None:
            if required:
                self.fail(where, "missing required field: text")
            return
        if not isinstance(obj, dict) or obj.get("type") not in TEXT_TYPES:
            self.fail(where, "must be a text object (plain_text or mrkdwn)")
            return
        if plain_only and obj["type"] != "plain_text":
            self.fail(where + "/type", "must be plain_text")
        value = obj.get("text")
        if not isinstance(value, str) or not value:
            self.fail(where + "/text", "must be more than 0 characters")
        elif len(value) > limit:
            self.fail(where + "/text", f"must be less than {limit + 1} characters")

    def length(self, value: Any, where: str, limit: int, *, required: bool = False) -> None:
        if value is None:
            if required:
                self.fail(where, "missing required field")
            return
        if not isinstance(value, str):
            self.fail(where, "must be a string")
        elif len(value) > limit:
            self.fail(where, f"must be less than {limit + 1} characters")

    def options(self, options: Any, where: str, *, limit: int, text_limit: int = 75) -> set[str]:
        values: set[str] = set()
        if not isinstance(options, list) or not options:
            self.fail(where, "must provide at least 1 option")
            return values
        if len(options) > limit:
            self.fail(where, f"must provide no more than {limit} items")
        for n, option in enumerate(options):
            w = f"{where}/{n}"
            if not isinstance(option, dict):
                self.fail(w, "must be an option object")
                continue
            self.text(option.get("text"), w + "/text", limit=text_limit)
            self.length(option.get("value"), w + "/value", 150, required=True)
            if option.get("description") is not None:
                self.text(option.get("description"), w + "/description", limit=text_limit)
            if isinstance(option.get("value"), str):
                if option["value"] in values:
                    self.fail(w + "/value", "duplicate option value")
                values.add(option["value"])
        return values

    def element(self, el: Any, where: str) -> None:
        if not isinstance(el, dict) or el.get("type") not in ELEMENT_TYPES:
            self.fail(where, f"unsupported element type {el.get('type') if isinstance(el, dict) else el!r}")
            return
        kind = el["type"]
        if kind != "image":
            self.length(el.get("action_id"), where + "/action_id", 255)
        if kind == "button":
            self.text(el.get("text"), where + "/text", limit=75, plain_only=True)
            self.length(el.get("value"), where + "/value", 2000)
            self.length(el.get("url"), where + "/url", 3000)
            if el.get("style") not in (None, "primary", "danger"):
                self.fail(where + "/style", "must be primary or danger")
        elif kind in ("checkboxes", "radio_buttons", "static_select", "multi_static_select", "overflow"):
            limit = {"checkboxes": 10, "radio_buttons": 10, "overflow": 5}.get(kind, 100)
            values = self.options(el.get("options"), where + "/options", limit=limit)
            initial = el.get("initial_options") or ([el["initial_option"]] if el.get("initial_option") else [])
            for n, option in enumerate(initial):
                if not isinstance(option, dict) or option.get("value") not in values:
                    self.fail(f"{where}/initial_options/{n}", "must match one of the options")
        elif kind in ("plain_text_input", "email_text_input", "url_text_input", "number_input"):
            self.length(el.get("initial_value"), where + "/initial_value", 3000)
            max_length = el.get("max_length")
            if max_length is not None and (not isinstance(max_length, int) or not 0 < max_length <= 3000):
                self.fail(where + "/max_length", "must be between 1 and 3000")
            if (
                isinstance(max_length, int)
                and isinstance(el.get("initial_value"), str)
                and len(el["initial_value"]) > max_length
            ):
                self.fail(where + "/initial_value", f"must be less than {max_length + 1} characters")
        if el.get("placeholder") is not None:
            self.text(el.get("placeholder"), where + "/placeholder", limit=150, plain_only=True)

    def block(self, block: Any, where: str, *, in_view: bool) -> None:
        if not isinstance(block, dict) or block.get("type") not in BLOCK_TYPES:
            self.fail(where, f"unsupported block type {block.get('type') if isinstance(block, dict) else block!r}")
            return
        kind = block["type"]
        self.length(block.get("block_id"), where + "/block_id", 255)
        if kind == "section":
            if block.get("text") is None and not block.get("fields"):
                self.fail(where, "must provide text or fields")
            if block.get("text") is not None:
                self.text(block["text"], where + "/text", limit=3000)
            fields = block.get("fields") or []
            if len(fields) > 10:
                self.fail(where + "/fields", "must provide no more than 10 items")
            for n, f in enumerate(fields):
                self.text(f, f"{where}/fields/{n}", limit=2000)
            if block.get("accessory") is not None:
                self.element(block["accessory"], where + "/accessory")
        elif kind == "header":
            self.text(block.get("text"), where + "/text", limit=150, plain_only=True)
        elif kind == "context":
            elements = block.get("elements") or []
            if not elements or len(elements) > 10:
                self.fail(where + "/elements", "must provide between 1 and 10 items")
            for n, e in enumerate(elements):
                if isinstance(e, dict) and e.get("type") in TEXT_TYPES:
                    self.text(e, f"{where}/elements/{n}", limit=3000)
                else:
                    self.element(e, f"{where}/elements/{n}")
        elif kind == "actions":
            elements = block.get("elements") or []
            if not elements or len(elements) > 25:
                self.fail(where + "/elements", "must provide between 1 and 25 items")
            seen: set[str] = set()
            for n, e in enumerate(elements):
                self.element(e, f"{where}/elements/{n}")
                aid = e.get("action_id") if isinstance(e, dict) else None
                if aid in seen:
                    self.fail(f"{where}/elements/{n}/action_id", "action_id must be unique in the block")
                if aid:
                    seen.add(aid)
        elif kind == "input":
            if not in_view:
                self.fail(where, "input blocks are only allowed in views")
            self.text(block.get("label"), where + "/label", limit=2000, plain_only=True)
            if block.get("hint") is not None:
                self.text(block["hint"], where + "/hint", limit=2000, plain_only=True)
            el = block.get("element")
            if not isinstance(el, dict) or el.get("type") not in INPUT_ELEMENTS:
                self.fail(where + "/element", "must be an input element")
            else:
                self.element(el, where + "/element")
        elif kind == "image":
            self.length(block.get("image_url"), where + "/image_url", 3000, required=not block.get("slack_file"))
            self.length(block.get("alt_text"), where + "/alt_text", 2000, required=True)

    def blocks(self, blocks: Any, *, limit: int, in_view: bool, where: str = "/blocks") -> None:
        if not isinstance(blocks, list):
            self.fail(where, "must be an array")
            return
        if len(blocks) > limit:
            self.fail(where, f"must provide no more than {limit} items")
        ids: set[str] = set()
        for n, block in enumerate(blocks):
            self.block(block, f"{where}/{n}", in_view=in_view)
            bid = block.get("block_id") if isinstance(block, dict) else None
            if bid:
                if bid in ids:
                    self.fail(f"{where}/{n}/block_id", "block_id must be unique")
                ids.add(bid)


def validate_blocks(blocks: Any) -> list[str]:
    """Slack's reasons for refusing a message's blocks; empty when Slack would accept them."""
    check = _Check()
    check.blocks(blocks, limit=MESSAGE_BLOCKS, in_view=False)
    return check.errors


def validate_view(view: Any) -> list[str]:
    """Slack's reasons for refusing a view (modal or Home tab); empty when it would be accepted."""
    check = _Check()
    if not isinstance(view, dict):
        return ["must be an object [json-pointer:/view]"]
    kind = view.get("type")
    if kind not in ("modal", "home"):
        check.fail("/view/type", "must be modal or home")
    check.blocks(view.get("blocks"), limit=VIEW_BLOCKS, in_view=True, where="/view/blocks")
    check.length(view.get("private_metadata"), "/view/private_metadata", 3000)
    check.length(view.get("callback_id"), "/view/callback_id", 255)
    if kind == "modal":
        check.text(view.get("title"), "/view/title", limit=24, plain_only=True)
        for key in ("submit", "close"):
            if view.get(key) is not None:
                check.text(view[key], f"/view/{key}", limit=24, plain_only=True)
        has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks") or [])
        if has_input and view.get("submit") is None:
            check.fail("/view/submit", "a modal with input blocks needs a submit button")
    return check.errors
