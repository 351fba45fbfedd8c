"""The boundary of ``/slack/events``: what arrives is checked before Bolt or a listener reads it.

1. :func:`screen` runs before Bolt, on the raw request: the v0 signature and its 5-minute window
   first, checked by slack_sdk's ``SignatureVerifier`` (so nothing unsigned is even parsed), then the shape — a body Bolt can parse, and the
   fields the listeners read present with the types, lengths and characters they expect. A request
   that fails gets 401 (signature) or 400 with the reason, and nothing runs. Bolt checks the
   signature again; that is cheap and keeps Bolt's own guarantees whole.
2. :func:`stale_refs` is a Bolt middleware: a button value, a checklist block id or a modal's
   ``private_metadata`` that does not point at an item (garbage, an altered message, an id out of
   range) gets a clear answer for the person — an ephemeral message, or the modal replaced by a
   short explanation — and nothing changes. Item references that do parse name the item in the
   log lines of the request (:mod:`bot.logs`).
3. :func:`register_fallbacks` answers what no listener handles: a button or form from an older
   version of the app, another slash command, an event type we don't subscribe to.

Socket Mode requests never pass through here: Slack authenticates the socket itself with the
app-level token, so there is no signature to check (see the README).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt import Ack, App, BoltContext, BoltRequest, BoltResponse
from slack_bolt.request.internals import build_context
from slack_sdk.signature import SignatureVerifier

from bot import logs, texts
from bot.db import run_in_transaction
from bot.handlers.common import tell
from bot.ids import ActionId, CallbackId, ItemRef, LookupRef, NotesRef, ReviewRef, SnoozeRef

MAX_DEPTH = 40
MAX_ID = 2**31 - 1  # item and review ids are INTEGER columns
SLACK_ID = re.compile(r"^[A-Z0-9]{1,32}$")  # users, channels, teams, enterprises, apps, bots
TOKEN = re.compile(r"^[\x21-\x7e]{1,128}$")  # trigger ids, timestamps, view ids, hashes: printable ASCII


class Malformed(ValueError):
    """The request is not what Slack sends; the message says where and why."""


class Rejected(Exception):
    """The request goes no further: ``status`` and ``reason`` are the answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


# ----- 1. before Bolt --------------------------------------------------------------------------------

def screen(body: bytes, headers: Any, signing_secret: str) -> dict[str, Any]:
    """The parsed payload of a request that may go on to Bolt; raises :class:`Rejected` otherwise."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:  # Slack signs UTF-8 only, and slack_sdk's verifier reads text
        raise Rejected(401, f"the body is not UTF-8 (byte {exc.start}), so not a request Slack signed") from None
    try:
        signed = SignatureVerifier(signing_secret).is_valid(
            text, headers.get("x-slack-request-timestamp"), headers.get("x-slack-signature"))
    except (ValueError, TypeError, OverflowError):  # no secret, a timestamp that is not a number, a non-ASCII signature
        signed = False
    if not signed:
        raise Rejected(401, "missing or invalid signature, or a timestamp more than 5 minutes off")
    content_type = (headers.get("content-type") or "").split(";")[0].strip() or None
    try:
        payload, form = parse(text, content_type)
    except (ValueError, RecursionError):
        raise Rejected(400, "the body is not valid JSON") from None
    try:
        check(payload, form=form)
    except Malformed as exc:
        raise Rejected(400, f"malformed Slack request: {exc}") from None
    return payload


def parse(text: str, content_type: str | None) -> tuple[Any, bool]:
    """The payload as Bolt parses it (and whether it was a plain form, e.g. a slash command) — except
    that a form is only taken for an interaction payload when it has a ``payload`` field: Bolt looks
    for the word anywhere in the body, so ``/handover customer payload`` would reach it empty."""
    if not text:
        return {}, True
    if content_type == "application/json" or text.startswith("{"):
        return json.loads(text), False
    params = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" in params:
        return json.loads(params["payload"]), False
    return params, True


def bolt_request(text: str, payload: dict[str, Any], query: Any, headers: Any) -> BoltRequest:
    """Bolt's request for a screened body, with the payload :func:`parse` found."""
    request = BoltRequest(body=text, query=query, headers=headers)
    if request.body != payload:
        request.body = payload
        request.context = build_context(BoltContext({}), payload)
    return request


