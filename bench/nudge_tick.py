"""The scheduler's nudge tick over a company's open items (default 100,000 pending and accepted,
2,000 people): one tick in steady state (every item assessed before: only what is due is read), and
a fresh backlog (the same number of items just handed over, never assessed: ``next_nudge_at`` empty)
— how many ticks until every item is assessed, and how long each takes. Clicks (an ack's database
work under the 2 s request deadline) run beside the ticks; the baseline is the same clicks with
nothing else running, in the same run.

    python -m bench.nudge_tick [--items 100000] [--people 2000] [--max-ticks 300] [--database-url ...]
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.common import START, Timer, context, database, emit, parser, summary_ms
from bench.world import Clicker, seed
from bot.clock import FakeClock
from bot.flows import nudge
from bot.models import Item

NOW = START + timedelta(hours=2)  # a Monday, 10:00 in Stockholm: working time


def _open_unassessed(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(Item).where(
            Item.status.in_(["pending", "accepted"]), Item.next_nudge_at.is_(None))).scalar_one()


def _clicks(engine: sa.Engine) -> list[int]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(sa.select(Item.id).order_by(Item.id).limit(20))]


def steady(db_spec: str, items: int, people: int) -> dict[str, Any]:
    with database(db_spec) as db:
        seed(db.engine, people=people, items=items, now=NOW, status=None, next_nudge=True)
        ctx = context(db, clock=FakeClock(NOW))
        ticks = []
        with Clicker(db.engine, _clicks(db.engine)) as clicks:
            for _ in range(3):
                with Timer() as t:
                    nudge.run(ctx)
                ticks.append(t.seconds)
                ctx.clock.advance(minutes=1)  # type: ignore[attr-defined]
        return {"backend": db.backend, "items": items, "tick_seconds": ticks,
                "tick_median_seconds": sorted(ticks)[1],
                "clicks_during": {"answered": clicks.result.answered, "refused": clicks.result.refused,
                                  "latency_ms": summary_ms(clicks.result.latencies)}}


def backlog(db_spec: str, items: int, people: int, max_ticks: int) -> dict[str, Any]:
    with database(db_spec) as db:
        seed(db.engine, people=people, items=items, now=NOW, status="pending", next_nudge=False,
             offered_within_hours=1)
        ctx = context(db, clock=FakeClock(NOW))
        with Clicker(db.engine, _clicks(db.engine)) as idle, Timer() as idle_time:
            idle.stop.wait(2)
        ticks: list[float] = []
        left = [_open_unassessed(db.engine)]
        with Clicker(db.engine, _clicks(db.engine)) as clicks:
            while left[-1] and len(ticks) < max_ticks:
                with Timer() as t:
                    nudge.run(ctx)
                ticks.append(t.seconds)
                left.append(_open_unassessed(db.engine))
                ctx.clock.advance(minutes=1)  # type: ignore[attr-defined]
        return {"backend": db.backend, "items": items, "ticks_to_assess_all": len(ticks) if not left[-1] else None,
                "unassessed_after_each_tick": left[:20], "tick_seconds": ticks[:20],
                "total_seconds": sum(ticks),
                "clicks_during": {"answered": clicks.result.answered, "refused": clicks.result.refused,
                                  "latency_ms": summary_ms(clicks.result.latencies)},
                "baseline_clicks_idle": {"seconds": idle_time.seconds, "answered": idle.result.answered,
                                         "refused": idle.result.refused,
                                         "latency_ms": summary_ms(idle.result.latencies)}}


def run(*, items: int = 100_000, people: int = 2000, max_ticks: int = 300, database_url: str = "sqlite",
        out: Path | None = None, quiet: bool = False) -> dict[str, Any]:
    results = {"steady": steady(database_url, items, people),
               "fresh_backlog": backlog(database_url, items, people, max_ticks)}
    if not quiet:
        emit("nudge_tick", results, out)
    return results


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--items", type=int, default=100_000)
    p.add_argument("--people", type=int, default=2000)
    p.add_argument("--max-ticks", type=int, default=300)
    a = p.parse_args()
    run(items=a.items, people=a.people, max_ticks=a.max_ticks, database_url=a.database_url, out=a.out)


if __name__ == "__main__":
    main()
