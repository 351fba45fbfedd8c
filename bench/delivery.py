"""Delivery under Slack's rate limit: C cards (default 600) to R receivers (default 60) while the
Slack fake allows 1 chat.postMessage per second per channel (429 + Retry-After beyond it) — the
time until every card arrived next to the bound the limit itself sets (cards per channel ÷ 1 msg/s,
the baseline), and how many cards were lost or posted twice. The outbox dispatcher runs as in
production (bot.slack.dispatcher.Dispatcher.run_forever) on a real HTTP fake. Each round: a fresh
database and fake, one delivery.

    python -m bench.delivery [--cards 600] [--receivers 60] [--rate 1.0] [--rounds 3] [--database-url ...]
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections import Counter
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from bench.common import BOT_TOKEN, Db, command, context, database, measured
from bench.common import rounds as run_rounds
from bot.clock import Clock
from bot.context import Context
from bot.db import run_in_transaction
from bot.fakeslack import FakeSlack
from bot.fakeslack.directory import directory
from bot.flows.deliver import hand_over_many
from bot.ids import Category, Source
from bot.intake.schema import ItemIn
from bot.models import Outbox
from bot.slack.dispatcher import Dispatcher


def _key(call: Any) -> str | None:
    meta = call.args.get("metadata")
    meta = json.loads(meta) if isinstance(meta, str) else meta
    return (meta or {}).get("event_payload", {}).get("key")


def handed_over(fake: FakeSlack, db: Db, cards: int, receivers: int, rate: float) -> Context:
    """Setup (not measured): the receivers in the fake, its rate limit, the cards handed over."""
    owners = [f"owner{n}@example.com" for n in range(receivers)]
    for user in directory(owners + ["marketing.ops@example.com"]):
        fake.add_user(user)
    fake.rate_limit("chat.postMessage", rate)
    ctx = context(db, api_url=fake.api_url, clock=Clock())
    entries = [
        (
            ItemIn(
                customer=f"Customer {n}",
                category=Category.OPPORTUNITY_INTELLIGENCE,
                account_owner_email=owners[n % receivers],
                sender_email="marketing.ops@example.com",
                description="Met at the stand.",
            ),
            f"bench:{n}",
        )
        for n in range(cards)
    ]
    run_in_transaction(db.engine, lambda s: hand_over_many(s, ctx, entries, source=Source.API, actor="bench"))
    return ctx


def cards_left(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(
            sa.select(sa.func.count())
            .select_from(Outbox)
            .where(col(Outbox.kind) == "item_card", col(Outbox.status) != "sent")
        ).scalar_one()


def one_round(cards: int, receivers: int, rate: float, timeout: float, database_url: str) -> dict[str, Any]:
    """A fresh database and a fresh Slack fake: the cards handed over, then delivered."""
    fake = FakeSlack(token=BOT_TOKEN).start()
    try:
        with database(database_url) as db:
            ctx = handed_over(fake, db, cards, receivers, rate)
            stop = threading.Event()
            dispatchers = [threading.Thread(target=Dispatcher(ctx).run_forever, args=(stop,), daemon=True)]
            t0 = time.monotonic()
            for t in dispatchers:
                t.start()
            done_at = None
            while time.monotonic() - t0 < timeout:
                if cards_left(db.engine) == 0:
                    done_at = time.monotonic() - t0
                    break
                time.sleep(0.1)
            stop.set()
            for t in dispatchers:
                t.join(timeout=10)
            posted = [c for c in fake.calls_to("chat.postMessage") if c.ok]
            per_key = Counter(k for c in posted if (k := _key(c)) and k.startswith("card:"))
            limited = sum(1 for c in fake.calls_to("chat.postMessage") if not c.ok)
            per_channel = Counter(c.response["channel"] for c in posted)
            bound = max(per_channel.values(), default=0) / rate if posted else cards / receivers / rate
            results = {
                "backend": db.backend,
                "cards": cards,
                "receivers": receivers,
                "rate_per_channel": rate,
                "seconds_until_all_arrived": done_at,
                "bound_seconds": bound,
                "ratio": (done_at / bound) if done_at and bound else None,
                "cards_posted": sum(per_key.values()),
                "lost": cards - len(per_key),
                "duplicated": sum(n - 1 for n in per_key.values() if n > 1),
                "http_429": limited,
            }
    finally:
        fake.stop()
    return results


def run(
    *,
    cards: int = 600,
    receivers: int = 60,
    rate: float = 1.0,
    timeout: float = 300,
    database_url: str = "sqlite",
    rounds: int = 3,
) -> dict[str, Any]:
    """``rounds`` deliveries one after another (the baseline is a bound: computed, not run)."""
    done = run_rounds(rounds, lambda k: one_round(cards, receivers, rate, timeout, database_url))
    return {
        "params": {"cards": cards, "receivers": receivers, "rate_per_channel": rate, "rounds": rounds},
        **measured(
            done,
            {
                "seconds_until_all_arrived": "seconds_until_all_arrived",
                "bound_seconds": "bound_seconds",
                "lost": "lost",
                "duplicated": "duplicated",
                "http_429": "http_429",
            },
            {"vs_bound": ("seconds_until_all_arrived", "bound_seconds")},
        ),
    }


def options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cards", type=int, default=600)
    p.add_argument("--receivers", type=int, default=60)
    p.add_argument("--rate", type=float, default=1.0)


if __name__ == "__main__":
    command("delivery", __doc__ or "", run, options)
