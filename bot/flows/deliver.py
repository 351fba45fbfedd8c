"""Deliver: an item is handed over — customer found or created, routed, saved, and its card
queued for the receiver, all in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from bot import audit, messages, outbox, texts
from bot.checklist import assess
from bot.config import Config
from bot.context import Context
from bot.customers import find_or_create
from bot.flows.changes import plain
from bot.flows.notify import notify_sender
from bot.ids import Category, ItemStatus, Source
from bot.intake.schema import ItemIn
from bot.models import Item, ItemEvent, Outbox
from bot.routing import Facts, Route, route
from bot.scheduling import company_schedule
from bot.working_time import Schedule


@dataclass
class Delivery:
    item: Item
    created: bool
    route: Route | None


def decision_due(
    config: Config, category: Category, offered_at: datetime, schedule: Schedule | None = None
) -> datetime:
    """When a decision is expected: ``decide_within_hours`` of the receiver's working hours
    (``schedule``; the company's until the receiver's zone is known)."""
    hours = config.category(category).sla.decide_within_hours
    return (schedule or company_schedule(config)).add(offered_at, hours)


def receiver_schedule(session: Session, config: Config, email: str | None, user_id: str | None = None) -> Schedule:
    from bot.people_time import schedule_of

    return schedule_of(session, config, user_id=user_id, email=email)


def route_item(
    session: Session, config: Config, item: Item, *, category: Category | None = None, avoid: set[str] | None = None
) -> Route:
    """Where an existing item goes by the rules (recategorized, reopened, or moved on by the
    scheduler): the customer's account owner as an admin set it, else the one the item named."""
    customer = item.customer
    facts = Facts(
        category=category or Category(item.category),
        region=item.region,
        product_area=item.product_area,
        account_owner_email=(customer.account_owner_email if customer else None) or item.account_owner_email,
        sender_email=item.sender_email,
    )
    return route(session, config, facts, avoid=avoid)


def queue_card(session: Session, item: Item, *, now: datetime) -> None:
    """Queue the card for the item's current receiver (once per offer)."""
    outbox.enqueue(
        session,
        messages.ItemCard(
            item_id=item.id,
            receiver_email=item.receiver_email,
            receiver_user=item.receiver_user_id,
            version=item.version,
        ),
        key=f"card:{item.id}:{item.version}:{item.receiver_user_id or item.receiver_email}",
        now=now,
        item_id=item.id,
        channel_key=item.receiver_user_id or item.receiver_email,
    )


def _item_values(
    config: Config,
    item_in: ItemIn,
    *,
    source: Source,
    external_key: str,
    customer_id: int | None,
    category: Category,
    chosen: Route,
    now: datetime,
    schedule: Schedule,
) -> dict[str, Any]:
    """The columns of a new item handed over as ``item_in`` (one place for one-by-one and bulk)."""
    known = {i.key for i in config.checklist.items}
    return {
        "external_key": external_key,
        "source": source.value,
        "event_name": item_in.event,
        "customer_id": customer_id,
        "contact_name": item_in.contact_name,
        "contact_email": item_in.contact_email,
        "contact_phone": item_in.contact_phone,
        "contact_title": item_in.contact_title,
        "description": item_in.description,
        "customer_request": item_in.customer_request or None,
        "customer_request_open": bool(item_in.customer_request),
        "region": item_in.region,
        "product_area": item_in.product_area,
        "account_owner_email": item_in.account_owner_email,
        "category": category,
        "sender_category": item_in.category,
        "checklist": {k: True for k, v in item_in.checklist.items() if v and k in known},
        "business_builder_email": item_in.business_builder_email,
        "sender_email": item_in.sender_email or item_in.business_builder_email,
        "receiver_email": chosen.receiver_email,
        "team_key": chosen.team_key,
        "routing_note": chosen.note,
        "status": ItemStatus.PENDING,
        "created_at": now,
        "offered_at": now,
        "decision_due_at": decision_due(config, category, now, schedule),
    }


