"""Decide: what a receiver does from the card — accept, tick the checklist, recategorize,
reassign, discard, reopen; and, once owner, record follow-up and close.

Every decision is one transaction: the state change (guarded by the item's version, so two
clicks at once make exactly one decision: bot/flows/changes.py), the audit record, and the
messages it causes (card refresh, the sender's feedback: bot/flows/notify.py; a history line in
the card's thread) in the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot import audit, customers, texts
from bot.config import Config
from bot.context import Context
from bot.flows.changes import commit_change, history, history_line, history_on_card, plain
from bot.flows.deliver import decision_due, queue_card, receiver_schedule, route_item
from bot.flows.notify import email_of, refresh_card, retire_card, tell_business_builder, tell_sender, tell_user
from bot.ids import Category, FollowUpKind, ItemStatus
from bot.models import FollowUp, Item, Person
from bot.routing import Route
from bot.texts import duration

ACTIVE = (ItemStatus.PENDING, ItemStatus.ACCEPTED)


@dataclass
class Outcome:
    """What the person who acted is told. ``ok`` False: nothing changed, ``message`` says why."""

    ok: bool
    message: str = ""
    errors: dict[str, str] = field(default_factory=dict)  # modal block_id -> message
    item_id: int | None = None


def settle_due(session: Session, config: Config, item_id: int, user_id: str) -> datetime | None:
    """ "A decision is expected by …" in the receiver's working hours, once the receiver is known."""
    item = session.get(Item, item_id)
    if item is None or item.status != ItemStatus.PENDING or item.offered_at is None:
        return None
    due = decision_due(
        config,
        Category(item.category),
        item.offered_at,
        receiver_schedule(session, config, item.receiver_email, user_id),
    )
    if due != item.decision_due_at:
        session.execute(
            sa.update(Item)
            .where(col(Item.id) == item_id, col(Item.version) == item.version)
            .values(decision_due_at=due)
            .execution_options(synchronize_session=False)
        )
    return due


def say(macro: str, **values: Any) -> str:
    return texts.say("decisions.j2", macro, **values)


# ----- guards ---------------------------------------------------------------------------------


def holder(item: Item) -> str | None:
    """Who may act on the card now: the receiver while pending, the owner once accepted."""
    return item.owner_user_id if item.status == ItemStatus.ACCEPTED else item.receiver_user_id


def _holder_text(item: Item) -> str:
    return say("holder", user_id=holder(item), email=item.receiver_email)


def check(item: Item | None, user_id: str, item_id: int, *, states: tuple[ItemStatus, ...] = ACTIVE) -> Outcome | None:
    """None when ``user_id`` may act on ``item`` in one of ``states``; otherwise the refusal."""
    if item is None:
        return Outcome(False, say("gone", item_id=item_id))
    if item.status not in states:
        return Outcome(False, say("already_decided", item_id=item.id, what=_status_words(item)))
    if holder(item) != user_id:
        return Outcome(False, say("not_yours", item_id=item.id, holder=_holder_text(item)))
    return None


def held(session: Session, item_id: int, user_id: str, *, states: tuple[ItemStatus, ...] = ACTIVE) -> Item | Outcome:
    """The item ``user_id`` may act on in one of ``states``, or the refusal (:func:`check`)."""
    item = session.get(Item, item_id)
    if item is None:
        return Outcome(False, say("gone", item_id=item_id))
    refusal = check(item, user_id, item_id, states=states)
    return item if refusal is None else refusal


def _status_words(item: Item) -> str:
    return say("status_words", status=item.status, owner=item.owner_user_id)


def _lost_race(session: Session, item_id: int) -> Outcome:
    session.rollback()
    item = session.get(Item, item_id)
    return Outcome(
        False,
        say("already_decided", item_id=item_id, what=_status_words(item)) if item else say("gone", item_id=item_id),
    )


def _offered_at(item: Item) -> datetime:
    """When the pending item was offered: every item is offered when it is handed over."""
    if item.offered_at is None:
        raise ValueError(f"item {item.id} was never offered")
    return item.offered_at


# ----- decisions ------------------------------------------------------------------------------


