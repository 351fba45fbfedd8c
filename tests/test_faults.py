"""Fault tests (issue 6): break things on purpose and show that nothing is lost or sent twice.

Each test prints one line starting with ``FIGURE`` and keeps its figure (and the numbers behind
it) in ``bench/results/faults.json`` (see tests/faults_support.py). Tests act as Slack and as the
systems around Handover do — signed HTTP to /slack/events, bearer HTTP to /api/items, the HTTP
Slack fake, real ``handover`` processes killed with SIGKILL, a real PostgreSQL restarted — and
look at what a person would notice: messages received, the database, the audit trail.
Timings are printed, never asserted.

    pytest -m slow tests/test_faults.py -s
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from bot.clock import utcnow
from bot.db import make_engine
from bot.models import Item, ItemEvent, Outbox
from bot.outbox import Status
from bot.slack.client import sending_client
from tests.faults_support import (
    API_TOKEN,
    SIGNING_SECRET,
    World,
    app_env,
    cards_per_item,
    duplicates,
    failed_calls,
    free_port,
    fresh_database,
    handover,
    item_body,
    keys_posted,
    report,
    run_handover,
    scheduler_process,
    serve,
    slack_fake,
    wait_for,
    write_csv,
)
from tests.pg import database_url

pytestmark = pytest.mark.slow

BACKENDS = ["sqlite", "postgresql"]


def _rows(world: World) -> list[Outbox]:
    with Session(world.engine) as s:
        return list(s.exec(select(Outbox)))


def _items(world: World) -> list[Item]:
    with Session(world.engine) as s:
        return list(s.exec(select(Item).order_by(Item.id)))


def _unsent(rows: list[Outbox]) -> list[tuple]:
    return [(r.id, r.kind, r.status, r.last_error, r.payload) for r in rows if r.status != Status.SENT]


def _drained(world: World) -> bool:
    return all(r.status in (Status.SENT, Status.DEAD) for r in _rows(world))


def _post_all(world: World, numbers: range, prefix: str) -> list[int]:
    def post(n: int) -> int:
        r = world.post_item(item_body(n, prefix))
        assert r.status_code == 201, r.text
        return r.json()["id"]

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(post, numbers))


# ----- 1. Slack down --------------------------------------------------------------------------------------

OUTAGE_SECONDS = 10


@pytest.mark.parametrize("backend", BACKENDS)
def test_slack_down_while_500_items_are_handed_over_every_card_arrives_once(
    backend: str, pg_cluster, tmp_path: Path
) -> None:
    world = World(database_url(backend, tmp_path, pg_cluster, "fault_outage"))
    fake = world.fake
    try:
        # the production sender, with a 1 s time-out so that a slow Slack becomes a time-out
        world.start_dispatcher(client=sending_client(world.settings, timeout=1))
        started = time.time()
        _post_all(world, range(0, 100), "out")
        wait_for(lambda: len(cards_per_item(fake)) == 100, timeout=120, what="the first 100 cards")

        # Slack is down: every Web API method answers HTTP 503, while 300 more items are handed over
        fake.set_outage(True)
        down_at = time.time()
        _post_all(world, range(100, 400), "out")
        during = len(cards_per_item(fake))
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.time() - down_at)))

        # back, but flaky: 40 posts fail with HTTP 500, then 10 are carried out but answered after the
        # sender's time-out (the outcome is unknown to the dispatcher: it must look before posting again)
        fake.fail("chat.postMessage", "internal_error", status=500, times=40)
        fake.set_outage(False)
        up_at = time.time()
        _post_all(world, range(400, 500), "out")
        wait_for(lambda: failed_calls(fake, "chat.postMessage")[500] >= 40, timeout=120, what="the 500s")
        fake.delay("chat.postMessage", 1.5, times=10)
        wait_for(
            lambda: len(cards_per_item(fake)) >= 500 and _drained(world), timeout=300, every=0.5, what="every card"
        )
        time.sleep(2)  # the late answers of the slow posts have come back; nothing more may arrive
        assert _drained(world)

        items = _items(world)
        cards = cards_per_item(fake)
        keys = keys_posted(fake)
        rows = _rows(world)
        assert len(items) == 500
        assert sorted(cards) == [i.id for i in items], "every item has a card"
        assert set(cards.values()) == {1}, f"cards posted more than once: {[i for i, n in cards.items() if n > 1]}"
        assert set(keys.values()) == {1} and len(keys) == len(
            [r for r in rows if r.status == Status.SENT and "skipped" not in (r.result or {})]
        )
        assert {r.status for r in rows} == {Status.SENT}, _unsent(rows)
        for item in items:  # each card is where the item says it is
            assert fake.message(item.card_channel, item.card_ts) is not None

        sent_ok = [c for c in fake.calls_to("chat.postMessage") if c.ok]
        recovered_in = max(c.at for c in sent_ok) - up_at
        failed = failed_calls(fake)
        recovered = sum(1 for r in rows if (r.result or {}).get("recovered"))
        retried_rows = sum(1 for r in rows if r.attempts > 0)
        figure = (
            f"[{backend}] 500 items handed over through a {OUTAGE_SECONDS} s Slack outage (HTTP 503) followed "
            f"by 40 HTTP 500s and 10 time-outs: {sum(cards.values())} cards for {len(items)} items, "
            f"{duplicates(keys)} duplicates; {during - 100} cards went out while Slack was down; "
            f"{sum(failed.values())} failed Web API calls ({dict(sorted(failed.items()))}), "
            f"{retried_rows} rows retried ({sum(r.attempts for r in rows)} retries), "
            f"{recovered} time-outs found already posted by their key; all delivered "
            f"{recovered_in:.1f} s after Slack came back ({time.time() - started:.0f} s in all)"
        )
        report(
            f"slack_down[{backend}]",
            figure,
            items=len(items),
            cards=sum(cards.values()),
            duplicates=duplicates(keys),
            failed_calls=dict(failed),
            retries=sum(r.attempts for r in rows),
            recovered_by_key=recovered,
            recovered_in_s=round(recovered_in, 1),
        )
    finally:
        world.close()


# ----- 2. Rate limits ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_rate_limited_receiver_waits_while_the_others_get_their_cards(backend: str, pg_cluster, tmp_path: Path) -> None:
    world = World(database_url(backend, tmp_path, pg_cluster, "fault_ratelimit"))
    fake = world.fake
    try:
        fake.rate_limit("chat.postMessage", 1.0)  # Slack's 1 message per second per channel, 429 + Retry-After
        busy = world.add_user("busy.owner@example.com")
        others = [world.add_user(f"owner{n}@example.com") for n in range(5)]
        world.start_dispatcher()
        t0 = time.time()
        burst = [
            world.post_item(
                item_body(n, "burst", category="opportunity_intelligence", account_owner_email="busy.owner@example.com")
            ).json()["id"]
            for n in range(10)
        ]
        singles = [
            world.post_item(
                item_body(n, "single", category="opportunity_intelligence", account_owner_email=f"owner{n}@example.com")
            ).json()["id"]
            for n in range(5)
        ]
        wait_for(lambda: len(cards_per_item(fake)) == 15 and _drained(world), timeout=120, what="all 15 cards")

        posted = [c for c in fake.calls_to("chat.postMessage") if c.ok]
        by_channel: dict[str, list[float]] = {}
        for c in posted:
            by_channel.setdefault(c.response["channel"], []).append(c.at - t0)
        busy_times = by_channel[fake.dm_channel_for(busy)]
        other_times = [t for u in others for t in by_channel[fake.dm_channel_for(u)]]
        cards = cards_per_item(fake)
        assert sorted(cards) == sorted(burst + singles) and set(cards.values()) == {1}
        assert duplicates(keys_posted(fake)) == 0
        assert len(busy_times) == 10 and len(other_times) == 5
        # the other channels did not wait for the busy one
        assert max(other_times) < max(busy_times)
        # Slack's limit was honoured: never two posts to one channel within the same second (the fake
        # refuses them with 429; the refusals are the retries counted below)
        gaps = [b - a for a, b in itertools.pairwise(busy_times)]
        in_order = [
            int(_key(c).split(":")[1]) for c in posted if c.response["channel"] == fake.dm_channel_for(busy)
        ] == sorted(burst)
        limited = failed_calls(fake, "chat.postMessage")[429]
        figure = (
            f"[{backend}] 10 cards to one receiver and 1 to each of 5 others at 1 message/s per channel: "
            f"the 5 others all arrived within {max(other_times):.1f} s, the burst finished after "
            f"{max(busy_times):.1f} s (min gap {min(gaps):.2f} s, order kept: {'yes' if in_order else 'no'}); "
            f"{limited} 429 answers honoured, 15 cards, 0 dropped, {duplicates(keys_posted(fake))} duplicates"
        )
        report(
            f"rate_limits[{backend}]",
            figure,
            others_done_s=round(max(other_times), 2),
            burst_done_s=round(max(busy_times), 2),
            http_429=limited,
            cards=15,
            duplicates=0,
            order_kept=in_order,
        )
    finally:
        world.close()


def _key(call) -> str:
    meta = call.args.get("metadata")
    meta = json.loads(meta) if isinstance(meta, str) else meta
    return meta["event_payload"]["key"]


# ----- 3. Crash: SIGKILL in the middle of an import, a delivery batch, a decision ----------------------------

IMPORT_ROWS = 20_000  # the batched import writes ~2,000 rows/s: enough rows that a kill lands midway


def _count(url: str, model: type, *where) -> int:
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            return s.exec(select(sa.func.count()).select_from(model).where(*where)).one()
    finally:
        engine.dispose()


def _consistent(url: str) -> dict[str, int]:
    """What must hold after any crash: every item has its audit record and exactly one card message
    queued (state and outbox commit together), no outbox row or event points at a missing item, no key
    twice; SQLite's file passes its integrity check."""
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            items = {i.id: i for i in s.exec(select(Item))}
            events = list(s.exec(select(ItemEvent)))
            rows = list(s.exec(select(Outbox)))
            if engine.dialect.name == "sqlite":
                assert s.exec(sa.text("PRAGMA integrity_check")).one()[0] == "ok"
        handed = Counter(e.item_id for e in events if e.kind == "handed_over")
        assert set(handed) == set(items) and set(handed.values()) == {1}, "an item without its audit record"
        cards = Counter(r.item_id for r in rows if r.kind == "item_card")
        assert set(cards) == set(items) and set(cards.values()) <= {1}, "an item without (or with two) card rows"
        assert all(e.item_id in items for e in events) and all(r.item_id in items for r in rows if r.item_id)
        assert len({r.idempotency_key for r in rows}) == len(rows)
        assert len({i.external_key for i in items.values()}) == len(items)
        accepted = Counter(e.item_id for e in events if e.kind == "accepted")
        for item in items.values():  # a decision is all there or not at all
            assert accepted[item.id] == (1 if item.status == "accepted" else 0), item.id
            assert (item.owner_user_id is not None) == (item.status == "accepted"), item.id
        return {"items": len(items), "events": len(events), "outbox": len(rows)}
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_import_killed_midway_leaves_a_consistent_database_and_simply_runs_again(
    backend: str, pg_cluster, tmp_path: Path
) -> None:
    url = database_url(backend, tmp_path, pg_cluster, "fault_import")
    fresh_database(url)
    export = write_csv(tmp_path / "big-export.csv", IMPORT_ROWS)
    env = app_env(database_url=url, api_url="http://127.0.0.1:9/api/")  # no Slack needed: --no-deliver
    args = ("import", str(export), "--event", "Crash Fair 2026", "--no-deliver")
    started = time.monotonic()
    importer = handover(*args, env=env, cwd=tmp_path, name="import-1")
    try:
        # kill as soon as the first batch is saved (batches commit whole: the count jumps by a batch)
        wait_for(
            lambda: _count(url, Item) > 0 or not importer.alive(),
            timeout=240,
            every=0.05,
            what="the import to be under way",
        )
        assert importer.alive(), f"the import ended before it could be killed: {importer.log()}"
        importer.kill()
    finally:
        importer.stop()
    killed_after = time.monotonic() - started
    at_kill = _consistent(url)["items"]
    assert 0 < at_kill < IMPORT_ROWS

    again = run_handover(*args, env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    assert f"{IMPORT_ROWS - at_kill} created, {at_kill} already imported, 0 rejected." in again.stdout
    after = _consistent(url)
    assert after["items"] == IMPORT_ROWS
    third = run_handover(*args, env=env, cwd=tmp_path)
    assert f"0 created, {IMPORT_ROWS} already imported, 0 rejected." in third.stdout
    assert _consistent(url) == after
    report(
        f"crash_import[{backend}]",
        f"[{backend}] `handover import` of a {IMPORT_ROWS}-row CSV killed (SIGKILL) after {killed_after:.1f} s with "
        f"{at_kill} items saved: database consistent (every item with its audit record and exactly one queued "
        f"card, no half-written row); run again: {IMPORT_ROWS - at_kill} created + {at_kill} already imported = "
        f"{after['items']} items, 0 duplicates; a third run creates nothing",
        rows=IMPORT_ROWS,
        items_at_kill=at_kill,
        items_after=after["items"],
        duplicates=0,
    )


def test_a_dispatcher_that_died_between_posting_and_recording_does_not_post_twice(bench) -> None:
    """The exact moment SIGKILL can hit: Slack has the message, the outbox row is still "sending".
    When the dead dispatcher's claim runs out, the next one takes the row over as "maybe sent",
    finds its key in the conversation and records it instead of posting again."""
    from bot import messages, outbox
    from bot.slack.dispatcher import Dispatcher

    r = httpx.post(
        f"{bench.url}/api/items",
        json=item_body(1, "died"),
        timeout=10,
        headers={"Authorization": f"Bearer {API_TOKEN}"},
    )
    item_id = r.json()["id"]
    dying = Dispatcher(bench.ctx, worker="dying")
    [row] = outbox.claim(bench.ctx.engine, now=bench.clock.now(), worker="dying")
    assert row.attempts == 0 and not row.maybe_sent
    dying._item_card(
        row, messages.parse(row.kind, row.payload)
    )  # posted; then the process died before marking the row sent
    assert list(keys_posted(bench.fake).values()) == [1]
    bench.deliver()  # another dispatcher at once: the row is still leased to the dead one
    assert list(keys_posted(bench.fake).values()) == [1] and bench.outbox()[0].status == Status.SENDING
    bench.clock.advance(seconds=61)  # the lease ran out
    bench.deliver()
    [after] = bench.outbox()
    assert after.status == Status.SENT and after.result.get("recovered")
    assert list(keys_posted(bench.fake).values()) == [1]
    assert bench.card(item_id) is not None


DECISION_ITEMS = 150


def _agent_for(fake, port: int):
    from bot.fakeslack import SlackAgent

    return SlackAgent(fake, bot_url=f"http://127.0.0.1:{port}/slack/events", signing_secret=SIGNING_SECRET, timeout=15)


def _how(answers: dict[int, str]) -> str:
    """How the unanswered clicks failed: in flight when the process died, or refused afterwards."""
    return ", ".join(f"{n} {kind}" for kind, n in Counter(a for a in answers.values() if a != "200").most_common())


@pytest.mark.parametrize("backend", ["sqlite"])  # one backend: the claims held by the dead process cost a 60 s wait
def test_server_killed_in_decisions_and_a_delivery_batch_applies_each_once_and_sends_each_once(
    backend: str, pg_cluster, tmp_path: Path
) -> None:
    """``handover serve`` killed while receivers click Accept and its dispatcher, on a slowed Slack, is in
    the middle of a batch of the messages those decisions queued (card updates, thread lines, the
    sender's DMs)."""
    from bot.ids import ActionId

    url = database_url(backend, tmp_path, pg_cluster, "fault_decisions")
    fresh_database(url)
    fake, users = slack_fake()
    port = free_port()
    env = app_env(database_url=url, api_url=fake.api_url)
    server = serve(env=env, cwd=tmp_path, port=port, name="serve-1")
    try:
        with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {API_TOKEN}"}) as http:
            for n in range(DECISION_ITEMS):
                r = http.post(
                    f"http://127.0.0.1:{port}/api/items", json=item_body(n, "dec", sender_email="sender@example.com")
                )
                assert r.status_code == 201, r.text
        wait_for(lambda: _count(url, Item, Item.card_ts.is_not(None)) == DECISION_ITEMS, timeout=120, what="every card")
        engine = make_engine(url)
        with Session(engine) as s:
            items = list(s.exec(select(Item).order_by(Item.id)))
        cards = {i.id: (i.receiver_user_id, fake.message(i.card_channel, i.card_ts)) for i in items}
        for method in ("chat.postMessage", "chat.update"):  # a slow Slack: 40 ms a call
            fake.delay(method, 0.04, times=20 * DECISION_ITEMS)

        # every receiver clicks Accept on their cards, 6 at a time; the server dies under them
        answers: dict[int, str] = {}
        local = threading.local()

        def click(item_id: int) -> None:
            if not hasattr(local, "agent"):
                local.agent = _agent_for(fake, port)
            user, message = cards[item_id]
            try:
                r = local.agent.click(user=user, message=message, action_id=ActionId.ACCEPT)
                answers[item_id] = str(r.status_code)
            except httpx.HTTPError as exc:
                answers[item_id] = type(exc).__name__

        with ThreadPoolExecutor(6) as pool:
            futures = [pool.submit(click, i) for i in cards]
            wait_for(lambda: len(answers) >= DECISION_ITEMS // 4, timeout=60, every=0.01, what="clicks")
            server.kill()
            for f in futures:
                f.result()
        server.stop()
        leased = _count(url, Outbox, Outbox.status == Status.SENDING)
        sent_at_kill = _count(url, Outbox, Outbox.status == Status.SENT)
        unanswered = sorted(i for i, a in answers.items() if a != "200")
        assert unanswered, "the kill came too late: every click had been answered"
        state = _consistent(url)
        with Session(engine) as s:
            accepted_at_kill = {i.id for i in s.exec(select(Item).where(Item.status == "accepted"))}
        committed_unanswered = [i for i in unanswered if i in accepted_at_kill]

        # restarted; whoever got no answer clicks again (Slack showed them an error)
        server = serve(env=env, cwd=tmp_path, port=port, name="serve-2")
        agent = _agent_for(fake, port)
        for item_id in unanswered:
            user, message = cards[item_id]
            assert agent.click(user=user, message=message, action_id=ActionId.ACCEPT).status_code == 200
        restarted = time.monotonic()
        wait_for(
            lambda: _count(url, Outbox, Outbox.status != Status.SENT) == 0,
            timeout=150,
            every=0.5,
            what="the outbox to drain (the dead server's claims expire after 60 s)",
        )
        drained_in = time.monotonic() - restarted
        _consistent(url)
        with Session(engine) as s:
            items = {i.id: i for i in s.exec(select(Item))}
            accepted = Counter(e.item_id for e in s.exec(select(ItemEvent).where(ItemEvent.kind == "accepted")))
            rows = list(s.exec(select(Outbox)))
        engine.dispose()
        recovered = sum(1 for r in rows if (r.result or {}).get("recovered"))
        assert all(i.status == "accepted" for i in items.values())
        assert set(accepted.values()) == {1} and len(accepted) == DECISION_ITEMS
        keys = keys_posted(fake)
        assert duplicates(keys) == 0, [k for k, n in keys.items() if n > 1]
        sender_dms = Counter()
        for m in fake.messages(channel=fake.dm_channel_for(users["sender@example.com"])):
            for item_id in items:
                if f"accepted item #{item_id} " in m.text:
                    sender_dms[item_id] += 1
        assert set(sender_dms.values()) == {1} and len(sender_dms) == DECISION_ITEMS
        for _receiver, message in cards.values():  # each card now shows the owner, without the Accept button
            card = fake.message(message.channel, message.ts)
            buttons = {e.get("action_id") for b in card.blocks if b.get("type") == "actions" for e in b["elements"]}
            assert card.updated >= 1 and ActionId.ACCEPT.value not in buttons
        report(
            f"crash_serve[{backend}]",
            f"[{backend}] `handover serve` killed (SIGKILL) while {DECISION_ITEMS} receivers clicked Accept "
            f"(6 at a time) and its dispatcher sent what they queued to a slowed Slack (40 ms a call): "
            f"{DECISION_ITEMS - len(unanswered)} clicks answered, {len(unanswered)} not "
            f"({_how(answers)}), of which {len(committed_unanswered)} had committed; {sent_at_kill - DECISION_ITEMS} "
            f"of their messages sent and {leased} held by the dead dispatcher's claim at the kill; database consistent "
            f"({state['items']} items, every decision whole or absent); after a restart and a second click: "
            f"{len(accepted)} items accepted, exactly 1 'accepted' event each, the sender told once per item, "
            f"{len(keys)} messages each exactly once ({recovered} found already posted by their key: in flight "
            f"at the kill); the held messages went out when the claim ran out, outbox drained "
            f"{drained_in:.0f} s after the restart (60 s lease)",
            clicks=DECISION_ITEMS,
            answered=DECISION_ITEMS - len(unanswered),
            cut_off=len(unanswered),
            committed_but_unanswered=len(committed_unanswered),
            answers=dict(Counter(answers.values())),
            accepted_events=sum(accepted.values()),
            leased_at_kill=leased,
            recovered_by_key=recovered,
            messages=len(keys),
            duplicates=0,
            drained_after_restart_s=round(drained_in, 1),
        )
    finally:
        server.stop()
        fake.stop()


# ----- 4. Database trouble ----------------------------------------------------------------------------------


def _busy_answers(world: World, user: str) -> list[str]:
    """What a person was told ephemerally (the fake records chat.postEphemeral)."""
    return [e["text"] for e in world.fake.ephemerals if e["user"] == user]


def _timed(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    r = call()
    return r, time.monotonic() - started


LOCK_SECONDS = 6


def test_sqlite_locked_by_another_writer_gets_a_quick_clear_answer_and_recovers(tmp_path: Path) -> None:
    import sqlite3

    from bot.ids import ActionId

    path = tmp_path / "locked.db"
    world = World(f"sqlite:///{path}")
    fake = world.fake
    try:
        world.start_dispatcher()
        ids = _post_all(world, range(3), "lock")
        wait_for(lambda: len(cards_per_item(fake)) == 3, timeout=60, what="the cards")
        items = {i.id: i for i in _items(world)}
        receiver = items[ids[0]].receiver_user_id
        card = fake.message(items[ids[0]].card_channel, items[ids[0]].card_ts)

        # another program (a backup, a sqlite3 shell) takes the write lock and keeps it
        holder = sqlite3.connect(path, isolation_level=None, timeout=30)
        holder.execute("BEGIN IMMEDIATE")
        locked_at = time.monotonic()
        with ThreadPoolExecutor(2) as pool:
            clicked = pool.submit(
                _timed, lambda: world.agent.click(user=receiver, message=card, action_id=ActionId.ACCEPT)
            )
            posted = pool.submit(_timed, lambda: world.post_item(item_body(99, "lock")))
            # the lock is held for LOCK_SECONDS; the answers must not wait for it to go away
            time.sleep(LOCK_SECONDS)
            answered_while_locked = clicked.done() and posted.done()
            held = time.monotonic() - locked_at
            holder.execute("ROLLBACK")
            (click, click_s), (post, post_s) = clicked.result(), posted.result()
        assert answered_while_locked, f"a request waited for the lock: click {click_s:.1f} s, post {post_s:.1f} s"
        holder.close()

        # the person: Slack got its 200, and the person was told the click did nothing, and why
        assert click.status_code == 200
        told = _busy_answers(world, receiver)
        assert told and "try again" in told[-1].lower(), told
        # the system: 503 with a reason and Retry-After, nothing saved
        assert post.status_code == 503 and "database" in post.json()["error"], post.text
        assert post.headers.get("retry-after")
        assert _items(world)[ids[0] - 1].status == "pending" and len(_items(world)) == 3

        # recovered without a restart: the same click and the same post now work
        assert world.agent.click(user=receiver, message=card, action_id=ActionId.ACCEPT).status_code == 200
        assert world.post_item(item_body(99, "lock")).status_code == 201
        wait_for(lambda: len(cards_per_item(fake)) == 4 and _drained(world), timeout=60, what="delivery after the lock")
        assert {i.id: i.status for i in _items(world)}[ids[0]] == "accepted"
        assert duplicates(keys_posted(fake)) == 0
        report(
            "sqlite_locked",
            f"[sqlite] the database file write-locked by another connection (BEGIN IMMEDIATE) for {held:.1f} s: "
            f"a click was answered in {click_s:.2f} s (HTTP {click.status_code}, the person told "
            f"\u201c{told[-1][:80]}\u201d), an API post in {post_s:.2f} s (HTTP {post.status_code}: "
            f"\u201c{post.json()['error'][:80]}\u201d); after the lock: the same click accepted the item, the same "
            f"post created it, the card went out, 0 duplicates, no restart",
            click_answer_s=round(click_s, 2),
            api_answer_s=round(post_s, 2),
            lock_held_s=round(held, 1),
            click_status=click.status_code,
            api_status=post.status_code,
        )
    finally:
        world.close()


PG_CARDS = 80


def test_postgresql_restarted_under_load_answers_clearly_and_recovers(pg_cluster, tmp_path: Path) -> None:
    from bot.ids import ActionId

    if pg_cluster is None:
        pytest.skip("PostgreSQL is not available here (CI runs these tests)")
    world = World(pg_cluster.create_database("fault_pg_restart"))
    fake = world.fake
    try:
        world.start_dispatcher()
        _post_all(world, range(PG_CARDS), "pgr")
        wait_for(lambda: len(cards_per_item(fake)) == PG_CARDS, timeout=120, what="the first cards")
        cards = {i.id: (i.receiver_user_id, fake.message(i.card_channel, i.card_ts)) for i in _items(world)}

        stop = threading.Event()
        posts: list[tuple[int, int, str, float]] = []  # (n, status, error, seconds)
        clicks: list[tuple[int, int, float]] = []  # (item, status, seconds)
        counter = iter(range(1000, 100000))
        lock = threading.Lock()

        def system() -> None:
            with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {API_TOKEN}"}) as http:
                while not stop.is_set():
                    with lock:
                        n = next(counter)
                    started = time.monotonic()
                    r = http.post(world.url + "/api/items", json=item_body(n, "pgr"))
                    error = r.json().get("error", "") if r.status_code >= 400 else ""
                    posts.append((n, r.status_code, error, time.monotonic() - started))
                    time.sleep(0.05)

        queue = list(cards)

        def person() -> None:
            from bot.fakeslack import SlackAgent

            agent = SlackAgent(fake, bot_url=world.url + "/slack/events", signing_secret=SIGNING_SECRET, timeout=30)
            while not stop.is_set():
                with lock:
                    if not queue:
                        return
                    item_id = queue.pop(0)
                user, message = cards[item_id]
                started = time.monotonic()
                r = agent.click(user=user, message=message, action_id=ActionId.ACCEPT)
                clicks.append((item_id, r.status_code, time.monotonic() - started))
                time.sleep(0.25)

        threads = [threading.Thread(target=system) for _ in range(3)] + [
            threading.Thread(target=person) for _ in range(2)
        ]
        for t in threads:
            t.start()
        time.sleep(1.5)
        started = time.monotonic()
        pg_cluster.restart()  # quick: the retries carry every request through it
        quick_s = time.monotonic() - started
        time.sleep(1.5)
        started = time.monotonic()
        pg_cluster.restart(down_for=4)  # slow: longer than a request may wait
        slow_s = time.monotonic() - started
        back_at = time.monotonic()
        time.sleep(2)
        stop.set()
        for t in threads:
            t.join(timeout=60)

        statuses = Counter(status for _, status, _, _ in posts)
        assert set(statuses) <= {201, 503}, statuses
        assert all("database" in error for _, status, error, _ in posts if status == 503)
        assert Counter(status for _, status, _ in clicks) == Counter({200: len(clicks)})
        # a refused click changed nothing and the person was told; a system retries its 503s
        items = {i.id: i for i in _items(world)}
        refused = [i for i, _, _ in clicks if items[i].status != "accepted"]
        for item_id in refused:
            user, _ = cards[item_id]
            assert any("try again" in t.lower() for t in _busy_answers(world, user)), item_id
        with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {API_TOKEN}"}) as http:
            for n, status, _, _ in posts:
                if status == 503:
                    assert http.post(world.url + "/api/items", json=item_body(n, "pgr")).status_code == 201
        agent = world.agent
        for item_id in refused + [i for i in cards if i not in {c for c, _, _ in clicks}]:
            user, message = cards[item_id]
            assert agent.click(user=user, message=message, action_id=ActionId.ACCEPT).status_code == 200

        total = PG_CARDS + len(posts)
        wait_for(
            lambda: len(cards_per_item(fake)) == total and _drained(world),
            timeout=120,
            what="every card after the restart",
        )
        caught_up = time.monotonic() - back_at
        items = _items(world)
        assert len(items) == total and len({i.external_key for i in items}) == total
        assert all(i.status == "accepted" for i in items if i.id in cards)
        assert duplicates(keys_posted(fake)) == 0 and set(cards_per_item(fake).values()) == {1}
        assert httpx.get(world.url + "/healthz").json()["ok"] is True
        slowest = max([s for *_, s in posts] + [s for *_, s in clicks])
        report(
            "postgres_restart",
            f"[postgresql] PostgreSQL restarted twice under load of 3 systems posting items and 2 people clicking "
            f"Accept, once quickly ({quick_s:.1f} s) and once slowly ({slow_s:.1f} s down): {statuses[201]} posts "
            f"created, {statuses[503]} answered 503 "
            f"with a reason (0 HTTP 500), all retried successfully; {len(clicks)} clicks all acked 200, "
            f"{len(refused)} refused with an ephemeral \u201ctry again\u201d and clicked again; slowest answer "
            f"{slowest:.2f} s; {total} items and {total} cards, 0 duplicates, all delivered {caught_up:.1f} s "
            f"after PostgreSQL was back (retries included), no restart of the app",
            quick_restart_s=round(quick_s, 1),
            slow_restart_s=round(slow_s, 1),
            posts=len(posts),
            posts_503=statuses[503],
            clicks=len(clicks),
            clicks_refused=len(refused),
            slowest_answer_s=round(slowest, 2),
            items=total,
            duplicates=0,
            caught_up_s=round(caught_up, 1),
        )
    finally:
        world.close()


# ----- 5. Two web replicas and two schedulers on one PostgreSQL ----------------------------------------------

REPLICA_ITEMS = 60
TICK_MINUTES = 30
WEEK_TICKS = 7 * 24 * 60 // TICK_MINUTES  # a simulated week


def _reminder_button(fake, user: str, item_id: int):
    """The newest reminder in ``user``'s DM that lists ``item_id``, and its Accept button's value."""
    from bot.ids import ActionId

    for m in reversed(fake.messages(channel=fake.dm_channel_for(user))):
        for block in m.blocks:
            if block.get("block_id") == f"act|{item_id}":
                for e in block["elements"]:
                    if e.get("action_id") == ActionId.ACCEPT.value:
                        return m, e["value"]
    return None, None


def test_two_replicas_and_two_schedulers_apply_each_decision_and_send_each_nudge_once(
    pg_cluster, tmp_path: Path
) -> None:
    from datetime import timedelta

    from bot.ids import ActionId

    if pg_cluster is None:
        pytest.skip("PostgreSQL is not available here (CI runs these tests)")
    url = pg_cluster.create_database("fault_replicas")
    fresh_database(url)
    fake, users = slack_fake()
    env = app_env(database_url=url, api_url=fake.api_url)
    ports = [free_port(), free_port()]
    procs = []
    try:
        replicas = [serve(env=env, cwd=tmp_path, port=p, name=f"replica-{k}") for k, p in enumerate(ports)]
        procs += replicas
        schedulers = [scheduler_process(env=env, cwd=tmp_path, name=f"scheduler-{k}") for k in range(2)]
        procs += schedulers
        agents = [_agent_for(fake, p) for p in ports]

        def post(n: int) -> None:
            with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {API_TOKEN}"}) as http:
                r = http.post(
                    f"http://127.0.0.1:{ports[n % 2]}/api/items",
                    json=item_body(n, "rep", region="nordics", sender_email="sender@example.com"),
                )
                assert r.status_code == 201, r.text

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(post, range(REPLICA_ITEMS)))
        wait_for(
            lambda: _count(url, Item, Item.card_ts.is_not(None)) == REPLICA_ITEMS,
            timeout=120,
            what="every card (sent by the replicas' dispatchers)",
        )
        engine = make_engine(url)

        def items() -> dict[int, Item]:
            with Session(engine) as s:
                return {i.id: i for i in s.exec(select(Item).order_by(Item.id))}

        ids = sorted(items())

        def replicas_idle() -> bool:  # what the clicks queued has gone out (sent by the replicas, real time)
            with Session(engine) as s:
                return (
                    s.exec(
                        select(sa.func.count())
                        .select_from(Outbox)
                        .where(
                            sa.or_(
                                Outbox.status == Status.SENDING,
                                sa.and_(Outbox.status == Status.PENDING, Outbox.next_attempt_at <= utcnow()),
                            )
                        )
                    ).one()
                    == 0
                )

        clicks: list[tuple[int, int, int]] = []  # (item, replica, status)

        def accept_everywhere(item_id: int, via_reminder: bool) -> None:
            """The receiver double-clicks Accept; the two clicks reach different replicas at once."""
            item = items()[item_id]
            user = item.receiver_user_id
            message, value = _reminder_button(fake, user, item_id) if via_reminder else (None, None)
            if message is None:
                message, value = fake.message(item.card_channel, item.card_ts), None
            go = threading.Barrier(2)

            def one(k: int) -> None:
                go.wait()
                r = agents[k].click(user=user, message=message, action_id=ActionId.ACCEPT, value=value)
                clicks.append((item_id, k, r.status_code))

            threads = [threading.Thread(target=one, args=(k,)) for k in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()

        # the simulated week: the schedulers tick every 30 minutes (both at the same moment); between ticks
        # the receivers click, some on their cards, some on a reminder
        third = REPLICA_ITEMS // 3
        plan = {10: ids[:third], 60: ids[third : 2 * third]}  # after the tick at +5 h and at +30 h
        start = utcnow().replace(second=0, microsecond=0) + timedelta(minutes=1)
        claimed: Counter = Counter()  # (tick, item, kind) claimed by either scheduler
        by_scheduler: dict[int, set] = {0: set(), 1: set()}  # (tick, item) each scheduler nudged
        ticks_started = time.monotonic()
        for tick in range(1, WEEK_TICKS + 1):
            when = (start + timedelta(minutes=TICK_MINUTES * tick)).isoformat()
            for sch in schedulers:
                sch.send(when)
            for k, sch in enumerate(schedulers):
                done = sch.receive()
                for kind in ("reminders", "escalations", "follow_ups"):
                    for ids_ in done[kind].values():
                        for i in ids_:
                            claimed[(tick, i, kind)] += 1
                            by_scheduler[k].add((tick, i))
            if tick in plan:
                with ThreadPoolExecutor(5) as pool:
                    list(pool.map(lambda i: accept_everywhere(i, via_reminder=i % 2 == 0), plan[tick]))
                wait_for(replicas_idle, timeout=120, what="the replicas to send what the clicks queued")
        week_s = time.monotonic() - ticks_started
        for sch in schedulers:
            sch.send("quit")

        final = items()
        with Session(engine) as s:
            events = list(s.exec(select(ItemEvent).order_by(ItemEvent.id)))
            rows = list(s.exec(select(Outbox)))
        engine.dispose()
        # every decision once: one 'accepted' per clicked item, whichever replica won
        accepted = Counter(e.item_id for e in events if e.kind == "accepted")
        clicked = {i for batch in plan.values() for i in batch}
        assert set(accepted) == clicked and set(accepted.values()) == {1}
        assert all(final[i].status == "accepted" for i in clicked)
        assert Counter(status for *_, status in clicks) == Counter({200: 2 * len(clicked)})
        # every nudge once: no step claimed twice for the same offer, no scheduler claiming what the other did
        assert max(claimed.values()) == 1
        steps_per_offer: Counter = Counter()
        offer: Counter = Counter()
        for e in events:
            if e.kind in ("auto_reassigned", "reassigned", "accepted"):
                offer[e.item_id] += 1
            elif e.kind in ("nudge_reminder", "nudge_escalation", "nudge_reassign"):
                steps_per_offer[(e.item_id, offer[e.item_id], e.detail.get("step"))] += 1
        assert steps_per_offer and max(steps_per_offer.values()) == 1
        follow_ups = Counter(e.item_id for e in events if e.kind == "nudge_follow_up")
        assert all(n <= 2 for n in follow_ups.values())
        nudge_rows = [r for r in rows if r.kind == "nudge"]
        assert {r.status for r in rows} == {Status.SENT}, _unsent(rows)
        keys = keys_posted(fake)
        assert duplicates(keys) == 0, [k for k, n in keys.items() if n > 1]
        for r in nudge_rows:
            assert keys[r.idempotency_key] == (0 if "skipped" in (r.result or {}) else 1), r.idempotency_key
        # one reminder per person per tick (the two schedulers never split a person's items)
        per_person_tick = Counter(
            (r.payload["kind"], r.payload.get("to_user") or r.payload.get("to_email"), r.idempotency_key.split(":")[2])
            for r in nudge_rows
        )
        nudge_events = Counter(e.kind for e in events if e.kind.startswith("nudge_"))
        reassigned = sum(1 for e in events if e.kind == "auto_reassigned")
        messages = sum(1 for r in nudge_rows if "skipped" not in (r.result or {}))
        report(
            "replicas",
            f"[postgresql] 2 `handover serve` replicas and 2 scheduler processes (a tick every {TICK_MINUTES} "
            f"minutes through a simulated week, {WEEK_TICKS} ticks each at the same moment, in {week_s:.0f} s) on "
            f"one PostgreSQL, {REPLICA_ITEMS} items: "
            f"{len(clicked)} items double-clicked Accept on both replicas at once ({len(clicks)} clicks, all 200) "
            f"-> exactly 1 'accepted' each; {sum(nudge_events.values())} nudge steps "
            f"({dict(sorted(nudge_events.items()))}, {reassigned} automatic reassignments; claimed "
            f"{len(by_scheduler[0])}/{len(by_scheduler[1])} by the two schedulers), none claimed twice; "
            f"{len(nudge_rows)} nudge messages queued, {messages} sent, each exactly once; at most "
            f"{max(per_person_tick.values())} reminder per person per tick; 0 duplicate messages",
            items=REPLICA_ITEMS,
            clicks=len(clicks),
            accepted_events=sum(accepted.values()),
            nudge_events=dict(nudge_events),
            nudge_messages=messages,
            duplicates=0,
            max_per_person_per_tick=max(per_person_tick.values()),
        )
        assert max(per_person_tick.values()) == 1
    finally:
        for p in procs:
            p.stop()
        fake.stop()
