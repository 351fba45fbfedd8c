"""Decide: what a receiver does from the card — accept, tick the checklist, recategorize,
reassign, discard, reopen; and, once owner, record follow-up and close.

Every decision is one transaction: the state change (guarded by the item's version, so two
clicks at once make exactly one decision), the audit record, and the messages it causes
(card refresh, the sender's feedback, a history line in the card's thread) in the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from bot import audit, customers, messages, outbox, texts
from bot.config import Config
from bot.context import Context
from bot.flows.deliver import decision_due, queue_card, receiver_schedule, route_item
from bot.flows.home import queue_refresh
from bot.ids import Category, FollowUpKind, ItemStatus
from bot.models import Customer, FollowUp, Item, Person
from bot.texts import duration

ACTIVE = (ItemStatus.PENDING, ItemStatus.ACCEPTED)
NUDGE_RESET = {"status", "offered_at", "last_follow_up_at", "receiver_user_id", "receiver_email"}


@dataclass
class Outcome:
    """What the person who acted is told. ``ok`` False: nothing changed, ``message`` says why."""

    ok: bool
    message: str = ""
    errors: dict[str, str] = field(default_factory=dict)  # modal block_id -> message
    item_id: int | None = None


def settle_due(session: Session, config: Config, item_id: int, user_id: str) -> datetime | None:
    """"A decision is expected by …" in the receiver's working hours, once the receiver is known."""
    item = session.get(Item, item_id)
    if item is None or item.status != ItemStatus.PENDING or item.offered_at is None:
        return None
    due = decision_due(config, Category(item.category), item.offered_at,
                       receiver_schedule(session, config, item.receiver_email, user_id))
    if due != item.decision_due_at:
        session.execute(sa.update(Item).where(Item.id == item_id, Item.version == item.version)
                        .values(decision_due_at=due).execution_options(synchronize_session=False))
    return due


def say(macro: str, **values: Any) -> str:
    return texts.say("decisions.j2", macro, **values)


# ----- guards ---------------------------------------------------------------------------------

def holder(item: Item) -> str | None:
    """Who may act on the card now: the receiver while pending, the owner once accepted."""
    return item.owner_user_id if item.status == ItemStatus.ACCEPTED else item.receiver_user_id


def _holder_text(item: Item) -> str:
    user = holder(item)
    return texts.user(user, item.receiver_email or "its receiver")


def check(item: Item | None, user_id: str, item_id: int, *, states: tuple[ItemStatus, ...] = ACTIVE) -> Outcome | None:
    """None when ``user_id`` may act on ``item`` in one of ``states``; otherwise the refusal."""
    if item is None:
        return Outcome(False, say("gone", item_id=item_id))
    if item.status not in states:
        return Outcome(False, say("already_decided", item_id=item.id, what=_status_words(item)))
    if holder(item) != user_id:
        return Outcome(False, say("not_yours", item_id=item.id, holder=_holder_text(item)))
    return None


def _status_words(item: Item) -> str:
    if item.status == ItemStatus.ACCEPTED:
        return texts.Mrkdwn("accepted by ") + texts.user(item.owner_user_id)
    if item.status == ItemStatus.DISCARDED:
        return "discarded"
    if item.status == ItemStatus.CLOSED:
        return "closed"
    return "handed on"