def check(payload: Any, *, form: bool = False) -> None:
    """Raise :class:`Malformed` unless ``payload`` has the shape the listeners rely on."""
    if not isinstance(payload, dict):
        raise Malformed(f"the payload must be a JSON object, not {_kind(payload)}")
    _clean(payload)
    if form and "command" in payload:
        for key in ("command", "user_id", "trigger_id"):
            if not payload.get(key):
                raise Malformed(f"{key} is missing")
        _id(payload, "user_id", "command")
        _id(payload, "channel_id", "command")
        _id(payload, "team_id", "command")
        _token(payload, "trigger_id", "command")
        return
    if form:
        return  # ssl_check and the like: Bolt answers them or says it does not handle them
    kind = _str(payload, "type", "payload", required=True)
    for key in ("view", "actions", "event", "state", "container", "message"):
        if key in payload and payload[key] is None:
            raise Malformed(f"payload.{key} is null")
    _str(payload, "callback_id", "payload", max_length=255)  # every listener matcher compares it as text
    _envelope(payload)
    if kind == "event_callback":
        _event_envelope(payload)
    elif kind == "url_verification":
        _str(payload, "challenge", "payload", required=True)
    elif kind in ("block_actions", "view_submission", "view_closed", "shortcut", "message_action",
                  "block_suggestion"):
        _person(payload, kind)
    _bolt_can_read(payload)


def _bolt_can_read(payload: dict[str, Any]) -> None:
    """Run what Bolt runs on every request before any listener (its context, the arguments it
    offers listeners and middleware, its log line for unhandled requests): a payload that would
    break it is malformed, whatever the checks above missed."""
    from slack_bolt.logger.messages import _build_filtered_body
    from slack_bolt.request import payload_utils as bolt
    try:
        build_context(BoltContext({}), payload)
        for extract in (bolt.to_options, bolt.to_shortcut, bolt.to_action, bolt.to_view, bolt.to_command,
                        bolt.to_event, bolt.to_message, bolt.to_step):
            extract(payload)
        _build_filtered_body(payload)
    except Exception as exc:  # noqa: BLE001  (whatever breaks Bolt's reading is the payload's fault)
        raise Malformed(f"Slack's own library can't read it ({type(exc).__name__})") from None


# the parts of a payload Bolt reads to build its context, at the levels it reads them
NESTED = ("event", "message", "previous_message", "item", "assistant_thread")


def _envelope(p: dict[str, Any], where: str = "payload", depth: int = 0) -> None:
    for key in ("team", "enterprise", "user", "channel"):
        value = p.get(key)
        if isinstance(value, dict):
            _id(value, "id", f"{where}.{key}")
            _id(value, "team_id", f"{where}.{key}")
            _id(value, "enterprise_id", f"{where}.{key}")
        elif value is not None and not isinstance(value, str):
            raise Malformed(f"{where}.{key} must be an object or a string, not {_kind(value)}")
        elif key in ("user", "channel") and value is not None:
            _id(p, key, where)
    for key in ("team_id", "enterprise_id", "user_id", "channel_id", "api_app_id", "context_team_id",
                "context_enterprise_id", "app_installed_team_id"):
        _id(p, key, where)
    _token(p, "thread_ts", where)
    for key in ("function_execution_id", "bot_access_token"):
        _str(p, key, where, max_length=255)
    for key in ("is_enterprise_install", "is_ext_shared_channel"):
        if p.get(key) is not None and not isinstance(p[key], (bool, str)):
            raise Malformed(f"{where}.{key} must be true or false")
    for n, auth in enumerate(_list(p, "authorizations", where) or []):
        if not isinstance(auth, dict):
            raise Malformed(f"{where}.authorizations[{n}] must be an object")
        _envelope(auth, f"{where}.authorizations[{n}]", depth + 1)
    for n, url in enumerate(_list(p, "response_urls", where) or []):
        if not isinstance(url, dict):
            raise Malformed(f"{where}.response_urls[{n}] must be an object")
        _str(url, "response_url", f"{where}.response_urls[{n}]", max_length=3000)
    _str(p, "response_url", where, max_length=3000)
    data = _obj(p, "function_data", where)
    if data is not None:
        _obj(data, "inputs", f"{where}.function_data")
    view = _obj(p, "view", where)
    if view is not None:
        _id(view, "team_id", f"{where}.view")
        _id(view, "app_installed_team_id", f"{where}.view")
    if depth < 3:
        for key in NESTED:
            nested = _obj(p, key, where)
            if nested is not None:
                _envelope(nested, f"{where}.{key}", depth + 1)


