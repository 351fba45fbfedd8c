"""The weekly digest of pending ownership: an owner's and a team lead's contents, each person at
their own local time, once per week, never empty, and switched off by the person."""

from __future__ import annotations

from datetime import timedelta

from bot.config import parse
from bot.flows import digest
from bot.ids import ActionId
from bot.models import DigestSent
from tests.flow import accept, discard, hand_over
from tests.harness import START, Bench
from tests.test_nudge import at

BY_AREA = """
routing:
  fallback: handover.desk@example.com
  rules:
    - {when: {product_area: [a]}, to: {person: anna.berg@example.com}}
    - {when: {product_area: [j]}, to: {person: johan.ek@example.com}}
    - {when: {product_area: [s]}, to: {person: sara.nyman@example.com}}
    - {when: {product_area: [us]}, to: {person: sam.new.york@example.com}}
"""
SENDER = "marketing.sender@example.com"


def digests(bench: Bench, email: str) -> list:
    return [m for m in bench.dm(email) if m.text.startswith(":calendar:")]


def text_of(message) -> str:
    return "\n".join(
        b.get("text", {}).get("text", "") if isinstance(b.get("text"), dict) else "" for b in message.blocks
    )


def tick(bench: Bench, when) -> list[str]:
    bench.clock.set(when)
    sent = digest.run(bench.ctx)
    bench.deliver()
    return sent


def a_week_of_work(bench: Bench) -> dict[str, int]:
    """Week 10 of 2026 in the Nordics team: Anna has one waiting and one accepted item, Johan
    discarded one, Sara accepted one; a sender in marketing handed two of them over."""
    bench.ctx.config = parse(BY_AREA, "test.yaml")
    bench.add_user(SENDER)
    bench.add_user("bb.stand@example.com")
    ids = {
        "waiting": hand_over(
            bench,
            product_area="a",
            customer="Waiting Oy",
            contact_email="x@waiting.example",
            business_builder_email="bb.stand@example.com",
        ),
        "owned": hand_over(bench, product_area="a", customer="Owned AB", contact_email="x@owned.example"),
        "discarded": hand_over(
            bench, product_area="j", customer="Gone AB", contact_email="x@gone.example", sender_email=SENDER
        ),
        "sent": hand_over(
            bench, product_area="s", customer="Sent AB", contact_email="x@sent.example", sender_email=SENDER
        ),
    }
    bench.clock.set(START + timedelta(hours=2))
    accept(bench, ids["owned"])
    bench.clock.set(START + timedelta(hours=4))
    accept(bench, ids["sent"])
    discard(bench, ids["discarded"], justification="They build their own switches in-house.")
    anna = bench.user("anna.berg@example.com")
    bench.agent.click(user=anna, message=bench.card(ids["waiting"]), action_id=ActionId.ASK)
    bench.agent.submit_view(
        user=anna, view=bench.fake.views_opened_by(anna)[-1], values={"question": "Which data centre is it?"}
    )
    bench.deliver()
    return ids


def test_an_owner_reads_what_waits_what_they_own_and_their_questions(bench: Bench) -> None:
    ids = a_week_of_work(bench)
    assert tick(bench, at(7, 8, 29)) == []  # next Monday, a minute before 08:30
    sent = tick(bench, at(7, 8, 30))
    assert "anna.berg@example.com" in sent
    [message] = digests(bench, "anna.berg@example.com")
    text = text_of(message)
    waiting, owned, questions = (
        text.index("Waiting for your decision"),
        text.index("no follow-up"),
        text.index("questions still open"),
    )
    assert waiting < owned < questions
    assert f"item #{ids['waiting']}" in text[waiting:owned] and "Waiting Oy" in text[waiting:owned]
    assert f"item #{ids['owned']}" in text[owned:questions]
    assert "Which data centre is it?" in text[questions:]
    assert ActionId.DIGEST_OFF.value in str(message.blocks)
    # the Business Builder reads the question that waits for their answer
    [bb_digest] = digests(bench, "bb.stand@example.com")
    assert "waiting for your answer" in text_of(bb_digest) and "Which data centre is it?" in text_of(bb_digest)


def test_a_sender_reads_what_came_of_their_handovers(bench: Bench) -> None:
    ids = a_week_of_work(bench)
    tick(bench, at(7, 8, 30))
    [message] = digests(bench, SENDER)
    text = text_of(message)
    assert f"item #{ids['sent']}: accepted by <@{bench.user('sara.nyman@example.com')}> after 4 h" in text
    assert f"item #{ids['discarded']}: discarded — Not a real customer interest" in text


