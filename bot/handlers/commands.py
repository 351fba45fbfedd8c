"""/handover and its subcommands (one command: free workspaces allow few)."""

from __future__ import annotations

import json
import logging

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot import texts
from bot.db import run_in_transaction
from bot.flows import digest
from bot.handlers import lookups
from bot.handlers.common import ctx_of
from bot.handlers.stats import stats_subcommand
from bot.slack import modals, people

log = logging.getLogger("handover.commands")


def open_capture(
    client: WebClient,
    ctx,
    trigger_id: str,
    *,
    prefill=None,
    metadata: dict | None = None,
    callback_id: str | None = None,
) -> None:
    """views.open is the one Web API call made on the request path: trigger ids expire in 3 s."""
    kwargs = {"callback_id": callback_id} if callback_id else {}
    client.views_open(
        trigger_id=trigger_id,
        view=modals.new_item(ctx.config, prefill=prefill, metadata=json.dumps(metadata or {}), **kwargs),
    )


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


def digest_subcommand(ack: Ack, command: dict, context: BoltContext, rest: str) -> None:
    """/handover digest off|on: switch one's weekly digest."""
    ctx = ctx_of(context)
    choice = rest.strip().lower()
    if choice not in ("on", "off"):
        ack(response_type="ephemeral", text=texts.say("help.j2", "digest_usage"))
        return
    user = command["user_id"]
    email = people.email_of(ctx, context.client, user)
    run_in_transaction(ctx.engine, lambda s: digest.set_enabled(s, email=email, user_id=user, enabled=choice == "on"))
    ack(response_type="ephemeral", text=texts.say("digest.j2", "switched_on" if choice == "on" else "switched_off"))


SUBCOMMANDS = {"help": help_subcommand, "digest": digest_subcommand, **lookups.SUBCOMMANDS}
SUBCOMMANDS["stats"] = stats_subcommand  # the figures of the last 30 days (bot/reports.py)


def register(app: App) -> None:
    app.command("/handover")(handover_command)
