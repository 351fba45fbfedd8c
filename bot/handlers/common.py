"""What every listener shares: the context, and the ephemeral "no" for a person."""

from __future__ import annotations

from typing import Any

from slack_bolt import BoltContext

from bot import messages, outbox
from bot.context import Context


def ctx_of(context: BoltContext) -> Context:
    return context["handover"]


def tell(session: Any, ctx: Context, *, channel: str | None, user: str, text: str, key: str) -> None:
    """An ephemeral answer to one person, sent by the outbox (never on the request path).
    Without a channel (a modal), it goes to the person's DM with the bot."""
    now = ctx.clock.now()
    if channel:
        outbox.enqueue(session, messages.Ephemeral(channel=channel, user=user, text=text), key=key, now=now,
                       channel_key=user)
    else:
        outbox.enqueue(session, messages.Direct(to_user=user, text=text), key=key, now=now, channel_key=user)
