"""The lead review: a reproducible random sample of the month's discards in the review channel,
each marked "good grounds" or "reopen" by a reviewer; a reopen routes the item again; the outcome
is summarized to the channel and to each participant."""

from __future__ import annotations

import copy
from datetime import timedelta

from sqlmodel import select

from bot.flows import review
from bot.ids import ActionId, ItemStatus
from bot.models import ReviewEntry, ReviewRound
from tests.flow import accept, discard, hand_over, sent_texts
from tests.harness import START, Bench
from tests.test_nudge import at

CHANNEL = "C0LEADREVIEW"  # channels.review in the default configuration


def march_of_discards(bench: Bench) -> list[int]:
    """Five items discarded during March 2026, one accepted, one discarded in April."""
    bench.ctx.config = bench.ctx.config.model_copy(
        update={"review": bench.ctx.config.review.model_copy(update={"sample_size": 3})}
    )
    discarded = []
    for n in range(5):
        bench.clock.set(START + timedelta(days=2 * n))
        item_id = hand_over(bench, customer=f"Refused {n} AB", contact_email=f"x@refused{n}.example")
        discard(bench, item_id, justification=f"Reason number {n}: no budget this year.")
        discarded.append(item_id)
    accept(bench, hand_over(bench, customer="Kept AB", contact_email="x@kept.example"))
    return discarded


def tick(bench: Bench, when, **kwargs) -> ReviewRound | None:
    bench.clock.set(when)
    started = review.run(bench.ctx, **kwargs)
    bench.deliver()
    return started


def entries(bench: Bench) -> list[ReviewEntry]:
    with bench.db() as s:
        return list(s.exec(select(ReviewEntry).order_by(ReviewEntry.item_id)))


def entry_message(bench: Bench, item_id: int):
    return next(m for m in bench.fake.messages(channel=CHANNEL) if f"item #{item_id} " in m.text + " ")


def test_a_reproducible_sample_of_the_months_discards_goes_to_the_review_channel(bench: Bench) -> None:
    population = march_of_discards(bench)
    assert tick(bench, at(30, 7, 59)) is None  # 1 April 07:59: before working hours
    started = tick(bench, at(30, 8, 0))
    assert started is not None and (started.population, started.sample_size) == (5, 3)
    sampled = [e.item_id for e in entries(bench)]
    assert sampled == review.draw(population, started.seed, 3)  # the recorded seed repeats the draw
    assert set(sampled) <= set(population)
    messages = bench.fake.messages(channel=CHANNEL)
    assert "3 of 5 discards" in str(messages[0].blocks) and str(started.seed) in str(messages[0].blocks)
    for item_id in sampled:
        blocks = str(entry_message(bench, item_id).blocks)
        assert "Not a real customer interest" in blocks and "no budget this year" in blocks
        assert "handed over" in blocks  # the history
        assert ActionId.REVIEW_GOOD_GROUNDS.value in blocks and ActionId.REVIEW_REOPEN.value in blocks
    assert tick(bench, at(30, 9)) is None  # once per period
    assert len(bench.fake.messages(channel=CHANNEL)) == 4


def test_the_same_seed_draws_the_same_sample(bench: Bench) -> None:
    population = march_of_discards(bench)
    started = tick(bench, at(30, 8), seed=20260401)
    assert started.seed == 20260401
    assert [e.item_id for e in entries(bench)] == review.draw(population, 20260401, 3)
    assert review.draw(population, 20260401, 3) == review.draw(list(reversed(population)), 20260401, 3)


