"""The weekly digest at a company's size: 2,000 people over 10,000 and 100,000 items (options),
run at the digest moment — its duration, the SQL statements per person, and clicks answered or
refused while it runs (each click an ack's database work under the 2 s request deadline, one every
50 ms; the baseline is the same clicks with nothing else running, in the same round). Each world is
built once; each round deletes the week's claims and runs the whole digest again.

    python -m bench.digest [--people 2000] [--items 10000,100000] [--rounds 3] [--database-url ...]
"""

from __future__ import annotations

import argparse
import random
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import event

from bench.common import START, Timer, command, context, database, measured, summary_ms
from bench.common import rounds as run_rounds
from bench.world import Clicker, item_ids, seed
from bot.clock import FakeClock
from bot.config import load_config
from bot.flows import digest


def digest_time() -> Any:
    config = load_config(None)
    return digest.digest_moment(config, ZoneInfo("Europe/Stockholm"), START) + timedelta(minutes=5)


class Statements:
    def __init__(self, engine: sa.Engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *args: Any) -> None:
        self.count += 1


def world(db_spec: str, people: int, items: int, n_rounds: int) -> dict[str, Any]:
    """One world of ``people`` and ``items`` (built once), then the rounds: the clicks alone for 3 s
    (the baseline), then the digest with the clicks beside it; between rounds the week's claims and
    queued digests are deleted, so every round sends the whole digest again."""
    now = digest_time()
    with database(db_spec) as db:
        seed(db.engine, people=people, items=items, now=now, rng=random.Random(items))
        ctx = context(db, clock=FakeClock(now))
        click_ids = item_ids(db.engine)
        statements = Statements(db.engine)

        def one(k: int) -> dict[str, Any]:
            with db.engine.begin() as conn:
                conn.exec_driver_sql("DELETE FROM digest_sent")
                conn.exec_driver_sql("DELETE FROM outbox WHERE kind = 'digest'")
            with Clicker(db.engine, click_ids) as idle, Timer() as idle_time:
                idle.stop.wait(3)
            before = statements.count
            with Clicker(db.engine, click_ids) as busy, Timer() as t:
                sent = digest.run(ctx)
            during = busy.result
            # a click: BEGIN, SELECT, UPDATE, INSERT... ≈ 3 statements counted
            stmt_count = statements.count - before - 3 * (during.answered + during.refused)
            with db.engine.connect() as conn:
                queued = conn.exec_driver_sql("SELECT count(*) FROM outbox WHERE kind = 'digest'").scalar_one()
                claimed = conn.exec_driver_sql("SELECT count(*) FROM digest_sent").scalar_one()
            return {
                "digest_seconds": t.seconds,
                "digests_queued": queued,
                "people_claimed": claimed,
                "people_sent": len(sent),
                "statements": stmt_count,
                "statements_per_person": stmt_count / max(claimed, 1),
                "clicks_during": {
                    "answered": during.answered,
                    "refused": during.refused,
                    "errors": during.errors,
                    "latency_ms": summary_ms(during.latencies),
                },
                "baseline_clicks_idle": {
                    "seconds": idle_time.seconds,
                    "answered": idle.result.answered,
                    "refused": idle.result.refused,
                    "latency_ms": summary_ms(idle.result.latencies),
                },
            }

        return {
            "backend": db.backend,
            "people": people,
            "items": items,
            **measured(run_rounds(n_rounds, one), FIGURES, RATIOS),
        }


FIGURES = {
    "digest_seconds": "digest_seconds",
    "statements_per_person": "statements_per_person",
    "clicks_refused_during": "clicks_during.refused",
    "click_p99_ms_during": "clicks_during.latency_ms.p99",
    "click_p99_ms_idle": "baseline_clicks_idle.latency_ms.p99",
}
RATIOS = {"click_p99_during_vs_idle": ("click_p99_ms_during", "click_p99_ms_idle")}


def run(
    *, people: int = 2000, items: list[int] | None = None, database_url: str = "sqlite", rounds: int = 3
) -> dict[str, Any]:
    runs = [world(database_url, people, n, rounds) for n in (items or [10_000, 100_000])]
    results: dict[str, Any] = {"params": {"people": people, "rounds": rounds}, "runs": runs}
    if len(runs) > 1:
        first, last = (r["figures"]["digest_seconds"]["median"] for r in (runs[0], runs[-1]))
        results["growth_with_items"] = last / first
    return results


def options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--people", type=int, default=2000)
    p.add_argument(
        "--items",
        type=lambda v: [int(x) for x in v.split(",")],
        default=[10_000, 100_000],
        help="comma-separated item counts, one world each (default 10000,100000)",
    )


if __name__ == "__main__":
    command("digest", __doc__ or "", run, options)
