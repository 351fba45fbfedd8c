"""Webhook events: the audit records that are state changes of an item, and their payload.

The payload is a CloudEvents 1.0 structured JSON document (the ``cloudevents`` SDK writes it). Its
``data`` holds the item with the CRM's mandatory fields (name, description, customer, source,
creator = the Business Builder, the customer's contact details; expected follow-up and market
category where known), the customer, the actor, the reason and justification of the change and
the item's link back to Slack. The pydantic models below are the contract: the committed JSON
Schemas (bot/webhooks/schemas/*.json) and the OpenAPI document's ``webhooks`` are generated from
them, and every payload is built through them.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model
from sqlmodel import Session, select

from bot.ids import WebhookEventType as T
from bot.models import Item, ItemEvent, Person, WebhookEvent, stored_id

SOURCE = "/handover"
SPECVERSION = "1.0"
# the CloudEvent id of an audit record: the same on every attempt, in every replay
NAMESPACE = uuid.UUID("6f1d3c1e-7f8a-4f7e-9a55-0d5c2b4e8a17")

# audit kinds (bot/audit.py callers) -> the webhook event they are
AUDIT_KINDS: dict[str, T] = {
    "handed_over": T.ITEM_CREATED,
    "delivered": T.ITEM_DELIVERED,
    "accepted": T.ITEM_ACCEPTED,
    "recategorized": T.ITEM_RECATEGORIZED,
    "reassigned": T.ITEM_REASSIGNED,
    "auto_reassigned": T.ITEM_REASSIGNED,
    "rerouted": T.ITEM_REASSIGNED,
    "discarded": T.ITEM_DISCARDED,
    "reopened": T.ITEM_REOPENED,
    "follow_up": T.ITEM_FOLLOW_UP,
    "closed": T.ITEM_CLOSED,
    "asked": T.QUESTION_ASKED,
    "answered": T.QUESTION_ANSWERED,
    "feedback": T.FEEDBACK_GIVEN,
    "review_verdict": T.REVIEW_VERDICT,
}

DESCRIPTIONS: dict[T, str] = {
    T.ITEM_CREATED: "An item was handed over (API, import, Slack) and offered to its first receiver.",
    T.ITEM_DELIVERED: "The item's card reached its receiver in Slack (data.item.slack_url links to it).",
    T.ITEM_ACCEPTED: "The receiver accepted the item and is its owner now.",
    T.ITEM_RECATEGORIZED: "The item's category changed (change.old, change.new); it may have a new receiver.",
    T.ITEM_REASSIGNED: "The item was offered to another receiver (by a person, the scheduler, or the fallback).",
    T.ITEM_DISCARDED: "The receiver discarded the item: reason and justification.",
    T.ITEM_REOPENED: "A discarded item was reopened and offered again.",
    T.ITEM_FOLLOW_UP: "The owner followed the item up (change.follow_up: call, meeting, e-mail, quote, …).",
    T.ITEM_CLOSED: "The item was closed.",
    T.QUESTION_ASKED: "A receiver asked the Business Builder a question about the item.",
    T.QUESTION_ANSWERED: "The Business Builder answered a question.",
    T.FEEDBACK_GIVEN: "The owner gave feedback on the item (reached the customer, outcome, usefulness).",
    T.REVIEW_VERDICT: "The lead review gave its verdict on a discarded item (good grounds, or reopen).",
}


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WebhookContact(_Out):
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    title: str | None = None


class WebhookPerson(_Out):
    """A person (Slack user id and/or e-mail), or the system acting (``kind``: system)."""

    kind: Literal["person", "system"]
    slack_user_id: str | None = None
    email: str | None = None
    name: str | None = Field(None, description="The system part that acted (scheduler, api, import, system)")


class WebhookCustomer(_Out):
    id: int
    name: str
    domain: str | None = None
    region: str | None = None
    account_owner_email: str | None = None


class WebhookSlackLink(_Out):
    channel: str
    ts: str
    url: str = Field(
        description="https://slack.com/archives/<channel>/p<ts without the dot>: opens the card "
        "in the signed-in person's workspace"
    )


class WebhookItem(_Out):
    id: int
    name: str = Field(description="The CRM's name of the record: customer, and event where known")
    description: str
    customer_request: str | None = None
    source: str = Field(description="How it was handed over: api, import, slack")
    event: str | None = Field(None, description="The event (trade show, webinar, campaign) it comes from")
    category: str = Field(description="prospect, lead, opportunity_intelligence, customer_intelligence")
    market_category: str | None = Field(None, description="The item's product area (the CRM's market category)")
    region: str | None = None
    status: str
    creator: WebhookPerson | None = Field(None, description="The Business Builder who captured it")
    sender: WebhookPerson | None = None
    receiver: WebhookPerson | None = None
    owner: WebhookPerson | None = None
    contact: WebhookContact
    checklist: dict[str, bool] = {}
    created_at: datetime
    decision_due_at: datetime | None = None
    accepted_at: datetime | None = None
    expected_follow_up: str | None = Field(None, description="The customer's explicit request while it is open")
    follow_up_count: int = 0
    discard_reason: str | None = None
    discard_justification: str | None = None
    slack: WebhookSlackLink | None = Field(None, description="The item's card in Slack (none until it was delivered)")


class WebhookData(_Out):
    item: WebhookItem
    customer: WebhookCustomer
    actor: WebhookPerson
    reason: str | None = Field(None, description="Why: the discard reason's key, the new category, the verdict")
    justification: str | None = Field(None, description="The person's words: justification, note, question, answer")
    change: dict[str, Any] = Field(
        {},
        description="The audit record's details (e.g. old/new category, to, "
        "follow_up, question_id, outcome, usefulness)",
    )
    audit_id: int = Field(description="The audit record in Handover (`handover export ITEM`)")


# the envelope's fixed values, as type aliases (mypy reads a Literal of a string inline as a string annotation)
_SpecVersion = Literal["1.0"]
_Source = Literal["/handover"]
_ContentType = Literal["application/json"]


def _envelope(event_type: str) -> type[BaseModel]:
    return create_model(
        "Event_" + event_type.replace(".", "_"),
        __base__=_Out,
        __doc__=DESCRIPTIONS[T(event_type)],
        specversion=(_SpecVersion, ...),
        id=(str, Field(..., description="Stable: the same in every attempt and replay (also the webhook-id header)")),
        source=(_Source, ...),
        type=(Literal[event_type], ...),  # type: ignore[arg-type]  # a Literal made at run time, one per event type
        subject=(str, Field(..., description="items/<item id>")),
        time=(datetime, Field(..., description="When the change happened")),
        datacontenttype=(_ContentType, ...),
        data=(WebhookData, ...),
    )


ENVELOPES: dict[T, type[BaseModel]] = {t: _envelope(t.value) for t in T}


def json_schema(event_type: T) -> dict[str, Any]:
    schema = ENVELOPES[event_type].model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://handover.invalid/webhooks/{event_type.value}.json"
    schema["title"] = event_type.value
    schema["description"] = DESCRIPTIONS[event_type]
    return schema


def event_id(audit: ItemEvent) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{audit.id}|{audit.at.isoformat()}|{audit.kind}"))


_SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def _person(session: Session, user_id: str | None = None, email: str | None = None) -> WebhookPerson | None:
    if not user_id and not email:
        return None
    if user_id and not email:
        email = session.exec(select(Person.email).where(Person.slack_user_id == user_id)).first()
    return WebhookPerson(kind="person", slack_user_id=user_id, email=email)


def actor_of(session: Session, actor: str) -> WebhookPerson:
    if _SLACK_ID.match(actor or ""):
        return _person(session, user_id=actor) or WebhookPerson(kind="person", slack_user_id=actor)
    if "@" in (actor or ""):
        return WebhookPerson(kind="person", email=actor.lower())
    return WebhookPerson(kind="system", name=actor or "system")


def slack_link(channel: str | None, ts: str | None) -> WebhookSlackLink | None:
    if not channel or not ts:
        return None
    return WebhookSlackLink(channel=channel, ts=ts, url=f"https://slack.com/archives/{channel}/p{ts.replace('.', '')}")


def _reason(audit: ItemEvent) -> str | None:
    d = audit.detail or {}
    for key in ("reason", "new", "verdict", "follow_up", "outcome"):
        if d.get(key) is not None:
            return str(d[key])
    return None


def body_for(session: Session, audit: ItemEvent, event_type: T) -> str:
    """The CloudEvent JSON of ``audit`` from the item's state in ``session`` now."""
    from cloudevents.core.bindings.http import to_structured_event
    from cloudevents.core.v1.event import CloudEvent

    item = session.get(Item, audit.item_id)
    if item is None:  # (an audit record's item is never deleted)
        raise LookupError(f"audit record {audit.id}: no item {audit.item_id}")
    customer = item.customer
    name = customer.name + (f" ({item.event_name})" if item.event_name else "")
    data = WebhookData(
        item=WebhookItem(
            id=item.id,
            name=name,
            description=item.description,
            customer_request=item.customer_request,
            source=item.source,
            event=item.event_name,
            category=str(item.category),
            market_category=item.product_area,
            region=item.region,
            status=str(item.status),
            creator=_person(session, item.business_builder_user_id, item.business_builder_email),
            sender=_person(session, item.sender_user_id, item.sender_email),
            receiver=_person(session, item.receiver_user_id, item.receiver_email),
            owner=_person(session, item.owner_user_id),
            contact=WebhookContact(
                name=item.contact_name, email=item.contact_email, phone=item.contact_phone, title=item.contact_title
            ),
            checklist=dict(item.checklist or {}),
            created_at=item.created_at,
            decision_due_at=item.decision_due_at,
            accepted_at=item.accepted_at,
            expected_follow_up=item.customer_request if item.customer_request_open else None,
            follow_up_count=item.follow_up_count,
            discard_reason=item.discard_reason,
            discard_justification=item.discard_justification,
            slack=slack_link(item.card_channel, item.card_ts),
        ),
        customer=WebhookCustomer(
            id=customer.id,
            name=customer.name,
            domain=customer.domain,
            region=customer.region,
            account_owner_email=customer.account_owner_email,
        ),
        actor=actor_of(session, audit.actor),
        reason=_reason(audit),
        justification=audit.text,
        change=dict(audit.detail or {}),
        audit_id=audit.id,
    )
    attributes = {
        "id": event_id(audit),
        "source": SOURCE,
        "type": event_type.value,
        "specversion": SPECVERSION,
        "subject": f"items/{item.id}",
        "time": audit.at,
        "datacontenttype": "application/json",
    }
    message = to_structured_event(CloudEvent(attributes, data.model_dump(mode="json")))
    body = message.body.decode("utf-8")
    ENVELOPES[event_type].model_validate_json(body)  # the payload is what the published schema says
    return body


