"""What the operator sees of the outbox and does with it (issue 16, points 2 and 3): a dead message
shows in `handover outbox list`, `doctor`, `/healthz`, `/metrics` and the admins' App Home;
`handover outbox retry` sends it again, `discard` gives it up with a reason on the trail; an
uncertain send whose duplicate check Slack refuses is posted anyway (at most once more), logged."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import httpx
import pytest
from sqlmodel import select
from typer.testing import CliRunner

from bot import messages, outbox
from bot.cli import app
from bot.clock import utcnow
from bot.models import OutboxEvent
from bot.outbox import Status
from bot.slack.dispatcher import Dispatcher
from tests.faults_support import keys_posted
from tests.flow import hand_over
from tests.harness import BOT_TOKEN, Bench
from tests.test_home import home_text, open_home

ADMIN = "handover.desk@example.com"  # roles.admins in the built-in configuration


def handover(bench: Bench, *args: str) -> tuple[int, str]:
    """Run the `handover` command against the bench's database and Slack."""
    env = {
        "DATABASE_URL": bench.ctx.settings.database_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": "s",
        "SLACK_API_URL": bench.fake.api_url,
        "HANDOVER_CONFIG": "",
        "COLUMNS": "250",
    }
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, " ".join(re.sub("[\u2500-\u257f]", " ", result.output).split())  # no table lines


def events(bench: Bench, row_id: int) -> list[OutboxEvent]:
    with bench.db() as s:
        return list(s.exec(select(OutboxEvent).where(OutboxEvent.outbox_id == row_id).order_by(OutboxEvent.id)))


def a_dead_card(bench: Bench, customer: str = "Refused AB") -> tuple[int, int]:
    """An item whose card Slack refused for good; returns (item id, outbox row id)."""
    bench.fake.fail("chat.postMessage", "invalid_blocks", times=1)
    item_id = hand_over(bench, customer=customer)
    [row] = [r for r in bench.outbox() if r.kind == "item_card" and r.item_id == item_id]
    assert row.status == Status.DEAD
    return item_id, row.id


def metric(text: str, name: str, **labels: str) -> float | None:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = rf"^{re.escape(name)}{re.escape('{' + wanted + '}') if labels else ''} (\S+)$"
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else None


def test_a_dead_message_is_visible_everywhere_and_retry_sends_it(bench: Bench) -> None:
    item_id, row_id = a_dead_card(bench)
    admin = bench.user(ADMIN)

    code, listed = handover(bench, "outbox", "list")
    assert code == 0 and f"{row_id} item_card dead" in listed and "invalid_blocks" in listed and f"#{item_id}" in listed
    assert "0 waiting" in listed and "1 dead" in listed

    health = httpx.get(f"{bench.url}/healthz", timeout=10).json()
    assert health["outbox_dead"] == 1 and health["outbox_pending"] == 0

    scraped = httpx.get(f"{bench.url}/metrics", timeout=10)
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    assert metric(scraped.text, "handover_outbox_dead_rows", kind="item_card") == 1.0
    assert metric(scraped.text, "handover_outbox_dead_total", kind="item_card") >= 1.0

    code, doctor = handover(bench, "doctor")
    assert code != 0 and "✘ outbox: 0 waiting" in doctor and "1 dead" in doctor and "handover outbox retry" in doctor

    assert "Messages are not getting through" in open_home(bench, admin)
    assert "1 message could not be delivered" in home_text(bench, admin)
    anna = bench.user("anna.berg@example.com")
    assert "not getting through" not in open_home(bench, anna)  # only admins are told

    code, retried = handover(bench, "outbox", "retry", str(row_id), "--by", "ops.oncall")
    assert code == 0 and "1 sent now" in retried, retried
    assert bench.card(item_id) is not None and list(keys_posted(bench.fake).values()) == [1]
    assert next(r for r in bench.outbox() if r.id == row_id).status == Status.SENT
    assert [(e.action, e.actor) for e in events(bench, row_id)] == [("dead", "system"), ("retry", "ops.oncall")]
    assert "message_retried" in [e.kind for e in bench.trail(item_id)]

    assert httpx.get(f"{bench.url}/healthz", timeout=10).json()["outbox_dead"] == 0
    assert "not getting through" not in open_home(bench, admin)
    code, doctor = handover(bench, "doctor")
    assert "✔ outbox: 0 waiting" in doctor


