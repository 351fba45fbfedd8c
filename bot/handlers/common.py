"""What every listener shares: the context, the ephemeral "no" for a person, and :func:`acting`, the
decorator that hands a listener the person acting, the reference its registration checked
(bot/handlers/refs.py) and a database session, and acks."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient
from sqlmodel import Session

from bot import messages, outbox
from bot.context import Context
from bot.db import run_in_transaction
from bot.slack import people

R = TypeVar("R")


def ctx_of(context: BoltContext) -> Context:
    return cast(Context, context["handover"])


def tell(session: Any, ctx: Context, *, channel: str | None, user: str, text: str, key: str) -> None:
    """An ephemeral answer to one person, sent by the outbox (never on the request path).
    Without a channel (a modal), it goes to the person's DM with the bot."""
    now = ctx.clock.now()
    if channel:
        outbox.enqueue(
            session, messages.Ephemeral(channel=channel, user=user, text=text), key=key, now=now, channel_key=user
        )
    else:
        outbox.enqueue(session, messages.Direct(to_user=user, text=text), key=key, now=now, channel_key=user)


def where(body: dict[str, Any]) -> tuple[str, str | None]:
    """Who clicked, and in which channel (None in a modal)."""
    user = (body.get("user") or {}).get("id") or ""
    channel = (body.get("container") or {}).get("channel_id") or (body.get("channel") or {}).get("id")
    return user, channel


def first_action(body: dict[str, Any]) -> dict[str, Any]:
    """The element clicked (what Bolt hands a listener as ``action``); {} for anything but a click."""
    return cast(dict[str, Any], (body.get("actions") or [{}])[0])


def answer_at_the_boundary(body: dict[str, Any], context: BoltContext, text: str, *, in_dm: bool = False) -> None:
    """Tell the person that what they clicked can't be acted on (ephemerally where they clicked, or
    in their DM); nothing else changes."""
    ctx = ctx_of(context)
    user, channel = where(body)
    key = f"boundary:{user}:{first_action(body).get('action_ts') or body.get('trigger_id') or uuid.uuid4().hex}"
    run_in_transaction(
        ctx.engine, lambda s: tell(s, ctx, channel=None if in_dm else channel, user=user, key=key, text=text)
    )


def notice_view(text: str) -> dict[str, Any]:
    """A modal that only says something (what replaces a form that can't be submitted)."""
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Handover"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    }


# ----- listeners without boilerplate ---------------------------------------------------------------------


@dataclass(frozen=True)
class Act(Generic[R]):
    """What a listener acts on: who (``user``, with ``email`` when the listener asked for it), where
    (``channel``; None in a modal), on what (``ref``), and the request as Bolt read it."""

    ctx: Context
    user: str
    channel: str | None
    body: dict[str, Any]
    context: BoltContext
    email: str | None = None

    @property
    def ref(self) -> R:
        """The reference the listener's middleware parsed and checked (bot/handlers/refs.py)."""
        if "ref" not in self.context:
            raise LookupError("this listener reads a reference but was registered without one (bot/handlers/refs.py)")
        return cast(R, self.context["ref"])

    @property
    def action(self) -> dict[str, Any]:
        return first_action(self.body)

    @property
    def view(self) -> dict[str, Any]:
        return cast(dict[str, Any], self.body.get("view") or {})

    @property
    def stamp(self) -> str | None:
        """What tells this click from another (the action's time stamp, else the trigger id)."""
        return self.action.get("action_ts") or self.body.get("trigger_id")


@dataclass(frozen=True)
class Reply:
    """What a listener's work answers, once its transaction is committed: what the ack carries (a
    modal's errors or its next view), and a Slack call to make first (``views.open`` while the
    trigger is fresh)."""

    ack: dict[str, Any] = field(default_factory=dict)
    then: Callable[[WebClient], Any] | None = None


Work = Callable[[Session, Act[R]], Reply | None]


def acting(work: Work[R], *, email: bool = False) -> Callable[..., None]:
    """The Bolt listener that runs ``work(session, act)`` in one database transaction (retried on
    transient trouble: the work must be safe to run again), then makes its reply's Slack call and
    acks. With ``email``, the person's e-mail is looked up first (``people.email_of``: the person
    table, else one ``users.info``), outside the transaction."""

    def listener(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        ctx = ctx_of(context)
        user, channel = where(body)
        act: Act[R] = Act(
            ctx, user, channel, body, context, email=people.email_of(ctx, client, user) if email else None
        )
        reply = run_in_transaction(ctx.engine, lambda session: work(session, act)) or Reply()
        if reply.then is not None:
            reply.then(client)
        ack(**reply.ack)

    # Bolt names the listener in its log lines (it reads the parameters above, not these)
    listener.__name__ = listener.__qualname__ = getattr(work, "__name__", "listener")
    listener.__doc__ = work.__doc__
    return listener