def on_audit(session: Session, audit: ItemEvent) -> WebhookEvent | None:
    """The audit trail's hook: an audit record that is a state change becomes a webhook event, in
    the same transaction. The endpoints are chosen later (bot.webhooks.queue.fan_out)."""
    event_type = AUDIT_KINDS.get(audit.kind)
    if event_type is None:
        return None
    session.flush()  # the audit record's id is part of the event's id
    row = WebhookEvent(
        event_id=event_id(audit),
        audit_event_id=stored_id(audit),
        item_id=audit.item_id,
        type=event_type.value,
        at=audit.at,
        body=body_for(session, audit, event_type),
    )
    session.add(row)
    return row


def stored_or_rebuilt(session: Session, audit: ItemEvent) -> WebhookEvent | None:
    """The event recorded for ``audit``, or (an audit record from before the webhooks existed) one
    built now from the item's current state, with the same stable id."""
    found = session.exec(select(WebhookEvent).where(WebhookEvent.audit_event_id == audit.id)).first()
    if found is not None or audit.kind not in AUDIT_KINDS:
        return found
    row = WebhookEvent(
        event_id=event_id(audit),
        audit_event_id=stored_id(audit),
        item_id=audit.item_id,
        type=AUDIT_KINDS[audit.kind].value,
        at=audit.at,
        body=body_for(session, audit, AUDIT_KINDS[audit.kind]),
        fanned_out=True,
    )
    session.add(row)
    session.flush()
    return row


def data_of(body: str) -> dict[str, Any]:
    return json.loads(body)["data"]


def schema_text(event_type: T) -> str:
    return json.dumps(json_schema(event_type), indent=2, sort_keys=True) + "\n"


def write_schemas() -> None:
    """Write bot/webhooks/schemas/<type>.json (``python -m bot.webhooks.events``); a test checks
    the committed files are what the models say."""
    from pathlib import Path

    folder = Path(__file__).with_name("schemas")
    folder.mkdir(exist_ok=True)
    for t in T:
        (folder / f"{t.value}.json").write_text(schema_text(t), encoding="utf-8")


if __name__ == "__main__":
    write_schemas()
