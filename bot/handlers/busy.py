"""When the database is locked or restarting, the person who clicked, submitted or typed a
command is told so, at once, instead of Slack timing out (or a 500) — and nothing changed.

Listeners give up on the database after 2 s (``bot.db.answering_within``, set by bot/web.py);
this global Bolt error handler turns that into a clear answer:

- a slash command: the ack's text (Slack shows it to the person only);
- a button or menu: an ephemeral message where they clicked (chat.postEphemeral, straight from
  the request: the outbox lives in the database that is unavailable);
- a modal: the error under its first input, the modal stays open with what they typed;
- an Events API event: HTTP 503, so Slack delivers the event again later.

When Slack itself refuses the one call made on the request path (``views.open`` with an expired
trigger), the person is told the same way to try again, with the reason.

Any other error is a bug: logged with its traceback, and Slack gets Bolt's 500.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import texts
from bot.db import unavailable

log = logging.getLogger("handover.slack")


def busy_text() -> str:
    return texts.say("busy.j2", "busy")


def answer(error: Exception, body: dict[str, Any], client: WebClient) -> BoltResponse | None:
    kind = body.get("type")
    user = (body.get("user") or {}).get("id") or body.get("user_id")
    if isinstance(error, SlackApiError):
        # Slack refused the one call made on the request path (views.open with a stale or expired
        # trigger, a view that is gone): nothing of ours changed; the person is asked to try again.
        reason = error.response.get("error")
        level = logging.WARNING if "trigger" in str(reason) else logging.ERROR  # a stale click vs our trouble
        log.log(level, "Slack refused a call for %s: %s", user, reason)
        text: str = texts.say("busy.j2", "slack_refused")
        if kind == "event_callback":
            return BoltResponse(status=200, body="")
    elif unavailable(error):
        log.warning("database unavailable: told %s to try again (%s)", user, kind or body.get("command"))
        text = busy_text()
    else:
        log.exception("listener failed: %s", type(error).__name__, exc_info=error)
        return None  # Bolt answers 500
    if body.get("command"):
        return BoltResponse(status=200, body={"response_type": "ephemeral", "text": text})
    if kind == "view_submission":
        first_input = next(
            (
                b.get("block_id")
                for b in (body.get("view") or {}).get("blocks") or []
                if b.get("type") == "input" and b.get("block_id")
            ),
            None,
        )
        if first_input:
            return BoltResponse(status=200, body={"response_action": "errors", "errors": {first_input: text}})
    if kind == "event_callback":
        return BoltResponse(status=503, body="")
    channel = (body.get("container") or {}).get("channel_id") or (body.get("channel") or {}).get("id")
    try:
        if channel and user:
            client.chat_postEphemeral(channel=channel, user=user, text=text)
        elif user:
            client.chat_postMessage(channel=user, text=text)
    except Exception:  # noqa: BLE001  Slack trouble on top: nothing more we can do in this request
        log.warning("could not tell %s that the database is unavailable", user)
    return BoltResponse(status=200, body="")
