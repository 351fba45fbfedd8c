"""The scheduler's nudge tick over a company's open items (default 100,000 pending and accepted,
2,000 people): one tick in steady state (every item assessed before: only what is due is read), and
a fresh backlog (the same number of items just handed over, never assessed: ``next_nudge_at`` empty)
— how many ticks until every item is assessed, and how long each takes. Clicks (an ack's database
work under the 2 s request deadline) run beside the ticks; the baseline is the same clicks with
nothing else running, in the same round. Each world is built once and measured ``--rounds`` times
(the backlog made fresh again before each round).

    python -m bench.nudge_tick [--items 100000] [--people 2000] [--max-ticks 300] [--rounds 3] [--database-url ...]
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from bench.common import START, Timer, command, context, database, measured, summary_ms
from bench.common import rounds as run_rounds
from bench.world import Clicker, item_ids, seed
from bot.clock import FakeClock
from bot.flows import nudge
from bot.models import Item

NOW = START + timedelta(hours=2)  # a Monday, 10:00 in Stockholm: working time


def _open_unassessed(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(
            sa.select(sa.func.count())
            .select_from(Item)
            .where(col(Item.status).in_(["pending", "accepted"]), col(Item.next_nudge_at).is_(None))
        ).scalar_one()


def _clicks_summary(clicks: Clicker, seconds: float | None = None) -> dict[str, Any]:
    return {
        **({"seconds": seconds} if seconds is not None else {}),
        "answered": clicks.result.answered,
        "refused": clicks.result.refused,
        "latency_ms": summary_ms(clicks.result.latencies),
    }


def _idle(engine: sa.Engine, seconds: float) -> dict[str, Any]:
    """The baseline of a round: the same clicks with nothing else running."""
    with Clicker(engine, item_ids(engine)) as idle, Timer() as t:
        idle.stop.wait(seconds)
    return _clicks_summary(idle, t.seconds)


def steady(db_spec: str, items: int, people: int, n_rounds: int) -> dict[str, Any]:
    """Every item assessed before (built once); a round: clicks alone for 2 s, then 3 ticks a
    minute apart with the clicks beside them."""
    with database(db_spec) as db:
        seed(db.engine, people=people, items=items, now=NOW, status=None, next_nudge=True)
        clock = FakeClock(NOW)
        ctx = context(db, clock=clock)

        def one(k: int) -> dict[str, Any]:
            idle = _idle(db.engine, 2)
            ticks = []
            with Clicker(db.engine, item_ids(db.engine)) as clicks:
                for _ in range(3):
                    with Timer() as t:
                        nudge.run(ctx)
                    ticks.append(t.seconds)
                    clock.advance(minutes=1)
            return {
                "tick_seconds": ticks,
                "tick_median_seconds": sorted(ticks)[1],
                "clicks_during": _clicks_summary(clicks),
                "baseline_clicks_idle": idle,
            }

        return {"backend": db.backend, "items": items, **measured(run_rounds(n_rounds, one), STEADY, RATIOS)}


def backlog(db_spec: str, items: int, people: int, max_ticks: int, n_rounds: int) -> dict[str, Any]:
    """``items`` just handed over, never assessed (built once); a round: clicks alone for 2 s, then
    ticks a minute apart (clicks beside them) until every item is assessed. Between rounds every
    item is made fresh again (``next_nudge_at`` emptied) and the clock set back."""
    with database(db_spec) as db:
        seed(db.engine, people=people, items=items, now=NOW, status="pending", next_nudge=False, offered_within_hours=1)

        def one(k: int) -> dict[str, Any]:
            with db.engine.begin() as conn:
                conn.execute(sa.update(Item).values(next_nudge_at=None))
            clock = FakeClock(NOW)
            ctx = context(db, clock=clock)
            idle = _idle(db.engine, 2)
            ticks: list[float] = []
            left = [_open_unassessed(db.engine)]
            with Clicker(db.engine, item_ids(db.engine)) as clicks:
                while left[-1] and len(ticks) < max_ticks:
                    with Timer() as t:
                        nudge.run(ctx)
                    ticks.append(t.seconds)
                    left.append(_open_unassessed(db.engine))
                    clock.advance(minutes=1)
            return {
                "ticks_to_assess_all": len(ticks) if not left[-1] else None,
                "unassessed_after_each_tick": left[:20],
                "tick_seconds": ticks[:20],
                "total_seconds": sum(ticks),
                "clicks_during": _clicks_summary(clicks),
                "baseline_clicks_idle": idle,
            }

        return {"backend": db.backend, "items": items, **measured(run_rounds(n_rounds, one), BACKLOG, RATIOS)}


CLICKS = {
    "clicks_refused_during": "clicks_during.refused",
    "click_p99_ms_during": "clicks_during.latency_ms.p99",
    "click_p99_ms_idle": "baseline_clicks_idle.latency_ms.p99",
}
STEADY = {"tick_median_seconds": "tick_median_seconds", **CLICKS}
BACKLOG = {"ticks_to_assess_all": "ticks_to_assess_all", "total_seconds": "total_seconds", **CLICKS}
RATIOS = {"click_p99_during_vs_idle": ("click_p99_ms_during", "click_p99_ms_idle")}


def run(
    *, items: int = 100_000, people: int = 2000, max_ticks: int = 300, database_url: str = "sqlite", rounds: int = 3
) -> dict[str, Any]:
    return {
        "params": {"items": items, "people": people, "rounds": rounds},
        "steady": steady(database_url, items, people, rounds),
        "fresh_backlog": backlog(database_url, items, people, max_ticks, rounds),
    }


def options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--items", type=int, default=100_000)
    p.add_argument("--people", type=int, default=2000)
    p.add_argument("--max-ticks", type=int, default=300)


if __name__ == "__main__":
    command("nudge_tick", __doc__ or "", run, options)
