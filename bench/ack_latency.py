"""How fast does Handover acknowledge Slack's requests, next to a bare Bolt app in the same run?

Slack wants an HTTP 200 within 3 seconds of every interaction. Handover answers only after its
listener has done its database work (``process_before_response=True``), so its ack latency is
"Bolt + one transaction". This benchmark puts that next to a baseline measured the same way:

* **baseline** - a bare sync Bolt ``App`` (one ``app.action("x")`` listener that only acks) in the
  default mode (``process_before_response=False``), served by FastAPI exactly like
  ``bot/web.py`` serves Handover (``run_in_threadpool(bolt.dispatch, ...)``) under uvicorn.
* **handover** - the real web app (``create_web_app(ctx, create_bolt_app(ctx))``) on SQLite, with
  the outbox dispatcher running beside it as in production, talking to the Slack fake. Requests
  are checklist ticks by the item's receiver, alternating between two selections, so every
  request changes state (item row + audit row + an outbox row for the card update).
* **handover_intruder** - someone who is not the receiver clicks Accept: refused politely
  (an ephemeral answer goes into the outbox), nothing else changes.

Each server runs in its own child process (so the load generator does not share a GIL with
it). Every scenario gets the same request bodies - the same delivered card message, signed
with v0 HMAC-SHA256 and a fresh timestamp per request - and is measured twice: N requests one
after another (latency percentiles) and N requests from C concurrent clients (throughput).

    python -m bench.ack_latency [--requests N] [--concurrency C] [--out bench/results/latest.json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing as mp
import statistics
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import Request, Response  # module level: FastAPI resolves the (postponed) annotations here
from slack_sdk.signature import SignatureVerifier

from bench.common import DEFAULT_ROUNDS, backend_of, command, database_spec, measured
from bench.common import rounds as run_rounds

SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-bench-token"
API_TOKEN = "bench-api-token-123"
TEAM = "T0HANDOVER"
APP_ID = "AHANDOVER"
SENDER = "marketing.ops@example.com"
BB = "bb.stand@example.com"
INTRUDER = "curious@example.com"
CHECKLIST_PREFIX = "item_checklist"
ACCEPT = "item_accept"

DEFAULT_REQUESTS = 1000
DEFAULT_CONCURRENCY = 20
DEFAULT_WARMUP = 30


# ===================================================================================================
# Servers (each in a child process)
# ===================================================================================================


def _add_people(fake: Any, emails: list[str]) -> dict[str, str]:
    from bot.fakeslack.directory import directory

    ids: dict[str, str] = {}
    for user in directory(emails):
        fake.add_user(user)
        ids[user.email] = user.id
    return ids


def _message_dict(message: Any) -> dict[str, Any]:
    return {"ts": message.ts, "channel": message.channel, "slack": message.as_slack(with_metadata=False)}


def _serve_baseline(conn: Any) -> None:
    """A bare sync Bolt app, default mode, behind FastAPI the way bot/web.py serves Handover."""
    from fastapi import FastAPI
    from slack_bolt import App
    from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
    from slack_sdk import WebClient
    from starlette.concurrency import run_in_threadpool

    from bot.fakeslack import FakeSlack
    from bot.serverthread import ServerThread

    fake = FakeSlack(token=BOT_TOKEN).start()  # answers the one auth.test Bolt makes
    api = FastAPI()

    def mount(path: str, *, process_before_response: bool) -> None:
        bolt = App(
            client=WebClient(token=BOT_TOKEN, base_url=fake.api_url),
            signing_secret=SIGNING_SECRET,
            token_verification_enabled=False,
            process_before_response=process_before_response,
        )

        @bolt.action("x")
        def only_ack(ack: Any) -> None:
            ack()

        @api.post(path)
        async def slack_events(request: Request) -> Response:
            body = await request.body()
            return to_starlette_response(await run_in_threadpool(bolt.dispatch, to_bolt_request(request, body)))

    mount("/slack/events", process_before_response=False)  # the baseline: Bolt's default mode
    mount("/slack/events-pbr", process_before_response=True)  # reference: Handover's mode, no work

    server = ServerThread(api).start()
    conn.send({"url": server.url + "/slack/events", "url_pbr": server.url + "/slack/events-pbr"})
    while True:
        cmd = conn.recv()
        if cmd == "stop":
            break
        conn.send({})
    server.stop()
    fake.stop()


def _rss_kb() -> int:
    """This process's resident set size (Linux /proc), in kB; 0 where there is none."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _serve_handover(
    conn: Any,
    tmp: str,
    items: int,
    dispatcher: bool = True,
    database_url: str | None = None,
    forget_calls: bool = False,
) -> None:
    """The real Handover web app with test data; sends back the cards the client will click."""
    import sqlalchemy as sa
    from sqlmodel import col

    from bot import migrate
    from bot.clock import Clock
    from bot.config import load_config
    from bot.context import Context
    from bot.db import make_engine
    from bot.fakeslack import FakeSlack, FakeUser
    from bot.handlers.app import create_bolt_app
    from bot.models import Item, ItemEvent, Outbox
    from bot.runtime import Background
    from bot.serverthread import ServerThread
    from bot.settings import Settings
    from bot.slack.dispatcher import Dispatcher
    from bot.web import create_web_app

    fake = FakeSlack(token=BOT_TOKEN).start()
    url = database_url or f"sqlite:///{tmp}/bench.db"
    settings = Settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake.api_url,
        database_url=url,
        handover_api_token=API_TOKEN,
    )
    engine = make_engine(url)
    migrate.upgrade(engine)
    config = load_config(None)
    ctx = Context(engine=engine, config=config, settings=settings, clock=Clock())
    from bot.fakeslack.directory import emails_in

    people = _add_people(fake, emails_in(config) + [e for e in (SENDER, BB) if e not in emails_in(config)])
    fake.add_user(FakeUser(id="U999", email=INTRUDER, name="curious", real_name="Curious", tz="Europe/Stockholm"))
    server = ServerThread(create_web_app(ctx, create_bolt_app(ctx))).start()

    cards = []
    with httpx.Client(timeout=10) as http:
        for n in range(items):
            r = http.post(
                f"{server.url}/api/items",
                headers={"Authorization": f"Bearer {API_TOKEN}"},
                json={
                    "external_id": f"bench-{n}",
                    "event": "Global Event 2026",
                    "customer": f"Nordic Fibre {n} AB",
                    "contact_name": "Eva Lund",
                    "contact_email": f"eva.lund{n}@nordicfibre.example",
                    "description": "Wants to replace two data-centre switches before the summer.",
                    "region": "nordics",
                    "checklist": {"painpoint": True},
                    "sender_email": SENDER,
                    "business_builder_email": BB,
                },
            )
            if r.status_code not in (200, 201):
                raise RuntimeError(f"could not hand an item over: {r.status_code} {r.text}")
    Dispatcher(ctx).run_until_idle()
    with engine.connect() as c:
        rows = c.execute(
            sa.select(col(Item.id), col(Item.card_channel), col(Item.card_ts), col(Item.receiver_user_id)).order_by(
                col(Item.id)
            )
        ).all()
    for item_id, channel, ts, receiver in rows:
        if not (channel and ts and receiver):
            raise RuntimeError(f"item {item_id} has no delivered card or no receiver")
        cards.append({"item_id": item_id, "receiver": receiver, "message": _message_dict(fake.message(channel, ts))})

    if forget_calls:  # bench.rss: the fake's record of every Web API call is not Handover's memory

        def forget() -> None:
            while True:
                time.sleep(0.5)
                with fake._lock:
                    fake.calls.clear()

        threading.Thread(target=forget, daemon=True, name="forget-calls").start()
    background = Background(ctx)
    if dispatcher:
        background.start()  # the outbox dispatcher, as in production
    conn.send({"url": server.url + "/slack/events", "cards": cards, "intruder": "U999", "people": people})

    def stats() -> dict[str, Any]:
        with engine.connect() as c:
            kinds: dict[str, int] = dict(
                c.execute(sa.select(col(ItemEvent.kind), sa.func.count()).group_by(col(ItemEvent.kind))).all()
            )
            outbox = c.execute(sa.select(sa.func.count()).select_from(Outbox)).scalar_one()
        return {"events": {str(k): v for k, v in kinds.items()}, "outbox_rows": outbox, "rss_kb": _rss_kb()}

    while True:
        cmd = conn.recv()
        if cmd == "stop":
            break
        conn.send(stats())
    background.shutdown()
    server.stop()
    fake.stop()
    engine.dispose()