def test_reviewers_mark_each_discard_a_reopen_routes_it_again_and_all_hear_the_outcome(bench: Bench) -> None:
    march_of_discards(bench)
    tick(bench, at(30, 8))
    first, second, third = [e.item_id for e in entries(bench)]
    lena, maria = bench.user("lena.lindqvist@example.com"), bench.user("maria.santos@example.com")
    member = bench.user("anna.berg@example.com")

    # someone who is not a reviewer is told so; nothing changes
    bench.agent.click(user=member, message=entry_message(bench, first), action_id=ActionId.REVIEW_REOPEN)
    bench.deliver()
    assert any("Only reviewers" in e["text"] and e["user"] == member for e in bench.fake.ephemerals)
    assert bench.item(first).status == ItemStatus.DISCARDED

    stale = copy.deepcopy(entry_message(bench, second))  # as another reviewer still sees it
    bench.agent.click(user=lena, message=entry_message(bench, first), action_id=ActionId.REVIEW_GOOD_GROUNDS)
    bench.agent.click(user=maria, message=entry_message(bench, second), action_id=ActionId.REVIEW_REOPEN)
    bench.deliver()
    assert bench.item(first).status == ItemStatus.DISCARDED
    reopened = bench.item(second)
    assert reopened.status == ItemStatus.PENDING and reopened.card_ts  # offered again, with a new card
    assert "Good grounds" in str(entry_message(bench, first).blocks)
    assert ActionId.REVIEW_REOPEN.value not in str(entry_message(bench, second).blocks)  # buttons gone
    # a second reviewer clicking on the same entry a moment later: one verdict
    bench.agent.click(user=lena, message=stale, action_id=ActionId.REVIEW_GOOD_GROUNDS)
    bench.deliver()
    assert any("already marked reopen" in e["text"] and e["user"] == lena for e in bench.fake.ephemerals)
    assert not any(m.text.startswith(":checkered_flag:") for m in bench.fake.messages(channel=CHANNEL))

    bench.agent.click(user=lena, message=entry_message(bench, third), action_id=ActionId.REVIEW_GOOD_GROUNDS)
    bench.deliver()
    [summary] = [m for m in bench.fake.messages(channel=CHANNEL) if m.text.startswith(":checkered_flag:")]
    assert f"2 discards on good grounds, 1 reopened (#{second})" in str(summary.blocks)
    with bench.db() as s:
        round_ = s.exec(select(ReviewRound)).one()
    assert round_.summarized_at is not None
    verdicts = {e.item_id: (e.verdict, e.reviewer) for e in entries(bench)}
    assert verdicts == {first: ("good_grounds", lena), second: ("reopen", maria), third: ("good_grounds", lena)}
    # every person whose discard was reviewed hears about their own items, without blame
    for e in entries(bench):
        told = [t for t in sent_texts(bench, e.discarded_by) if t.startswith(":mag: The lead review")]
        assert len(told) == 1 and f"#{e.item_id}" in told[0] and "not to blame" in told[0]
    assert any(t.startswith(":checkered_flag: The lead review") for t in sent_texts(bench, maria))
    assert [k.kind for k in bench.trail(second)].count("review_verdict") == 1


def test_the_outcome_waits_for_the_morning_of_those_whose_discards_were_reviewed(bench: Bench) -> None:
    """The last verdict comes in at 19:30: the reviewer who gave it hears the outcome at once, the
    people whose discards were reviewed (they took no part) at the start of their next working day."""
    march_of_discards(bench)
    tick(bench, at(30, 8))
    lena = bench.user("lena.lindqvist@example.com")
    bench.clock.set(at(30, 19, 30))
    for e in entries(bench):
        bench.agent.click(user=lena, message=entry_message(bench, e.item_id), action_id=ActionId.REVIEW_GOOD_GROUNDS)
    bench.deliver()
    discarders = {e.discarded_by for e in entries(bench)} - {lena}
    assert discarders
    assert any(t.startswith(":checkered_flag: The lead review") for t in sent_texts(bench, lena))

    def told(who: str) -> list[str]:
        return [t for t in sent_texts(bench, who) if t.startswith(":mag: The lead review")]

    for when in (at(30, 21), at(31, 7, 55)):
        bench.clock.set(when)
        bench.deliver()
        assert all(told(who) == [] for who in discarders), when
    bench.clock.set(at(31, 8, 1))
    bench.deliver()
    assert all(len(told(who)) == 1 for who in discarders)


def test_a_month_without_discards_posts_nothing(bench: Bench) -> None:
    accept(bench, hand_over(bench))
    started = tick(bench, at(30, 8))
    assert started is not None and started.population == 0
    assert bench.fake.messages(channel=CHANNEL) == []