def hand_over(session: Session, ctx: Context, item_in: ItemIn, *, source: Source, key: str, actor: str) -> Delivery:
    """Create the item for ``item_in`` unless ``key`` was handed over before (idempotent)."""
    external_key = f"{source.value}:{key}"
    existing = session.exec(select(Item).where(Item.external_key == external_key)).first()
    if existing is not None:
        return Delivery(existing, created=False, route=None)
    now = ctx.clock.now()
    config = ctx.config
    # the item's region and account owner stay on the item: they route it, and never change who
    # may see the customer (bot/customers.py)
    customer = find_or_create(
        session,
        name=item_in.customer,
        domain=item_in.customer_domain,
        contact_email=item_in.contact_email,
        now=now,
    )
    facts_owner = item_in.account_owner_email or customer.account_owner_email
    category = item_in.category or assess(config, item_in.checklist).suggested
    chosen = route(
        session,
        config,
        Facts(
            category=category,
            region=item_in.region,
            product_area=item_in.product_area,
            account_owner_email=facts_owner,
            sender_email=item_in.sender_email,
        ),
    )
    item = Item(
        **_item_values(
            config,
            item_in,
            source=source,
            external_key=external_key,
            customer_id=customer.id,
            category=category,
            chosen=chosen,
            now=now,
            schedule=receiver_schedule(session, config, chosen.receiver_email),
        )
    )
    session.add(item)
    session.flush()
    assert item.id is not None  # flushed
    audit.record(
        session,
        item.id,
        actor=actor,
        kind="handed_over",
        at=now,
        text=plain("plain.j2", "handed_over", category=category.value, receiver=chosen.receiver_email),
        source=source.value,
        receiver=chosen.receiver_email,
        routing=chosen.note,
    )
    queue_card(session, item, now=now)
    return Delivery(item, created=True, route=chosen)


@dataclass(frozen=True)
class Handed:
    """What :func:`hand_over_many` did with one entry."""

    item_id: int
    category: str
    receiver_email: str | None
    routing_note: str | None
    created: bool


