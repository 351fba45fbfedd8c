"""Nudge: the service level that turns "I'll look at it later" into a decision.

Each category has a ladder counted in the receiver's working hours (their Slack time zone, the
configured working days and holidays): reminders, an escalation to the team lead, optionally an
automatic reassignment. Accepted items whose follow-up stalls get a gentle reminder; questions
to a Business Builder are re-asked once, then the sender is told.

A run holds no state of its own. It reads what is due (``item.next_nudge_at``, indexed), claims
each step with a conditional UPDATE on ``item.nudge_step`` (and ``SELECT … FOR UPDATE SKIP
LOCKED`` on PostgreSQL), and queues the messages in the same transaction: two schedulers never
send a step twice, a crash loses nothing, and a scheduler that was down takes only the highest
step now due (one message per person, not one per missed tick). Messages are batched: one
direct message per person per run, listing all of their waiting items.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot import audit, messages, outbox, people_time, texts
from bot.context import Context
from bot.db import is_postgres, run_in_transaction
from bot.flows.deliver import route_item
from bot.ids import Category, ItemStatus
from bot.models import Item, Outbox, Question
from bot.scheduling import company_schedule
from bot.working_time import Schedule

NEVER = datetime(2999, 1, 1, tzinfo=UTC)
RUN_LOCK = 0x48616E646F  # PostgreSQL advisory lock key of a scheduler run ("Hando")
FOLLOW_UP_REMINDERS = 2  # gentle: at most this many per stall


@dataclass(frozen=True)
class Step:
    kind: str  # "reminder", "escalation" or "reassign"
    hours: float


def ladder(ctx: Context, category: str) -> list[Step]:
    sla = ctx.config.category(Category(category)).sla
    steps = [Step("reminder", h) for h in sla.reminders_after_hours]
    if sla.escalate_after_hours is not None:
        steps.append(Step("escalation", sla.escalate_after_hours))
    if sla.reassign_after_hours is not None:
        steps.append(Step("reassign", sla.reassign_after_hours))
    return sorted(steps, key=lambda s: s.hours)


@dataclass
class Run:
    """What one run did (for logs, the CLI and tests)."""

    # by receiver (owner) user id; an item without one is counted under None and gets no message
    reminders: dict[str | None, list[int]] = field(default_factory=lambda: defaultdict(list))
    escalations: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    follow_ups: dict[str | None, list[int]] = field(default_factory=lambda: defaultdict(list))
    reassigned: list[int] = field(default_factory=list)
    reasked: list[int] = field(default_factory=list)
    unanswered: list[int] = field(default_factory=list)
    # the previous holders of auto-reassigned items: user -> [(item id, customer, new receiver)]
    moved_from: dict[str, list[tuple[int, str, str]]] = field(default_factory=lambda: defaultdict(list))
    # what each message claims, (item id, version, step): its outbox key (unique per claimed step)
    claims: dict[str, list[tuple[int, int, int]]] = field(default_factory=lambda: defaultdict(list))

    @property
    def messages(self) -> int:
        return len(self.reminders) + len(self.escalations) + len(self.follow_ups)


def say(macro: str, **values: Any) -> str:
    return texts.say("nudge.j2", macro, **values)


def schedule_for(session: Session, ctx: Context, user_id: str | None) -> Schedule:
    """The company's working hours in this person's own time zone (from users.info/lookupByEmail)
    and with their calendar's days off."""
    if not user_id:
        return company_schedule(ctx.config)
    return people_time.schedule_of(session, ctx.config, user_id=user_id)


def _due(session: Session, status: ItemStatus, now: datetime, limit: int) -> list[Item]:
    query = (
        select(Item)
        .where(
            Item.status == status,
            col(Item.card_ts).is_not(None),
            sa.or_(col(Item.next_nudge_at).is_(None), col(Item.next_nudge_at) <= now),
        )
        .order_by(col(Item.id))
        .limit(limit)
    )
    if is_postgres(session.get_bind().engine):
        query = query.with_for_update(skip_locked=True, of=Item)
    return list(session.exec(query))


