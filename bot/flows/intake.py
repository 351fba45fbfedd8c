"""Intake through the JSON API: idempotent on an Idempotency-Key or the sender's external id."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass

from sqlmodel import Session

from bot.context import Context
from bot.flows.deliver import Delivery, hand_over
from bot.ids import Source
from bot.intake.schema import ItemIn
from bot.models import ApiKeyUse


class IdempotencyConflict(Exception):
    """The same Idempotency-Key arrived with a different item."""


@dataclass
class ApiResult:
    delivery: Delivery
    replayed: bool


def request_hash(item_in: ItemIn) -> str:
    return hashlib.sha256(json.dumps(item_in.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


def receive(session: Session, ctx: Context, item_in: ItemIn, *, idempotency_key: str | None,
            actor: str = "api") -> ApiResult:
    digest = request_hash(item_in)
    if idempotency_key:
        used = session.get(ApiKeyUse, idempotency_key)
        if used is not None:
            if used.request_hash != digest:
                raise IdempotencyConflict(idempotency_key)
            from bot.models import Item
            return ApiResult(Delivery(session.get(Item, used.item_id), created=False, route=None), replayed=True)
    if item_in.external_id:
        key = f"ext:{item_in.external_id}"
    elif idempotency_key:
        key = f"idem:{idempotency_key}"
    else:
        key = f"new:{uuid.uuid4().hex}"
    delivery = hand_over(session, ctx, item_in, source=Source.API, key=key, actor=actor)
    if idempotency_key:
        session.add(ApiKeyUse(key=idempotency_key, item_id=delivery.item.id, request_hash=digest,
                              created_at=ctx.clock.now()))
    return ApiResult(delivery, replayed=not delivery.created)
