"""The lead review's messages in the review channel: the intro, one message per sampled discard
(its reason, justification and history, with the two buttons; after the verdict, the verdict),
and the summary. Drawn when sent, from what ``bot.loaders.review`` reads."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ActionsBlock

from bot import texts
from bot.config import Config
from bot.ids import ActionId, ReviewRef, Verdict
from bot.loaders.review import EntryPost, RoundPost
from bot.models import ReviewRound
from bot.slack import blocks as b

HISTORY_LINES = 8


def _say(macro: str, **values: Any) -> str:
    return texts.say("review.j2", macro, **values)


def _period(config: Config, round_: ReviewRound) -> str:
    return _say("period_name", start=round_.period_start, tz=config.timezone, every=config.review.every)


def build(config: Config, data: RoundPost | EntryPost | None) -> tuple[str, list[dict], dict[str, Any]] | None:
    """(text, blocks, where: channel and, for an update, ts); None when there is nothing to show."""
    if data is None:
        return None
    if isinstance(data, EntryPost):
        return _entry(config, data)
    round_ = data.round
    period = _period(config, round_)
    target = {"channel": round_.channel}
    if data.part == "intro":
        parts = [
            b.header(_say("intro_title", period=period)),
            b.section(
                _say("intro", sample=round_.sample_size, population=round_.population, period=period, seed=round_.seed)
            ),
        ]
        return _say("intro_text", period=period), b.to_dicts(parts), target
    entries = data.entries
    good = [e.item_id for e in entries if e.verdict == Verdict.GOOD_GROUNDS]
    reopened = [e.item_id for e in entries if e.verdict == Verdict.REOPEN]
    reviewers = sorted({e.reviewer for e in entries if e.reviewer})
    text = _say("summary", period=period, good=good, reopened=reopened, reviewers=reviewers)
    return _say("summary_text", period=period), b.to_dicts([b.section(text)]), target


def _entry(config: Config, data: EntryPost) -> tuple[str, list, dict]:
    entry, round_, item, name, trail = data.entry, data.round, data.item, data.customer, data.trail
    # the reason as it was when the item was sampled (a reopen clears it on the item)
    discard = next((e for e in reversed(trail) if e.kind == "discarded"), None)
    reason_key = (discard.detail or {}).get("reason") if discard else item.discard_reason
    justification = (discard.text if discard else None) or item.discard_justification
    parts: list[Any] = [
        b.section(
            _say(
                "entry",
                item_id=item.id,
                customer=name,
                category=config.category(item.category).label,
                event=item.event_name,
                by=entry.discarded_by,
                reason=config.discard_reason(reason_key or "").label,
                justification=justification,
            )
        )
    ]
    lines = [_say("history_line", at=e.at, kind=e.kind, actor=e.actor, text=e.text) for e in trail[-HISTORY_LINES:]]
    if lines:
        parts.append(b.context("\n".join(lines)))
    if entry.verdict:
        parts.append(b.section(_say("verdict", verdict=entry.verdict, by=entry.reviewer)))
    else:
        ref = ReviewRef(entry=entry.id).dump()
        parts.append(
            ActionsBlock(
                block_id=f"review|{entry.id}",
                elements=[
                    b.button(_say("good_button"), ActionId.REVIEW_GOOD_GROUNDS, ref, style="primary"),
                    b.button(_say("reopen_button"), ActionId.REVIEW_REOPEN, ref),
                ],
            )
        )
    target = {"channel": entry.message_channel or round_.channel, "ts": entry.message_ts if data.update else None}
    return _say("entry_text", item_id=item.id, customer=name), b.to_dicts(parts), target
