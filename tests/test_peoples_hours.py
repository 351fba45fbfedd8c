"""Nobody nudged at night: every message the scheduler sends to a person waits for THAT person's
working time (their Slack zone, their calendar) — escalations to a lead in another zone, the re-ask
to a Business Builder, the "unanswered" notice to a sender, the digest of a lead the bot never
looked up, a catch-up after downtime. Plus: the audit trail and the messages agree, snoozed items
stay out of reminders, auto-reassign notices are batched, "a decision is expected by …" is the
receiver's, holidays come from the `holidays` package, and the template glue.

Driven as Slack does, on the moved clock, on SQLite and PostgreSQL (the ``bench`` fixture)."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot import scheduler
from bot.config import ConfigError, parse
from bot.flows import digest, nudge
from bot.flows.deliver import decision_due
from bot.ids import ActionId, Category, SnoozeRef
from bot.models import ItemEvent, Outbox
from bot.scheduling import schedule_for_email
from tests.flow import accept, discard, hand_over, sent_texts
from tests.harness import START, Bench

LEAD = {"painpoint": True, "offering": True, "timeframe": True, "budget": True}
STOCKHOLM, NEW_YORK, TOKYO, LONDON, SYDNEY = (
    "Europe/Stockholm",
    "America/New_York",
    "Asia/Tokyo",
    "Europe/London",
    "Australia/Sydney",
)

WORLD = """
timezone: Europe/Stockholm
working_hours:
  start: "08:00"
  end: "17:00"
  days: [mon, tue, wed, thu, fri]
  holidays: {country: SE, categories: [public, de_facto]}
  people:
    ned.ny@example.com: {country: US, subdivision: NY}
    nina.ny@example.com: {country: US, subdivision: NY}
    sam.sydney@example.com: {country: AU, subdivision: NSW}
teams:
  - {key: sthlm, name: Stockholm sales, lead: ned.ny@example.com, members: [anna.sthlm@example.com]}
  - key: tokyo
    name: Tokyo sales
    lead: lucy.london@example.com
    members: [taro.tokyo@example.com, kenji.tokyo@example.com]
    holidays: {country: JP}
  - {key: ny, name: New York sales, lead: sam.sydney@example.com, members: [nina.ny@example.com]}
routing:
  fallback: handover.desk@example.com
  rules:
    - {when: {region: [jp]}, to: {team: tokyo}}
    - {when: {region: [us]}, to: {team: ny}}
    - {when: {}, to: {team: sthlm}}
