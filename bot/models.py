"""The database model: customers, people, items, their audit trail, questions and the outbox.

Naming follows the users' words: an *item* is handed over by a *sender*, captured by a
*Business Builder*, offered to a *receiver* who becomes its *owner* by accepting.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, Relationship, SQLModel

from bot.ids import Category, ItemStatus


class UTCDateTime(TypeDecorator):
    """Stores UTC, returns timezone-aware UTC datetimes on SQLite and PostgreSQL alike."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _ts(**kwargs: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kwargs)


def _json(**kwargs: Any) -> Any:
    return Field(sa_type=sa.JSON, **kwargs)


class _Stored(Protocol):
    id: int | None


def stored_id(row: _Stored) -> int:
    """The id of a row that is in the database (read, or added and flushed), where it is never None."""
    if row.id is None:
        raise ValueError(f"this {type(row).__name__} has no id yet: it is not flushed")
    return row.id


class Customer(SQLModel, table=True):
    """A customer, created on the fly and deduplicated by registrable e-mail domain and normalized
    name (bot/customers.py). ``region`` and ``account_owner_email`` decide who may see it: only an
    admin sets them (bot/customer_admin.py), never an incoming item."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=500)
    normalized_name: str = Field(max_length=500, index=True)
    domain: str | None = Field(default=None, max_length=255, index=True)
    region: str | None = Field(default=None, max_length=100)
    account_owner_email: str | None = Field(default=None, max_length=254)
    created_at: datetime = _ts()


class CustomerEvent(SQLModel, table=True):
    """The append-only audit trail of a customer record: set, merged, split — by whom, when, what."""

    __tablename__ = "customer_event"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(index=True)  # no foreign key: the trail outlives a customer merged away
    at: datetime = _ts()
    actor: str = Field(max_length=254)
    kind: str = Field(max_length=32)
    detail: dict[str, Any] = _json(default_factory=dict)
    text: str | None = Field(default=None, sa_type=sa.Text)


class CustomerAlias(SQLModel, table=True):
    """Another domain or name of a customer, kept when an admin merges two records, so the next item
    naming the merged-away company finds the record it was merged into."""

    __tablename__ = "customer_alias"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    domain: str | None = Field(default=None, max_length=255, index=True)
    normalized_name: str | None = Field(default=None, max_length=500, index=True)


class Person(SQLModel, table=True):
    """A person known by e-mail, resolved to a Slack user (a cache of users.lookupByEmail)."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True)
    slack_user_id: str | None = Field(default=None, max_length=32, index=True)
    name: str | None = Field(default=None, max_length=255)
    tz: str | None = Field(default=None, max_length=64)
    active: bool = True
    not_in_slack: bool = False  # users.lookupByEmail said users_not_found
    digest_enabled: bool = True
    resolved_at: datetime | None = _ts(default=None)