def _event_envelope(p: dict[str, Any]) -> None:
    _str(p, "event_id", "payload", required=True, max_length=64)
    event = _obj(p, "event", "payload", required=True)
    _str(event, "type", "event", required=True, max_length=100)
    for key in ("subtype", "text", "bot_id", "tab", "channel_type", "user_team", "team", "source_team"):
        _str(event, key, "event")
    for key in ("ts", "thread_ts", "event_ts"):
        _token(event, key, "event")
    _obj(event, "view", "event")
    if event["type"] in ("message", "app_home_opened"):  # the events we listen to name people by id
        for key in ("user", "channel"):
            if event.get(key) is not None and not isinstance(event[key], str):
                raise Malformed(f"event.{key} must be a Slack id, not {_kind(event[key])}")
    if event["type"] == "message" and event.get("user") and not event.get("subtype"):
        for key in ("channel", "ts"):  # what the reply relay reads
            if not isinstance(event.get(key), str):
                raise Malformed(f"event.{key} is missing")


def _person(p: dict[str, Any], kind: str) -> None:
    user = _obj(p, "user", "payload", required=True)
    if not user.get("id"):
        raise Malformed("user.id is missing")
    for key in ("trigger_id", "action_ts", "message_ts"):
        _token(p, key, "payload")
    _str(p, "callback_id", "payload", max_length=255)
    if kind in ("block_actions", "shortcut", "message_action") and not p.get("trigger_id"):
        raise Malformed("trigger_id is missing")
    if kind in ("shortcut", "message_action") and not p.get("callback_id"):
        raise Malformed("callback_id is missing")
    if isinstance(p.get("channel"), str):
        raise Malformed("channel must be an object")
    container = _obj(p, "container", "payload")
    if container is not None:
        _id(container, "channel_id", "container")
        for key in ("message_ts", "view_id", "thread_ts"):
            _token(container, key, "container")
        _str(container, "type", "container")
    message = _obj(p, "message", "payload")
    if message is not None:
        _message(message)
    view = _obj(p, "view", "payload", required=kind in ("view_submission", "view_closed"))
    if view is not None:
        _view(view, submitted=kind in ("view_submission", "view_closed"))
    state = _obj(p, "state", "payload")
    if state is not None:
        _state(state, "state")
    actions = _list(p, "actions", "payload")
    if kind == "block_actions" and not actions:
        raise Malformed("actions is missing or empty")
    for n, action in enumerate(actions or []):
        _action(action, f"actions[{n}]")


def _message(m: dict[str, Any]) -> None:
    for key in ("ts", "thread_ts"):
        _token(m, key, "message")
    _str(m, "text", "message")
    for n, block in enumerate(_list(m, "blocks", "message") or []):
        where = f"message.blocks[{n}]"
        if not isinstance(block, dict):
            raise Malformed(f"{where} must be an object")
        _str(block, "block_id", where, max_length=255)
        _str(block, "type", where)
        elements = _list(block, "elements", where) or []
        accessory = _obj(block, "accessory", where)
        for k, element in enumerate(elements + ([accessory] if accessory else [])):
            if not isinstance(element, dict):
                continue  # context blocks hold text elements; nobody reads them
            _str(element, "action_id", f"{where}.elements[{k}]", max_length=255)
            _options(element, "options", f"{where}.elements[{k}]")


