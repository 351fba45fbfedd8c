"""The boundary of ``/slack/events``: what arrives is checked before Bolt or a listener reads it.

1. :func:`screen` runs before Bolt, on the raw request: the v0 signature and its 5-minute window
   first, checked by slack_sdk's ``SignatureVerifier`` (so nothing unsigned is even parsed), then the
   shape: a body Bolt can parse, and the fields the listeners read present with the types, lengths and
   characters they expect (the pydantic models in :mod:`bot.handlers.payloads`). A request that fails
   gets 401 (signature) or 400 with the reason, and nothing runs. Bolt checks the signature again;
   that is cheap and keeps Bolt's own guarantees whole.
2. A reference that points nowhere (a button value, a checklist block id or a modal's
   ``private_metadata`` naming no item: garbage, an altered message, an id out of range) is answered
   by the middleware each listener is registered with (:mod:`bot.handlers.refs`); :func:`log_scope`
   opens the log scope those references add the item to.
3. :func:`register_fallbacks` answers what no listener handles: a button or form from an older
   version of the app, another slash command, an event type we don't subscribe to.

Socket Mode requests never pass through :func:`screen`: Slack authenticates the socket itself with
the app-level token, so there is no signature to check (see the README); their shape is checked by
the global middleware :func:`socket_mode_shape` instead, with the same models.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt import Ack, App, BoltContext, BoltRequest, BoltResponse
from slack_bolt.request import payload_utils as bolt
from slack_sdk.signature import SignatureVerifier

from bot import logs, texts
from bot.handlers import payloads
from bot.handlers.common import answer_at_the_boundary, notice_view
from bot.handlers.payloads import Malformed

log = logging.getLogger("handover.web")

MAX_DEPTH = 40


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
            text, headers.get("x-slack-request-timestamp"), headers.get("x-slack-signature")
        )
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
    if request.body != payload:  # a slash command whose text says "payload" (see parse)
        # Bolt builds its context from the payload it is given, and takes a dict only in Socket Mode;
        # the request is then made an HTTP one again, so Bolt checks the signature over the raw body
        request = BoltRequest(body=payload, query=query, headers=headers, mode="socket_mode")
        request.raw_body, request.mode = text, "http"
    return request


def check(payload: Any, *, form: bool = False) -> None:
    """Raise :class:`Malformed` unless ``payload`` has the shape the listeners rely on
    (bot/handlers/payloads.py) and Bolt can read it."""
    if not isinstance(payload, dict):
        raise Malformed(f"the payload must be a JSON object, not {_kind(payload)}")
    _clean(payload)
    payloads.validate(payload, form=form)
    if not form:
        _bolt_can_read(payload)


def _bolt_can_read(payload: dict[str, Any]) -> None:
    """Build what Bolt builds on every request before any listener (its context, the arguments it
    offers listeners and middleware), through its public API: a payload that would break it is
    malformed, whatever the models missed."""
    try:
        BoltRequest(body=payload, mode="socket_mode")  # a dict body is only taken in that mode; nothing is sent
        for extract in (
            bolt.to_options,
            bolt.to_shortcut,
            bolt.to_action,
            bolt.to_view,
            bolt.to_command,
            bolt.to_event,
            bolt.to_message,
            bolt.to_step,
        ):
            extract(payload)
    except Exception as exc:  # noqa: BLE001  (whatever breaks Bolt's reading is the payload's fault)
        raise Malformed(f"Slack's own library can't read it ({type(exc).__name__})") from None


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null"}.get(
        type(value), "a number"
    )


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


# ----- 2. one scope for the log lines of each request ------------------------------------------------


def log_scope(body: dict[str, Any], next: Callable[[], None]) -> None:
    """Global middleware: the request's log scope (Socket Mode opens none of its own); a listener's
    reference adds the item to it (bot/handlers/refs.py)."""
    logs.ensure_request(body.get("event_id") if isinstance(body.get("event_id"), str) else None)
    next()


def socket_mode_shape(req: BoltRequest, body: dict[str, Any], next: Callable[[], Any]) -> Any:
    """Global middleware: a Socket Mode request gets the shape check an HTTP request gets in
    :func:`screen` (over Socket Mode there is no signature to check first: the app token is the
    trust). A malformed one is acknowledged — Slack would only send it again — and logged; no
    listener sees it. HTTP requests were screened before Bolt."""
    if req.mode == "socket_mode":
        try:
            check(body, form="command" in body and "type" not in body)
        except Malformed as refused:
            log.warning("refused a Socket Mode request: malformed Slack request: %s", refused)
            return BoltResponse(status=200, body="")
    return next()


# ----- 3. what no listener handles ---------------------------------------------------------------------


def _unknown_button(ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext) -> None:
    if not action.get("url"):  # a link button: Slack opened the link, it only wants the ack
        answer_at_the_boundary(body, context, texts.say("boundary.j2", "unknown_button"))
    ack()


def _unknown_form(ack: Ack) -> None:
    ack(response_action="update", view=notice_view(texts.say("boundary.j2", "unknown_form")))


def _unknown_shortcut(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    answer_at_the_boundary(body, context, texts.say("boundary.j2", "unknown_shortcut"), in_dm=True)
    ack()


def _unknown_command(ack: Ack, command: dict[str, Any]) -> None:
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