class Item(SQLModel, table=True):
    """One piece of customer information handed over from marketing to sales.

    One table on purpose (see README "Architecture"): its columns fall in four groups, below."""

    id: int | None = Field(default=None, primary_key=True)

    # ----- what was handed over: the customer information, as the sender gave it
    external_key: str = Field(max_length=600, unique=True)  # idempotency: source + stable key
    source: str = Field(max_length=16)
    event_name: str | None = Field(default=None, max_length=500, index=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    # the item's customer, loaded when first read (``item.customer``) in the item's session
    customer: Customer = Relationship(sa_relationship_kwargs={"lazy": "select"})
    contact_name: str | None = Field(default=None, max_length=500)
    contact_email: str | None = Field(default=None, max_length=254)
    contact_phone: str | None = Field(default=None, max_length=500)
    contact_title: str | None = Field(default=None, max_length=500)
    description: str = Field(default="", sa_type=sa.Text)
    customer_request: str | None = Field(default=None, sa_type=sa.Text)
    customer_request_open: bool = False
    region: str | None = Field(default=None, max_length=100)
    product_area: str | None = Field(default=None, max_length=100)
    # the account owner as the sender named it: routes this item, never opens the customer to anyone
    account_owner_email: str | None = Field(default=None, max_length=254)
    sender_category: Category | None = Field(default=None, sa_type=sa.String(32))
    checklist: dict[str, bool] = _json(default_factory=dict)
    business_builder_email: str | None = Field(default=None, max_length=254)
    business_builder_user_id: str | None = Field(default=None, max_length=32)
    sender_email: str | None = Field(default=None, max_length=254)
    sender_user_id: str | None = Field(default=None, max_length=32)
    created_at: datetime = _ts()

    # ----- routing and decisions: who holds the item now, what they decided, and when
    category: Category = Field(sa_type=sa.String(32))
    receiver_email: str | None = Field(default=None, max_length=254, index=True)
    receiver_user_id: str | None = Field(default=None, max_length=32, index=True)
    owner_user_id: str | None = Field(default=None, max_length=32, index=True)
    # While an item is pending after a reassignment or recategorization, the previous holder stays
    # responsible until the new receiver accepts (the ownership rule). None: the sender is.
    responsible_user_id: str | None = Field(default=None, max_length=32)
    team_key: str | None = Field(default=None, max_length=100, index=True)
    routing_note: str | None = Field(default=None, max_length=500)
    status: ItemStatus = Field(default=ItemStatus.PENDING, sa_type=sa.String(16), index=True)
    discard_reason: str | None = Field(default=None, max_length=100)
    discard_justification: str | None = Field(default=None, sa_type=sa.Text)
    follow_up_count: int = 0
    last_follow_up_at: datetime | None = _ts(default=None)
    offered_at: datetime = _ts()
    decision_due_at: datetime | None = _ts(default=None, index=True)
    accepted_at: datetime | None = _ts(default=None, index=True)
    decided_at: datetime | None = _ts(default=None)
    version: int = 1  # optimistic locking: every decision bumps it

    # ----- Slack presentation: where the item's card is, to update it in place
    card_channel: str | None = Field(default=None, max_length=32)
    card_ts: str | None = Field(default=None, max_length=32)

    # ----- scheduler state: the service-level ladder (bot/flows/nudge.py): steps already taken for
    # the current offer (or, once accepted, follow-up reminders sent), when the next one is due, and a snooze
    nudge_step: int = 0
    next_nudge_at: datetime | None = _ts(default=None, index=True)
    snoozed_until: datetime | None = _ts(default=None)


class ItemEvent(SQLModel, table=True):
    """The append-only audit trail of an item: who, what, when, why."""

    __tablename__ = "item_event"

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id", index=True)
    at: datetime = _ts()
    actor: str = Field(max_length=254)  # Slack user id, e-mail, or "system"
    kind: str = Field(max_length=32)
    detail: dict[str, Any] = _json(default_factory=dict)
    text: str | None = Field(default=None, sa_type=sa.Text)


class Question(SQLModel, table=True):
    """A receiver's question to the Business Builder, relayed in both directions."""

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id", index=True)
    asked_by: str = Field(max_length=32)
    business_builder_user_id: str | None = Field(default=None, max_length=32)
    text: str = Field(sa_type=sa.Text)
    asked_at: datetime = _ts()
    answered_at: datetime | None = _ts(default=None)
    open: bool = True
    bb_channel: str | None = Field(default=None, max_length=32)  # the DM thread with the Business Builder
    bb_ts: str | None = Field(default=None, max_length=32, index=True)
    receiver_channel: str | None = Field(default=None, max_length=32)  # the thread under the card
    receiver_ts: str | None = Field(default=None, max_length=32, index=True)
    reasked_at: datetime | None = _ts(default=None)
    sender_told_at: datetime | None = _ts(default=None)  # the question stayed unanswered: the sender knows


class QuestionMessage(SQLModel, table=True):
    """Every message of a question's conversation, kept on the item."""

    __tablename__ = "question_message"

    id: int | None = Field(default=None, primary_key=True)
    question_id: int = Field(foreign_key="question.id", index=True)
    author: str = Field(max_length=32)
    text: str = Field(sa_type=sa.Text)
    at: datetime = _ts()
    slack_ts: str | None = Field(default=None, max_length=32)


class Outbox(SQLModel, table=True):
    """A message to Slack, written in the same transaction as the state change it reports."""

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=300, unique=True)
    kind: str = Field(max_length=32)  # how the dispatcher renders and sends it (see bot.outbox.Kind)
    item_id: int | None = Field(default=None, index=True)
    channel_key: str | None = Field(default=None, max_length=254)  # fairness and rate limits per channel
    payload: dict[str, Any] = _json(default_factory=dict)
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = _ts()
    claimed_until: datetime | None = _ts(default=None)
    claimed_by: str | None = Field(default=None, max_length=64)
    last_error: str | None = Field(default=None, max_length=1000)
    created_at: datetime = _ts()
    sent_at: datetime | None = _ts(default=None)
    result: dict[str, Any] = _json(default_factory=dict)
    # the last attempt may have reached Slack (a time-out, a 5xx, a lease taken over): the next
    # attempt looks for the row's key in the conversation before posting
    maybe_sent: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    failing_since: datetime | None = _ts(default=None)  # first failure of the current run of failures
    dead_at: datetime | None = _ts(default=None)

    __table_args__ = (sa.Index("ix_outbox_due", "status", "next_attempt_at"),)