def _child(kind: str, conn: Any, *args: Any) -> None:
    try:
        (_serve_baseline if kind == "baseline" else _serve_handover)(conn, *args)
    except BaseException:
        conn.send({"error": traceback.format_exc()})
        raise


class Server:
    """One server in a child process; ``info`` is what it sent back once ready."""

    def __init__(self, kind: str, *args: Any) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_child, args=(kind, child, *args), name=f"bench-{kind}", daemon=True)
        self.proc.start()
        if not self.conn.poll(120):
            self.proc.kill()
            raise RuntimeError(f"the {kind} server did not start within 120 s")
        self.info = self.conn.recv()
        if "error" in self.info:
            raise RuntimeError(f"the {kind} server failed to start:\n{self.info['error']}")

    def stats(self) -> dict[str, Any]:
        self.conn.send("stats")
        return self.conn.recv()

    def stop(self) -> None:
        try:
            self.conn.send("stop")
        except (BrokenPipeError, OSError):
            pass
        self.proc.join(timeout=15)
        if self.proc.is_alive():
            self.proc.kill()


# ===================================================================================================
# The client: Slack's side
# ===================================================================================================

_seq = itertools.count()


def _action_ts() -> str:
    # unique per request (Handover keys a refusal's ephemeral answer on it)
    return f"{time.time():.6f}{next(_seq) % 1000:03d}"