def accept(session: Session, ctx: Context, item_id: int, user_id: str, *, note: str | None = None) -> Outcome:
    item = held(session, item_id, user_id, states=(ItemStatus.PENDING,))
    if isinstance(item, Outcome):
        return item
    now = ctx.clock.now()
    previous = item.responsible_user_id
    offered_at = _offered_at(item)
    if not commit_change(
        session,
        item,
        item.version,
        status=ItemStatus.ACCEPTED,
        owner_user_id=user_id,
        accepted_at=now,
        decided_at=now,
        responsible_user_id=None,
    ):
        return _lost_race(session, item_id)
    took = duration((now - offered_at).total_seconds() / 3600)
    audit.record(
        session,
        item_id,
        actor=user_id,
        kind="accepted",
        at=now,
        text=note,
        took_hours=round((now - offered_at).total_seconds() / 3600, 3),
    )
    refresh_card(session, item, now)
    history_line(session, item, now, kind="accepted", line=history("accepted", user_id))
    customer = customers.name_of(session, item)
    tell_sender(
        session,
        item,
        now,
        key=f"accepted:{item.id}:{item.version}",
        text=say("accepted_to_sender", item_id=item.id, customer=customer, owner=user_id, took=took, note=note),
    )
    tell_business_builder(
        session,
        item,
        now,
        actor=user_id,
        key=f"accepted-bb:{item.id}:{item.version}",
        text=say("accepted_to_sender", item_id=item.id, customer=customer, owner=user_id, took=took, note=note),
    )
    if previous and previous != user_id:
        tell_user(
            session,
            item,
            now,
            user=previous,
            key=f"released:{item.id}:{item.version}",
            text=say("accepted_release", item_id=item.id, customer=customer, owner=user_id),
        )
    return Outcome(True, item_id=item.id)


def accept_note(session: Session, ctx: Context, item_id: int, user_id: str, *, note: str | None) -> Outcome:
    """The owner says why the item was interesting: the feedback senders never had."""
    note = (note or "").strip()
    if not note:
        return Outcome(False, errors={"note": say("accept_note_empty")})
    item = held(session, item_id, user_id, states=(ItemStatus.ACCEPTED,))
    if isinstance(item, Outcome):
        return item
    now = ctx.clock.now()
    if not commit_change(session, item, item.version):
        return _lost_race(session, item_id)
    audit.record(session, item_id, actor=user_id, kind="accept_note", at=now, text=note)
    history_line(session, item, now, kind="accept_note", line=history("accept_note", user_id, note))
    text = say(
        "accept_note_to_sender", item_id=item.id, customer=customers.name_of(session, item), owner=user_id, note=note
    )
    tell_sender(session, item, now, key=f"accept-note:{item.id}:{item.version}", text=text)
    tell_business_builder(session, item, now, actor=user_id, key=f"accept-note-bb:{item.id}:{item.version}", text=text)
    return Outcome(True, item_id=item.id)


def tick_checklist(
    session: Session, ctx: Context, item_id: int, user_id: str, *, shown: list[str], selected: list[str]
) -> Outcome:
    """The receiver confirmed (or un-confirmed) checklist items: ``shown`` are the keys of the
    checkbox group that changed, ``selected`` those ticked in it now."""
    item = held(session, item_id, user_id)
    if isinstance(item, Outcome):
        return item
    known = {i.key for i in ctx.config.checklist.items}
    checklist = dict(item.checklist)
    for key in shown:
        if key in known:
            checklist[key] = key in selected
    checklist = {k: True for k, v in checklist.items() if v}
    if checklist == item.checklist:
        return Outcome(True, item_id=item.id)
    now = ctx.clock.now()
    added = sorted(set(checklist) - set(item.checklist))
    removed = sorted(set(item.checklist) - set(checklist))
    if not commit_change(session, item, item.version, checklist=checklist):
        return _lost_race(session, item_id)
    labels = ctx.config.checklist.labels
    words = plain(
        "plain.j2",
        "checklist_ticked",
        added=[labels.get(k, k) for k in added],
        removed=[labels.get(k, k) for k in removed],
    )
    audit.record(session, item_id, actor=user_id, kind="checklist", at=now, text=words, added=added, removed=removed)
    refresh_card(session, item, now)
    return Outcome(True, item_id=item.id)