def test_a_team_lead_reads_the_team_by_person_rate_median_and_discards(bench: Bench) -> None:
    ids = a_week_of_work(bench)
    # the bot never looked the lead up: the scheduler's earlier ticks do (her digest waits for her zone)
    tick(bench, at(7, 8, 0))
    tick(bench, at(7, 8, 30))
    [message] = digests(bench, "lena.lindqvist@example.com")
    text = text_of(message)
    assert "Nordics sales" in text
    anna = bench.user("anna.berg@example.com")
    assert f"<@{anna}>: 1 item, the oldest waiting 7 days" in text
    # two accepted (after 2 h and 4 h) and one discarded this week
    assert "2 accepted, 1 discarded" in text
    assert "acceptance rate *67%*" in text
    assert "median time to accept *3 h*" in text
    johan = bench.user("johan.ek@example.com")
    assert (
        f"item #{ids['discarded']} by <@{johan}>: Not a real customer interest — "
        "_They build their own switches in-house._"
    ) in text


def test_nobody_with_nothing_to_report_gets_a_digest(bench: Bench) -> None:
    a_week_of_work(bench)
    tick(bench, at(7, 8, 30))
    # Johan discarded his only item: nothing waits for him, he owns nothing, asked nothing
    assert digests(bench, "johan.ek@example.com") == []
    # the DACH lead's team had no activity at all
    assert digests(bench, "klaus.weber@example.com") == []
    with bench.db() as s:
        assert s.get(DigestSent, ("johan.ek@example.com", "2026-W11")).lines == 0  # decided once, not retried


def test_each_person_gets_it_at_their_own_local_time_once_a_week(bench: Bench) -> None:
    bench.ctx.config = parse(BY_AREA, "test.yaml")
    sam = bench.add_user("sam.new.york@example.com", tz="America/New_York")
    hand_over(bench, product_area="us", customer="Boston Inc", contact_email="x@boston.example")
    hand_over(bench, product_area="a", customer="Malmö AB", contact_email="x@malmo.example")
    tick(bench, at(7, 8, 30))
    assert len(digests(bench, "anna.berg@example.com")) == 1
    assert digests(bench, sam) == []  # 02:30 in New York
    tick(bench, at(7, 8, 29, tz="America/New_York"))
    assert digests(bench, sam) == []
    tick(bench, at(7, 8, 30, tz="America/New_York"))
    assert len(digests(bench, sam)) == 1
    for hour in (9, 12, 17):  # later ticks the same week send nothing again
        tick(bench, at(7, hour, tz="America/New_York"))
    assert len(digests(bench, sam)) == 1 and len(digests(bench, "anna.berg@example.com")) == 1
    tick(bench, at(14, 8, 30))  # the next week
    assert len(digests(bench, "anna.berg@example.com")) == 2


def test_a_scheduler_that_was_down_catches_up_within_a_day_not_later(bench: Bench) -> None:
    bench.ctx.config = parse(BY_AREA, "test.yaml")
    hand_over(bench, product_area="a", customer="Late AB", contact_email="x@late.example")
    tick(bench, at(8, 8, 0))  # Tuesday 08:00: the Monday 08:30 digest is late, within a day
    assert len(digests(bench, "anna.berg@example.com")) == 1
    tick(bench, at(16, 9, 0))  # the next Tuesday 09:00: more than a day late, that week is skipped
    assert len(digests(bench, "anna.berg@example.com")) == 1


def test_a_person_switches_their_digest_off_and_on(bench: Bench) -> None:
    bench.ctx.config = parse(BY_AREA, "test.yaml")
    hand_over(bench, product_area="a", customer="Quiet AB", contact_email="x@quiet.example")
    anna = bench.user("anna.berg@example.com")
    tick(bench, at(7, 8, 30))
    [message] = digests(bench, anna)
    r = bench.agent.click(user=anna, message=message, action_id=ActionId.DIGEST_OFF)
    assert r.status_code == 200
    bench.deliver()
    assert any("weekly digest is off" in e["text"] and e["user"] == anna for e in bench.fake.ephemerals)
    tick(bench, at(14, 8, 30))
    assert len(digests(bench, anna)) == 1  # still only last week's
    r = bench.agent.command(user=anna, command="/handover", text="digest on")
    assert "weekly digest is on" in r.text
    tick(bench, at(21, 8, 30))
    assert len(digests(bench, anna)) == 2
