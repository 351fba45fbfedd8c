"""Nothing lost through a long Slack outage (issue 16, points 1 and 4): messages queued while Slack
is down for hours wait — retried on the moved clock, never given up before the horizon — and
arrive exactly once within a minute of Slack's return. Permanent errors alone end a row early."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.config import parse
from bot.flows import digest
from bot.ids import ActionId
from bot.models import OutboxEvent
from bot.outbox import Status
from bot.slack.dispatcher import Dispatcher
from tests.faults_support import keys_posted
from tests.flow import accept, hand_over
from tests.harness import Bench
from tests.test_digest import BY_AREA, SENDER, digests
from tests.test_nudge import at


def _posting_rows(bench: Bench) -> list:
    """Sent rows that posted a message of their own (not a skipped one, not an update or a Home)."""
    return [
        r
        for r in bench.outbox()
        if r.status == Status.SENT
        and "ts" in (r.result or {})
        and r.kind not in ("card_refresh", "card_retire", "home", "ephemeral")
    ]


def test_a_two_hour_outage_with_items_decisions_and_digests_queued_loses_nothing_and_sends_each_once(
    bench: Bench,
) -> None:
    bench.ctx.config = parse(BY_AREA, "test.yaml")
    bench.add_user(SENDER)
    # before the outage: cards are out, and Johan has the Discard form open on one of his
    before = {
        n: hand_over(
            bench,
            product_area="a",
            customer=f"Before {n} AB",
            contact_email=f"x@before{n}.example",
            sender_email=SENDER,
        )
        for n in range(2)
    }
    johans = hand_over(
        bench, product_area="j", customer="Johans AB", contact_email="x@johans.example", sender_email=SENDER
    )
    johan = bench.user("johan.ek@example.com")
    bench.agent.click(user=johan, message=bench.card(johans), action_id=ActionId.DISCARD)
    form = bench.fake.views_opened_by(johan)[-1]
    messages_before = len(bench.fake.messages())

    # next Monday 07:45 in Stockholm Slack goes down for two hours (the digests are due at 08:30)
    bench.clock.set(at(7, 7, 45))
    down_at = bench.clock.now()
    bench.fake.set_outage(True)
    during = {
        n: hand_over(
            bench,
            product_area=area,
            customer=f"During {n} AB",
            contact_email=f"x@during{n}.example",
            sender_email=SENDER,
        )
        for n, area in enumerate(["a", "s", "j"])
    }
    accept(bench, before[0])
    r = bench.agent.submit_view(
        user=johan, view=form, values={"reason": "no_real_interest", "justification": "A student project, no budget."}
    )
    assert r.status_code == 200
    digested: list[str] = []
    while bench.clock.now() < down_at + timedelta(hours=2):
        bench.clock.advance(minutes=1)  # the background dispatcher tries about once a minute
        if not digested and bench.clock.now() >= at(7, 8, 30):
            digested = digest.run(bench.ctx)
        bench.deliver()
    assert digested, "the weekly digests were queued during the outage"
    assert len(bench.fake.messages()) == messages_before, "nothing got through while Slack was down"
    waiting = bench.outbox()
    assert not [r for r in waiting if r.status == Status.DEAD], "nothing is given up in a two-hour outage"
    unsent = [r for r in waiting if r.status != Status.SENT]
    assert {"item_card", "digest", "direct"} <= {r.kind for r in unsent}
    assert max(r.attempts for r in unsent) >= 100  # tried all along, about once a minute

    # Slack is back: within a minute every message arrives, each exactly once
    bench.fake.set_outage(False)
    bench.clock.advance(minutes=1)
    bench.deliver()
    rows = bench.outbox()
    assert {r.status for r in rows} == {Status.SENT}, [
        (r.id, r.kind, r.status, r.last_error) for r in rows if r.status != Status.SENT
    ]
    posted = keys_posted(bench.fake)
    assert set(posted.values()) == {1}, {k: n for k, n in posted.items() if n > 1}
    assert sorted(posted) == sorted(r.idempotency_key for r in _posting_rows(bench))
    for item_id in during.values():
        assert bench.card(item_id) is not None
    assert bench.item(before[0]).status == "accepted" and bench.item(johans).status == "discarded"
    for email in digested:
        assert len(digests(bench, email)) == 1
    told = " ".join(m.text for m in bench.dm(SENDER))
    assert "Johans AB" in told and "Before 0 AB" in told  # the sender heard of both decisions


def test_a_permanent_error_ends_the_row_at_once_with_its_reason(bench: Bench) -> None:
    bench.fake.fail("chat.postMessage", "invalid_blocks", times=1)
    hand_over(bench, customer="Refused AB")
    [row] = [r for r in bench.outbox() if r.kind == "item_card"]
    assert row.status == Status.DEAD and row.attempts == 0 and row.last_error.startswith("invalid_blocks")
    with bench.db() as s:
        [event] = s.exec(select(OutboxEvent).where(OutboxEvent.outbox_id == row.id)).all()
    assert event.action == "dead" and event.actor == "system"


def test_a_row_failing_longer_than_the_horizon_is_dead_and_kept(bench: Bench) -> None:
    settings = bench.ctx.settings.model_copy(update={"outbox_horizon_hours": 3.0})
    ctx = replace(bench.ctx, settings=settings)
    bench.fake.set_outage(True)
    hand_over(bench, customer="Patient AB")
    start = bench.clock.now()
    while bench.clock.now() + timedelta(minutes=5) < start + timedelta(hours=3):
        bench.clock.advance(minutes=5)
        Dispatcher(ctx).run_until_idle()
    [row] = bench.outbox()
    assert row.status == Status.PENDING and row.failing_since == start
    bench.clock.advance(minutes=5)
    Dispatcher(ctx).run_until_idle()
    [row] = bench.outbox()
    assert row.status == Status.DEAD and row.dead_at == bench.clock.now() and row.last_error == "HTTP 503"


def test_backoff_is_capped_at_a_minute_so_delivery_resumes_within_a_minute(bench: Bench) -> None:
    bench.fake.set_outage(True)
    hand_over(bench, customer="Soon AB")
    for _ in range(40):  # 2^40 s of plain exponential backoff would be forever
        bench.clock.advance(minutes=1)
        bench.deliver()
    [row] = bench.outbox()
    assert row.attempts >= 40
    wait = (row.next_attempt_at - bench.clock.now()).total_seconds()
    assert 0 < wait <= 60
    bench.fake.set_outage(False)
    bench.clock.advance(seconds=60)
    bench.deliver()
    assert bench.outbox()[0].status == Status.SENT and len(keys_posted(bench.fake)) == 1


@pytest.mark.parametrize("error", ["invalid_auth", "token_revoked"])
def test_a_refused_token_keeps_messages_waiting_and_tells_the_operator(
    bench: Bench, error: str, caplog: pytest.LogCaptureFixture
) -> None:
    bench.fake.fail("chat.postMessage", error, times=None)
    with caplog.at_level(logging.ERROR, logger="handover.dispatcher"):
        hand_over(bench, customer="Token AB")
        for _ in range(30):
            bench.clock.advance(minutes=1)
            bench.deliver()
    [row] = [r for r in bench.outbox() if r.kind == "item_card"]
    assert row.status == Status.PENDING and row.last_error == error
    assert any("refuses the bot token" in r.getMessage() and error in r.getMessage() for r in caplog.records)
    bench.fake.clear_failures()  # the operator fixed the token
    bench.clock.advance(minutes=1)
    bench.deliver()
    assert {r.status for r in bench.outbox()} == {Status.SENT} and list(keys_posted(bench.fake).values()) == [1]


def test_while_slack_cannot_be_reached_one_message_probes_and_the_rest_wait_for_it(bench: Bench) -> None:
    """A hanging or refusing Slack costs one call a round, not one (time-out) per queued message."""
    bench.fake.set_outage(True)
    for n in range(10):
        hand_over(bench, customer=f"Queued {n} AB")
    bench.clock.advance(minutes=2)
    calls = len(bench.fake.calls)
    bench.deliver()
    assert len(bench.fake.calls) - calls == 1
    rows = bench.outbox()
    assert {r.status for r in rows} == {Status.PENDING} and all(r.failing_since is not None for r in rows)
    bench.fake.set_outage(False)
    bench.clock.advance(minutes=1)
    bench.deliver()
    assert {r.status for r in bench.outbox()} == {Status.SENT}
    assert len(keys_posted(bench.fake)) == 10 and set(keys_posted(bench.fake).values()) == {1}


def test_no_connection_at_all_costs_one_attempt_a_round(bench: Bench) -> None:
    """A proxy that refuses connections (no HTTP answer at all): one row probes, the rest wait."""
    from slack_sdk import WebClient

    from tests.pg import free_port

    bench.fake.set_outage(True)
    for n in range(5):
        hand_over(bench, customer=f"Refused {n} AB")
    bench.fake.set_outage(False)
    nowhere = f"http://127.0.0.1:{free_port()}/api/"  # nothing listens there
    cut_off = Dispatcher(
        bench.ctx,
        client=WebClient(token="x", base_url=nowhere, retry_handlers=[]),
        reader=WebClient(token="x", base_url=nowhere, retry_handlers=[]),
    )
    bench.clock.advance(minutes=2)
    before = {r.id: r.attempts for r in bench.outbox()}
    cut_off.run_until_idle()
    rows = bench.outbox()
    tried = [r for r in rows if r.attempts > before[r.id]]
    assert len(tried) == 1 and "URLError" in tried[0].last_error
    assert all(r.status == Status.PENDING for r in rows)
    assert {r.last_error for r in rows if r not in tried} == {"waiting: Slack could not be reached"}
    bench.clock.advance(minutes=1)
    bench.deliver()  # the connection is back
    assert {r.status for r in bench.outbox()} == {Status.SENT} and len(keys_posted(bench.fake)) == 5
