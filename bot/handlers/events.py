"""Events API listeners. Slack retries an event it thinks we missed (same event_id,
X-Slack-Retry-Num); each event_id is processed once."""

from __future__ import annotations

from slack_bolt import Ack, App, BoltContext
from sqlmodel import Session

from bot.db import insert_once, run_in_transaction
from bot.flows import ask, home
from bot.handlers.common import ctx_of
from bot.models import ProcessedEvent


def first_time(session: Session, event_id: str | None, ctx) -> bool:
    """Record the event id; False when it was processed before (a retry)."""
    if not event_id:
        return True
    # INSERT … ON CONFLICT DO NOTHING: a retry that arrives while the first delivery is still being
    # processed waits for it and then does nothing (a read-then-insert would fail on the unique key)
    return insert_once(session, ProcessedEvent, event_id=event_id, received_at=ctx.clock.now())


def message(ack: Ack, body: dict, event: dict, context: BoltContext) -> None:
    ack()
    if event.get("subtype") or event.get("bot_id") or not event.get("user"):
        return  # edits, joins, bot messages (ours included) are not replies
    ctx = ctx_of(context)

    def work(session: Session) -> None:
        if not first_time(session, body.get("event_id"), ctx):
            return
        ask.relay(
            session,
            ctx,
            event_id=body.get("event_id"),
            user_id=event["user"],
            channel=event["channel"],
            thread_ts=event.get("thread_ts"),
            text=event.get("text") or "",
            ts=event["ts"],
        )

    run_in_transaction(ctx.engine, work)


def home_opened(ack: Ack, body: dict, event: dict, context: BoltContext) -> None:
    """The person opened the Home tab: publish their desk (the outbox sends views.publish)."""
    ack()
    if event.get("tab") != "home" or not event.get("user"):
        return
    ctx = ctx_of(context)
    now = ctx.clock.now()
    run_in_transaction(
        ctx.engine,
        lambda s: home.queue_refresh(s, event["user"], now, why=f"opened:{body.get('event_id') or now.isoformat()}"),
    )


def register(app: App) -> None:
    app.event("message")(message)
    app.event("app_home_opened")(home_opened)
