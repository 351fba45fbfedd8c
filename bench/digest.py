"""The weekly digest at a company's size: 2,000 people over 10,000 and 100,000 items (options),
run at the digest moment — its duration, the SQL statements per person, and clicks answered or
refused while it runs (each click an ack's database work under the 2 s request deadline, one every
50 ms; the baseline is the same clicks with nothing else running, in the same run).

    python -m bench.digest [--people 2000] [--items 10000,100000] [--database-url ...] [--out f.json]
"""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import event

from bench.common import START, Timer, context, database, emit, parser, summary_ms
from bench.world import Clicker, seed
from bot.clock import FakeClock
from bot.config import load_config
from bot.flows import digest
from bot.models import Item


def digest_time() -> Any:
    config = load_config(None)
    return digest.digest_moment(config, ZoneInfo("Europe/Stockholm"), START) + timedelta(minutes=5)


class Statements:
    def __init__(self, engine: sa.Engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *args: Any) -> None:
        self.count += 1


def one(db_spec: str, people: int, items: int) -> dict[str, Any]:
    now = digest_time()
    with database(db_spec) as db:
        seed(db.engine, people=people, items=items, now=now, rng=random.Random(items))
        ctx = context(db, clock=FakeClock(now))
        with db.engine.connect() as conn:
            click_ids = [r[0] for r in conn.execute(sa.select(Item.id).order_by(Item.id).limit(20))]
        with Clicker(db.engine, click_ids) as idle, Timer() as idle_time:
            idle.stop.wait(3)
        statements = Statements(db.engine)
        with Clicker(db.engine, click_ids) as busy, Timer() as t:
            sent = digest.run(ctx)
        clicks_during = busy.result
        stmt_count = statements.count - 3 * (clicks_during.answered + clicks_during.refused)  # a click: BEGIN… ≈3
        with db.engine.connect() as conn:
            queued = conn.exec_driver_sql("SELECT count(*) FROM outbox WHERE kind = 'digest'").scalar_one()
            claimed = conn.exec_driver_sql("SELECT count(*) FROM digest_sent").scalar_one()
        return {"backend": db.backend, "people": people, "items": items, "digest_seconds": t.seconds,
                "digests_queued": queued, "people_claimed": claimed, "people_sent": len(sent),
                "statements": stmt_count, "statements_per_person": stmt_count / max(claimed, 1),
                "clicks_during": {"answered": clicks_during.answered, "refused": clicks_during.refused,
                                  "errors": clicks_during.errors, "latency_ms": summary_ms(clicks_during.latencies)},
                "baseline_clicks_idle": {"seconds": idle_time.seconds, "answered": idle.result.answered,
                                         "refused": idle.result.refused,
                                         "latency_ms": summary_ms(idle.result.latencies)}}


def run(*, people: int = 2000, items: list[int] | None = None, database_url: str = "sqlite",
        out: Path | None = None, quiet: bool = False) -> dict[str, Any]:
    runs = [one(database_url, people, n) for n in (items or [10_000, 100_000])]
    results = {"runs": runs}
    if len(runs) > 1:
        results["growth_with_items"] = runs[-1]["digest_seconds"] / runs[0]["digest_seconds"]
    if not quiet:
        emit("digest", results, out)
    return results


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--people", type=int, default=2000)
    p.add_argument("--items", default="10000,100000", help="comma-separated item counts, one run each")
    a = p.parse_args()
    run(people=a.people, items=[int(x) for x in a.items.split(",")], database_url=a.database_url, out=a.out)


if __name__ == "__main__":
    main()