def _payload(user: str, message: dict[str, Any], action: dict[str, Any]) -> dict[str, Any]:
    """A block_actions payload as Slack sends it for a click on ``message`` (cf. bot/fakeslack/agent.py)."""
    return {
        "type": "block_actions",
        "token": "legacy-verification-token",
        "api_app_id": APP_ID,
        "team": {"id": TEAM, "domain": "handover-fake"},
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM},
        "is_enterprise_install": False,
        "enterprise": None,
        "trigger_id": f"{next(_seq)}.bench",
        "container": {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": message["channel"],
            "is_ephemeral": False,
        },
        "channel": {"id": message["channel"], "name": "directmessage"},
        "message": message["slack"],
        "response_url": "http://127.0.0.1:9/actions/bench",
        "state": {"values": {}},
        "actions": [{**action, "action_ts": _action_ts()}],
    }


def _find(message: dict[str, Any], pred: Callable[[dict[str, Any]], bool]) -> tuple[dict[str, Any], dict[str, Any]]:
    for block in message["slack"].get("blocks") or []:
        elements = (
            block.get("elements")
            if block.get("type") == "actions"
            else [block["accessory"]]
            if block.get("accessory")
            else []
        )
        for element in elements or []:
            if pred(element):
                return block, element
    raise RuntimeError("the card has no such element")


# A "request maker" returns (user, message, action-without-action_ts) for request number i.
Maker = Callable[[int], tuple[str, dict[str, Any], dict[str, Any]]]


def baseline_maker(card: dict[str, Any]) -> Maker:
    """Same card message as Handover's requests (same body size), but action_id "x"."""
    message = card["message"]
    action = {
        "action_id": "x",
        "block_id": "bench",
        "type": "button",
        "value": "v",
        "text": {"type": "plain_text", "text": "x"},
    }
    return lambda i: (card["receiver"], message, action)


def checklist_maker(card: dict[str, Any]) -> Maker:
    """The receiver ticks checklist boxes, alternating between two selections: every tick changes state."""
    message = card["message"]
    block, element = _find(message, lambda e: str(e.get("action_id", "")).startswith(CHECKLIST_PREFIX))
    options = element.get("options") or []
    if not options:
        raise RuntimeError("the checklist has no options")
    # the item starts with "painpoint" ticked; alternate between none and all of this group's boxes
    selections = [[], options]
    base = {"action_id": element["action_id"], "block_id": block.get("block_id", ""), "type": "checkboxes"}
    # alternate per call, not per request number: the item changes state on every tick, also from one
    # round to the next (a round's first tick could otherwise repeat the last one's and record nothing,
    # which would count as a refused click); one client uses a maker at a time
    calls = itertools.count()
    return lambda i: (card["receiver"], message, {**base, "selected_options": selections[next(calls) % 2]})


