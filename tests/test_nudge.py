"""The service level: reminders, escalation and reassignment in each receiver's working hours,
one message per person per run, snooze, follow-up reminders, unanswered questions, catch-up
after downtime, and two schedulers sending every nudge exactly once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from bot.config import parse
from bot.context import Context
from bot.db import make_engine
from bot.flows import nudge
from bot.ids import ActionId, SnoozeRef
from tests.flow import hand_over, sent_texts
from tests.harness import START, Bench

LEAD = {"painpoint": True, "offering": True, "timeframe": True, "budget": True}
ONE_RECEIVER = """
routing:
  fallback: handover.desk@example.com
  rules:
    - {when: {}, to: {person: anna.berg@example.com}}
"""


def at(day: int, hour: int, minute: int = 0, tz: str = "Europe/Stockholm") -> datetime:
    """Monday 2 March 2026 is day 0."""
    from zoneinfo import ZoneInfo

    local = datetime(2026, 3, 2, hour, minute, tzinfo=ZoneInfo(tz)) + timedelta(days=day)  # wall-clock time
    return local.astimezone(UTC)


def tick(bench: Bench, when: datetime) -> nudge.Run:
    bench.clock.set(when)
    done = nudge.run(bench.ctx)
    bench.deliver()
    return done


def reminders(bench: Bench, user: str) -> list[str]:
    return [t for t in sent_texts(bench, user) if "wait for your decision" in t or "waits for your decision" in t]


def nudges(bench: Bench, item_id: int) -> list[tuple[str, datetime]]:
    return [(e.kind, e.at) for e in bench.trail(item_id) if e.kind.startswith("nudge_") or e.kind == "auto_reassigned"]


def test_the_lead_ladder_runs_in_working_hours(bench: Bench) -> None:
    item_id = hand_over(bench, region="nordics", checklist=LEAD)  # Monday 09:00 in Stockholm
    receiver = bench.item(item_id).receiver_user_id
    # a scheduler ticking every 30 minutes until Wednesday afternoon
    when = START
    while when < at(2, 16):
        when += timedelta(minutes=30)
        tick(bench, when)
    steps = nudges(bench, item_id)
    assert steps == [
        ("nudge_reminder", at(0, 13)),  # 4 working hours
        ("nudge_reminder", at(1, 8)),  # 8 working hours: Monday ended at 17:00, Tuesday starts 08:00
        ("nudge_escalation", at(1, 16)),  # 16 working hours
        ("nudge_reassign", at(2, 15)),  # 24 working hours
        ("auto_reassigned", at(2, 15)),
    ]
    assert len(reminders(bench, receiver)) == 3  # two reminders and the escalation's
    lead = bench.user("lena.lindqvist@example.com")
    assert sum("too long" in t for t in sent_texts(bench, lead)) == 2  # the escalation, then the reassignment
    item = bench.item(item_id)
    assert item.receiver_user_id != receiver and item.status == "pending"
    assert any("waited too long" in t for t in sent_texts(bench, receiver))
    # the new receiver's ladder starts from the new offer: 4 working hours after Wednesday 15:00
    tick(bench, at(3, 9, 30))
    assert nudges(bench, item_id)[-1][0] == "auto_reassigned"
    tick(bench, at(3, 10))
    assert nudges(bench, item_id)[-1] == ("nudge_reminder", at(3, 10))


def test_nobody_is_nudged_outside_working_hours_or_on_a_holiday(bench: Bench) -> None:
    bench.ctx.config = parse(
        ONE_RECEIVER
        + """
working_hours: {start: "08:00", end: "17:00", days: [mon, tue, wed, thu, fri], holidays: ["2026-03-03"]}
""",
        "test.yaml",
    )
    item_id = hand_over(bench, checklist=LEAD)
    tick(bench, at(0, 13))
    assert [k for k, _ in nudges(bench, item_id)] == ["nudge_reminder"]
    for hour in (18, 22):
        tick(bench, at(0, hour))
    for hour in (8, 12, 16):  # Tuesday is a holiday
        tick(bench, at(1, hour))
    assert len(nudges(bench, item_id)) == 1
    tick(bench, at(2, 8))
    assert [k for k, _ in nudges(bench, item_id)] == ["nudge_reminder", "nudge_reminder"]


def test_each_receiver_is_nudged_in_their_own_time_zone(bench: Bench) -> None:
    bench.ctx.config = parse(
        """
