"""A simulated five weeks driven by two scheduler PROCESSES at once against one database (PostgreSQL
in production; SQLite too): working hours, weekends, a holiday, two time zones. Every reminder,
escalation, reassignment, follow-up reminder, re-asked question, digest, feedback request and lead
review is queued exactly as often as a single scheduler queues it — never twice."""

from __future__ import annotations

import multiprocessing as mp
import re
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import select

from bot.config import parse
from bot.fakeslack.directory import directory, emails_in
from bot.ids import ActionId
from bot.models import DigestSent, Feedback, ItemEvent, Outbox, ReviewEntry, ReviewRound
from tests.flow import accept, discard, hand_over
from tests.harness import START, Bench

CONFIG = """
working_hours: {start: "08:00", end: "17:00", days: [mon, tue, wed, thu, fri], holidays: ["2026-03-20"]}
routing:
  fallback: handover.desk@example.com
  rules:
    - {when: {region: [us]}, to: {person: sam.new.york@example.com}}
    - {when: {}, to: {team: nordics-sales}}
review: {every: month, sample_size: 3}
"""
LEAD = {"painpoint": True, "offering": True, "timeframe": True, "budget": True}
SLACK_TS = re.compile(r"\d{10}\.\d{6}")  # message timestamps the Slack fake gives (wall-clock)
TICKS = [START + timedelta(hours=h) for h in range(0, 24 * 36, 2)]  # every two hours to 7 April


def world(bench: Bench) -> None:
    """The same month, item for item: pending leads in two time zones, accepted items (feedback,
    follow-up reminders), discards (the review), an open question (re-ask, then the sender)."""
    bench.reset()
    bench.users = {}
    bench.ctx.config = parse(CONFIG, "test.yaml")
    for user in directory(emails_in(bench.ctx.config)):
        bench.fake.add_user(user)
        bench.users[user.email] = user.id
    bench.add_user("sam.new.york@example.com", tz="America/New_York")
    bench.add_user("sender@example.com")
    bench.add_user("bb.stand@example.com")
    ids = []
    for n in range(10):
        bench.clock.set(START + timedelta(hours=n))
        ids.append(
            hand_over(
                bench,
                checklist=LEAD,
                customer=f"Month {n} AB",
                contact_email=f"x@month{n}.example",
                region="us" if n % 4 == 3 else "nordics",
                sender_email="sender@example.com",
                business_builder_email="bb.stand@example.com",
            )
        )
    for item_id in ids[:3]:
        accept(bench, item_id)
    for item_id in ids[3:7]:
        discard(bench, item_id)
    asker = bench.item(ids[7]).receiver_user_id
    bench.agent.click(user=asker, message=bench.card(ids[7]), action_id=ActionId.ASK)
    bench.agent.submit_view(user=asker, view=bench.fake.views_opened_by(asker)[-1], values={"question": "Budget?"})
    bench.deliver()


def scheduler_process(url: str, config_text: str, ticks: list, barrier: Any, results: Any) -> None:
    """One `handover scheduler`, with its clock moved by the test: each tick starts with the other's."""
    from bot import scheduler
    from bot.clock import FakeClock
    from bot.context import Context
    from bot.db import make_engine
    from bot.settings import Settings

    engine = make_engine(url)
    clock = FakeClock(ticks[0])
    ctx = Context(
        engine=engine,
        config=parse(config_text, "test.yaml"),
        clock=clock,
        settings=Settings(slack_bot_token="xoxb-unused", slack_signing_secret="unused", database_url=url),
    )
    claimed = 0
    for when in ticks:
        clock.set(when)
        barrier.wait(timeout=60)
        done = scheduler.tick(ctx)
        claimed += sum(len(v) for v in done.reminders.values()) + len(done.reasked) + len(done.unanswered)
    engine.dispose()
    results.put(claimed)


def outcome(bench: Bench) -> dict[str, Any]:
    """What the schedulers did, in terms that do not depend on which process did it."""
    with bench.db() as s:
        keys = sorted(SLACK_TS.sub("<ts>", k) for k in s.exec(select(Outbox.idempotency_key)))
        events = sorted(
            (e.item_id, e.kind, e.at.isoformat())
            for e in s.exec(select(ItemEvent).where(ItemEvent.actor == "scheduler", ItemEvent.kind != "review_sampled"))
        )
        digests = sorted((d.person, d.week, d.lines) for d in s.exec(select(DigestSent)))
        feedback = sorted(
            (f.item_id, f.asked_at.isoformat(), f.reminded_at.isoformat() if f.reminded_at else None)
            for f in s.exec(select(Feedback))
        )
        rounds = [(r.population, r.sample_size) for r in s.exec(select(ReviewRound))]
        entries = s.exec(select(sa.func.count()).select_from(ReviewEntry)).one()
    return {
        "keys": keys,
        "events": events,
        "digests": digests,
        "feedback": feedback,
        "rounds": rounds,
        "entries": entries,
    }


def test_two_scheduler_processes_send_every_message_exactly_once(bench: Bench) -> None:
    from bot import scheduler

    # what one scheduler does through the month
    world(bench)
    for when in TICKS:
        bench.clock.set(when)
        scheduler.tick(bench.ctx)
    alone = outcome(bench)
    # the same month with two scheduler processes ticking at the same moments
    world(bench)
    url = bench.ctx.engine.url.render_as_string(hide_password=False)
    spawn = mp.get_context("spawn")
    barrier, results = spawn.Barrier(2), spawn.Queue()
    processes = [spawn.Process(target=scheduler_process, args=(url, CONFIG, TICKS, barrier, results)) for _ in range(2)]
    for p in processes:
        p.start()
    for p in processes:
        p.join(timeout=600)
    assert [p.exitcode for p in processes] == [0, 0]
    claimed = sorted(results.get(timeout=5) for _ in processes)
    together = outcome(bench)

    kinds = {k.split(":")[0] for k in alone["keys"]}
    assert {
        "reminder",
        "escalation",
        "follow-up",
        "digest",
        "feedback",
        "feedback-reminder",
        "review",
        "reask",
        "unanswered",
    } <= kinds  # the month exercised every job
    for what in alone:
        extra = (
            sorted(set(map(str, together[what])) - set(map(str, alone[what]))) if isinstance(alone[what], list) else []
        )
        missing = (
            sorted(set(map(str, alone[what])) - set(map(str, together[what]))) if isinstance(alone[what], list) else []
        )
        assert together[what] == alone[what], (what, extra[:10], missing[:10])
    assert sum(claimed) > 0
    print(
        f"\n{len(TICKS)} ticks × 2 processes: {len(alone['keys'])} outbox rows, "
        f"{len(alone['events'])} scheduler events, identical to one scheduler; claims split {claimed}"
    )
