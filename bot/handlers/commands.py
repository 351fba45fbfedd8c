"""/handover and its subcommands (one command: free workspaces allow few)."""

from __future__ import annotations

import json
import logging

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot import texts
from bot.handlers.common import ctx_of
from bot.slack import modals

log = logging.getLogger("handover.commands")


def open_capture(client: WebClient, ctx, trigger_id: str, *, prefill=None, metadata: dict | None = None,  # noqa: ANN001
                 callback_id: str | None = None) -> None:
    """views.open is the one Web API call made on the request path: trigger ids expire in 3 s."""
    kwargs = {"callback_id": callback_id} if callback_id else {}
    client.views_open(trigger_id=trigger_id,
                      view=modals.new_item(ctx.config, prefill=prefill, metadata=json.dumps(metadata or {}), **kwargs))


def handover_command(ack: Ack, command: dict, client: WebClient, context: BoltContext) -> None:
    ctx = ctx_of(context)
    words = (command.get("text") or "").strip().split(maxsplit=1)
    sub = words[0].lower() if words else "help"
    if sub == "new":
        ack()
        open_capture(client, ctx, command["trigger_id"])
        return
    handler = SUBCOMMANDS.get(sub)
    if handler is None:
        ack(response_type="ephemeral", text=texts.say("help.j2", "unknown", sub=sub))
        return
    handler(ack, command, context, words[1] if len(words) > 1 else "")


def help_subcommand(ack: Ack, command: dict, context: BoltContext, rest: str) -> None:
    ack(response_type="ephemeral", text=texts.say("help.j2", "help"))


# Later parts add: customer, mine, sent, stats.
SUBCOMMANDS = {"help": help_subcommand}


def register(app: App) -> None:
    app.command("/handover")(handover_command)