routing:
  fallback: handover.desk@example.com
  rules:
    - {when: {region: [us]}, to: {person: sam.new.york@example.com}}
    - {when: {}, to: {person: anna.berg@example.com}}
""",
        "test.yaml",
    )
    sam = bench.add_user("sam.new.york@example.com", tz="America/New_York")
    here = hand_over(bench, checklist=LEAD, customer="Stockholm AB")
    there = hand_over(bench, checklist=LEAD, customer="Boston Inc", region="us", contact_email="someone@boston.example")
    tick(bench, at(0, 13))  # 13:00 in Stockholm is 07:00 in New York: Sam's day hasn't begun
    assert [k for k, _ in nudges(bench, here)] == ["nudge_reminder"]
    assert nudges(bench, there) == []
    tick(bench, at(0, 11, tz="America/New_York"))  # 08:00 + 3 working hours: still nothing
    assert nudges(bench, there) == []
    tick(bench, at(0, 12, tz="America/New_York"))  # 4 working hours of Sam's day
    assert [k for k, _ in nudges(bench, there)] == ["nudge_reminder"]
    assert len(reminders(bench, sam)) == 1


def test_one_message_per_person_lists_all_their_waiting_items(bench: Bench) -> None:
    bench.ctx.config = parse(ONE_RECEIVER, "test.yaml")
    ids = [
        hand_over(bench, checklist=LEAD, customer=f"Batch {n} AB", contact_email=f"x@batch{n}.example")
        for n in range(3)
    ]
    anna = bench.user("anna.berg@example.com")
    done = tick(bench, at(0, 13))
    assert sorted(done.reminders[anna]) == ids
    [message] = [m for m in bench.dm(anna) if "wait for your decision" in m.text]
    assert all(f"Batch {n} AB" in str(message.blocks) for n in range(3))
    accept_buttons = [
        e for b in message.blocks if b["type"] == "actions" for e in b["elements"] if e["action_id"] == ActionId.ACCEPT
    ]
    assert len(accept_buttons) == 3
    # accepting from the reminder works like accepting on the card
    bench.agent.click(user=anna, message=message, action_id=ActionId.ACCEPT)
    assert bench.item(ids[0]).status == "accepted"


def test_snooze_from_a_reminder_is_respected(bench: Bench) -> None:
    bench.ctx.config = parse(ONE_RECEIVER, "test.yaml")
    item_id = hand_over(bench, checklist=LEAD)
    anna = bench.user("anna.berg@example.com")
    tick(bench, at(0, 13))
    [message] = [m for m in bench.dm(anna) if "waits for your decision" in m.text]
    bench.agent.select(
        user=anna, message=message, action_id=ActionId.SNOOZE, value=SnoozeRef(item=item_id, days=7).dump()
    )  # "Remind me next week"
    item = bench.item(item_id)
    assert item.snoozed_until == at(7, 8)  # next Monday, start of the working day
    assert "snoozed" in [e.kind for e in bench.trail(item_id)]
    bench.deliver()
    assert any("snoozed until" in e["text"] and e["user"] == anna for e in bench.fake.ephemerals)
    for day in range(0, 5):  # the rest of the ladder fell due during the week
        for hour in (8, 12, 16):
            tick(bench, at(day, hour))
    assert [k for k, _ in nudges(bench, item_id)] == ["nudge_reminder"]
    tick(bench, at(7, 8))
    assert len(nudges(bench, item_id)) > 1  # awake again: what is due now happens


def test_a_scheduler_down_for_days_catches_up_with_one_message(bench: Bench) -> None:
    item_id = hand_over(bench, region="nordics", checklist=LEAD)
    receiver = bench.item(item_id).receiver_user_id
    tick(bench, at(2, 10))  # Wednesday 10:00: 19 working hours passed while nobody ticked
    assert [k for k, _ in nudges(bench, item_id)] == ["nudge_escalation"]  # the highest step due, once
    assert len(reminders(bench, receiver)) == 1
    tick(bench, at(2, 10, 30))
    assert len(nudges(bench, item_id)) == 1


def test_stalled_follow_up_gets_a_gentle_reminder(bench: Bench) -> None:
    bench.ctx.config = parse(ONE_RECEIVER, "test.yaml")
    item_id = hand_over(bench, checklist=LEAD)
    anna = bench.user("anna.berg@example.com")
    bench.agent.click(user=anna, message=bench.card(item_id), action_id=ActionId.ACCEPT)
    bench.deliver()
    tick(bench, at(2, 14, 30))  # 24 working hours after accepting on Monday 09:00 is Wednesday 15:00
    assert not any("need" in t and "follow-up" in t for t in sent_texts(bench, anna))
    tick(bench, at(2, 15, 30))
    [message] = [m for m in bench.dm(anna) if "follow-up" in m.text and "need" in m.text]
    assert ActionId.FOLLOW_UP.value in str(message.blocks)
    # recording a follow-up restarts the clock
    bench.agent.click(user=anna, message=message, action_id=ActionId.FOLLOW_UP)
    view = bench.fake.views_opened_by(anna)[-1]
    bench.agent.submit_view(user=anna, view=view, values={"kind": "contacted", "note": "Called"})
    tick(bench, at(2, 16, 30))
    assert [k for k, _ in nudges(bench, item_id)] == ["nudge_follow_up"]


def test_an_unanswered_question_is_asked_again_then_the_sender_is_told(bench: Bench) -> None:
    bench.ctx.config = parse(ONE_RECEIVER, "test.yaml")
    bench.add_user("sender@example.com")
    bb = bench.add_user("bb.stand@example.com")
    item_id = hand_over(
        bench, checklist=LEAD, sender_email="sender@example.com", business_builder_email="bb.stand@example.com"
    )
    anna = bench.user("anna.berg@example.com")
    bench.agent.click(user=anna, message=bench.card(item_id), action_id=ActionId.ASK)
    bench.agent.submit_view(user=anna, view=bench.fake.views_opened_by(anna)[-1], values={"question": "Budget?"})
    bench.deliver()
    tick(bench, at(2, 14, 30))
    assert not any("still waits for your answer" in t for t in sent_texts(bench, bb))
    tick(bench, at(2, 15, 30))  # 24 working hours after Monday 09:00 (9-hour days)
    assert sum("still waits for your answer" in t for t in sent_texts(bench, bb)) == 1
    tick(bench, at(3, 9))
    assert sum("still waits for your answer" in t for t in sent_texts(bench, bb)) == 1  # once
    sender = bench.user("sender@example.com")
    tick(bench, at(7, 11, 30))
    assert not any("no answer" in t for t in sent_texts(bench, sender))
    tick(bench, at(7, 12, 30))  # 48 working hours: the following Monday 12:00, the weekend skipped
    assert sum("no answer" in t and "Budget?" in t for t in sent_texts(bench, sender)) == 1


def test_two_schedulers_send_every_nudge_exactly_once(bench: Bench) -> None:
    bench.ctx.config = parse(
        """