class OutboxEvent(SQLModel, table=True):
    """The append-only trail of an outbox row: given up (dead), retried or discarded, by whom, why."""

    __tablename__ = "outbox_event"

    id: int | None = Field(default=None, primary_key=True)
    outbox_id: int = Field(foreign_key="outbox.id", index=True)
    at: datetime = _ts()
    actor: str = Field(max_length=254)  # "system" or the operator who ran `handover outbox`
    action: str = Field(max_length=16)  # dead, retry, discard
    reason: str | None = Field(default=None, sa_type=sa.Text)


class RoutingCursor(SQLModel, table=True):
    """Round-robin position within a team."""

    __tablename__ = "routing_cursor"

    team_key: str = Field(primary_key=True, max_length=100)
    position: int = 0


class ProcessedEvent(SQLModel, table=True):
    """Events API deliveries already handled (Slack retries carry the same event_id)."""

    __tablename__ = "processed_event"

    event_id: str = Field(primary_key=True, max_length=64)
    received_at: datetime = _ts()


class ApiKeyUse(SQLModel, table=True):
    """Idempotency-Key of the intake API: which item a key created."""

    __tablename__ = "api_idempotency"

    key: str = Field(primary_key=True, max_length=300)
    item_id: int = Field(foreign_key="item.id")
    request_hash: str = Field(max_length=64)
    created_at: datetime = _ts()


class FollowUp(SQLModel, table=True):
    """What the owner did with the item after accepting it (counts toward the service level)."""

    __tablename__ = "follow_up"

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id", index=True)
    by: str = Field(max_length=32)
    kind: str = Field(max_length=32)
    note: str | None = Field(default=None, sa_type=sa.Text)
    at: datetime = _ts()


class Feedback(SQLModel, table=True):
    """The owner's word on an item some time after accepting it: did they reach the customer, what
    came of it, how useful the information was. One per item; relayed to the sender and the
    Business Builder and counted in the quality figures (bot/reports.py)."""

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id", unique=True)
    owner_user_id: str = Field(max_length=32, index=True)
    asked_at: datetime = _ts()
    reminded_at: datetime | None = _ts(default=None)
    answered_at: datetime | None = _ts(default=None, index=True)
    reached_customer: bool | None = None
    outcome: str | None = Field(default=None, max_length=32)  # bot.ids.Outcome
    usefulness: int | None = None  # 1-5
    comment: str | None = Field(default=None, sa_type=sa.Text)
    by: str | None = Field(default=None, max_length=32)


class DigestSent(SQLModel, table=True):
    """Which weekly digest went to whom: the claim that makes it once per person per week."""

    __tablename__ = "digest_sent"

    person: str = Field(primary_key=True, max_length=254)  # e-mail (or Slack user id when unknown)
    week: str = Field(primary_key=True, max_length=10)  # ISO week of the person's local digest moment, 2026-W10
    at: datetime = _ts()
    lines: int = 0


class ReviewRound(SQLModel, table=True):
    """A lead review: a random sample of the period's discards, drawn with a recorded seed."""

    __tablename__ = "review_round"

    id: int | None = Field(default=None, primary_key=True)
    period_start: datetime = _ts(sa_column_kwargs={"unique": True})
    period_end: datetime = _ts()
    seed: int = Field(sa_type=sa.BigInteger)
    population: int = 0  # items discarded in the period
    sample_size: int = 0
    channel: str | None = Field(default=None, max_length=32)
    created_at: datetime = _ts()
    summarized_at: datetime | None = _ts(default=None)