def hand_over_many(
    session: Session, ctx: Context, entries: list[tuple[ItemIn, str]], *, source: Source, actor: str
) -> list[Handed]:
    """:func:`hand_over` for many items in one transaction (a batch of an import), in a constant
    number of statements per batch rather than ~10 per item: the known keys, customers and aliases
    read at once (:class:`~bot.customers.Resolver`), round-robin turns counted in memory on
    row-locked cursors (:class:`~bot.routing.BatchRotation`), and the items, their audit rows and
    their cards inserted in bulk. Same items, same routing, same idempotency as one by one; an
    entry whose key appears earlier in ``entries`` is "not created" (the earlier one's item)."""
    from bot.customers import Resolver
    from bot.routing import BatchRotation

    now = ctx.clock.now()
    config = ctx.config
    keys = [f"{source.value}:{key}" for _, key in entries]
    known: dict[str, Handed] = {}
    for start in range(0, len(keys), 500):
        chunk = sorted(set(keys[start : start + 500]))
        for i in session.exec(select(Item).where(Item.external_key.in_(chunk))):  # type: ignore[attr-defined]
            known[i.external_key] = Handed(i.id or 0, str(i.category), i.receiver_email, i.routing_note, False)
    resolver = Resolver(session, [(i.customer, i.customer_domain, i.contact_email) for i, _ in entries])
    rotation = BatchRotation(session)
    schedules: dict[str | None, Schedule] = {}
    planned: list[tuple[ItemIn, str, Any, Category, Route]] = []
    pending: set[str] = set()
    for (item_in, _), external_key in zip(entries, keys, strict=True):
        if external_key in known or external_key in pending:
            continue  # handed over before, or earlier in this batch
        pending.add(external_key)
        customer = resolver.find_or_create(
            name=item_in.customer, domain=item_in.customer_domain, contact_email=item_in.contact_email, now=now
        )
        category = item_in.category or assess(config, item_in.checklist).suggested
        chosen = route(
            session,
            config,
            Facts(
                category=category,
                region=item_in.region,
                product_area=item_in.product_area,
                account_owner_email=item_in.account_owner_email or customer.account_owner_email,
                sender_email=item_in.sender_email,
            ),
            rotate=rotation,
        )
        planned.append((item_in, external_key, customer, category, chosen))
    rotation.save()
    resolver.flush()
    rows: list[dict[str, Any]] = []
    for item_in, external_key, customer, category, chosen in planned:
        receiver = chosen.receiver_email
        if receiver not in schedules:
            schedules[receiver] = receiver_schedule(session, config, receiver)
        rows.append(
            _item_values(
                config,
                item_in,
                source=source,
                external_key=external_key,
                customer_id=customer.id,
                category=category,
                chosen=chosen,
                now=now,
                schedule=schedules[receiver],
            )
        )
    ids = _insert_returning_ids(session, Item, rows)
    events: list[dict[str, Any]] = []
    cards: list[dict[str, Any]] = []
    said: dict[tuple[str, str], str] = {}  # the audit text, rendered once per category and receiver
    for (_, external_key, _, category, chosen), item_id in zip(planned, ids, strict=True):
        known[external_key] = Handed(item_id, str(category), chosen.receiver_email, chosen.note, True)
        if (category.value, chosen.receiver_email) not in said:
            said[category.value, chosen.receiver_email] = plain(
                "plain.j2", "handed_over", category=category.value, receiver=chosen.receiver_email
            )
        events.append(
            {
                "item_id": item_id,
                "actor": actor,
                "kind": "handed_over",
                "at": now,
                "text": said[category.value, chosen.receiver_email],
                "detail": {"source": source.value, "receiver": chosen.receiver_email, "routing": chosen.note},
            }
        )
        # a new item's card key is new (version 1, no Slack user yet): nothing to look up first
        cards.append(
            {
                "idempotency_key": f"card:{item_id}:1:{chosen.receiver_email}",
                "kind": outbox.Kind.ITEM_CARD.value,
                "item_id": item_id,
                "channel_key": chosen.receiver_email,
                "payload": {
                    "item_id": item_id,
                    "receiver_email": chosen.receiver_email,
                    "receiver_user": None,
                    "version": 1,
                },
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "result": {},
            }
        )
    if events:
        session.execute(sa.insert(ItemEvent), events)
        session.execute(sa.insert(Outbox), cards)
    out = []
    seen: set[str] = set()
    for key in keys:
        handed = known[key]
        out.append(handed if key not in seen else replace(handed, created=False))
        seen.add(key)
    return out


def _insert_returning_ids(session: Session, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """One multi-row INSERT … RETURNING id (SQLAlchemy's insertmanyvalues), ids in ``rows`` order."""
    if not rows:
        return []
    table = model.__table__
    result = session.execute(sa.insert(table).returning(table.c.id, sort_by_parameter_order=True), rows)
    return [row[0] for row in result]


def reroute_to_fallback(session: Session, ctx: Context, item_id: int, *, unreachable: str, reason: str) -> bool:
    """The receiver can't be reached in Slack (unknown e-mail, deactivated): offer the item to the
    fallback receiver instead, and say so on the item and to the sender. False when the item
    already sits with the fallback (nothing more to try)."""
    item = session.get(Item, item_id)
    fallback = ctx.config.routing.fallback
    if item is None or (item.receiver_email or "").lower() == fallback.lower():
        return False
    now = ctx.clock.now()
    item.receiver_email = fallback
    item.receiver_user_id = None
    item.team_key = None
    item.routing_note = plain("plain.j2", "fallback_note", unreachable=unreachable, reason=reason)
    item.version += 1
    session.add(item)
    audit.record(
        session,
        item_id,
        actor="system",
        kind="rerouted",
        at=now,
        text=plain("plain.j2", "rerouted", unreachable=unreachable, reason=reason, fallback=fallback),
        unreachable=unreachable,
        reason=reason,
        receiver=fallback,
    )
    queue_card(session, item, now=now)
    notify_sender(
        session,
        item,
        key=f"unreachable:{item.id}:{item.version}",
        now=now,
        text=texts.say(
            "notices.j2", "unreachable", item_id=item.id, email=unreachable, reason=reason, fallback=fallback
        ),
    )
    return True
