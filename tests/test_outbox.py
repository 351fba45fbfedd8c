"""The outbox: a state change and its message commit together; Slack trouble delays messages
but never loses or duplicates them."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import replace

import httpx
from slack_sdk import WebClient

from bot.outbox import Status
from bot.slack.dispatcher import Dispatcher
from tests.faults_support import failed_calls, keys_posted
from tests.flow import hand_over
from tests.harness import API_TOKEN, BOT_TOKEN, Bench


def test_slack_outage_delays_cards_and_they_arrive_once_after_recovery(bench: Bench) -> None:
    bench.fake.set_outage(True)
    ids = [hand_over(bench, external_id=f"outage-{n}", customer=f"Customer {n}") for n in range(10)]
    assert bench.fake.messages() == []
    rows = bench.outbox()
    assert all(r.status == Status.PENDING and r.attempts >= 1 for r in rows)
    bench.fake.set_outage(False)
    for _ in range(6):  # the backoff runs on the injectable clock
        bench.clock.advance(minutes=5)
        bench.deliver()
    posted = keys_posted(bench.fake)
    assert len(posted) == 10 and set(posted.values()) == {1}
    assert all(bench.item(i).card_ts for i in ids)
    assert {r.status for r in bench.outbox()} == {Status.SENT}


def test_a_time_out_after_slack_posted_does_not_post_twice(bench: Bench) -> None:
    bench.fake.delay(method="chat.postMessage", seconds=1.5, times=1)
    impatient = Dispatcher(
        bench.ctx, client=WebClient(token=BOT_TOKEN, base_url=bench.fake.api_url, timeout=0.5, retry_handlers=[])
    )
    r = httpx.post(
        f"{bench.url}/api/items",
        headers={"Authorization": f"Bearer {API_TOKEN}"},
        timeout=10,
        json={"external_id": "slow-1", "customer": "Slow Corp", "description": "x"},
    )
    assert r.status_code == 201
    impatient.run_once()  # times out, although the fake goes on to post the card
    time.sleep(1.6)
    [row] = [r for r in bench.outbox() if r.kind == "item_card"]
    assert row.status == Status.PENDING and row.maybe_sent
    bench.clock.advance(minutes=1)
    bench.deliver()
    assert list(keys_posted(bench.fake).values()) == [1]
    assert bench.item(r.json()["id"]).card_ts


def test_rate_limited_channel_waits_while_other_channels_go_on(bench: Bench) -> None:
    bench.fake.rate_limit(method="chat.postMessage", per_channel_per_second=1.0)
    a = bench.add_user("busy@example.com")
    # three items for one receiver (the account owner) and the rest of the world unaffected
    for n in range(3):
        hand_over(
            bench,
            external_id=f"rl-{n}",
            customer=f"Busy {n}",
            account_owner_email="busy@example.com",
            category="opportunity_intelligence",
        )
    posted_to_busy = [m for m in bench.fake.messages(channel=bench.fake.dm_channel_for(a))]
    assert len(posted_to_busy) >= 1
    statuses = Counter(r.status for r in bench.outbox())
    assert statuses[Status.SENT] >= 1
    for _ in range(10):
        if not any(r.status == Status.PENDING for r in bench.outbox()):
            break
        time.sleep(1.05)
        bench.clock.advance(seconds=2)
        bench.deliver()
    assert len(bench.fake.messages(channel=bench.fake.dm_channel_for(a))) == 3
    assert set(keys_posted(bench.fake).values()) == {1}


def test_messages_to_one_channel_are_paced_while_other_channels_go_on(bench: Bench) -> None:
    """Slack allows about 1 message per second per channel: the dispatcher posts no faster to one
    channel (the rest wait their turn in the outbox) and does not hold the other channels up."""
    busy = bench.add_user("paced@example.com")
    calm = [bench.add_user(f"calm{n}@example.com") for n in range(2)]
    settings = bench.ctx.settings.model_copy(update={"outbox_channel_pace_seconds": 1.0})
    paced = Dispatcher(replace(bench.ctx, settings=settings))
    owners = ["paced@example.com"] * 3 + ["calm0@example.com", "calm1@example.com"]
    for n, owner in enumerate(owners):
        r = httpx.post(
            f"{bench.url}/api/items",
            headers={"Authorization": f"Bearer {API_TOKEN}"},
            timeout=10,
            json={
                "external_id": f"pace-{n}",
                "customer": f"Paced {n}",
                "description": "x",
                "category": "opportunity_intelligence",
                "account_owner_email": owner,
            },
        )
        assert r.status_code == 201

    def cards(user: str) -> int:
        return len(bench.fake.messages(channel=bench.fake.dm_channel_for(user)))

    paced.run_until_idle(wait_for_pace=False)  # the moved clock stands still
    assert cards(busy) == 1 and [cards(u) for u in calm] == [1, 1]
    waiting = [r for r in bench.outbox() if r.kind == "item_card" and r.status == Status.PENDING]
    assert len(waiting) == 2 and all(r.attempts == 0 for r in waiting)  # waiting, not failing
    assert [r.last_error.split(":")[0] for r in waiting] == ["paced", "paced"]  # each given its own turn
    bench.clock.advance(seconds=0.5)
    paced.run_until_idle(wait_for_pace=False)  # the moved clock stands still
    assert cards(busy) == 1  # not yet a second since the last one
    bench.clock.advance(seconds=0.5)
    paced.run_until_idle(wait_for_pace=False)  # the moved clock stands still
    assert cards(busy) == 2
    bench.clock.advance(seconds=1)
    paced.run_until_idle(wait_for_pace=False)  # the moved clock stands still
    assert cards(busy) == 3 and set(keys_posted(bench.fake).values()) == {1}
    assert failed_calls(bench.fake, "chat.postMessage")[429] == 0


def test_state_change_and_message_commit_together(bench: Bench) -> None:
    """A rejected item leaves neither a row nor a message behind."""
    httpx.post(
        f"{bench.url}/api/items",
        headers={"Authorization": f"Bearer {API_TOKEN}"},
        timeout=10,
        json={"customer": "", "description": "x"},
    )
    assert bench.items() == [] and bench.outbox() == []


def test_unknown_receiver_email_routes_to_the_fallback_and_is_reported(bench: Bench) -> None:
    fallback = bench.ctx.config.routing.fallback
    bench.add_user("sender@example.com")
    item_id = hand_over(
        bench,
        account_owner_email="left.company@example.com",
        category="opportunity_intelligence",
        sender_email="sender@example.com",
    )
    item = bench.item(item_id)
    assert item.receiver_email == fallback
    assert item.receiver_user_id == bench.user(fallback)
    assert "left.company@example.com" in (item.routing_note or "")
    assert "rerouted" in [e.kind for e in bench.trail(item_id)]
    texts = [m.text for m in bench.dm("sender@example.com")]
    assert any("left.company@example.com" in t for t in texts)


def test_rows_queued_before_the_message_models_are_sent_and_a_payload_that_fits_none_is_dead(bench: Bench) -> None:
    """A row's payload is the JSON it always was: rows an earlier version queued (every key written
    out, the old ``_maybe_sent`` flag inside) validate as their kind's message and are sent; a
    payload with a field no message has is given up at once, kept for `handover outbox list`."""
    from bot.models import Outbox

    user = bench.add_user("old.rows@example.com")
    now = bench.clock.now()
    with bench.db() as s:
        s.add(
            Outbox(
                idempotency_key="old-direct",
                kind="direct",
                channel_key="old.rows@example.com",
                payload={
                    "to_user": None,
                    "to_email": "old.rows@example.com",
                    "fallbacks": [],
                    "text": "queued by the previous version",
                    "_maybe_sent": False,
                },
                next_attempt_at=now,
                created_at=now,
            )
        )
        s.add(
            Outbox(
                idempotency_key="odd-direct",
                kind="direct",
                channel_key="odd",
                payload={"to_user": user, "text": "x", "colour": "blue"},
                next_attempt_at=now,
                created_at=now,
            )
        )
        s.commit()
    bench.deliver()
    rows = {r.idempotency_key: r for r in bench.outbox()}
    assert rows["old-direct"].status == Status.SENT
    assert [m.text for m in bench.dm("old.rows@example.com")] == ["queued by the previous version"]
    assert rows["odd-direct"].status == Status.DEAD and rows["odd-direct"].last_error.startswith("invalid_payload")
    assert list(keys_posted(bench.fake)) == ["old-direct"]