def _view(v: dict[str, Any], *, submitted: bool) -> None:
    for key in ("id", "hash", "root_view_id", "previous_view_id"):
        _token(v, key, "view")
    _str(v, "type", "view", max_length=64)
    if submitted:
        for key in ("id", "callback_id", "type"):
            if not v.get(key):
                raise Malformed(f"view.{key} is missing")
    _str(v, "callback_id", "view", max_length=255)
    _str(v, "private_metadata", "view", max_length=3000)
    _str(v, "external_id", "view", max_length=255)
    state = _obj(v, "state", "view")
    if state is not None:
        _state(state, "view.state")


def _state(state: dict[str, Any], where: str) -> None:
    if "values" in state and not isinstance(state["values"], dict):
        raise Malformed(f"{where}.values must be an object, not {_kind(state['values'])}")
    values = _obj(state, "values", where)
    for block_id, actions in (values or {}).items():
        if len(block_id) > 255 or not isinstance(actions, dict):
            raise Malformed(f"{where}.values.{block_id[:40]} must be an object")
        for action_id, entry in actions.items():
            at = f"{where}.values.{block_id[:40]}.{action_id[:40]}"
            if not isinstance(entry, dict):
                raise Malformed(f"{at} must be an object")
            for key in ("type", "value", "selected_user", "selected_date", "selected_channel",
                        "selected_conversation", "selected_time"):
                _str(entry, key, at)
            option = _obj(entry, "selected_option", at)
            if option is not None:
                _str(option, "value", f"{at}.selected_option", required=True)
            _options(entry, "selected_options", at)
            for key in ("selected_users", "selected_channels", "selected_conversations"):
                for n, one in enumerate(_list(entry, key, at) or []):
                    if not isinstance(one, str):
                        raise Malformed(f"{at}.{key}[{n}] must be a string")


def _action(a: Any, where: str) -> None:
    if not isinstance(a, dict):
        raise Malformed(f"{where} must be an object")
    _str(a, "action_id", where, required=True, max_length=255)
    _str(a, "block_id", where, max_length=255)
    _str(a, "value", where, max_length=2000)
    _str(a, "type", where)
    _token(a, "action_ts", where)
    option = _obj(a, "selected_option", where)
    if option is not None:
        _str(option, "value", f"{where}.selected_option", required=True, max_length=2000)
    _options(a, "selected_options", where)


def _options(doc: dict[str, Any], key: str, where: str) -> None:
    for n, option in enumerate(_list(doc, key, where) or []):
        if not isinstance(option, dict):
            raise Malformed(f"{where}.{key}[{n}] must be an object")
        _str(option, "value", f"{where}.{key}[{n}]", required=True, max_length=2000)


# ----- small checkers ----------------------------------------------------------------------------------

def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null"}.get(
        type(value), "a number")


def _str(doc: dict[str, Any], key: str, where: str, *, required: bool = False,
         max_length: int | None = None) -> str | None:
    value = doc.get(key)
    if value is None:
        if required:
            raise Malformed(f"{where}.{key} is missing")
        return None
    if not isinstance(value, str):
        raise Malformed(f"{where}.{key} must be a string, not {_kind(value)}")
    if max_length is not None and len(value) > max_length:
        raise Malformed(f"{where}.{key} is longer than {max_length} characters")
    return value


def _id(doc: dict[str, Any], key: str, where: str) -> None:
    value = doc.get(key)
    if value is not None and value != "" and not (isinstance(value, str) and SLACK_ID.match(value)):
        raise Malformed(f"{where}.{key} is not a Slack id")


