"""Intake through the JSON API: idempotent on an Idempotency-Key or the sender's external id. The
same external id with changed fields is a correction (bot/flows/correct.py): applied and told, or
refused with the reason — never dropped in silence."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field

from sqlmodel import Session, select

from bot.context import Context
from bot.flows import correct
from bot.flows.deliver import Delivery, hand_over
from bot.ids import Source
from bot.intake.schema import ItemIn
from bot.models import ApiKeyUse, Item


class IdempotencyConflict(Exception):
    """The same Idempotency-Key arrived with a different item."""


@dataclass
class ApiResult:
    delivery: Delivery
    replayed: bool
    corrected: list[str] = field(default_factory=list)  # the fields a re-send with the same external_id changed


def request_hash(item_in: ItemIn) -> str:
    return hashlib.sha256(json.dumps(item_in.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


def receive(
    session: Session, ctx: Context, item_in: ItemIn, *, idempotency_key: str | None, actor: str = "api"
) -> ApiResult:
    digest = request_hash(item_in)
    if idempotency_key:
        used = session.get(ApiKeyUse, idempotency_key)
        if used is not None:
            if used.request_hash != digest:
                raise IdempotencyConflict(idempotency_key)
            item = session.get(Item, used.item_id)
            assert item is not None  # the key's item (a foreign key)
            return ApiResult(Delivery(item, created=False, route=None), replayed=True)
    corrected: list[str] | None = None
    if item_in.external_id:
        key = f"ext:{item_in.external_id}"
        known = session.exec(select(Item).where(Item.external_key == f"{Source.API.value}:{key}")).first()
        if known is not None:
            corrected = correct.apply(session, ctx, known, item_in, actor=actor)
    elif idempotency_key:
        key = f"idem:{idempotency_key}"
    else:
        key = f"new:{uuid.uuid4().hex}"
    delivery = hand_over(session, ctx, item_in, source=Source.API, key=key, actor=actor)
    if idempotency_key:
        assert delivery.item.id is not None  # hand_over() flushed the item (or found the stored one)
        session.add(
            ApiKeyUse(key=idempotency_key, item_id=delivery.item.id, request_hash=digest, created_at=ctx.clock.now())
        )
    return ApiResult(delivery, replayed=not delivery.created, corrected=corrected or [])