class ReviewEntry(SQLModel, table=True):
    """One sampled discard and the reviewers' verdict on it."""

    __tablename__ = "review_entry"
    __table_args__ = (sa.UniqueConstraint("round_id", "item_id"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="review_round.id", index=True)
    item_id: int = Field(foreign_key="item.id", index=True)
    discarded_by: str | None = Field(default=None, max_length=32)
    verdict: str | None = Field(default=None, max_length=16)  # "good_grounds" or "reopen"
    reviewer: str | None = Field(default=None, max_length=32)
    decided_at: datetime | None = _ts(default=None)
    message_channel: str | None = Field(default=None, max_length=32)
    message_ts: str | None = Field(default=None, max_length=32)


class LookupLog(SQLModel, table=True):
    """Every look-up of customer information: who asked, how, what they saw and what was withheld."""

    __tablename__ = "lookup_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts()
    who: str = Field(max_length=254)  # Slack user id or e-mail
    via: str = Field(max_length=16)  # command, home, shortcut, api
    query: str = Field(default="", max_length=500)
    customer_id: int | None = None
    shown: int = 0
    withheld: int = 0


def names_person(user_column: Any, email_column: Any, *, user_id: str | None, email: str | None) -> Any:
    """SQL: this (Slack user id, e-mail) column pair names the person — by either, e-mails compared
    in lower case (``email`` given in lower case)."""
    clauses = []
    if email:
        clauses.append(sa.func.lower(email_column) == email)
    if user_id:
        clauses.append(user_column == user_id)
    return sa.or_(*clauses) if clauses else sa.false()


class WebhookEvent(SQLModel, table=True):
    """A state change of an item for the outbound webhooks (bot/webhooks), written by the audit
    trail's hook in the same transaction as the decision. ``event_id`` is the CloudEvent id and the
    ``webhook-id`` of every attempt and replay; ``body`` the CloudEvent JSON, fixed when recorded."""

    __tablename__ = "webhook_event"

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=64, unique=True)
    audit_event_id: int = Field(foreign_key="item_event.id", unique=True)
    item_id: int = Field(foreign_key="item.id", index=True)
    type: str = Field(max_length=32)
    at: datetime = _ts()
    body: str = Field(sa_type=sa.Text)
    fanned_out: bool = Field(default=False, index=True)  # a delivery row exists for each endpoint that wants it


class WebhookDelivery(SQLModel, table=True):
    """One event on its way to one endpoint: pending until the endpoint answered 2xx."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        sa.UniqueConstraint("endpoint", "event_id"),
        sa.Index("ix_webhook_delivery_due", "endpoint", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    endpoint: str = Field(max_length=100)
    event_id: str = Field(max_length=64)
    item_id: int = Field(index=True)
    seq: int  # the webhook_event id: an item's events go to an endpoint in this order
    status: str = Field(default="pending", max_length=16)  # pending, sending, delivered, failed
    attempts: int = 0
    next_attempt_at: datetime = _ts()
    claimed_until: datetime | None = _ts(default=None)
    created_at: datetime = _ts()
    delivered_at: datetime | None = _ts(default=None)
    response_status: int | None = None
    last_error: str | None = Field(default=None, max_length=1000)


class WebhookEndpointState(SQLModel, table=True):
    """What the sender learnt about an endpoint: disabled after it answered 410 Gone."""

    __tablename__ = "webhook_endpoint"

    name: str = Field(primary_key=True, max_length=100)
    disabled_at: datetime | None = _ts(default=None)
    disabled_reason: str | None = Field(default=None, max_length=1000)


# Indexes on expressions (migration 0007_perf): e-mails as names_person compares them, in lower case.
for _name, _table, _column in [
    ("ix_item_receiver_email_lower", Item, "receiver_email"),
    ("ix_item_sender_email_lower", Item, "sender_email"),
    ("ix_item_business_builder_email_lower", Item, "business_builder_email"),
    ("ix_item_contact_email_lower", Item, "contact_email"),
    ("ix_person_email_lower", Person, "email"),
]:
    sa.Index(_name, sa.func.lower(_table.__table__.c[_column]))  # type: ignore[attr-defined]
sa.Index("ix_item_sender_user_id", Item.__table__.c.sender_user_id)  # type: ignore[attr-defined]
sa.Index("ix_item_business_builder_user_id", Item.__table__.c.business_builder_user_id)  # type: ignore[attr-defined]
sa.Index("ix_outbox_channel_key", Outbox.__table__.c.channel_key)  # type: ignore[attr-defined]
