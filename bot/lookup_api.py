"""GET /api/customers: the customer look-up for other systems, on behalf of a named person
(``X-Handover-User: <e-mail>``), with the same visibility, withheld count and log as in Slack."""

from __future__ import annotations

import re
from datetime import datetime

from fastapi import HTTPException
from pydantic import BaseModel

from bot import texts
from bot.context import Context
from bot.db import run_in_transaction
from bot.flows import lookup
from bot.models import Customer, Item, stored_id
from bot.visibility import Viewer

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class CustomerOut(BaseModel):
    id: int
    name: str
    domain: str | None
    region: str | None
    account_owner: str | None
    matched_by: str | None = None


class LookupItemOut(BaseModel):
    id: int
    category: str
    status: str
    event: str | None
    created_at: datetime
    receiver: str | None
    owner_user_id: str | None
    description: str
    customer_request: str | None
    customer_request_open: bool
    discard_reason: str | None
    follow_up_count: int


class AnswerOut(BaseModel):
    author: str
    text: str
    at: datetime


class QuestionOut(BaseModel):
    id: int
    item_id: int
    asked_by: str
    text: str
    asked_at: datetime
    open: bool
    answers: list[AnswerOut]


class FollowUpOut(BaseModel):
    item_id: int
    by: str
    kind: str
    note: str | None
    at: datetime


class LookupOut(BaseModel):
    """Several ``matches`` and no ``customer``: ask again with ``customer_id``. One match: the customer,
    the items the person may see, and how many were ``withheld`` with whom to ``ask``."""

    query: str
    matches: list[CustomerOut]
    customer: CustomerOut | None = None
    items: list[LookupItemOut] = []
    open_requests: list[int] = []
    questions: list[QuestionOut] = []
    follow_ups: list[FollowUpOut] = []
    withheld: int = 0
    ask: list[str] = []


def _customer(c: Customer, why: str | None = None) -> CustomerOut:
    return CustomerOut(
        id=c.id, name=c.name, domain=c.domain, region=c.region, account_owner=c.account_owner_email, matched_by=why
    )


def _item(i: Item) -> LookupItemOut:
    return LookupItemOut(
        id=i.id,
        category=str(i.category),
        status=str(i.status),
        event=i.event_name,
        created_at=i.created_at,
        receiver=i.receiver_email,
        owner_user_id=i.owner_user_id,
        description=i.description,
        customer_request=i.customer_request,
        customer_request_open=i.customer_request_open,
        discard_reason=i.discard_reason,
        follow_up_count=i.follow_up_count,
    )


def look_up(ctx: Context, *, user: str | None, q: str | None, customer_id: int | None) -> LookupOut:
    """Raises HTTPException(400) with a reason when the person or the query is missing."""
    email = (user or "").strip().lower()
    if not email:
        raise HTTPException(400, texts.say("lookup.j2", "api_no_user"))
    if not _EMAIL.match(email) or len(email) > 254:
        raise HTTPException(400, texts.say("lookup.j2", "api_bad_user"))
    query = (q or "").strip()[:500]
    if not query and customer_id is None:
        raise HTTPException(400, texts.say("lookup.j2", "api_no_query"))
    now = ctx.clock.now()

    def work(session) -> LookupOut:
        viewer = Viewer.resolve(session, ctx.config, email=email)
        found = lookup.look_up_customer(
            session, ctx.config, viewer, query, via=lookup.Via.API, now=now, customer_id=customer_id
        )
        out = LookupOut(query=query, matches=[_customer(m.customer, m.why) for m in found.matches])
        intel = found.intel
        if intel is None:
            return out
        out.customer = _customer(intel.customer)
        out.items = [_item(i) for i in [*intel.open_items, *intel.past_items]]
        out.open_requests = [stored_id(i) for i in intel.open_requests]
        out.questions = [
            QuestionOut(
                id=t.question.id,
                item_id=t.question.item_id,
                asked_by=t.question.asked_by,
                text=t.question.text,
                asked_at=t.question.asked_at,
                open=t.question.open,
                answers=[AnswerOut(author=a.author, text=a.text, at=a.at) for a in t.answers],
            )
            for t in intel.questions
        ]
        out.follow_ups = [
            FollowUpOut(item_id=f.item_id, by=f.by, kind=f.kind, note=f.note, at=f.at) for f, _ in intel.follow_ups
        ]
        out.withheld = intel.withheld
        out.ask = [c.email for c in intel.ask]
        return out

    return run_in_transaction(ctx.engine, work)