routing:
  fallback: handover.desk@example.com
  rules:
    - {when: {}, to: {team: nordics-sales}}
""",
        "test.yaml",
    )
    ids = [
        hand_over(bench, checklist=LEAD, customer=f"Race {n} AB", contact_email=f"x@race{n}.example") for n in range(12)
    ]
    engines = [make_engine(str(bench.ctx.engine.url.render_as_string(hide_password=False))) for _ in range(2)]
    contexts = [
        Context(engine=e, config=bench.ctx.config, settings=bench.ctx.settings, clock=bench.clock) for e in engines
    ]
    results: list[nudge.Run] = []
    errors: list[BaseException] = []
    go = threading.Barrier(2)

    def scheduler(ctx: Context) -> None:
        try:
            go.wait()
            for _ in range(3):
                results.append(nudge.run(ctx))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    bench.clock.set(at(0, 13))
    threads = [threading.Thread(target=scheduler, args=(c,)) for c in contexts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in engines:
        e.dispose()
    assert errors == []
    nudged = sorted(i for r in results for ids_ in r.reminders.values() for i in ids_)
    assert nudged == ids  # each item's reminder claimed by exactly one scheduler
    assert all([k for k, _ in nudges(bench, i)] == ["nudge_reminder"] for i in ids)
    bench.deliver()
    per_person = {
        bench.user(e): len(reminders(bench, bench.user(e)))
        for e in ("anna.berg@example.com", "johan.ek@example.com", "sara.nyman@example.com")
    }
    assert all(n >= 1 for n in per_person.values())
    assert sum(per_person.values()) <= 6  # one per person per run that claimed something, never per item
