"""The webhooks' outbox tables: fan-out of recorded events to the endpoints that want them, claims
that keep an item's events in order per endpoint, results, the retry horizon and disabled endpoints.

Guarantees:
- nothing lost: an event is recorded in the decision's transaction (bot/audit.py); it gets a
  delivery row for each endpoint that wants it (fan-out, one transaction), and a delivery stays
  pending until its endpoint answered 2xx; a crashed sender's claim (a lease) runs out and the
  delivery is sent again — with the same ``webhook-id``, so the receiver can drop the repeat;
- in order per item and endpoint: only the oldest undelivered event of an item is ever claimed
  for an endpoint, so event n+1 waits while event n is pending or retrying. "Oldest" is the order
  the events were recorded in, which for one item is the order its changes were committed (a
  decision changes the item under an optimistic lock, so two changes of one item never interleave);
- a delivery that can't succeed (4xx other than 408/429, or no 2xx within the retry horizon) is
  ``failed``: shown by ``handover webhooks list``, ``handover doctor`` and /healthz, and it no
  longer holds the item's later events.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot import messages, outbox, texts
from bot.config import Config, WebhookEndpoint
from bot.db import insert_once, is_postgres, transaction
from bot.models import WebhookDelivery, WebhookEndpointState, WebhookEvent, stored_id

log = logging.getLogger("handover.webhooks")


def lease_for(timeout_seconds: float) -> timedelta:
    """How long a claim holds: well beyond one request's time-out, so a live sender always records
    its answer before another may take the delivery over."""
    return timedelta(seconds=2 * timeout_seconds + 10)


MAX_BACKOFF = 3600.0


class Status(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"


def wants(endpoint: WebhookEndpoint, event_type: str, data: dict) -> bool:
    """Whether ``endpoint`` is subscribed to this event of this item (its types and filters)."""
    if event_type not in {t.value for t in endpoint.events}:
        return False
    f, item = endpoint.filters, data.get("item", {})
    if f.category is not None and item.get("category") not in {c.value for c in f.category}:
        return False
    if f.event is not None and (item.get("event") or "").lower() not in {e.lower() for e in f.event}:
        return False
    return f.region is None or (item.get("region") or "").lower() in {r.lower() for r in f.region}


def disabled(session: Session) -> dict[str, WebhookEndpointState]:
    return {
        s.name: s
        for s in session.exec(select(WebhookEndpointState).where(col(WebhookEndpointState.disabled_at).is_not(None)))
    }


def queue_for(session: Session, endpoint: str, event: WebhookEvent, now: datetime) -> bool:
    return insert_once(
        session,
        WebhookDelivery,
        endpoint=endpoint,
        event_id=event.event_id,
        item_id=event.item_id,
        seq=event.id,
        status=Status.PENDING.value,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )


def fan_out(engine: Engine, config: Config, *, now: datetime, limit: int = 500) -> int:
    """Give the recorded events not yet fanned out a delivery row per endpoint that wants them (an
    endpoint disabled after a 410 gets none). Returns how many events it handled."""
    with transaction(engine) as session:
        query = (
            select(WebhookEvent)
            .where(col(WebhookEvent.fanned_out).is_(False))
            .order_by(col(WebhookEvent.id))
            .limit(limit)
        )
        if is_postgres(engine):
            # waits for another fan-out instead of skipping its rows: skipping an item's event n could
            # let this one queue event n+1 first, and that would overtake n
            query = query.with_for_update()
        events = list(session.exec(query))
        if not events:
            return 0
        off = disabled(session)
        for event in events:
            data = json.loads(event.body)["data"]
            for endpoint in config.webhooks.endpoints:
                if endpoint.name not in off and wants(endpoint, event.type, data):
                    queue_for(session, endpoint.name, event, now)
        session.execute(
            sa.update(WebhookEvent).where(col(WebhookEvent.id).in_([e.id for e in events])).values(fanned_out=True)
        )
    return len(events)


@dataclass
class Claimed:
    id: int
    endpoint: str
    event_id: str
    item_id: int
    seq: int
    attempts: int
    created_at: datetime
    body: str


def claim(engine: Engine, endpoint: str, *, now: datetime, limit: int, lease: timedelta) -> list[Claimed]:
    """Up to ``limit`` deliveries for ``endpoint``, each the oldest undelivered event of its item
    (so an item's events go out one after the other, in order), due now and not held by a live
    claim. No SKIP LOCKED here: skipping an item's locked head would let its next event overtake."""
    with transaction(engine) as session:
        if disabled_state(session, endpoint) is not None:
            return []
        query = (
            select(WebhookDelivery)
            .where(
                WebhookDelivery.endpoint == endpoint,
                col(WebhookDelivery.status).in_([Status.PENDING.value, Status.SENDING.value]),
            )
            .order_by(col(WebhookDelivery.seq), col(WebhookDelivery.id))
            .limit(20_000)
        )
        if is_postgres(engine):
            query = query.with_for_update()
        heads: dict[int, WebhookDelivery] = {}
        for row in session.exec(query):
            heads.setdefault(row.item_id, row)
        due = [
            r
            for r in heads.values()
            if (r.status == Status.PENDING and r.next_attempt_at <= now)
            or (r.status == Status.SENDING and (r.claimed_until is None or r.claimed_until < now))
        ][:limit]
        if not due:
            return []
        ids = [r.id for r in due]
        session.execute(
            sa.update(WebhookDelivery)
            .where(col(WebhookDelivery.id).in_(ids))
            .values(status=Status.SENDING.value, claimed_until=now + lease)
        )
        bodies = dict(
            session.exec(
                select(WebhookEvent.event_id, WebhookEvent.body).where(
                    col(WebhookEvent.event_id).in_([r.event_id for r in due])
                )
            ).all()
        )
        return [
            Claimed(
                stored_id(r), r.endpoint, r.event_id, r.item_id, r.seq, r.attempts, r.created_at, bodies[r.event_id]
            )
            for r in due
        ]


def disabled_state(session: Session, endpoint: str) -> WebhookEndpointState | None:
    state = session.get(WebhookEndpointState, endpoint)
    return state if state is not None and state.disabled_at is not None else None


def backoff(attempts: int) -> float:
    """Seconds before the next attempt: 10 s, 20 s, 40 s … up to an hour."""
    return min(10.0 * 2 ** max(attempts - 1, 0), MAX_BACKOFF)


def delivered(engine: Engine, row: Claimed, *, now: datetime, status: int) -> None:
    with transaction(engine) as session:
        session.execute(
            sa.update(WebhookDelivery)
            .where(col(WebhookDelivery.id) == row.id)
            .values(
                status=Status.DELIVERED.value,
                delivered_at=now,
                response_status=status,
                attempts=row.attempts + 1,
                claimed_until=None,
                last_error=None,
            )
        )


def failed(engine: Engine, row: Claimed, *, now: datetime, status: int | None, error: str) -> None:
    with transaction(engine) as session:
        session.execute(
            sa.update(WebhookDelivery)
            .where(col(WebhookDelivery.id) == row.id)
            .values(
                status=Status.FAILED.value,
                response_status=status,
                attempts=row.attempts + 1,
                claimed_until=None,
                last_error=error[:1000],
            )
        )
    log.warning("webhook %s to %s failed for good: %s", row.event_id, row.endpoint, error)


def retry(
    engine: Engine,
    row: Claimed,
    *,
    now: datetime,
    status: int | None,
    error: str,
    horizon: timedelta,
    retry_after: float | None = None,
) -> bool:
    """Try again later; False when the retry horizon has passed (the delivery is failed then)."""
    attempts = row.attempts + 1
    if now - row.created_at >= horizon:
        failed(
            engine,
            row,
            now=now,
            status=status,
            error=f"no success within {horizon.total_seconds() / 3600:g} h ({attempts} attempts); last: {error}",
        )
        return False
    wait = max(retry_after or 0.0, backoff(attempts))
    with transaction(engine) as session:
        session.execute(
            sa.update(WebhookDelivery)
            .where(col(WebhookDelivery.id) == row.id)
            .values(
                status=Status.PENDING.value,
                response_status=status,
                attempts=attempts,
                next_attempt_at=now + timedelta(seconds=wait),
                claimed_until=None,
                last_error=error[:1000],
            )
        )
    return True


def gone(engine: Engine, config: Config, row: Claimed, *, now: datetime, error: str) -> None:
    """The endpoint answered 410 Gone: it is disabled (kept in the database, so every process and
    restart knows), the delivery waits (not lost, if it is enabled again), and the admins are told."""
    with transaction(engine) as session:
        session.execute(
            sa.update(WebhookDelivery)
            .where(col(WebhookDelivery.id) == row.id)
            .values(
                status=Status.PENDING.value,
                response_status=410,
                attempts=row.attempts + 1,
                claimed_until=None,
                last_error=error[:1000],
            )
        )
        state = session.get(WebhookEndpointState, row.endpoint)
        if state is not None and state.disabled_at is not None:
            return  # another worker saw the 410 first and told the admins
        if state is None:
            state = WebhookEndpointState(name=row.endpoint)
        state.disabled_at, state.disabled_reason = now, error[:1000]
        session.add(state)
        tell_admins(session, config, row.endpoint, now=now)
    log.warning("webhook endpoint %s answered 410 Gone: disabled", row.endpoint)


def tell_admins(session: Session, config: Config, endpoint: str, *, now: datetime) -> None:
    ep = config.webhooks.endpoint(endpoint)
    text = texts.say("webhooks.j2", "endpoint_gone", name=endpoint, url=ep.url if ep else "")
    key = f"webhook-gone:{endpoint}:{now.isoformat()}"
    if config.roles.admins:
        for email in config.roles.admins:
            outbox.enqueue(
                session,
                messages.Direct(to_user=None, to_email=email, text=text, fallbacks=[]),
                key=f"{key}:{email}",
                now=now,
                channel_key=email,
            )
    elif config.channels.ops or config.channels.reports:
        channel = config.channels.ops or config.channels.reports
        outbox.enqueue(session, messages.Channel(channel=channel, text=text), key=key, now=now, channel_key=channel)
    else:
        log.error(
            "webhook endpoint %s is disabled (410 Gone) and no admins or ops/reports channel are "
            "configured to tell; `handover doctor` shows it",
            endpoint,
        )


def enable(engine: Engine, endpoint: str) -> bool:
    """Enable an endpoint again; its waiting deliveries go out. True when it was disabled."""
    with transaction(engine) as session:
        state = disabled_state(session, endpoint)
        if state is None:
            return False
        state.disabled_at, state.disabled_reason = None, None
        session.add(state)
        return True


@dataclass
class EndpointFigures:
    delivered: int = 0
    pending: int = 0
    failed: int = 0
    last_error: str | None = None
    disabled_at: datetime | None = None
    disabled_reason: str | None = None


def figures(engine: Engine) -> dict[str, EndpointFigures]:
    out: dict[str, EndpointFigures] = {}
    with transaction(engine) as session:
        rows = session.exec(
            select(WebhookDelivery.endpoint, WebhookDelivery.status, sa.func.count()).group_by(
                WebhookDelivery.endpoint, WebhookDelivery.status
            )
        ).all()
        for endpoint, status, n in rows:
            f = out.setdefault(endpoint, EndpointFigures())
            if status == Status.DELIVERED:
                f.delivered += n
            elif status == Status.FAILED:
                f.failed += n
            else:
                f.pending += n
        for endpoint, f in out.items():
            f.last_error = session.exec(
                select(WebhookDelivery.last_error)
                .where(WebhookDelivery.endpoint == endpoint, col(WebhookDelivery.last_error).is_not(None))
                .order_by(col(WebhookDelivery.id).desc())
            ).first()
        for state in session.exec(select(WebhookEndpointState)):
            f = out.setdefault(state.name, EndpointFigures())
            f.disabled_at, f.disabled_reason = state.disabled_at, state.disabled_reason
    return out


def failed_count(engine: Engine) -> int:
    with transaction(engine) as session:
        return session.exec(
            select(sa.func.count()).select_from(WebhookDelivery).where(WebhookDelivery.status == Status.FAILED.value)
        ).one()
