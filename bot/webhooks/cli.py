"""`handover webhooks list|test|replay|enable`: what the commands print and do."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, time

import httpx
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlmodel import col, select

from bot.context import Context
from bot.db import transaction
from bot.models import ItemEvent
from bot.webhooks import events, queue
from bot.webhooks.sender import MissingSecret, WebhookSender, post, secrets_of


def print_list(console: Console, ctx: Context, *, only: str | None = None) -> int:
    """The endpoints' table; 1 when one of them needs attention (disabled, no secret, failures)."""
    endpoints = [e for e in ctx.config.webhooks.endpoints if only is None or e.name == only]
    if not endpoints:
        console.print("No webhook endpoints are configured (webhooks: in the configuration file).")
        return 0
    figures = queue.figures(ctx.engine)
    table = Table(title=f"Webhook endpoints (retried for {ctx.config.webhooks.retry_for_hours:g} h)")
    for heading in ("endpoint", "url", "events", "state", "delivered", "waiting", "failed", "last error"):
        table.add_column(heading)
    trouble = False
    for ep in endpoints:
        f = figures.get(ep.name, queue.EndpointFigures())
        try:
            secrets_of(ep)
            state = "enabled"
        except MissingSecret as exc:
            state, trouble = f"[red]no secret[/]: {escape(str(exc))}", True
        if f.disabled_at is not None:
            state, trouble = f"[red]disabled[/] since {f.disabled_at:%Y-%m-%d %H:%M} UTC (410 Gone)", True
        trouble = trouble or f.failed > 0
        table.add_row(
            ep.name,
            escape(ep.url),
            ", ".join(t.value for t in ep.events),
            state,
            str(f.delivered),
            str(f.pending),
            f"[red]{f.failed}[/]" if f.failed else "0",
            escape(f.last_error or ""),
        )
    console.print(table)
    return 1 if trouble else 0


def send_test(console: Console, err: Console, ctx: Context, name: str) -> int:
    endpoint = ctx.config.webhooks.endpoint(name)
    if endpoint is None:
        err.print(
            f"No webhook endpoint {escape(name)!r} in the configuration "
            f"(known: {', '.join(e.name for e in ctx.config.webhooks.endpoints) or 'none'})."
        )
        return 2
    from cloudevents.core.bindings.http import to_structured_event
    from cloudevents.core.v1.event import CloudEvent

    msg_id = str(uuid.uuid4())
    body = to_structured_event(
        CloudEvent(
            {
                "id": msg_id,
                "source": events.SOURCE,
                "type": "handover.test",
                "specversion": "1.0",
                "subject": f"endpoints/{name}",
                "time": ctx.clock.now(),
                "datacontenttype": "application/json",
            },
            {
                "message": "A test event from `handover webhooks test`: your endpoint and its secret work.",
                "endpoint": name,
            },
        )
    ).body.decode("utf-8")
    with httpx.Client(follow_redirects=False) as client:
        answer = post(client, endpoint, msg_id, body)
    if answer.status is None:
        err.print(f"[red]{escape(name)}:[/] {escape(answer.error or 'no answer')}")
        return 1
    ok = 200 <= answer.status < 300
    console.print(f"{escape(name)} answered [{'green' if ok else 'red'}]{answer.status}[/] to test event {msg_id}")
    if answer.text:
        console.print(escape(answer.text))
    return 0 if ok else 1


def replay(console: Console, err: Console, ctx: Context, *, since: date, endpoint: str | None) -> int:
    """Queue again, for each endpoint that wants it, every event of the audit trail since ``since``
    — with its original id — and send them now."""
    chosen = [e for e in ctx.config.webhooks.endpoints if endpoint is None or e.name == endpoint]
    if not chosen:
        err.print(
            f"No webhook endpoint {escape(endpoint)!r} in the configuration."
            if endpoint
            else "No webhook endpoints are configured."
        )
        return 2
    start = datetime.combine(since, time(0), tzinfo=ctx.config.tz)
    now = ctx.clock.now()
    queued = 0
    with transaction(ctx.engine) as session:
        audits = session.exec(
            select(ItemEvent)
            .where(ItemEvent.at >= start, col(ItemEvent.kind).in_(list(events.AUDIT_KINDS)))
            .order_by(col(ItemEvent.id))
        ).all()
        off = queue.disabled(session)
        for audit in audits:
            event = events.stored_or_rebuilt(session, audit)
            assert event is not None  # every kind read above is a webhook event's
            data = json.loads(event.body)["data"]
            for ep in chosen:
                if ep.name in off or not queue.wants(ep, event.type, data):
                    continue
                if not queue.queue_for(session, ep.name, event, now):
                    from sqlalchemy import update

                    from bot.models import WebhookDelivery

                    session.execute(
                        update(WebhookDelivery)
                        .where(
                            col(WebhookDelivery.endpoint) == ep.name,
                            col(WebhookDelivery.event_id) == event.event_id,
                            col(WebhookDelivery.status).in_(["delivered", "failed"]),
                        )
                        .values(status="pending", next_attempt_at=now, created_at=now, claimed_until=None)
                    )
                queued += 1
    for name in [e.name for e in chosen if e.name in off]:
        err.print(f"{escape(name)} is disabled (410 Gone): `handover webhooks enable {escape(name)}` first.")
    WebhookSender(ctx).run_until_idle(endpoint=endpoint)
    console.print(f"Queued {queued} event(s) again from {since:%Y-%m-%d} on, with their original ids.")
    return print_list(console, ctx, only=endpoint)