"""
PEOPLE = {
    "anna.sthlm@example.com": STOCKHOLM,
    "ned.ny@example.com": NEW_YORK,
    "nina.ny@example.com": NEW_YORK,
    "taro.tokyo@example.com": TOKYO,
    "kenji.tokyo@example.com": TOKYO,
    "lucy.london@example.com": LONDON,
    "sam.sydney@example.com": SYDNEY,
    "handover.desk@example.com": STOCKHOLM,
}


def local(day: int, hour: int, minute: int = 0, tz: str = STOCKHOLM) -> datetime:
    """Wall-clock time in ``tz`` on day ``day`` after Monday 2 March 2026."""
    return (datetime(2026, 3, 2, hour, minute, tzinfo=ZoneInfo(tz)) + timedelta(days=day)).astimezone(UTC)


def world(bench: Bench) -> None:
    bench.ctx.config = parse(WORLD, "world.yaml")
    for email, tz in PEOPLE.items():
        if email not in bench.users:
            bench.add_user(email, tz=tz)


def tick(bench: Bench, when: datetime) -> None:
    bench.clock.set(when)
    scheduler.tick(bench.ctx)
    bench.deliver()


def tz_of(bench: Bench, user_id: str) -> str:
    return bench.fake.users[user_id].tz  # what users.info says


def working(bench: Bench, user_id: str, when: datetime) -> bool:
    email = next(e for e, u in bench.users.items() if u == user_id)
    return schedule_for_email(bench.ctx.config, email, tz_of(bench, user_id)).is_working_time(when)


def texts_of(message: Any) -> str:
    out = [message.text]
    for b in message.blocks or []:
        if isinstance(b.get("text"), dict):
            out.append(b["text"].get("text", ""))
    return "\n".join(out)


class Watch:
    """Which DMs reach each person at which moment of the moved clock (the fake stamps messages
    with the wall clock, so the test notes the moment each one first appears)."""

    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.seen = {uid: len(bench.dm(uid)) for uid in bench.users.values()}
        self.arrived: list[tuple[str, datetime, str]] = []  # (user, moment, text)

    def look(self) -> None:
        now = self.bench.clock.now()
        for uid in self.bench.users.values():
            messages = self.bench.dm(uid)
            for m in messages[self.seen[uid] :]:
                self.arrived.append((uid, now, texts_of(m)))
            self.seen[uid] = len(messages)

    def to(self, email: str, words: str = "") -> list[datetime]:
        uid = self.bench.user(email)
        return [at for who, at, text in self.arrived if who == uid and words in text]

    def at_night(self) -> list[tuple[str, str, str]]:
        return [
            (
                next(e for e, u in self.bench.users.items() if u == who),
                at.astimezone(ZoneInfo(tz_of(self.bench, who))).strftime("%a %d %b %H:%M %Z"),
                text[:60],
            )
            for who, at, text in self.arrived
            if not working(self.bench, who, at)
        ]


def run(bench: Bench, watch: Watch, start: datetime, end: datetime, every: timedelta) -> None:
    when = start
    while when <= end:
        tick(bench, when)
        watch.look()
        when += every


# ----- the five-zone month --------------------------------------------------------------------------


@pytest.mark.slow
def test_a_month_in_five_time_zones_every_dm_arrives_in_its_readers_working_hours(bench: Bench) -> None:
    """Four weeks from Monday 2 March 2026 across Stockholm, New York, Tokyo, London and Sydney:
    New York (8 March), Europe (29 March) switch to summer time, Sydney back from it (5 April);
    Japan's Vernal Equinox Day (20 March). Every DM the scheduler sends arrives in its reader's
    working time, and each kind of scheduled message was sent."""
    world(bench)
    sam = "sam.sydney@example.com"
    ids = {}
    for n in range(3):
        ids[f"se{n}"] = hand_over(
            bench, checklist=LEAD, customer=f"Sthlm {n} AB", contact_email=f"x@s{n}.example", sender_email=sam
        )
        ids[f"jp{n}"] = hand_over(
            bench,
            checklist=LEAD,
            customer=f"Tokyo {n} KK",
            contact_email=f"x@t{n}.example",
            region="jp",
            sender_email=sam,
        )
        ids[f"us{n}"] = hand_over(
            bench,
            checklist=LEAD,
            customer=f"NY {n} Inc",
            contact_email=f"x@n{n}.example",
            region="us",
            sender_email=sam,
        )
    accept(bench, ids["se1"])
    accept(bench, ids["us1"])
    # Anna asks the Business Builder in Tokyo; the sender is in Sydney
    asked = hand_over(
        bench,
        checklist=LEAD,
        customer="Question AB",
        contact_email="x@q.example",
        sender_email=sam,
        business_builder_email="taro.tokyo@example.com",
    )
    anna = bench.user("anna.sthlm@example.com")
    bench.agent.click(user=anna, message=bench.card(asked), action_id=ActionId.ASK)
    bench.agent.submit_view(user=anna, view=bench.fake.views_opened_by(anna)[-1], values={"question": "Budget?"})
    bench.deliver()
    watch = Watch(bench)
    run(bench, watch, START + timedelta(minutes=20), START + timedelta(days=28), timedelta(minutes=30))

    assert watch.at_night() == []
    assert watch.to("ned.ny@example.com", "too long"), "the New York lead got escalations"
    assert watch.to("sam.sydney@example.com", "too long"), "the Sydney lead got escalations"
    assert watch.to("lucy.london@example.com", ":calendar:"), "the London lead (never looked up) got digests"
    assert watch.to("taro.tokyo@example.com", "still waits for your answer"), "the re-ask reached Tokyo"
    assert watch.to(sam, "no answer"), "the unanswered notice reached Sydney"
    assert any(watch.to(e, "need") for e in PEOPLE), "follow-up reminders were sent"
    assert any(watch.to(e, "waited too long") for e in PEOPLE), "auto-reassign notices were sent"
    # the London lead's digest: the first tick after Monday 08:30 London each week, in summer time too
    lucy = watch.to("lucy.london@example.com", ":calendar:")
    assert [d.astimezone(ZoneInfo(LONDON)).strftime("%a %H:%M") for d in lucy] == ["Mon 08:50"] * len(lucy)
    # audit and messages agree: every follow-up reminder step recorded has its message
    with bench.db() as s:
        keys = [k for k in s.exec(select(Outbox.idempotency_key)) if k.startswith("follow-up:")]
        steps = list(s.exec(select(ItemEvent).where(ItemEvent.kind == "nudge_follow_up")))
    assert len(steps) >= 1 and len(keys) <= len(steps)


# ----- 5: escalations wait for the lead ---------------------------------------------------------------


def test_an_escalation_waits_for_the_leads_working_hours_and_comes_once(bench: Bench) -> None:
    world(bench)
    items = []
    for n, minute in enumerate((0, 30)):  # Monday 15:00 and 15:30 in Stockholm
        bench.clock.set(local(0, 15, minute))
        items.append(hand_over(bench, checklist=LEAD, customer=f"Late {n} AB", contact_email=f"x@late{n}.example"))
    ned = bench.user("ned.ny@example.com")
    watch = Watch(bench)
    # Anna's 16th working hours end Wednesday 13:00 and 13:30 Stockholm: 07:00 and 07:30 in New York
    run(bench, watch, local(2, 12), local(2, 18), timedelta(minutes=10))
    assert [k for i in items for k in [e.kind for e in bench.trail(i)] if k == "nudge_escalation"] == [
        "nudge_escalation"
    ] * 2
    [escalation] = watch.to("ned.ny@example.com", "too long")  # both items, in one message
    assert escalation == local(2, 8, tz=NEW_YORK) and working(bench, ned, escalation)
    text = next(t for w, _, t in watch.arrived if w == ned and "too long" in t)
    assert "Late 0 AB" in text and "Late 1 AB" in text


def test_an_escalation_due_in_the_leads_night_waits_for_the_morning(bench: Bench) -> None:
    world(bench)
    bench.ctx.config = parse(WORLD.replace("lead: ned.ny@example.com", "lead: taro.tokyo@example.com"), "w.yaml")
    item_id = hand_over(bench, checklist=LEAD, customer="Night AB", contact_email="x@night.example")
    taro = bench.user("taro.tokyo@example.com")
    watch = Watch(bench)
    run(bench, watch, local(1, 15), local(2, 9, tz=TOKYO), timedelta(minutes=15))
    [escalation] = watch.to("taro.tokyo@example.com", "too long")
    assert escalation == local(2, 8, tz=TOKYO)  # Tuesday 16:00 Stockholm is midnight in Tokyo: sent at 08:00
    assert ("nudge_escalation" in [e.kind for e in bench.trail(item_id)]) and working(bench, taro, escalation)


# ----- 6: the re-ask and the "unanswered" notice -------------------------------------------------------


def test_the_reask_and_the_unanswered_notice_follow_their_readers_hours(bench: Bench) -> None:
    world(bench)
    sam = "sam.sydney@example.com"
    item_id = hand_over(
        bench,
        checklist=LEAD,
        customer="Asked AB",
        contact_email="x@asked.example",
        sender_email=sam,
        business_builder_email="ned.ny@example.com",
    )
    anna = bench.user("anna.sthlm@example.com")
    bench.agent.click(user=anna, message=bench.card(item_id), action_id=ActionId.ASK)
    bench.agent.submit_view(user=anna, view=bench.fake.views_opened_by(anna)[-1], values={"question": "Budget?"})
    bench.deliver()
    watch = Watch(bench)
    run(bench, watch, START, START + timedelta(days=9), timedelta(minutes=30))
    [reask] = watch.to("ned.ny@example.com", "still waits for your answer")
    [told] = watch.to(sam, "no answer")
    assert working(bench, bench.user("ned.ny@example.com"), reask), reask.astimezone(ZoneInfo(NEW_YORK))
    assert working(bench, bench.user(sam), told), told.astimezone(ZoneInfo(SYDNEY))
    # 24 working hours of New York's: asked Monday 03:00 New York (9 + 9 + 6 hours): Wednesday 14:00
    assert reask == local(2, 14, tz=NEW_YORK)


# ----- 7: a lead never looked up ---------------------------------------------------------------------------


def test_a_lead_the_bot_never_looked_up_gets_the_digest_at_their_own_0830(bench: Bench) -> None:
    world(bench)
    bench.clock.set(local(6, 12))  # Sunday: nothing escalates to the lead before her digest
    for n in range(2):
        hand_over(bench, checklist=LEAD, customer=f"Digest {n} KK", contact_email=f"x@d{n}.example", region="jp")
    assert not bench.fake.calls_to("users.lookupByEmail") or all(
        c.args.get("email") != "lucy.london@example.com" for c in bench.fake.calls_to("users.lookupByEmail")
    )
    watch = Watch(bench)
    # Sunday evening to Monday evening, ticks every 30 minutes through the lead's digest hour
    run(bench, watch, local(6, 20), local(7, 20), timedelta(minutes=30))
    [delivered] = watch.to("lucy.london@example.com", ":calendar:")
    assert delivered == local(7, 8, 30, tz=LONDON)  # not 08:30 Stockholm (07:30 London)
    [tokyo] = watch.to("taro.tokyo@example.com", ":calendar:")
    assert tokyo == local(7, 8, 30, tz=TOKYO)


def test_a_zone_slack_cannot_tell_falls_back_to_the_company_zone_after_a_bounded_wait(bench: Bench) -> None:
    world(bench)
    hand_over(bench, checklist=LEAD, customer="Fallback KK", contact_email="x@fb.example", region="jp")
    lucy = "lucy.london@example.com"
    bench.clock.set(local(7, 8, 20))  # Slack never answers (nothing delivered): her zone stays unknown
    assert lucy not in digest.run(bench.ctx)
    bench.clock.set(local(7, 8, 30))  # the company's 08:30: she waits for her own zone
    assert lucy not in digest.run(bench.ctx)
    bench.clock.set(local(7, 9, 20))  # an hour after asking: the company's zone it is
    assert lucy in digest.run(bench.ctx)


# ----- 8: catch-up, the follow-up burst, same-second runs ---------------------------------------------------


def test_a_digest_catch_up_after_downtime_waits_for_the_morning(bench: Bench) -> None:
    world(bench)
    hand_over(bench, checklist=LEAD, customer="Catch Up Inc", contact_email="x@cu.example", region="us")
    nina = bench.user("nina.ny@example.com")
    tick(bench, local(7, 0, 5))  # the scheduler was down over Monday 08:30 New York; back Tuesday 04:05 EST
    tick(bench, local(8, 4, 5, tz=NEW_YORK))
    assert not any(t.startswith(":calendar:") for t in sent_texts(bench, nina))
    tick(bench, local(8, 8, 0, tz=NEW_YORK))
    assert sum(t.startswith(":calendar:") for t in sent_texts(bench, nina)) == 1


def follow_up_texts(bench: Bench, user: str) -> list[str]:
    return [t for t in sent_texts(bench, user) if "need" in t and "follow-up" in t]


def test_after_downtime_one_follow_up_reminder_not_one_per_missed_step(bench: Bench) -> None:
    world(bench)
    item_id = hand_over(bench, checklist=LEAD, customer="Burst AB", contact_email="x@burst.example")
    accept(bench, item_id)
    anna = bench.user("anna.sthlm@example.com")
    for minute in range(5):  # back after two weeks: both follow-up steps long due
        tick(bench, local(14, 10, minute))
    assert len(follow_up_texts(bench, anna)) == 1
    assert [e.kind for e in bench.trail(item_id)].count("nudge_follow_up") == 1


def test_two_runs_in_the_same_second_each_claimed_step_has_its_message(bench: Bench) -> None:
    world(bench)
    bench.ctx.config = parse(
        WORLD + "categories:\n  lead:\n    label: Lead\n    definition: Ready.\n"
        "    sla: {follow_up_within_hours: 4, follow_ups_expected: 6}\n",
        "w.yaml",
    )
    item_id = hand_over(bench, checklist=LEAD, customer="Second AB", contact_email="x@second.example")
    accept(bench, item_id)
    anna = bench.user("anna.sthlm@example.com")
    bench.clock.set(local(0, 13, 30))  # step 1 due (4 working hours after 09:00)
    nudge.run(bench.ctx)
    bench.clock.set(local(1, 8, 30))  # and the next: step 2, now in a run in one second with another
    nudge.run(bench.ctx)
    nudge.run(bench.ctx)
    bench.deliver()
    recorded = [e.kind for e in bench.trail(item_id)].count("nudge_follow_up")
    assert recorded == len(follow_up_texts(bench, anna)) == 2


def test_two_runs_in_one_second_never_drop_a_message_whose_step_was_recorded(bench: Bench) -> None:
    world(bench)
    ids = [
        hand_over(bench, checklist=LEAD, customer=f"Same {n} AB", contact_email=f"x@same{n}.example") for n in range(2)
    ]
    for i in ids:
        accept(bench, i)
    anna = bench.user("anna.sthlm@example.com")
    # a week later both follow-up steps are due (24 and 48 working hours after accepting)
    when = local(7, 13)
    bench.clock.set(when)
    first = nudge.run(bench.ctx)
    second = nudge.run(bench.ctx)  # the same second
    bench.deliver()
    recorded = sum([e.kind for e in bench.trail(i)].count("nudge_follow_up") for i in ids)
    items_in_messages = sum(len(v) for r in (first, second) for v in r.follow_ups.values())
    assert recorded == items_in_messages
    with bench.db() as s:
        rows = [r for r in s.exec(select(Outbox)) if r.kind == "nudge" and r.payload.get("kind") == "follow_up"]
    assert sum(len(r.payload["item_ids"]) for r in rows) == recorded
    assert len(follow_up_texts(bench, anna)) == len(rows)


# ----- 9: snoozed items stay out of other reminders -------------------------------------------------------


def test_a_snoozed_item_is_not_listed_in_other_reminders(bench: Bench) -> None:
    world(bench)
    sleepy = hand_over(bench, checklist=LEAD, customer="Sleepy AB", contact_email="x@sleepy.example")
    anna = bench.user("anna.sthlm@example.com")
    tick(bench, local(0, 13))
    [first] = [m for m in bench.dm(anna) if "for your decision" in m.text]
    bench.agent.select(user=anna, message=first, action_id=ActionId.SNOOZE, value=SnoozeRef(item=sleepy, days=7).dump())
    bench.clock.set(local(0, 14))
    awake = hand_over(bench, checklist=LEAD, customer="Awake AB", contact_email="x@awake.example")
    tick(bench, local(1, 9, 30))  # Awake AB's first reminder (4 working hours after Monday 14:00)
    [_, reminder] = [m for m in bench.dm(anna) if "for your decision" in m.text]
    assert "Awake AB" in texts_of(reminder) and "Sleepy AB" not in texts_of(reminder)
    refs = str(reminder.blocks)
    assert f'"item": {sleepy}' not in refs and f"item|{sleepy}" not in refs  # no buttons for it either
    assert "1 item waits" in reminder.text and awake


# ----- 10: auto-reassign notices batched --------------------------------------------------------------


def test_auto_reassign_tells_the_previous_holder_once_per_run(bench: Bench) -> None:
    world(bench)
    ids = [
        hand_over(bench, checklist=LEAD, customer=f"Moved {n} KK", contact_email=f"x@moved{n}.example", region="jp")
        for n in range(4)
    ]
    holders = {bench.item(i).receiver_user_id for i in ids}  # Taro and Kenji, two items each
    tick(bench, local(4, 16, tz=TOKYO))  # Friday: far past 24 working hours in Tokyo
    moved = [i for i in ids if any(e.kind == "auto_reassigned" for e in bench.trail(i))]
    assert len(moved) == 4
    notices = {h: [t for t in sent_texts(bench, h) if "waited too long" in t] for h in holders}
    assert all(len(n) == 1 for n in notices.values()), notices  # one message each, not one per item
    mentioned = sorted(i for n in notices.values() for i in moved if f"#{i} " in n[0])
    assert mentioned == sorted(moved)


# ----- 11: "a decision is expected by …" in the receiver's hours ---------------------------------------


def test_the_decision_is_expected_by_the_receivers_working_hours(bench: Bench) -> None:
    world(bench)
    item_id = hand_over(bench, checklist=LEAD, customer="Due KK", contact_email="x@due.example", region="jp")
    item = bench.item(item_id)
    taro = schedule_for_email(bench.ctx.config, "taro.tokyo@example.com", TOKYO)
    expected = decision_due(bench.ctx.config, Category.LEAD, item.offered_at, taro)
    assert item.decision_due_at == expected
    assert expected != decision_due(bench.ctx.config, Category.LEAD, item.offered_at)  # not the company's
    card = bench.card(item_id)
    assert f"<!date^{int(expected.timestamp())}^" in str(card.blocks)
    tick(bench, local(1, 12, tz=TOKYO))
    reminder = [m for m in bench.dm(item.receiver_user_id) if "for your decision" in m.text][-1]
    assert f"<!date^{int(expected.timestamp())}^" in str(reminder.blocks)


# ----- 12: holidays that never run out ------------------------------------------------------------------


def test_the_default_calendar_does_not_run_out() -> None:
    from bot.config import load_config

    config = load_config(None)
    sthlm = schedule_for_email(config, "anna.berg@example.com")
    for year in (2027, 2031, 2040):
        assert not sthlm.is_working_day(date(year, 12, 24)) and not sthlm.is_working_day(date(year, 12, 25))
        assert (not sthlm.is_working_day(date(year, 1, 1)) and not sthlm.is_working_day(date(year, 6, 6))) or date(
            year, 6, 6
        ).weekday() >= 5
    uk = schedule_for_email(config, "tom.hughes@example.com")  # the UK team keeps England's days
    assert not uk.is_working_day(date(2030, 8, 26)) and sthlm.is_working_day(
        date(2030, 8, 26)
    )  # late summer bank holiday


def test_holiday_calendars_per_team_and_person_with_the_companys_own_days() -> None:
    config = parse(
        WORLD.replace(
            "holidays: {country: SE, categories: [public, de_facto]}",
            'holidays: {country: SE, extra: ["12-27", "2029-05-02"]}',
        ),
        "w.yaml",
    )
    ned = schedule_for_email(config, "ned.ny@example.com", NEW_YORK)
    taro = schedule_for_email(config, "taro.tokyo@example.com", TOKYO)
    anna = schedule_for_email(config, "anna.sthlm@example.com", STOCKHOLM)
    assert not ned.is_working_day(date(2029, 11, 22)) and anna.is_working_day(date(2029, 11, 22))  # Thanksgiving
    assert not taro.is_working_day(date(2029, 3, 20)) and anna.is_working_day(date(2029, 3, 20))  # Vernal Equinox
    for s in (ned, taro, anna):  # the company's own days apply to everyone, yearly and once
        assert not s.is_working_day(date(2028, 12, 27)) and not s.is_working_day(date(2029, 5, 2))
    assert taro.is_working_day(date(2030, 5, 2))


@pytest.mark.parametrize(
    "text, words",
    [
        ("working_hours:\n  holidays: {country: XX}\n", "unknown country"),
        ("working_hours:\n  holidays: {country: US, subdivision: ZZ}\n", "unknown subdivision"),
        ('working_hours:\n  holidays: {extra: ["13-40"]}\n', "not a date"),
    ],
)
def test_a_wrong_calendar_is_named_with_its_line(text: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(text, "company.yaml")
    assert "company.yaml:2:" in str(caught.value) and words in str(caught.value)


def test_a_tokyo_receiver_is_not_nudged_on_a_japanese_holiday(bench: Bench) -> None:
    world(bench)
    item_id = hand_over(bench, checklist=LEAD, customer="Equinox KK", contact_email="x@eq.example", region="jp")
    for hour in (9, 12, 16):  # Friday 20 March 2026: Vernal Equinox Day in Japan, a working day in Sweden
        tick(bench, local(18, hour, tz=TOKYO))
    nudged_on_the_holiday = [
        e
        for e in bench.trail(item_id)
        if e.kind.startswith("nudge_") and e.at.astimezone(ZoneInfo(TOKYO)).date() == date(2026, 3, 20)
    ]
    assert nudged_on_the_holiday == []


# ----- 13: template glue, the review's name in the log, category overrides -----------------------------


def test_reminder_lines_keep_the_event_and_the_wait_apart(bench: Bench) -> None:
    world(bench)
    hand_over(bench, checklist=LEAD, customer="Glue AB", contact_email="x@glue.example", event="Summit 2026")
    anna = bench.user("anna.sthlm@example.com")
    tick(bench, local(0, 13))
    reminder = [m for m in bench.dm(anna) if "for your decision" in m.text][-1]
    assert "Summit 2026\nWaiting" in texts_of(reminder) and "Summit 2026Waiting" not in texts_of(reminder)


def test_review_entries_keep_the_event_apart_and_the_log_names_the_month(
    bench: Bench, caplog: pytest.LogCaptureFixture
) -> None:
    for n in range(2):
        bench.clock.set(START + timedelta(days=n))
        discard(bench, hand_over(bench, customer=f"Fair {n} AB", contact_email=f"x@fair{n}.example", event="Fair 2026"))
    caplog.set_level(logging.INFO, logger="handover.scheduler")
    tick(bench, local(30, 8))  # 1 April, 08:00: the March review
    entries = [texts_of(m) for m in bench.fake.messages(channel="C0LEADREVIEW") if "Discarded by" in texts_of(m)]
    assert entries and all("Fair 2026\nDiscarded by" in t for t in entries)
    assert "lead review of 2026-03-01 started" in caplog.text


def test_overriding_only_a_categorys_sla_keeps_its_label_and_definition() -> None:
    config = parse("categories:\n  lead:\n    sla: {decide_within_hours: 8}\n", "company.yaml")
    assert config.category("lead").label == "Lead"
    assert config.category("lead").definition.startswith("Documented confirmed interest")
    assert config.category("lead").sla.decide_within_hours == 8
    assert config.category("lead").sla.reassign_after_hours == 24  # the rest of the default sla stays
