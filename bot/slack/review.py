"""The lead review's messages in the review channel: the intro, one message per sampled discard
(its reason, justification and history, with the two buttons; after the verdict, the verdict),
and the summary. Built from the database when sent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import ActionsBlock
from sqlalchemy import update
from sqlmodel import Session, select

from bot import texts
from bot.config import Config
from bot.ids import ActionId, ReviewRef, Verdict
from bot.messages import Review
from bot.models import Customer, Item, ItemEvent, ReviewEntry, ReviewRound
from bot.outbox import Defer
from bot.slack import blocks as b

HISTORY_LINES = 8


def _say(macro: str, **values: Any) -> str:
    return texts.say("review.j2", macro, **values)


def _period(config: Config, round_: ReviewRound) -> str:
    return _say("period_name", start=round_.period_start, tz=config.timezone, every=config.review.every)


def build(session: Session, config: Config, message: Review, *,
          now: datetime) -> tuple[str, list[dict], dict[str, Any]] | None:
    part = message.part
    if part == "entry":
        assert message.entry_id is not None  # a Review of an entry names it (bot.messages.Review)
        return _entry(session, config, message.entry_id, update=message.update)
    round_ = session.get(ReviewRound, message.round_id)
    if round_ is None or not round_.channel:
        return None
    period = _period(config, round_)
    target = {"channel": round_.channel}
    if part == "intro":
        parts = [b.header(_say("intro_title", period=period)),
                 b.section(_say("intro", sample=round_.sample_size, population=round_.population, period=period,
                                seed=round_.seed))]
        return _say("intro_text", period=period), b.to_dicts(parts), target
    entries = list(session.exec(select(ReviewEntry).where(ReviewEntry.round_id == round_.id)
                                .order_by(ReviewEntry.item_id)))
    good = [e.item_id for e in entries if e.verdict == Verdict.GOOD_GROUNDS]
    reopened = [e.item_id for e in entries if e.verdict == Verdict.REOPEN]
    reviewers = sorted({e.reviewer for e in entries if e.reviewer})
    text = _say("summary", period=period, good=good, reopened=reopened, reviewers=reviewers)
    return _say("summary_text", period=period), b.to_dicts([b.section(text)]), target


def _entry(session: Session, config: Config, entry_id: int, *, update: bool) -> tuple[str, list, dict] | None:
    entry = session.get(ReviewEntry, entry_id)
    round_ = session.get(ReviewRound, entry.round_id) if entry else None
    item = session.get(Item, entry.item_id) if entry else None
    if entry is None or round_ is None or item is None or not round_.channel:
        return None
    if update and not entry.message_ts:
        raise Defer(1.0, "the review message has not been posted yet")
    customer = session.get(Customer, item.customer_id)
    name = customer.name if customer else ""
    trail = list(session.exec(select(ItemEvent).where(ItemEvent.item_id == item.id, ItemEvent.at <= round_.created_at)
                              .order_by(ItemEvent.id)))
    # the reason as it was when the item was sampled (a reopen clears it on the item)
    discard = next((e for e in reversed(trail) if e.kind == "discarded"), None)
    reason_key = (discard.detail or {}).get("reason") if discard else item.discard_reason
    justification = (discard.text if discard else None) or item.discard_justification
    parts: list[Any] = [b.section(_say("entry", item_id=item.id, customer=name,
                                       category=config.category(item.category).label, event=item.event_name,
                                       by=entry.discarded_by, reason=config.discard_reason(reason_key or "").label,
                                       justification=justification))]
    lines = [_say("history_line", at=e.at, kind=e.kind, actor=e.actor, text=e.text) for e in trail[-HISTORY_LINES:]]
    if lines:
        parts.append(b.context("\n".join(lines)))
    if entry.verdict:
        parts.append(b.section(_say("verdict", verdict=entry.verdict, by=entry.reviewer)))
    else:
        ref = ReviewRef(entry=entry.id).dump()
        parts.append(ActionsBlock(block_id=f"review|{entry.id}", elements=[
            b.button(_say("good_button"), ActionId.REVIEW_GOOD_GROUNDS, ref, style="primary"),
            b.button(_say("reopen_button"), ActionId.REVIEW_REOPEN, ref)]))
    target = {"channel": entry.message_channel or round_.channel, "ts": entry.message_ts if update else None}
    return _say("entry_text", item_id=item.id, customer=name), b.to_dicts(parts), target


def remember(session: Session, entry_id: int, channel: str, ts: str) -> None:
    session.execute(update(ReviewEntry).where(ReviewEntry.id == entry_id)
                    .values(message_channel=channel, message_ts=ts))
