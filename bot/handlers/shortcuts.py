"""Global shortcut "Hand over an item" and message shortcut "Hand over this message"."""

from __future__ import annotations

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot import db
from bot.flows import capture
from bot.handlers.commands import open_capture
from bot.handlers.common import ctx_of
from bot.ids import CallbackId


def new_item_shortcut(ack: Ack, shortcut: dict, client: WebClient, context: BoltContext) -> None:
    ack()
    open_capture(client, ctx_of(context), shortcut["trigger_id"])


def message_shortcut(ack: Ack, shortcut: dict, client: WebClient, context: BoltContext) -> None:
    ack()
    message = shortcut.get("message") or {}
    ctx = ctx_of(context)
    with db.reading(ctx.engine) as session:  # the message's markup as plain text, for the modal's input
        text = capture.message_as_typed(session, message.get("text") or "")
    channel = (shortcut.get("channel") or {}).get("id")
    open_capture(
        client,
        ctx,
        shortcut["trigger_id"],
        prefill={"description": text},
        metadata={"from_channel": channel, "from_ts": message.get("ts")},
    )


def register(app: App) -> None:
    app.shortcut(CallbackId.NEW_ITEM_SHORTCUT)(new_item_shortcut)
    app.shortcut(CallbackId.MESSAGE_SHORTCUT)(message_shortcut)
