"""A sender corrects an item it handed over through the API: the same ``external_id`` again, with
changed fields.

What the item *says* can be corrected — notes, the customer's request, the contact's name, e-mail,
phone and title, the event, the checklist: the change is applied, recorded in the audit trail
(with the values before), the card is refreshed, and whoever holds the card is told in its thread
which fields changed. What decides *who receives and who may see* the item can't be changed by a
re-send — the customer it belongs to, region, product area, category, Business Builder, sender:
that is refused (:class:`CorrectionRefused`, a 409 with the fields named), because moving an item
to another customer or receiver silently would show it to people who were not meant to see it.
The same body again changes nothing (an idempotent retry).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from bot import audit, messages, outbox, texts
from bot.context import Context
from bot.customers import find
from bot.flows.changes import plain
from bot.intake.schema import ItemIn
from bot.models import Item

# ItemIn field -> Item column, for what a correction may change
APPLIED: dict[str, str] = {
    "description": "description",
    "customer_request": "customer_request",
    "contact_name": "contact_name",
    "contact_email": "contact_email",
    "contact_phone": "contact_phone",
    "contact_title": "contact_title",
    "event": "event_name",
}


class CorrectionRefused(Exception):
    """The re-sent item differs in fields that decide who receives or may see it."""

    def __init__(self, external_id: str, fields: list[str]) -> None:
        super().__init__(plain("plain.j2", "correction_refused", external_id=repr(external_id), fields=fields))
        self.fields = fields


def _words(fields: list[str]) -> list[str]:
    """How the fields are called in the audit trail and the card's thread: "contact e-mail", …"""
    return [plain("plain.j2", "field_word", field=f) for f in fields]


def _same(a: Any, b: Any) -> bool:
    return (a or None) == (b or None)


def refused_fields(session: Session, item: Item, item_in: ItemIn) -> list[str]:
    out = []
    customer = find(session, name=item_in.customer, domain=item_in.customer_domain, contact_email=item_in.contact_email)
    if customer is None or customer.id != item.customer_id:
        out.append("customer" if item_in.customer_domain is None else "customer / customer_domain")
    if not _same((item_in.region or "").lower(), (item.region or "").lower()):
        out.append("region")
    if not _same((item_in.product_area or "").lower(), (item.product_area or "").lower()):
        out.append("product_area")
    if item_in.category is not None and item_in.category != item.sender_category:
        out.append("category")
    if not _same(item_in.business_builder_email, item.business_builder_email):
        out.append("business_builder_email")
    if not _same(item_in.sender_email or item_in.business_builder_email, item.sender_email):
        out.append("sender_email")
    return out


def _checklist(ctx: Context, values: dict[str, bool]) -> dict[str, bool]:
    known = {i.key for i in ctx.config.checklist.items}
    return {k: True for k, v in values.items() if v and k in known}


def apply(session: Session, ctx: Context, item: Item, item_in: ItemIn, *, actor: str) -> list[str]:
    """Apply ``item_in``'s corrections to ``item``; returns the fields that changed (none: a retry).
    Raises :class:`CorrectionRefused` when a field that decides visibility or routing differs."""
    changed = [f for f, column in APPLIED.items() if not _same(getattr(item_in, f), getattr(item, column))]
    checklist = _checklist(ctx, item_in.checklist)
    if checklist != (item.checklist or {}):
        changed.append("checklist")
    refused = refused_fields(session, item, item_in)
    if refused:
        raise CorrectionRefused(item_in.external_id or "", refused)
    if not changed:
        return []
    now = ctx.clock.now()
    before = {f: (item.checklist if f == "checklist" else getattr(item, APPLIED[f])) for f in changed}
    for f in changed:
        if f == "checklist":
            item.checklist = checklist
        elif f == "customer_request":
            item.customer_request = item_in.customer_request or None
            if not item.customer_request:
                item.customer_request_open = False
            elif not before[f]:
                item.customer_request_open = True
        else:
            setattr(item, APPLIED[f], getattr(item_in, f) if f != "description" else item_in.description or "")
    session.add(item)
    session.flush()
    assert item.id is not None
    event = audit.record(
        session,
        item.id,
        actor=actor,
        kind="corrected",
        at=now,
        text=plain("plain.j2", "corrected", fields=_words(changed)),
        fields=changed,
        before=before,
    )
    session.flush()
    outbox.enqueue(
        session,
        messages.CardRefresh(item_id=item.id),
        key=f"refresh:{item.id}:corrected:{event.id}",
        now=now,
        item_id=item.id,
        channel_key=item.card_channel or f"item:{item.id}",
    )
    if item.card_ts:  # the card is out: its holder reads what changed in its thread
        message = messages.Thread(text=texts.say("intake.j2", "corrected", item_id=item.id, fields=_words(changed)))
        outbox.enqueue(
            session,
            message,
            key=f"corrected:{item.id}:{event.id}",
            now=now,
            item_id=item.id,
            channel_key=item.card_channel,
        )
    return changed