def _offer(
    session: Session,
    ctx: Context,
    item: Item,
    *,
    receiver_email: str | None,
    receiver_user: str | None,
    team_key: str | None,
    note: str,
    responsible: str | None,
    now: datetime,
    category: Category | None = None,
) -> bool:
    values: dict[str, Any] = dict(
        status=ItemStatus.PENDING,
        receiver_email=receiver_email,
        receiver_user_id=receiver_user,
        team_key=team_key,
        routing_note=note,
        owner_user_id=None,
        accepted_at=None,
        offered_at=now,
        responsible_user_id=responsible,
        card_channel=None,
        card_ts=None,
        decision_due_at=decision_due(
            ctx.config,
            category or Category(item.category),
            now,
            receiver_schedule(session, ctx.config, receiver_email, receiver_user),
        ),
    )
    if category is not None:
        values["category"] = category
    return commit_change(session, item, item.version, **values)


def recategorize(
    session: Session, ctx: Context, item_id: int, user_id: str, *, category: str, note: str | None
) -> Outcome:
    item = held(session, item_id, user_id)
    if isinstance(item, Outcome):
        return item
    try:
        new = Category(category)
    except ValueError:
        return Outcome(False, errors={"category": say("recategorize_pick")})
    old = Category(item.category)
    if new == old:
        return Outcome(
            False, errors={"category": plain("plain.j2", "recategorize_same", label=ctx.config.category(old).label)}
        )
    now = ctx.clock.now()
    customer = item.customer
    chosen = route_item(session, ctx.config, item, category=new)
    my_email = email_of(session, user_id)
    old_label, new_label = ctx.config.category(old).label, ctx.config.category(new).label
    stays = my_email is not None and chosen.receiver_email.lower() == my_email
    retire_why = say(
        "retired_moved", to=chosen.receiver_email, why=say("recategorized_why", label=new_label), responsible=True
    )
    old_card = (item.card_channel, item.card_ts)
    if stays:
        ok = commit_change(
            session,
            item,
            item.version,
            category=new,
            routing_note=chosen.note,
            team_key=chosen.team_key,
            decision_due_at=decision_due(
                ctx.config, new, now, receiver_schedule(session, ctx.config, item.receiver_email, item.receiver_user_id)
            )
            if item.status == ItemStatus.PENDING
            else item.decision_due_at,
        )
    else:
        retire_card(session, item, now, why=retire_why)
        ok = _offer(
            session,
            ctx,
            item,
            receiver_email=chosen.receiver_email,
            receiver_user=None,
            team_key=chosen.team_key,
            note=chosen.note,
            responsible=user_id,
            now=now,
            category=new,
        )
    if not ok:
        return _lost_race(session, item_id)
    line = say("history_recategorized", by=user_id, old=old_label, new=new_label, note=note)
    audit.record(
        session,
        item_id,
        actor=user_id,
        kind="recategorized",
        at=now,
        text=note,
        old=old.value,
        new=new.value,
        receiver=chosen.receiver_email,
        routing=chosen.note,
    )
    if stays:
        refresh_card(session, item, now)
        history_line(session, item, now, kind="recategorized", line=line)
    else:
        queue_card(session, item, now=now)
        history_on_card(session, item, now, old_card, kind="recategorized", line=line)
    tell_sender(
        session,
        item,
        now,
        key=f"recategorized:{item.id}:{item.version}",
        text=say(
            "recategorized_to_sender",
            item_id=item.id,
            customer=customer.name if customer else "",
            by=user_id,
            old=old_label,
            new=new_label,
            receiver=None if stays else chosen.receiver_email,
            note=note,
        ),
    )
    return Outcome(True, item_id=item.id)


def reassign(
    session: Session, ctx: Context, item_id: int, user_id: str, *, to_user: str | None, note: str | None
) -> Outcome:
    item = held(session, item_id, user_id)
    if isinstance(item, Outcome):
        return item
    if not to_user:
        return Outcome(False, errors={"to": say("reassign_pick")})
    if to_user == user_id:
        return Outcome(False, errors={"to": say("reassign_already_yours")})
    now = ctx.clock.now()
    person = session.exec(select(Person).where(col(Person.slack_user_id) == to_user)).first()
    old_card = (item.card_channel, item.card_ts)
    retire_card(
        session,
        item,
        now,
        why=say("retired_moved", to=texts.user(to_user), why=say("reassigned_why"), responsible=True),
    )
    if not _offer(
        session,
        ctx,
        item,
        receiver_email=person.email if person else None,
        receiver_user=to_user,
        team_key=None,
        note=plain("plain.j2", "reassigned_note", by=user_id, note=note),
        responsible=user_id,
        now=now,
    ):
        return _lost_race(session, item_id)
    audit.record(session, item_id, actor=user_id, kind="reassigned", at=now, text=note, to=to_user)
    queue_card(session, item, now=now)
    history_on_card(
        session, item, now, old_card, kind="reassigned", line=say("history_reassigned", by=user_id, to=to_user)
    )
    tell_sender(
        session,
        item,
        now,
        key=f"reassigned:{item.id}:{item.version}",
        text=say(
            "reassigned_to_sender",
            item_id=item.id,
            customer=customers.name_of(session, item),
            by=user_id,
            to=to_user,
            note=note,
        ),
    )
    return Outcome(True, item_id=item.id)


