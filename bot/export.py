"""An item's full history for a CRM: its fields, customer, audit trail, questions (with every
message of their conversations), follow-ups and feedback — as JSON or as CSV.

JSON is ``{"exported_at": …, "items": [{…}, …]}``, one object per item with nested lists.
CSV is one row per record of the history ("long" format, what CRMs import as activities): every
row repeats the item's key fields, then says what the record is (``item``, ``event``,
``question``, ``message``, ``follow_up``, ``feedback``), when, who, what kind, its text and its
details as JSON. Cells that a spreadsheet would run as a formula are defused (bot.csvsafe).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from bot import csvsafe
from bot.models import Feedback, FollowUp, Item, ItemEvent, Question, QuestionMessage

ITEM_FIELDS = (
    "id",
    "external_key",
    "source",
    "event_name",
    "category",
    "sender_category",
    "status",
    "contact_name",
    "contact_email",
    "contact_phone",
    "contact_title",
    "description",
    "customer_request",
    "customer_request_open",
    "region",
    "product_area",
    "team_key",
    "checklist",
    "business_builder_email",
    "business_builder_user_id",
    "sender_email",
    "sender_user_id",
    "receiver_email",
    "receiver_user_id",
    "owner_user_id",
    "responsible_user_id",
    "routing_note",
    "discard_reason",
    "discard_justification",
    "follow_up_count",
    "last_follow_up_at",
    "created_at",
    "offered_at",
    "decision_due_at",
    "accepted_at",
    "decided_at",
)
CSV_ITEM_COLUMNS = (
    "item_id",
    "customer",
    "customer_domain",
    "event",
    "category",
    "status",
    "contact_name",
    "contact_email",
    "region",
    "team",
    "sender_email",
    "business_builder_email",
    "receiver_email",
    "owner_user_id",
    "created_at",
    "accepted_at",
)
CSV_RECORD_COLUMNS = ("record", "at", "who", "kind", "text", "detail")


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "value") and not isinstance(value, (int, float, str, bool)):
        return value.value  # enums stored as such
    return value


def item_ids_since(session: Session, since: datetime | None) -> list[int]:
    """Items handed over at or after ``since`` (``--all --since``); all of them without it."""
    query = select(col(Item.id)).order_by(col(Item.id))
    if since is not None:
        query = query.where(col(Item.created_at) >= since)
    return [item_id for item_id in session.exec(query) if item_id is not None]  # (a stored row's id never is)


def history(session: Session, item_id: int) -> dict[str, Any] | None:
    """Everything known about one item, as plain JSON-ready values; None when there is no such item."""
    item = session.get(Item, item_id)
    if item is None:
        return None
    customer = item.customer
    fields = {name: _value(getattr(item, name)) for name in ITEM_FIELDS}
    fields["customer"] = (
        {
            "id": customer.id,
            "name": customer.name,
            "domain": customer.domain,
            "region": customer.region,
            "account_owner_email": customer.account_owner_email,
        }
        if customer
        else None
    )
    events = session.exec(
        select(ItemEvent).where(ItemEvent.item_id == item_id).order_by(col(ItemEvent.at), col(ItemEvent.id))
    )
    questions = list(
        session.exec(
            select(Question).where(Question.item_id == item_id).order_by(col(Question.asked_at), col(Question.id))
        )
    )
    messages: dict[int | None, list[dict[str, Any]]] = {q.id: [] for q in questions}
    if questions:
        for m in session.exec(
            select(QuestionMessage)
            .where(col(QuestionMessage.question_id).in_(list(messages)))
            .order_by(col(QuestionMessage.at), col(QuestionMessage.id))
        ):
            messages[m.question_id].append({"at": _value(m.at), "author": m.author, "text": m.text})
    follow_ups = session.exec(
        select(FollowUp).where(FollowUp.item_id == item_id).order_by(col(FollowUp.at), col(FollowUp.id))
    )
    feedback = session.exec(select(Feedback).where(Feedback.item_id == item_id)).first()
    return {
        "item": fields,
        "events": [
            {"at": _value(e.at), "actor": e.actor, "kind": e.kind, "text": e.text, "detail": e.detail} for e in events
        ],
        "questions": [
            {
                "id": q.id,
                "asked_at": _value(q.asked_at),
                "asked_by": q.asked_by,
                "business_builder_user_id": q.business_builder_user_id,
                "text": q.text,
                "open": q.open,
                "answered_at": _value(q.answered_at),
                "messages": messages[q.id],
            }
            for q in questions
        ],
        "follow_ups": [{"at": _value(f.at), "by": f.by, "kind": f.kind, "note": f.note} for f in follow_ups],
        "feedback": None
        if feedback is None
        else {
            "asked_at": _value(feedback.asked_at),
            "reminded_at": _value(feedback.reminded_at),
            "answered_at": _value(feedback.answered_at),
            "by": feedback.by,
            "reached_customer": feedback.reached_customer,
            "outcome": feedback.outcome,
            "usefulness": feedback.usefulness,
            "comment": feedback.comment,
        },
    }


def histories(session: Session, item_ids: list[int]) -> list[dict[str, Any]]:
    return [h for h in (history(session, i) for i in item_ids) if h is not None]


def to_json(records: list[dict[str, Any]], *, exported_at: datetime) -> str:
    return json.dumps({"exported_at": exported_at.isoformat(), "items": records}, indent=2, ensure_ascii=False)


def _records(h: dict[str, Any]) -> list[tuple[str, Any, Any, Any, Any, Any]]:
    """(record, at, who, kind, text, detail) for each part of one item's history, in time order
    within each part: the item itself first."""
    item = h["item"]
    out: list[tuple[str, Any, Any, Any, Any, Any]] = [
        (
            "item",
            item["created_at"],
            item["sender_email"] or item["business_builder_email"],
            item["source"],
            item["description"],
            {
                "customer_request": item["customer_request"],
                "checklist": item["checklist"],
                "discard_reason": item["discard_reason"],
                "discard_justification": item["discard_justification"],
            },
        )
    ]
    out += [("event", e["at"], e["actor"], e["kind"], e["text"], e["detail"] or None) for e in h["events"]]
    for q in h["questions"]:
        out.append(
            (
                "question",
                q["asked_at"],
                q["asked_by"],
                "open" if q["open"] else "answered",
                q["text"],
                {"answered_at": q["answered_at"]},
            )
        )
        out += [
            ("message", m["at"], m["author"], "question_message", m["text"], {"question_id": q["id"]})
            for m in q["messages"]
        ]
    out += [("follow_up", f["at"], f["by"], f["kind"], f["note"], None) for f in h["follow_ups"]]
    fb = h["feedback"]
    if fb is not None:
        out.append(
            (
                "feedback",
                fb["answered_at"] or fb["asked_at"],
                fb["by"],
                fb["outcome"],
                fb["comment"],
                {
                    "reached_customer": fb["reached_customer"],
                    "usefulness": fb["usefulness"],
                    "answered": fb["answered_at"] is not None,
                },
            )
        )
    return out


def csv_table(records: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    rows: list[list[Any]] = []
    for h in records:
        item, customer = h["item"], h["item"]["customer"] or {}
        key = [
            item["id"],
            customer.get("name"),
            customer.get("domain"),
            item["event_name"],
            item["category"],
            item["status"],
            item["contact_name"],
            item["contact_email"],
            item["region"],
            item["team_key"],
            item["sender_email"],
            item["business_builder_email"],
            item["receiver_email"],
            item["owner_user_id"],
            item["created_at"],
            item["accepted_at"],
        ]
        for record, at, who, kind, text, detail in _records(h):
            detail_text = json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else None
            rows.append([*key, record, at, who, kind, text, detail_text])
    return [*CSV_ITEM_COLUMNS, *CSV_RECORD_COLUMNS], rows


def to_csv(records: list[dict[str, Any]]) -> str:
    header, rows = csv_table(records)
    return csvsafe.to_text(header, rows)