def _token(doc: dict[str, Any], key: str, where: str) -> None:
    value = doc.get(key)
    if value is not None and value != "" and not (isinstance(value, str) and TOKEN.match(value)):
        raise Malformed(f"{where}.{key} is not a valid id or timestamp")


def _obj(doc: dict[str, Any], key: str, where: str, *, required: bool = False) -> dict[str, Any] | None:
    value = doc.get(key)
    if value is None:
        if required:
            raise Malformed(f"{where}.{key} is missing")
        return None
    if not isinstance(value, dict):
        raise Malformed(f"{where}.{key} must be an object, not {_kind(value)}")
    return value


def _list(doc: dict[str, Any], key: str, where: str) -> list[Any] | None:
    value = doc.get(key)
    if value is None:
        return None
    if not isinstance(value, list):
        raise Malformed(f"{where}.{key} must be a list, not {_kind(value)}")
    return value


def _clean(doc: Any) -> None:
    """No NUL characters or unpaired surrogates anywhere (no database or Slack takes them), and no
    absurd nesting. Iterative, so a deeply nested body can't exhaust the stack."""
    stack = [(doc, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise Malformed(f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, str):
            _text(value)
        elif isinstance(value, dict):
            for k, v in value.items():
                _text(k)
                stack.append((v, depth + 1))
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)


def _text(value: str) -> None:
    if "\x00" in value:
        raise Malformed("a string contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Malformed("a string contains an unpaired surrogate (not text)") from None


# ----- 2. item references that point nowhere ----------------------------------------------------------

ITEM_VALUE_ACTIONS = {ActionId.ACCEPT, ActionId.CLOSE, ActionId.REOPEN, ActionId.RECATEGORIZE, ActionId.ASK,
                      ActionId.REASSIGN, ActionId.DISCARD, ActionId.FOLLOW_UP, ActionId.ACCEPT_NOTE,
                      ActionId.FEEDBACK, ActionId.SHOW_NOTES}
REVIEW_ACTIONS = {ActionId.REVIEW_GOOD_GROUNDS, ActionId.REVIEW_REOPEN}
LOOKUP_ACTIONS = {ActionId.LOOKUP_PICK, ActionId.LOOKUP_MORE}
ITEM_FORMS = {CallbackId.RECATEGORIZE, CallbackId.ASK, CallbackId.REASSIGN, CallbackId.DISCARD,
              CallbackId.FOLLOW_UP, CallbackId.ACCEPT_NOTE, CallbackId.FEEDBACK}
CHECKLIST = re.compile(rf"^{ActionId.CHECKLIST.value}:\d+$")


def _in_range(n: int) -> bool:
    return 1 <= n <= MAX_ID


def referenced(body: dict[str, Any]) -> tuple[bool, int | None]:
    """(whether the request is one that must carry a reference, the item id when it is a good one).
    A request that must carry one and gives (None) is answered by :func:`stale_refs`."""
    if body.get("type") == "block_actions":
        action = (body.get("actions") or [{}])[0]
        action_id = action.get("action_id") or ""
        if action_id in ITEM_VALUE_ACTIONS:
            ref = ItemRef.parse(action.get("value"))
            return True, ref.item if ref and _in_range(ref.item) else None
        if CHECKLIST.match(action_id):
            ref = ItemRef.parse((action.get("block_id") or "").partition("|")[2])
            return True, ref.item if ref and _in_range(ref.item) else None
        if action_id == ActionId.NOTES_PAGE:
            page = NotesRef.parse(action.get("value"))
            return True, page.item if page and _in_range(page.item) and page.p <= MAX_ID else None
        if action_id == ActionId.SNOOZE:
            snooze = SnoozeRef.parse((action.get("selected_option") or {}).get("value"))
            return True, snooze.item if snooze and _in_range(snooze.item) else None
        if action_id in REVIEW_ACTIONS:
            review = ReviewRef.parse(action.get("value"))
            return True, 0 if review and _in_range(review.entry) else None
        if action_id in LOOKUP_ACTIONS:
            lookup = LookupRef.parse(action.get("value"))
            good = lookup is not None and (lookup.c is None or _in_range(lookup.c)) and lookup.p <= MAX_ID
            return True, 0 if good else None
    if body.get("type") == "view_submission":
        view = body.get("view") or {}
        if view.get("callback_id") in ITEM_FORMS:
            ref = ItemRef.parse(view.get("private_metadata"))
            return True, ref.item if ref and _in_range(ref.item) else None
    return False, None


def notice_view(text: str) -> dict[str, Any]:
    """A modal that only says something (what replaces a form that can't be submitted)."""
    return {"type": "modal", "title": {"type": "plain_text", "text": "Handover"},
            "close": {"type": "plain_text", "text": "Close"},
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def stale_refs(body: dict[str, Any], context: BoltContext, next: Callable[[], None]) -> BoltResponse | None:
    logs.ensure_request(body.get("event_id") if isinstance(body.get("event_id"), str) else None)
    must, item_id = referenced(body)
    if item_id:
        logs.bind(item_id=item_id)
    if not must or item_id is not None:
        return next()
    user = (body.get("user") or {}).get("id") or ""
    if body.get("type") == "view_submission":
        return BoltResponse(status=200, body=json.dumps({"response_action": "update",
                                                         "view": notice_view(texts.say("boundary.j2", "bad_form"))}),
                            headers={"content-type": ["application/json"]})
    ctx = context["handover"]
    action = (body.get("actions") or [{}])[0]
    channel = (body.get("container") or {}).get("channel_id") or (body.get("channel") or {}).get("id")
    key = f"boundary:{user}:{action.get('action_ts') or body.get('trigger_id') or uuid.uuid4().hex}"
    run_in_transaction(ctx.engine, lambda s: tell(s, ctx, channel=channel, user=user, key=key,
                                                  text=texts.say("boundary.j2", "bad_button")))
    return BoltResponse(status=200, body="")


# ----- 3. what no listener handles ---------------------------------------------------------------------

def _unknown_button(ack: Ack, body: dict, action: dict, context: BoltContext) -> None:
    if action.get("url"):  # a link button: Slack opened the link, it only wants the ack
        ack()
        return
    ctx = context["handover"]
    user = body["user"]["id"]
    channel = (body.get("container") or {}).get("channel_id") or (body.get("channel") or {}).get("id")
    key = f"boundary:{user}:{action.get('action_ts') or body.get('trigger_id') or uuid.uuid4().hex}"
    run_in_transaction(ctx.engine, lambda s: tell(s, ctx, channel=channel, user=user, key=key,
                                                  text=texts.say("boundary.j2", "unknown_button")))
    ack()


def _unknown_form(ack: Ack) -> None:
    ack(response_action="update", view=notice_view(texts.say("boundary.j2", "unknown_form")))


def _unknown_shortcut(ack: Ack, body: dict, context: BoltContext) -> None:
    ctx = context["handover"]
    user = body["user"]["id"]
    key = f"boundary:{user}:{body.get('trigger_id') or uuid.uuid4().hex}"
    run_in_transaction(ctx.engine, lambda s: tell(s, ctx, channel=None, user=user, key=key,
                                                  text=texts.say("boundary.j2", "unknown_shortcut")))
    ack()


def _unknown_command(ack: Ack, command: dict) -> None:
    ack(response_type="ephemeral", text=texts.say("boundary.j2", "unknown_command", command=command.get("command")))


def _ignore(ack: Ack) -> None:
    ack()


def register_fallbacks(app: App) -> None:
    """Call after every real listener is registered: Bolt runs the first listener that matches."""
    anything = re.compile(r"(?s).*")
    app.action(anything)(_unknown_button)
    app.view(anything)(_unknown_form)
    app.view_closed(anything)(_ignore)
    app.shortcut(anything)(_unknown_shortcut)
    app.command(anything)(_unknown_command)
    app.event(anything)(_ignore)