def test_discard_needs_a_reason_and_is_on_the_trail(bench: Bench) -> None:
    item_id, row_id = a_dead_card(bench, "Unwanted AB")
    code, said = handover(bench, "outbox", "discard", str(row_id))
    assert code == 2 and "--reason is required" in said
    assert next(r for r in bench.outbox() if r.id == row_id).status == Status.DEAD

    code, said = handover(
        bench, "outbox", "discard", str(row_id), "--reason", "customer withdrew; sent by mail", "--by", "ops.oncall"
    )
    assert code == 0 and "1 message(s) discarded" in said
    assert next(r for r in bench.outbox() if r.id == row_id).status == Status.DISCARDED
    [_, discarded] = events(bench, row_id)
    assert (discarded.action, discarded.actor, discarded.reason) == (
        "discard",
        "ops.oncall",
        "customer withdrew; sent by mail",
    )
    [trail] = [e for e in bench.trail(item_id) if e.kind == "message_discarded"]
    assert trail.actor == "ops.oncall" and "customer withdrew" in trail.text
    assert httpx.get(f"{bench.url}/healthz", timeout=10).json()["outbox_dead"] == 0
    code, listed = handover(bench, "outbox", "list")
    assert str(row_id) not in listed.split("0 waiting")[0] and "0 dead" in listed
    code, listed = handover(bench, "outbox", "list", "--status", "discarded")
    assert f"{row_id} item_card discarded" in listed
    code, said = handover(bench, "outbox", "retry", str(row_id))
    assert code == 1 and "No dead or waiting row matches" in said  # given up means given up
    assert keys_posted(bench.fake) == {}


def test_retry_by_kind_or_all_and_nothing_without_a_choice(bench: Bench) -> None:
    rows = [a_dead_card(bench, f"Dead {n} AB")[1] for n in range(3)]
    code, said = handover(bench, "outbox", "retry")
    assert code == 2 and "--all" in said
    code, said = handover(bench, "outbox", "retry", "--kind", "nonsense")
    assert code == 2 and "item_card" in said
    code, said = handover(bench, "outbox", "retry", "--kind", "digest")
    assert code == 1
    code, said = handover(bench, "outbox", "retry", "--kind", "item_card", "--no-send")
    assert code == 0 and "3 message(s) due again" in said
    assert {r.status for r in bench.outbox() if r.id in rows} == {Status.PENDING}
    bench.clock.set(utcnow() + timedelta(seconds=1))  # the command made them due by the system clock
    bench.deliver()
    assert len(keys_posted(bench.fake)) == 3
    bench.fake.fail("chat.postMessage", "invalid_blocks", times=None)  # the cause is not fixed yet
    dead = a_dead_card(bench, "Still Dead AB")[1]
    code, said = handover(bench, "outbox", "retry", "--all")
    assert code == 1 and "1 dead again" in said  # the cause is not fixed yet: said so, and still listed
    assert next(r for r in bench.outbox() if r.id == dead).status == Status.DEAD


def test_healthz_and_metrics_count_what_waits_and_how_long(bench: Bench) -> None:
    bench.fake.fail("chat.postMessage", "internal_error", status=500, times=None)  # messages can't get out
    for n in range(2):
        hand_over(bench, customer=f"Waiting {n} AB")
    bench.clock.advance(minutes=90)
    health = httpx.get(f"{bench.url}/healthz", timeout=10).json()
    assert health["outbox_pending"] == 2 and health["outbox_dead"] == 0
    assert health["outbox_oldest_pending_seconds"] == 90 * 60
    text = httpx.get(f"{bench.url}/metrics", timeout=10).text
    assert metric(text, "handover_outbox_depth") == 2.0
    assert metric(text, "handover_outbox_pending", kind="item_card") == 2.0
    assert metric(text, "handover_outbox_oldest_age_seconds") == 90 * 60
    assert metric(text, "handover_outbox_retries_total", kind="item_card") >= 2.0
    # waiting more than an hour is worth a look too: the admin's Home says so
    text = open_home(bench, bench.user(ADMIN))
    assert "2 messages have waited more than an hour, the oldest for 1 h 30 min" in text and "given up" not in text