def validate_discard(ctx: Context, reason_key: str | None, justification: str | None) -> dict[str, str]:
    """Errors shown inside the discard modal, by block id."""
    errors: dict[str, str] = {}
    reason = next((r for r in ctx.config.discard_reasons if r.key == reason_key), None)
    if reason is None:
        errors["reason"] = say("discard_pick_reason")
    text = (justification or "").strip()
    need = reason.min_justification if reason is not None else 10
    if not text:
        errors["justification"] = say("discard_justification_missing")
    elif len(text) < need:
        errors["justification"] = say("discard_justification_short", need=need, have=len(text))
    return errors


def discard(
    session: Session, ctx: Context, item_id: int, user_id: str, *, reason: str | None, justification: str | None
) -> Outcome:
    item = held(session, item_id, user_id)
    if isinstance(item, Outcome):
        return item
    if errors := validate_discard(ctx, reason, justification):
        return Outcome(False, errors=errors)
    now = ctx.clock.now()
    justification = (justification or "").strip()
    if not commit_change(
        session,
        item,
        item.version,
        status=ItemStatus.DISCARDED,
        discard_reason=reason,
        discard_justification=justification,
        decided_at=now,
        responsible_user_id=None,
    ):
        return _lost_race(session, item_id)
    assert reason is not None  # validate_discard found it among the configured reasons
    label = ctx.config.discard_reason(reason).label
    audit.record(session, item_id, actor=user_id, kind="discarded", at=now, text=justification, reason=reason)
    refresh_card(session, item, now)
    history_line(
        session,
        item,
        now,
        kind="discarded",
        line=say("history_discarded", by=user_id, reason=label, justification=justification),
    )
    tell_sender(
        session,
        item,
        now,
        key=f"discarded:{item.id}:{item.version}",
        text=say(
            "discarded_to_sender",
            item_id=item.id,
            customer=customers.name_of(session, item),
            by=user_id,
            reason=label,
            justification=justification,
        ),
    )
    return Outcome(True, item_id=item.id)


def may_reopen(ctx: Context, session: Session, item: Item, user_id: str) -> bool:
    if user_id in (item.receiver_user_id, item.owner_user_id):
        return True
    email = email_of(session, user_id)
    return bool(email and (ctx.config.is_admin(email) or ctx.config.is_reviewer(email)))


def offer_elsewhere(session: Session, ctx: Context, item: Item, chosen: Route, *, now: datetime, why: str) -> bool:
    """The scheduler's last step: the item is offered to the next receiver by the rules. The
    previous receiver's card is retired; whoever was responsible stays responsible."""
    old_card = (item.card_channel, item.card_ts)
    retire_card(session, item, now, why=say("retired_moved", to=chosen.receiver_email, why=why, responsible=False))
    if not _offer(
        session,
        ctx,
        item,
        receiver_email=chosen.receiver_email,
        receiver_user=None,
        team_key=chosen.team_key,
        note=chosen.note,
        responsible=item.responsible_user_id,
        now=now,
    ):
        return False
    assert item.id is not None  # a loaded item
    audit.record(
        session,
        item.id,
        actor="scheduler",
        kind="auto_reassigned",
        at=now,
        text=why,
        receiver=chosen.receiver_email,
        routing=chosen.note,
    )
    queue_card(session, item, now=now)
    history_on_card(session, item, now, old_card, kind="reassigned", line=history("reassigned", "scheduler", why))
    return True