def commit_change(session: Session, item: Item, read_version: int, **values: Any) -> bool:
    """Apply ``values`` only if nobody changed the item since we read it (optimistic lock).
    A change of status, offer or follow-up restarts the service-level ladder (bot/flows/nudge.py)."""
    if NUDGE_RESET.intersection(values):
        values = {"nudge_step": 0, "next_nudge_at": None, "snoozed_until": None, **values}
    result = session.execute(
        sa.update(Item).where(Item.id == item.id, Item.version == read_version)
        .values(version=read_version + 1, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    session.refresh(item)
    return True


def _lost_race(session: Session, item_id: int) -> Outcome:
    session.rollback()
    item = session.get(Item, item_id)
    return Outcome(False, say("already_decided", item_id=item_id, what=_status_words(item)) if item
                   else say("gone", item_id=item_id))


# ----- what every decision queues -------------------------------------------------------------

def refresh_card(session: Session, item: Item, now: datetime) -> None:
    outbox.enqueue(session, messages.CardRefresh(item_id=item.id), key=f"refresh:{item.id}:{item.version}", now=now,
                   item_id=item.id, channel_key=item.card_channel or f"item:{item.id}")
    # every decision shows on the desks of the people it concerns (their App Home)
    for user in {item.receiver_user_id, item.owner_user_id, item.sender_user_id} - {None}:
        queue_refresh(session, user, now, why=f"item:{item.id}:{item.version}")


def history_line(session: Session, item: Item, now: datetime, *, kind: str, by: str, text: str = "") -> None:
    # the thread is under the card; the THREAD sender waits until the card exists
    outbox.enqueue(session, messages.Thread(text=say("history", kind=kind, by=by, text=text)),
                   key=f"history:{item.id}:{item.version}:{kind}", now=now,
                   item_id=item.id, channel_key=item.card_channel or f"item:{item.id}")


def tell_sender(session: Session, item: Item, now: datetime, *, key: str, text: str,
                working_time: bool = False) -> None:
    """``working_time``: a scheduled message, held until the sender's working time (bot/people_time.py)."""
    if item.sender_user_id or item.sender_email or item.business_builder_email:
        message = messages.Direct(to_user=item.sender_user_id,
                                  to_email=item.sender_email or item.business_builder_email,
                                  fallbacks=[e for e in [item.business_builder_email] if e],
                                  text=text, working_time=working_time)
        outbox.enqueue(session, message, key=key, now=now, item_id=item.id,
                       channel_key=item.sender_user_id or item.sender_email or item.business_builder_email)


def tell_user(session: Session, item: Item, now: datetime, *, user: str, key: str, text: str) -> None:
    outbox.enqueue(session, messages.Direct(to_user=user, text=text), key=key, now=now, item_id=item.id,
                   channel_key=user)


def tell_business_builder(session: Session, item: Item, now: datetime, *, actor: str, key: str, text: str) -> None:
    """The Business Builder hears the outcome too, unless they are the sender or the one who acted."""
    bb_user, bb_email = item.business_builder_user_id, (item.business_builder_email or "").lower()
    if not (bb_user or bb_email) or bb_user == actor:
        return
    if (bb_user and bb_user == item.sender_user_id) or (bb_email and bb_email == (item.sender_email or "").lower()):
        return
    if bb_email and bb_email == (_email_of(session, actor) or ""):
        return
    outbox.enqueue(session, messages.Direct(to_user=bb_user, to_email=bb_email or None, fallbacks=[], text=text),
                   key=key, now=now, item_id=item.id, channel_key=bb_user or bb_email)


def retire_card(session: Session, item: Item, now: datetime, *, why: str) -> None:
    """The previous receiver's card stops offering buttons and says where the item went."""
    if item.card_channel and item.card_ts:
        message = messages.CardRetire(channel=item.card_channel, ts=item.card_ts,
                                      customer=customers.name_of(session, item), why=why)
        outbox.enqueue(session, message, key=f"retire:{item.id}:{item.card_ts}:{item.version}",
                       now=now, item_id=item.id, channel_key=item.card_channel)


# ----- decisions ------------------------------------------------------------------------------

def accept(session: Session, ctx: Context, item_id: int, user_id: str, *, note: str | None = None) -> Outcome:
    item = session.get(Item, item_id)
    if refusal := check(item, user_id, item_id, states=(ItemStatus.PENDING,)):
        return refusal
    now = ctx.clock.now()
    previous = item.responsible_user_id
    if not commit_change(session, item, item.version, status=ItemStatus.ACCEPTED, owner_user_id=user_id,
                         accepted_at=now, decided_at=now, responsible_user_id=None):
        return _lost_race(session, item_id)
    took = duration((now - item.offered_at).total_seconds() / 3600)
    audit.record(session, item.id, actor=user_id, kind="accepted", at=now, text=note, took_hours=round(
        (now - item.offered_at).total_seconds() / 3600, 3))
    refresh_card(session, item, now)
    history_line(session, item, now, kind="accepted", by=user_id)
    customer = customers.name_of(session, item)
    tell_sender(session, item, now, key=f"accepted:{item.id}:{item.version}",
                text=say("accepted_to_sender", item_id=item.id, customer=customer, owner=user_id, took=took, note=note))
    tell_business_builder(session, item, now, actor=user_id, key=f"accepted-bb:{item.id}:{item.version}",
                          text=say("accepted_to_sender", item_id=item.id, customer=customer, owner=user_id, took=took,
                                   note=note))
    if previous and previous != user_id:
        tell_user(session, item, now, user=previous, key=f"released:{item.id}:{item.version}",
                  text=say("accepted_release", item_id=item.id, customer=customer, owner=user_id))
    return Outcome(True, item_id=item.id)


def accept_note(session: Session, ctx: Context, item_id: int, user_id: str, *, note: str | None) -> Outcome:
    """The owner says why the item was interesting: the feedback senders never had."""
    note = (note or "").strip()
    if not note:
        return Outcome(False, errors={"note": say("accept_note_empty")})
    item = session.get(Item, item_id)
    if refusal := check(item, user_id, item_id, states=(ItemStatus.ACCEPTED,)):
        return refusal
    now = ctx.clock.now()
    if not commit_change(session, item, item.version):
        return _lost_race(session, item_id)
    audit.record(session, item.id, actor=user_id, kind="accept_note", at=now, text=note)
    history_line(session, item, now, kind="accept_note", by=user_id, text=note)
    text = say("accept_note_to_sender", item_id=item.id, customer=customers.name_of(session, item), owner=user_id, note=note)
    tell_sender(session, item, now, key=f"accept-note:{item.id}:{item.version}", text=text)
    tell_business_builder(session, item, now, actor=user_id, key=f"accept-note-bb:{item.id}:{item.version}", text=text)
    return Outcome(True, item_id=item.id)


def tick_checklist(session: Session, ctx: Context, item_id: int, user_id: str, *, shown: list[str],
                   selected: list[str]) -> Outcome:
    """The receiver confirmed (or un-confirmed) checklist items: ``shown`` are the keys of the
    checkbox group that changed, ``selected`` those ticked in it now."""
    item = session.get(Item, item_id)
    if refusal := check(item, user_id, item_id):
        return refusal
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
    words = ", ".join([f"+{labels.get(k, k)}" for k in added] + [f"−{labels.get(k, k)}" for k in removed])
    audit.record(session, item.id, actor=user_id, kind="checklist", at=now, text=words, added=added, removed=removed)
    refresh_card(session, item, now)
    return Outcome(True, item_id=item.id)


def _offer(session: Session, ctx: Context, item: Item, *, receiver_email: str | None, receiver_user: str | None,
           team_key: str | None, note: str, responsible: str | None, now: datetime,
           category: Category | None = None) -> bool:
    values: dict[str, Any] = dict(
        status=ItemStatus.PENDING, receiver_email=receiver_email, receiver_user_id=receiver_user,
        team_key=team_key, routing_note=note, owner_user_id=None, accepted_at=None, offered_at=now,
        responsible_user_id=responsible, card_channel=None, card_ts=None,
        decision_due_at=decision_due(ctx.config, category or Category(item.category), now,
                                     receiver_schedule(session, ctx.config, receiver_email, receiver_user)),
    )
    if category is not None:
        values["category"] = category
    return commit_change(session, item, item.version, **values)


def recategorize(session: Session, ctx: Context, item_id: int, user_id: str, *, category: str,
                 note: str | None) -> Outcome:
    item = session.get(Item, item_id)
    if refusal := check(item, user_id, item_id):
        return refusal
    try:
        new = Category(category)
    except ValueError:
        return Outcome(False, errors={"category": say("recategorize_pick")})
    old = Category(item.category)
    if new == old:
        return Outcome(False, errors={"category": f"The item already is {ctx.config.category(old).label}."})
    now = ctx.clock.now()
    customer = session.get(Customer, item.customer_id)
    chosen = route_item(session, ctx.config, item, category=new)
    my_email = _email_of(session, user_id)
    old_label, new_label = ctx.config.category(old).label, ctx.config.category(new).label
    stays = my_email is not None and chosen.receiver_email.lower() == my_email
    retire_why = texts.say("decisions.j2", "retired_moved", to=chosen.receiver_email,
                           why=f"Recategorized to {new_label}", responsible=True)
    old_card = (item.card_channel, item.card_ts)
    if stays:
        ok = commit_change(session, item, item.version, category=new, routing_note=chosen.note,
                           team_key=chosen.team_key, decision_due_at=decision_due(ctx.config, new, now, receiver_schedule(
                               session, ctx.config, item.receiver_email, item.receiver_user_id)) if item.status == ItemStatus.PENDING
                           else item.decision_due_at)
    else:
        retire_card(session, item, now, why=retire_why)
        ok = _offer(session, ctx, item, receiver_email=chosen.receiver_email, receiver_user=None,
                    team_key=chosen.team_key, note=chosen.note, responsible=user_id, now=now, category=new)
    if not ok:
        return _lost_race(session, item_id)
    text = f"Recategorized from {old_label} to {new_label}" + (f": {note}" if note else "")
    audit.record(session, item.id, actor=user_id, kind="recategorized", at=now, text=note,
                 old=old.value, new=new.value, receiver=chosen.receiver_email, routing=chosen.note)
    if stays:
        refresh_card(session, item, now)
        history_line(session, item, now, kind="recategorized", by=user_id, text=text)
    else:
        queue_card(session, item, now=now)
        _thread_on(session, item, now, old_card, kind="recategorized", by=user_id, text=text)
    tell_sender(session, item, now, key=f"recategorized:{item.id}:{item.version}",
                text=say("recategorized_to_sender", item_id=item.id, customer=customer.name if customer else "",
                         by=user_id, old=old_label, new=new_label,
                         receiver=None if stays else chosen.receiver_email, note=note))
    return Outcome(True, item_id=item.id)


def _thread_on(session: Session, item: Item, now: datetime, card_at: tuple[str | None, str | None], *,
               kind: str, by: str, text: str) -> None:
    """A history line under a card that is no longer the item's current card."""
    channel, ts = card_at
    if channel and ts:
        message = messages.Thread(channel=channel, thread_ts=ts, text=say("history", kind=kind, by=by, text=text))
        outbox.enqueue(session, message, key=f"history:{item.id}:{item.version}:{kind}", now=now,
                       item_id=item.id, channel_key=channel)


def _email_of(session: Session, user_id: str) -> str | None:
    from sqlmodel import select
    person = session.exec(select(Person).where(Person.slack_user_id == user_id)).first()
    return person.email.lower() if person else None


def reassign(session: Session, ctx: Context, item_id: int, user_id: str, *, to_user: str | None,
             note: str | None) -> Outcome:
    item = session.get(Item, item_id)
    if refusal := check(item, user_id, item_id):
        return refusal
    if not to_user:
        return Outcome(False, errors={"to": say("reassign_pick")})
    if to_user == user_id:
        return Outcome(False, errors={"to": say("reassign_already_yours")})
    now = ctx.clock.now()
    from sqlmodel import select
    person = session.exec(select(Person).where(Person.slack_user_id == to_user)).first()
    old_card = (item.card_channel, item.card_ts)
    retire_card(session, item, now, why=texts.say("decisions.j2", "retired_moved", to=texts.user(to_user),
                                                  why="Reassigned", responsible=True))
    if not _offer(session, ctx, item, receiver_email=person.email if person else None, receiver_user=to_user,
                  team_key=None, note=f"reassigned by <@{user_id}>" + (f": {note}" if note else ""),
                  responsible=user_id, now=now):
        return _lost_race(session, item_id)
    audit.record(session, item.id, actor=user_id, kind="reassigned", at=now, text=note, to=to_user)
    queue_card(session, item, now=now)
    _thread_on(session, item, now, old_card, kind="reassigned", by=user_id, text=texts.Mrkdwn("Reassigned to ") + texts.user(to_user))
    tell_sender(session, item, now, key=f"reassigned:{item.id}:{item.version}",
                text=say("reassigned_to_sender", item_id=item.id, customer=customers.name_of(session, item), by=user_id,
                         to=to_user, note=note))
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


def discard(session: Session, ctx: Context, item_id: int, user_id: str, *, reason: str | None,
            justification: str | None) -> Outcome:
    item = session.get(Item, item_id)
    if refusal := check(item, user_id, item_id):
        return refusal
    if errors := validate_discard(ctx, reason, justification):
        return Outcome(False, errors=errors)
    now = ctx.clock.now()
    justification = (justification or "").strip()
    if not commit_change(session, item, item.version, status=ItemStatus.DISCARDED, discard_reason=reason,
                         discard_justification=justification, decided_at=now, responsible_user_id=None):
        return _lost_race(session, item_id)
    label = ctx.config.discard_reason(reason).label
    audit.record(session, item.id, actor=user_id, kind="discarded", at=now, text=justification, reason=reason)
    refresh_card(session, item, now)
    history_line(session, item, now, kind="discarded", by=user_id, text=f"Discarded: {label}. {justification}")
    tell_sender(session, item, now, key=f"discarded:{item.id}:{item.version}",
                text=say("discarded_to_sender", item_id=item.id, customer=customers.name_of(session, item), by=user_id,
                         reason=label, justification=justification))
    return Outcome(True, item_id=item.id)


def may_reopen(ctx: Context, session: Session, item: Item, user_id: str) -> bool:
    if user_id in (item.receiver_user_id, item.owner_user_id):
        return True
    email = _email_of(session, user_id)
    return bool(email and (ctx.config.is_admin(email) or ctx.config.is_reviewer(email)))


def offer_elsewhere(session: Session, ctx: Context, item: Item, chosen: Any, *, now: datetime, why: str) -> bool:
    """The scheduler's last step: the item is offered to the next receiver by the rules. The
    previous receiver's card is retired; whoever was responsible stays responsible."""
    old_card = (item.card_channel, item.card_ts)
    retire_card(session, item, now, why=say("retired_moved", to=chosen.receiver_email, why=why, responsible=False))
    if not _offer(session, ctx, item, receiver_email=chosen.receiver_email, receiver_user=None,
                  team_key=chosen.team_key, note=chosen.note, responsible=item.responsible_user_id, now=now):
        return False
    audit.record(session, item.id, actor="scheduler", kind="auto_reassigned", at=now, text=why,
                 receiver=chosen.receiver_email, routing=chosen.note)
    queue_card(session, item, now=now)
    _thread_on(session, item, now, old_card, kind="reassigned", by="scheduler", text=why)
    return True


def reopen(session: Session, ctx: Context, item_id: int, user_id: str, *, reroute: bool = False) -> Outcome:
    """A discarded or closed item is offered again: to the person who reopens it, or (a reviewer's
    reopen, ``reroute``) to whoever the rules pick."""
    item = session.get(Item, item_id)
    if item is None:
        return Outcome(False, say("gone", item_id=item_id))
    if item.status not in (ItemStatus.DISCARDED, ItemStatus.CLOSED):
        return Outcome(False, say("already_decided", item_id=item.id, what="reopened (it is open)"))
    if not may_reopen(ctx, session, item, user_id):
        return Outcome(False, say("not_yours", item_id=item.id, holder=_holder_text(item)))
    now = ctx.clock.now()
    if reroute or user_id not in (item.receiver_user_id, item.owner_user_id):
        chosen = route_item(session, ctx.config, item)
        receiver_email, receiver_user, team, note = chosen.receiver_email, None, chosen.team_key, chosen.note
    else:
        receiver_email, receiver_user, team, note = item.receiver_email, user_id, item.team_key, "reopened"
    old_card = (item.card_channel, item.card_ts)
    same_card = receiver_user is not None and receiver_user == item.receiver_user_id
    ok = _offer(session, ctx, item, receiver_email=receiver_email, receiver_user=receiver_user, team_key=team,
                note=note, responsible=None, now=now)
    if not ok:
        return _lost_race(session, item_id)
    session.execute(sa.update(Item).where(Item.id == item.id).values(discard_reason=None, discard_justification=None))
    if same_card:  # keep using the receiver's existing card
        session.execute(sa.update(Item).where(Item.id == item.id)
                        .values(card_channel=old_card[0], card_ts=old_card[1]))
        session.refresh(item)
        refresh_card(session, item, now)
    else:
        queue_card(session, item, now=now)
    audit.record(session, item.id, actor=user_id, kind="reopened", at=now, receiver=receiver_email or receiver_user)
    _thread_on(session, item, now, old_card, kind="reopened", by=user_id, text="")
    tell_sender(session, item, now, key=f"reopened:{item.id}:{item.version}",
                text=say("reopened_to_sender", item_id=item.id, customer=customers.name_of(session, item), by=user_id))
    return Outcome(True, item_id=item.id)


def follow_up(session: Session, ctx: Context, item_id: int, user_id: str, *, kind: str | None,
              note: str | None, close: bool = False) -> Outcome:
    item = session.get(Item, item_id)
    if refusal := check(item, user_id, item_id, states=(ItemStatus.ACCEPTED,)):
        return refusal
    try:
        what = FollowUpKind(kind or "")
    except ValueError:
        return Outcome(False, errors={"kind": say("follow_up_pick")})
    now = ctx.clock.now()
    values: dict[str, Any] = dict(follow_up_count=item.follow_up_count + 1, last_follow_up_at=now,
                                  customer_request_open=False)
    if close:
        values.update(status=ItemStatus.CLOSED, decided_at=now)
    if not commit_change(session, item, item.version, **values):
        return _lost_race(session, item_id)
    session.add(FollowUp(item_id=item.id, by=user_id, kind=what.value, note=note, at=now))
    words = say("follow_up_kind", kind=what.value)
    audit.record(session, item.id, actor=user_id, kind="follow_up", at=now, text=note, follow_up=what.value,
                 count=item.follow_up_count)
    refresh_card(session, item, now)
    history_line(session, item, now, kind="follow_up", by=user_id, text=words[:1].upper() + words[1:] +
                 (f": {note}" if note else ""))
    if close:
        audit.record(session, item.id, actor=user_id, kind="closed", at=now)
    tell_sender(session, item, now, key=f"follow-up:{item.id}:{item.version}",
                text=say("follow_up_to_sender", item_id=item.id, customer=customers.name_of(session, item), by=user_id,
                         kind=words))
    return Outcome(True, item_id=item.id)


def close(session: Session, ctx: Context, item_id: int, user_id: str) -> Outcome:
    item = session.get(Item, item_id)
    if refusal := check(item, user_id, item_id, states=(ItemStatus.ACCEPTED,)):
        return refusal
    now = ctx.clock.now()
    if not commit_change(session, item, item.version, status=ItemStatus.CLOSED, decided_at=now):
        return _lost_race(session, item_id)
    audit.record(session, item.id, actor=user_id, kind="closed", at=now)
    refresh_card(session, item, now)
    history_line(session, item, now, kind="closed", by=user_id)
    return Outcome(True, item_id=item.id)