def _advance(session: Session, item: Item, *, step: int, next_at: datetime) -> bool:
    """Claim ``step`` for ``item``: only one scheduler's UPDATE can move it from the step it read."""
    result = session.exec(
        sa.update(Item)
        .where(col(Item.id) == item.id, col(Item.nudge_step) == item.nudge_step, col(Item.version) == item.version)
        .values(nudge_step=step, next_nudge_at=next_at)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _postpone(session: Session, item: Item, next_at: datetime) -> None:
    _advance(session, item, step=item.nudge_step, next_at=next_at)


def _held_back(session: Session, item: Item, sched: Schedule, now: datetime) -> bool:
    """A due step waits while the item is snoozed, and until the person's working hours."""
    if item.snoozed_until and now < item.snoozed_until:
        _postpone(session, item, item.snoozed_until)
        return True
    if not sched.is_working_time(now):
        _postpone(session, item, sched.next_working_moment(now))
        return True
    return False


def run(ctx: Context, *, limit: int = 500) -> Run:
    """One scheduler tick: first the items never assessed (a fresh backlog, e.g. a big import) get
    their first due moment set-wise (:func:`assess_new`), then everything due now, in one transaction."""
    assess_new(ctx, ctx.clock.now())

    def work(session: Session) -> Run:
        if is_postgres(session.get_bind().engine):
            # Two schedulers take turns (SQLite's BEGIN IMMEDIATE does the same): the second run
            # finds the steps already claimed, so a person never gets two reminders (or a lead two
            # escalations) in the same minute, each listing part of their items.
            session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": RUN_LOCK})
        now = ctx.clock.now()
        done = Run()
        _pending_items(session, ctx, now, done, limit)
        _stalled_follow_ups(session, ctx, now, done, limit)
        _open_questions(session, ctx, now, done)
        _queue_batches(session, ctx, now, done)
        return done

    return run_in_transaction(ctx.engine, work)


# ----- a fresh backlog: items never assessed -------------------------------------------------------

ASSESS_CHUNK = 2_000  # items read and updated per short transaction
ASSESS_PER_TICK = 50_000  # at most this many per tick: a 100,000-item backlog is assessed in two ticks


def _pending_next(
    steps: list[Step], sched: Schedule, offered_at: datetime, nudge_step: int, now: datetime
) -> datetime | None:
    """When a pending item's next ladder step is due, or None when a step is due now."""
    elapsed = sched.between(offered_at, now)
    target = max((n for n, s in enumerate(steps, start=1) if s.hours <= elapsed), default=0)
    if target > nudge_step:
        return None
    return sched.add(offered_at, steps[nudge_step].hours) if nudge_step < len(steps) else NEVER


def _follow_up_next(ctx: Context, category: str, sched_of: Any, row: Any, now: datetime) -> datetime | None:
    """When an accepted item's next follow-up reminder is due, or None when one is due now."""
    sla = ctx.config.category(Category(category)).sla
    if row.follow_up_count >= sla.follow_ups_expected or row.nudge_step >= FOLLOW_UP_REMINDERS:
        return NEVER
    sched = sched_of(row.owner_user_id)
    since = row.last_follow_up_at or row.accepted_at or row.offered_at
    due = [sched.add(since, sla.follow_up_within_hours * k) for k in range(1, FOLLOW_UP_REMINDERS + 1)]
    target = max((k for k in range(1, FOLLOW_UP_REMINDERS + 1) if due[k - 1] <= now), default=0)
    if target > row.nudge_step:
        return None
    return due[row.nudge_step] if row.nudge_step < FOLLOW_UP_REMINDERS else NEVER


def assess_new(ctx: Context, now: datetime, *, per_tick: int = ASSESS_PER_TICK) -> int:
    """Give open items the scheduler never looked at (``next_nudge_at`` empty) their next due moment,
    set-wise: a narrow read of :data:`ASSESS_CHUNK` items in a read-only snapshot, the ladder worked
    out in memory (one schedule per person), one multi-row conditional UPDATE in a short
    transaction. Items with a step due right now are left to the claiming path of :func:`run`.
    Returns how many were assessed."""
    from bot.db import reading

    columns = (
        col(Item.id),
        col(Item.status),
        col(Item.category),
        col(Item.offered_at),
        col(Item.accepted_at),
        col(Item.last_follow_up_at),
        col(Item.receiver_user_id),
        col(Item.owner_user_id),
        col(Item.nudge_step),
        col(Item.follow_up_count),
        col(Item.version),
    )
    ladders: dict[str, list[Step]] = {}
    after, assessed, seen = 0, 0, 0
    table = Item.__table__  # type: ignore[attr-defined]
    update = (
        sa.update(table)
        .where(
            table.c.id == sa.bindparam("b_id"),
            table.c.next_nudge_at.is_(None),
            table.c.nudge_step == sa.bindparam("b_step"),
            table.c.version == sa.bindparam("b_version"),
        )
        .values(next_nudge_at=sa.bindparam("b_next"))
    )
    while seen < per_tick:
        with reading(ctx.engine) as session:
            rows = session.execute(
                sa.select(*columns)
                .where(
                    col(Item.status).in_([ItemStatus.PENDING, ItemStatus.ACCEPTED]),
                    col(Item.card_ts).is_not(None),
                    col(Item.next_nudge_at).is_(None),
                    col(Item.id) > after,
                )
                .order_by(col(Item.id))
                .limit(ASSESS_CHUNK)
            ).all()
            if not rows:
                break
            schedules: dict[str | None, Schedule] = {}

            def sched_of(
                user_id: str | None, session: Session = session, schedules: dict[str | None, Schedule] = schedules
            ) -> Schedule:
                if user_id not in schedules:
                    schedules[user_id] = schedule_for(session, ctx, user_id)
                return schedules[user_id]

            updates = []
            for row in rows:
                if row.status == ItemStatus.PENDING:
                    steps = ladders.setdefault(row.category, ladder(ctx, row.category))
                    next_at = _pending_next(steps, sched_of(row.receiver_user_id), row.offered_at, row.nudge_step, now)
                else:
                    next_at = _follow_up_next(ctx, row.category, sched_of, row, now)
                if next_at is not None:
                    updates.append(
                        {"b_id": row.id, "b_step": row.nudge_step, "b_version": row.version, "b_next": next_at}
                    )
        after, seen = rows[-1].id, seen + len(rows)
        if updates:

            def write(s: Session, u: list[dict[str, Any]] = updates) -> None:
                s.connection().execute(update, u)

            run_in_transaction(ctx.engine, write)
            assessed += len(updates)
    return assessed


# ----- waiting for a decision ---------------------------------------------------------------------


def _pending_items(session: Session, ctx: Context, now: datetime, done: Run, limit: int) -> None:
    for item in _due(session, ItemStatus.PENDING, now, limit):
        assert item.id is not None  # a stored row
        steps = ladder(ctx, item.category)
        sched = schedule_for(session, ctx, item.receiver_user_id)
        elapsed = sched.between(item.offered_at, now)
        target = max((n for n, s in enumerate(steps, start=1) if s.hours <= elapsed), default=0)

        def due_at(step_index: int) -> datetime:
            return sched.add(item.offered_at, steps[step_index].hours) if step_index < len(steps) else NEVER

        if target <= item.nudge_step:
            _postpone(session, item, due_at(item.nudge_step))
            continue
        if _held_back(session, item, sched, now):
            continue
        if not _advance(session, item, step=target, next_at=due_at(target)):
            continue  # another scheduler took this step
        step = steps[target - 1]
        audit.record(
            session,
            item.id,
            actor="scheduler",
            kind=f"nudge_{step.kind}",
            at=now,
            step=target,
            working_hours=round(elapsed, 2),
        )
        claim = (item.id, item.version, target)
        if step.kind == "reassign" and _reassign(session, ctx, item, now, done, claim):
            continue
        done.reminders[item.receiver_user_id].append(item.id)
        done.claims[f"reminder:{item.receiver_user_id}"].append(claim)
        if step.kind in ("escalation", "reassign"):
            lead = _lead_of(ctx, item)
            if lead:
                done.escalations[lead].append(item.id)
                done.claims[f"escalation:{lead}"].append(claim)


def _lead_of(ctx: Context, item: Item) -> str | None:
    """Whom an escalation goes to: the team's lead, else the receiver's team lead, else an admin."""
    team = ctx.config.team(item.team_key) if item.team_key else ctx.config.team_of(item.receiver_email)
    if team and team.lead and team.lead.lower() != (item.receiver_email or "").lower():
        return team.lead
    admins = [a for a in ctx.config.roles.admins if a.lower() != (item.receiver_email or "").lower()]
    return admins[0] if admins else None


def _reassign(
    session: Session, ctx: Context, item: Item, now: datetime, done: Run, claim: tuple[int, int, int]
) -> bool:
    """The last step: offer the item to someone else by the same rules (never the same person)."""
    from bot.flows.decide import offer_elsewhere

    assert item.id is not None  # a stored row
    customer = item.customer
    chosen = route_item(session, ctx.config, item, avoid={item.receiver_email or ""})
    if chosen.receiver_email.lower() == (item.receiver_email or "").lower():
        return False
    previous = item.receiver_user_id
    session.refresh(item)
    if not offer_elsewhere(
        session, ctx, item, chosen, now=now, why=say("auto_reassigned_why", hours=ladder(ctx, item.category)[-1].hours)
    ):
        return False
    done.reassigned.append(item.id)
    if previous:  # one message per previous holder per run, listing every item moved on (see _queue_batches)
        done.moved_from[previous].append((item.id, customer.name if customer else "", chosen.receiver_email))
        done.claims[f"moved:{previous}"].append(claim)
    lead = _lead_of(ctx, item)
    if lead:
        done.escalations[lead].append(item.id)
        done.claims[f"escalation:{lead}"].append(claim)
    return True


# ----- accepted, but the follow-up stalls ------------------------------------------------------------


def _stalled_follow_ups(session: Session, ctx: Context, now: datetime, done: Run, limit: int) -> None:
    for item in _due(session, ItemStatus.ACCEPTED, now, limit):
        assert item.id is not None  # a stored row
        sla = ctx.config.category(Category(item.category)).sla
        if item.follow_up_count >= sla.follow_ups_expected or item.nudge_step >= FOLLOW_UP_REMINDERS:
            _postpone(session, item, NEVER)
            continue
        sched = schedule_for(session, ctx, item.owner_user_id)
        since = item.last_follow_up_at or item.accepted_at or item.offered_at

        def due_at(step: int) -> datetime:
            return sched.add(since, sla.follow_up_within_hours * step) if step <= FOLLOW_UP_REMINDERS else NEVER

        # like the ladder: after downtime only the highest step now due, not one reminder per missed step
        target = max((k for k in range(1, FOLLOW_UP_REMINDERS + 1) if due_at(k) <= now), default=0)
        if target <= item.nudge_step:
            _postpone(session, item, due_at(item.nudge_step + 1))
            continue
        if _held_back(session, item, sched, now):
            continue
        if not _advance(session, item, step=target, next_at=due_at(target + 1)):
            continue
        audit.record(
            session,
            item.id,
            actor="scheduler",
            kind="nudge_follow_up",
            at=now,
            step=target,
            follow_ups=item.follow_up_count,
            expected=sla.follow_ups_expected,
        )
        done.follow_ups[item.owner_user_id].append(item.id)
        done.claims[f"follow-up:{item.owner_user_id}"].append((item.id, item.version, target))


# ----- questions nobody answered ---------------------------------------------------------------------


def _open_questions(session: Session, ctx: Context, now: datetime, done: Run) -> None:
    """Counted in the Business Builder's working hours; the re-ask waits for the Business Builder's
    working time, the notice to the sender for the sender's."""
    questions = session.exec(
        select(Question).where(
            Question.open == True,  # noqa: E712
            col(Question.sender_told_at).is_(None),
            col(Question.bb_ts).is_not(None),
        )
    ).all()
    for q in questions:
        assert q.id is not None  # a stored row
        item = session.get(Item, q.item_id)
        sched = people_time.schedule_of(
            session, ctx.config, user_id=q.business_builder_user_id, email=item.business_builder_email if item else None
        )
        if q.reasked_at is None:
            if sched.add(q.asked_at, ctx.config.ask.reask_after_hours) > now or not sched.is_working_time(now):
                continue
            claimed = (
                session.exec(
                    sa.update(Question)
                    .where(col(Question.id) == q.id, col(Question.reasked_at).is_(None))
                    .values(reasked_at=now)
                ).rowcount
                == 1
            )
            if not claimed:
                continue
            outbox.enqueue(
                session,
                messages.Thread(question_id=q.id, text=say("reask", question=q.text, asker=q.asked_by)),
                key=f"reask:{q.id}",
                now=now,
                item_id=q.item_id,
                channel_key=q.bb_channel,
            )
            audit.record(session, q.item_id, actor="scheduler", kind="question_reasked", at=now, question_id=q.id)
            done.reasked.append(q.id)
        elif (
            item is not None
            and sched.add(q.asked_at, ctx.config.ask.tell_sender_after_hours) <= now
            and _sender_schedule(session, ctx, item).is_working_time(now)
        ):
            claimed = (
                session.exec(
                    sa.update(Question)
                    .where(col(Question.id) == q.id, col(Question.sender_told_at).is_(None))
                    .values(sender_told_at=now)
                ).rowcount
                == 1
            )
            if not claimed or item is None:
                continue
            from bot.flows.notify import tell_sender

            customer = item.customer
            tell_sender(
                session,
                item,
                now,
                key=f"unanswered:{q.id}",
                working_time=True,
                text=say(
                    "unanswered_to_sender",
                    item_id=item.id,
                    customer=customer.name if customer else "",
                    asker=q.asked_by,
                    question=q.text,
                    bb=item.business_builder_email,
                ),
            )
            audit.record(session, q.item_id, actor="scheduler", kind="question_unanswered", at=now, question_id=q.id)
            done.unanswered.append(q.id)


# ----- one message per person -------------------------------------------------------------------


def _sender_schedule(session: Session, ctx: Context, item: Item) -> Schedule:
    return people_time.schedule_of(
        session, ctx.config, user_id=item.sender_user_id, email=item.sender_email or item.business_builder_email
    )


def _key(kind: str, to: str, claims: list[tuple[int, int, int]]) -> str:
    """A key per claimed (item, version, step): two runs in the same second never share one, so a
    step the audit trail records always has its own message."""
    digest = hashlib.sha256(repr(sorted(claims)).encode()).hexdigest()[:20]
    return f"{kind}:{to}:{digest}"


def _queue(
    session: Session,
    ctx: Context,
    now: datetime,
    *,
    kind: str,
    to_user: str | None = None,
    to_email: str | None = None,
    item_ids: list[int],
    claims: list[tuple[int, int, int]],
) -> None:
    """Queue a reminder, escalation or follow-up reminder for the recipient's working time. One
    still waiting for that time (queued by an earlier run while the person was off) takes these
    items too: a lead who was asleep gets one escalation in the morning, not one per run."""
    to = to_user or to_email or ""
    when = people_time.not_before(session, ctx.config, now, user_id=to_user, email=to_email)
    if to_email and not to_user:
        people_time.zone_pending(session, user_id=None, email=to_email, now=now)  # learn the zone meanwhile
    waiting = session.exec(
        select(Outbox)
        .where(
            Outbox.kind == outbox.Kind.NUDGE,
            Outbox.channel_key == to,
            Outbox.status == outbox.Status.PENDING,
            Outbox.attempts == 0,
            Outbox.next_attempt_at > now,
        )
        .order_by(col(Outbox.id))
    ).all()
    for row in waiting:
        queued = messages.Nudge.model_validate(row.payload)
        if queued.kind == kind and not row.maybe_sent:
            wider = queued.model_copy(update={"item_ids": sorted({*queued.item_ids, *item_ids})})
            merged = session.exec(
                sa.update(Outbox)
                .where(
                    col(Outbox.id) == row.id,
                    col(Outbox.status) == outbox.Status.PENDING,
                    col(Outbox.next_attempt_at) > now,
                )
                .values(payload=wider.payload())
                .execution_options(synchronize_session=False)
            )
            if merged.rowcount == 1:
                return
    message = messages.Nudge(
        kind=kind,
        item_ids=sorted(item_ids),
        working_time=True,
        **({"to_user": to_user} if to_user else {"to_email": to_email}),
    )
    outbox.enqueue(
        session, message, key=_key(kind.replace("_", "-"), to, claims), now=now, channel_key=to, not_before=when
    )


def _queue_batches(session: Session, ctx: Context, now: datetime, done: Run) -> None:
    for user, ids in done.reminders.items():
        if user:
            _queue(
                session, ctx, now, kind="reminder", to_user=user, item_ids=ids, claims=done.claims[f"reminder:{user}"]
            )
    for lead, ids in done.escalations.items():
        _queue(
            session, ctx, now, kind="escalation", to_email=lead, item_ids=ids, claims=done.claims[f"escalation:{lead}"]
        )
    for user, ids in done.follow_ups.items():
        if user:
            _queue(
                session, ctx, now, kind="follow_up", to_user=user, item_ids=ids, claims=done.claims[f"follow-up:{user}"]
            )
    for user, moved in done.moved_from.items():
        text = (
            say("auto_reassigned_to_old", item_id=moved[0][0], customer=moved[0][1], to=moved[0][2])
            if len(moved) == 1
            else say("auto_reassigned_to_old_many", items=moved)
        )
        outbox.enqueue(
            session,
            messages.Direct(to_user=user, text=text, working_time=True),
            key=_key("auto-reassigned", user, done.claims[f"moved:{user}"]),
            now=now,
            item_id=moved[0][0] if len(moved) == 1 else None,
            channel_key=user,
            not_before=people_time.not_before(session, ctx.config, now, user_id=user),
        )


# ----- snooze ----------------------------------------------------------------------------------------


def snooze(session: Session, ctx: Context, item_id: int, user_id: str, *, days: int) -> tuple[bool, str]:
    """ "Remind me tomorrow / next week": no nudges for this item until then (working time, local)."""
    from bot.flows.decide import ACTIVE, check

    item = session.get(Item, item_id)
    if refusal := check(item, user_id, item_id, states=ACTIVE):
        return False, refusal.message
    assert item is not None and item.id is not None  # check() refuses a missing item
    days = max(1, min(int(days), 14))
    sched = schedule_for(session, ctx, user_id)
    now = ctx.clock.now()
    local = now.astimezone(sched.tz)
    start_of_day = datetime.combine(local.date() + timedelta(days=days), sched.start, sched.tz)
    until = sched.next_working_moment(start_of_day)
    session.execute(sa.update(Item).where(col(Item.id) == item.id).values(snoozed_until=until, next_nudge_at=until))
    audit.record(session, item.id, actor=user_id, kind="snoozed", at=now, until=until.isoformat(), days=days)
    return True, say("snoozed", item_id=item.id, until=until)