def reopen(session: Session, ctx: Context, item_id: int, user_id: str, *, reroute: bool = False) -> Outcome:
    """A discarded or closed item is offered again: to the person who reopens it, or (a reviewer's
    reopen, ``reroute``) to whoever the rules pick."""
    item = session.get(Item, item_id)
    if item is None:
        return Outcome(False, say("gone", item_id=item_id))
    if item.status not in (ItemStatus.DISCARDED, ItemStatus.CLOSED):
        return Outcome(False, say("already_decided", item_id=item.id, what=say("reopened_while_open")))
    if not may_reopen(ctx, session, item, user_id):
        return Outcome(False, say("not_yours", item_id=item.id, holder=_holder_text(item)))
    now = ctx.clock.now()
    receiver_email: str | None
    if reroute or user_id not in (item.receiver_user_id, item.owner_user_id):
        chosen = route_item(session, ctx.config, item)
        receiver_email, receiver_user, team, note = chosen.receiver_email, None, chosen.team_key, chosen.note
    else:
        receiver_email, receiver_user, team, note = (
            item.receiver_email,
            user_id,
            item.team_key,
            plain("plain.j2", "reopened_note"),
        )
    old_card = (item.card_channel, item.card_ts)
    same_card = receiver_user is not None and receiver_user == item.receiver_user_id
    ok = _offer(
        session,
        ctx,
        item,
        receiver_email=receiver_email,
        receiver_user=receiver_user,
        team_key=team,
        note=note,
        responsible=None,
        now=now,
    )
    if not ok:
        return _lost_race(session, item_id)
    session.execute(
        sa.update(Item).where(col(Item.id) == item.id).values(discard_reason=None, discard_justification=None)
    )
    if same_card:  # keep using the receiver's existing card
        session.execute(
            sa.update(Item).where(col(Item.id) == item.id).values(card_channel=old_card[0], card_ts=old_card[1])
        )
        session.refresh(item)
        refresh_card(session, item, now)
    else:
        queue_card(session, item, now=now)
    audit.record(session, item_id, actor=user_id, kind="reopened", at=now, receiver=receiver_email or receiver_user)
    history_on_card(session, item, now, old_card, kind="reopened", line=history("reopened", user_id))
    tell_sender(
        session,
        item,
        now,
        key=f"reopened:{item.id}:{item.version}",
        text=say("reopened_to_sender", item_id=item.id, customer=customers.name_of(session, item), by=user_id),
    )
    return Outcome(True, item_id=item.id)


def follow_up(
    session: Session,
    ctx: Context,
    item_id: int,
    user_id: str,
    *,
    kind: str | None,
    note: str | None,
    close: bool = False,
) -> Outcome:
    item = held(session, item_id, user_id, states=(ItemStatus.ACCEPTED,))
    if isinstance(item, Outcome):
        return item
    try:
        what = FollowUpKind(kind or "")
    except ValueError:
        return Outcome(False, errors={"kind": say("follow_up_pick")})
    now = ctx.clock.now()
    values: dict[str, Any] = dict(
        follow_up_count=item.follow_up_count + 1, last_follow_up_at=now, customer_request_open=False
    )
    if close:
        values.update(status=ItemStatus.CLOSED, decided_at=now)
    if not commit_change(session, item, item.version, **values):
        return _lost_race(session, item_id)
    session.add(FollowUp(item_id=item_id, by=user_id, kind=what.value, note=note, at=now))
    words = say("follow_up_kind", kind=what.value)
    audit.record(
        session,
        item_id,
        actor=user_id,
        kind="follow_up",
        at=now,
        text=note,
        follow_up=what.value,
        count=item.follow_up_count,
    )
    refresh_card(session, item, now)
    history_line(
        session, item, now, kind="follow_up", line=say("history_follow_up", by=user_id, kind=what.value, note=note)
    )
    if close:
        audit.record(session, item_id, actor=user_id, kind="closed", at=now)
    tell_sender(
        session,
        item,
        now,
        key=f"follow-up:{item.id}:{item.version}",
        text=say(
            "follow_up_to_sender", item_id=item.id, customer=customers.name_of(session, item), by=user_id, kind=words
        ),
    )
    return Outcome(True, item_id=item.id)


def close(session: Session, ctx: Context, item_id: int, user_id: str) -> Outcome:
    item = held(session, item_id, user_id, states=(ItemStatus.ACCEPTED,))
    if isinstance(item, Outcome):
        return item
    now = ctx.clock.now()
    if not commit_change(session, item, item.version, status=ItemStatus.CLOSED, decided_at=now):
        return _lost_race(session, item_id)
    audit.record(session, item_id, actor=user_id, kind="closed", at=now)
    refresh_card(session, item, now)
    history_line(session, item, now, kind="closed", line=history("closed", user_id))
    return Outcome(True, item_id=item.id)