def intruder_maker(card: dict[str, Any], intruder: str) -> Maker:
    """Someone who is not the receiver clicks Accept: refused politely, still acked."""
    message = card["message"]
    block, element = _find(message, lambda e: e.get("action_id") == ACCEPT)
    action = {
        "action_id": ACCEPT,
        "block_id": block.get("block_id", ""),
        "type": element["type"],
        "text": element.get("text"),
        "value": element.get("value"),
    }
    return lambda i: (intruder, message, action)


class Client:
    """One Slack-side connection: builds, signs and POSTs requests, timing each round trip."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(timeout=30)
        self.verifier = SignatureVerifier(SIGNING_SECRET)

    def send(self, user: str, message: dict[str, Any], action: dict[str, Any]) -> tuple[float, int]:
        body = urlencode({"payload": json.dumps(_payload(user, message, action))}).encode()
        ts = str(int(time.time()))
        signature = self.verifier.generate_signature(timestamp=ts, body=body)
        if signature is None:  # only without a timestamp or a secret, which this client always has
            raise RuntimeError("could not sign the request")
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature,
        }
        started = time.perf_counter()
        try:
            status = self.http.post(self.url, content=body, headers=headers).status_code
        except httpx.HTTPError:
            status = 0
        return time.perf_counter() - started, status

    def close(self) -> None:
        self.http.close()


def _percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = (len(sorted_values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def _summary(latencies: list[float], statuses: list[int], wall: float) -> dict[str, Any]:
    ms = sorted(x * 1000 for x in latencies)
    return {
        "requests": len(ms),
        "wall_s": round(wall, 3),
        "throughput_rps": round(len(ms) / wall, 1) if wall > 0 else None,
        "latency_ms": {
            "mean": round(statistics.fmean(ms), 2) if ms else None,
            **{f"p{p}": round(_percentile(ms, p), 2) for p in (50, 90, 99)},
            "max": round(ms[-1], 2) if ms else None,
        },
        "status_counts": {str(k): v for k, v in sorted(Counter(statuses).items())},
        "over_3s": sum(1 for x in latencies if x >= 3.0),
    }


def run_sequential(url: str, make: Maker, n: int, offset: int = 0) -> dict[str, Any]:
    client = Client(url)
    latencies, statuses = [], []
    started = time.perf_counter()
    for i in range(n):
        lat, status = client.send(*make(offset + i))
        latencies.append(lat)
        statuses.append(status)
    wall = time.perf_counter() - started
    client.close()
    return _summary(latencies, statuses, wall)


def run_concurrent(url: str, makers: list[Maker], n: int, concurrency: int) -> dict[str, Any]:
    """``concurrency`` clients share ``n`` requests; client k uses ``makers[k % len(makers)]``."""
    counter = itertools.count()
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: list[int] = []
    go = threading.Barrier(concurrency + 1)

    def worker(k: int) -> None:
        client = Client(url)
        make = makers[k % len(makers)]
        mine_l, mine_s, j = [], [], 0
        go.wait()
        while next(counter) < n:
            lat, status = client.send(*make(j))
            j += 1
            mine_l.append(lat)
            mine_s.append(status)
        client.close()
        with lock:
            latencies.extend(mine_l)
            statuses.extend(mine_s)

    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(concurrency)]
    for t in threads:
        t.start()
    go.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return {"concurrency": concurrency, **_summary(latencies, statuses, wall)}


# ===================================================================================================
# The run
# ===================================================================================================


@dataclass
class Scenario:
    name: str
    label: str
    url: str
    sequential: Maker
    concurrent: list[Maker]


FIGURES = {
    "ack_p50_1_client_ms": "series.handover.sequential.latency_ms.p50",
    "bare_bolt_p50_1_client_ms": "series.baseline_pbr.sequential.latency_ms.p50",
    "ack_p99_concurrent_ms": "series.handover.concurrent.latency_ms.p99",
    "bare_bolt_p99_concurrent_ms": "series.baseline_pbr.concurrent.latency_ms.p99",
    "req_per_s_concurrent": "series.handover.concurrent.throughput_rps",
    "bare_bolt_req_per_s_concurrent": "series.baseline_pbr.concurrent.throughput_rps",
    "intruder_p50_1_client_ms": "series.handover_intruder.sequential.latency_ms.p50",
    "default_mode_bolt_p50_1_client_ms": "series.baseline.sequential.latency_ms.p50",
    "refused_clicks": "handover_db.refused_clicks",
    "over_3s": "series.handover.concurrent.over_3s",
}
RATIOS = {
    "ack_p50_vs_bare_bolt": ("ack_p50_1_client_ms", "bare_bolt_p50_1_client_ms"),
    "ack_p99_vs_bare_bolt": ("ack_p99_concurrent_ms", "bare_bolt_p99_concurrent_ms"),
    "throughput_vs_bare_bolt": ("req_per_s_concurrent", "bare_bolt_req_per_s_concurrent"),
}


def run(
    requests: int = DEFAULT_REQUESTS,
    concurrency: int = DEFAULT_CONCURRENCY,
    warmup: int = DEFAULT_WARMUP,
    log: Callable[[str], None] = print,
    dispatcher: bool = True,
    database_url: str = "sqlite",
    rounds: int = DEFAULT_ROUNDS,
) -> dict[str, Any]:
    """The servers are started once; each round runs every series in turn (bare Bolt, bare Bolt with
    process_before_response, Handover, Handover's refusal): warm-up, sequential, concurrent."""
    concurrency = max(1, concurrency)
    with tempfile.TemporaryDirectory(prefix="handover-bench-") as tmp, database_spec(database_url, tmp) as url:
        log("starting the servers (baseline and Handover, each in its own process)...")
        baseline = Server("baseline")
        try:
            # one item per concurrent client (separate rows, as with real users) plus one for sequential runs
            handover = Server("handover", tmp, concurrency + 1, dispatcher, url)
        except BaseException:
            baseline.stop()
            raise
        try:
            info = handover.info
            cards = info["cards"]
            seq_card, conc_cards = cards[0], cards[1:]
            scenarios = [
                Scenario(
                    "baseline",
                    "baseline (bare Bolt, ack only)",
                    baseline.info["url"],
                    baseline_maker(seq_card),
                    [baseline_maker(c) for c in conc_cards],
                ),
                Scenario(
                    "baseline_pbr",
                    "bare Bolt, process_before_response",
                    baseline.info["url_pbr"],
                    baseline_maker(seq_card),
                    [baseline_maker(c) for c in conc_cards],
                ),
                Scenario(
                    "handover",
                    "Handover checklist tick",
                    info["url"],
                    checklist_maker(seq_card),
                    [checklist_maker(c) for c in conc_cards],
                ),
                Scenario(
                    "handover_intruder",
                    "Handover not-receiver click",
                    info["url"],
                    intruder_maker(seq_card, info["intruder"]),
                    [intruder_maker(c, info["intruder"]) for c in conc_cards],
                ),
            ]

            def one(k: int) -> dict[str, Any]:
                before = handover.stats()
                series: dict[str, Any] = {}
                for sc in scenarios:
                    log(
                        f"round {k}, {sc.name}: warm-up {warmup}, {requests} sequential, "
                        f"{requests} with {concurrency} clients"
                    )
                    # warm-up alternates parity so the measured checklist ticks still change state
                    run_sequential(sc.url, sc.sequential, warmup, offset=1000)
                    seq = run_sequential(sc.url, sc.sequential, requests, offset=1000 + warmup)
                    conc = run_concurrent(sc.url, sc.concurrent, requests, concurrency)
                    series[sc.name] = {"label": sc.label, "sequential": seq, "concurrent": conc}
                after = handover.stats()
                added = after["events"].get("checklist", 0) - before["events"].get("checklist", 0)
                return {
                    "series": series,
                    "handover_db": {
                        "before": before,
                        "after": after,
                        "checklist_events_added": added,
                        # a tick acked without its change (the "busy, try again" answer) left no event
                        "refused_clicks": warmup + 2 * requests - added,
                    },
                }

            done = run_rounds(rounds, one)
        finally:
            handover.stop()
            baseline.stop()

    return {
        "params": {
            "requests": requests,
            "concurrency": concurrency,
            "warmup": warmup,
            "dispatcher": dispatcher,
            "rounds": rounds,
            "backend": backend_of(database_url),
        },
        **measured(done, FIGURES, RATIOS),
    }


def render(results: dict[str, Any]) -> None:
    from rich.console import Console

    console = Console(width=max(Console().width, 110))
    for r in results["rounds"]:
        _render_round(console, results["params"], r)
    console.print(
        "Medians over the rounds: "
        + ", ".join(f"{name} {f['median']:.2f}" for name, f in results["figures"].items() if f["median"] is not None)
    )


def _render_round(console: Any, p: dict[str, Any], results: dict[str, Any]) -> None:
    from rich.table import Table

    seq = Table(title=f"Round {results['round']}: sequential ack latency, ms ({p['requests']} requests, one client)")
    for col in ("series", "p50", "p90", "p99", "max", "mean", "req/s", "statuses"):
        seq.add_column(col, justify="left" if col in ("series", "statuses") else "right")
    conc = Table(title=f"Round {results['round']}: concurrent ({p['requests']} requests, {p['concurrency']} clients)")
    for col in ("series", "req/s", "p50", "p99", "max", "statuses"):
        conc.add_column(col, justify="left" if col in ("series", "statuses") else "right")
    base = results["series"]["baseline"]
    for name, s in results["series"].items():
        a, c = s["sequential"], s["concurrent"]
        ratio = (
            "" if name == "baseline" else f" ({a['latency_ms']['p50'] / base['sequential']['latency_ms']['p50']:.1f}x)"
        )
        seq.add_row(
            s["label"],
            f"{a['latency_ms']['p50']:.2f}{ratio}",
            f"{a['latency_ms']['p90']:.2f}",
            f"{a['latency_ms']['p99']:.2f}",
            f"{a['latency_ms']['max']:.2f}",
            f"{a['latency_ms']['mean']:.2f}",
            f"{a['throughput_rps']:.0f}",
            _statuses(a),
        )
        conc.add_row(
            s["label"],
            f"{c['throughput_rps']:.0f}",
            f"{c['latency_ms']['p50']:.2f}",
            f"{c['latency_ms']['p99']:.2f}",
            f"{c['latency_ms']['max']:.2f}",
            _statuses(c),
        )
    console.print(seq)
    console.print(conc)
    db = results["handover_db"]
    console.print(
        f"Handover recorded {db['checklist_events_added']} checklist events for the checklist ticks; "
        f"outbox rows {db['before']['outbox_rows']} -> {db['after']['outbox_rows']}. "
        f"Requests at or over Slack's 3 s limit: "
        f"{sum(s[k]['over_3s'] for s in results['series'].values() for k in ('sequential', 'concurrent'))}."
    )


def _statuses(s: dict[str, Any]) -> str:
    return " ".join(f"{k}x{v}" for k, v in s["status_counts"].items())


def options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--requests",
        "-n",
        type=int,
        default=DEFAULT_REQUESTS,
        help=f"requests per series, mode and round (default {DEFAULT_REQUESTS})",
    )
    p.add_argument(
        "--concurrency",
        "-c",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help=f"concurrent clients for the throughput run (default {DEFAULT_CONCURRENCY})",
    )
    p.add_argument("--warmup", type=int, default=DEFAULT_WARMUP, help="warm-up requests per series and round")
    p.add_argument(
        "--no-dispatcher",
        action="store_false",
        dest="dispatcher",
        help="do not run the outbox dispatcher beside Handover (production runs it)",
    )


def main(argv: list[str] | None = None) -> int:
    results = command("ack", __doc__ or "", run, options, argv)
    render(results)
    bad = {
        f"round {r['round']} {name} {k}": s[k]["status_counts"]
        for r in results["rounds"]
        for name, s in r["series"].items()
        for k in ("sequential", "concurrent")
        if set(s[k]["status_counts"]) != {"200"}
    }
    if bad:
        print(f"some requests were not answered 200: {bad}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