def test_an_uncertain_send_whose_check_is_refused_is_posted_at_most_once_more(
    bench: Bench, caplog: pytest.LogCaptureFixture
) -> None:
    # one card reached Slack before its dispatcher died; another never did (Slack answered 503)
    reached = hand_over(bench, customer="Reached AB")  # noqa: F841  (a normal card first, for contrast)
    before = dict(keys_posted(bench.fake))
    r = httpx.post(
        f"{bench.url}/api/items",
        timeout=10,
        headers={"Authorization": "Bearer test-api-token-123"},
        json={"external_id": "died-1", "customer": "Died AB", "description": "x"},
    )
    died_item = r.json()["id"]
    dying = Dispatcher(bench.ctx, worker="dying")
    [row] = outbox.claim(bench.ctx.engine, now=bench.clock.now(), worker="dying")
    dying._item_card(row, messages.parse(row.kind, row.payload))  # posted; the process died before recording it
    bench.fake.fail("chat.postMessage", "service_unavailable", status=503, times=1)
    lost = hand_over(bench, customer="Never Reached AB")
    assert [r.maybe_sent for r in bench.outbox() if r.item_id == lost] == [True]

    # the app lacks the *:history scopes: Slack refuses every look at the conversation
    bench.fake.fail("conversations.history", "missing_scope", times=None)
    bench.clock.advance(seconds=61)  # the dead dispatcher's lease ran out
    with caplog.at_level(logging.WARNING, logger="handover.dispatcher"):
        bench.deliver()
    assert {r.status for r in bench.outbox()} == {Status.SENT}, "nothing stalls"
    posted = keys_posted(bench.fake)
    died_key = next(r.idempotency_key for r in bench.outbox() if r.item_id == died_item and r.kind == "item_card")
    lost_key = next(r.idempotency_key for r in bench.outbox() if r.item_id == lost and r.kind == "item_card")
    assert posted[died_key] == 2 and posted[lost_key] == 1  # at least once; once more at most
    assert all(posted[k] == 1 for k in before)
    warnings = [r.getMessage() for r in caplog.records if "duplicate is possible" in r.getMessage()]
    assert len(warnings) == 2 and all("missing_scope" in w for w in warnings)


def test_the_manifest_asks_for_the_scopes_the_check_needs() -> None:
    from bot.doctor import required_scopes

    assert {"im:history", "channels:history", "groups:history"} <= set(required_scopes())


def test_retry_makes_waiting_rows_due_now_and_gives_a_fresh_horizon(bench: Bench) -> None:
    bench.fake.set_outage(True)
    hand_over(bench, customer="Backoff AB")
    for _ in range(10):
        bench.clock.advance(seconds=30)
        bench.deliver()
    [row] = bench.outbox()
    assert row.failing_since is not None
    bench.fake.set_outage(False)
    from bot import outbox_admin

    assert outbox_admin.retry(bench.ctx.engine, bench.clock.now(), everything=True, actor="t") == [row.id]
    [row] = bench.outbox()
    assert row.next_attempt_at == bench.clock.now() and row.failing_since is None and row.attempts == 0
    bench.deliver()
    assert bench.outbox()[0].status == Status.SENT
    assert bench.clock.now() - row.created_at == timedelta(minutes=5)


def test_the_migration_carries_the_old_maybe_sent_flag_into_its_column(backend: str, pg_cluster, tmp_path) -> None:
    """Rows queued by the previous version kept "maybe sent" in their payload; after `handover db
    upgrade` the dispatcher still looks before posting them."""
    import sqlalchemy as sa

    from bot import migrate
    from bot.db import make_engine
    from tests.pg import database_url

    engine = make_engine(database_url(backend, tmp_path, pg_cluster, "outbox_migration"))
    try:
        migrate.upgrade(engine, "0003")
        with engine.begin() as conn:
            for key, payload in (("old-maybe", '{"text": "x", "_maybe_sent": true}'), ("old-plain", '{"text": "y"}')):
                conn.execute(
                    sa.text(
                        "INSERT INTO outbox (idempotency_key, kind, payload, status, attempts, "
                        "next_attempt_at, created_at, result) VALUES (:k, 'direct', :p, 'pending', 1, "
                        ":t, :t, '{}')"
                    ),
                    {"k": key, "p": payload, "t": "2026-03-02 08:00:00"},
                )
        migrate.upgrade(engine)
        with engine.connect() as conn:
            flags = dict(conn.execute(sa.text("SELECT idempotency_key, maybe_sent FROM outbox")).all())
        assert {k: bool(v) for k, v in flags.items()} == {"old-maybe": True, "old-plain": False}
    finally:
        engine.dispose()
