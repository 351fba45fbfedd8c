"""Import speed: an event export of N rows (default 10,000) through ``import_file`` — validated
first, then written — in rows/s, next to the baseline of the same rows written raw in the same run
(one bulk INSERT, ``executemany`` in one transaction; COPY on PostgreSQL) into a scratch table.

    python -m bench.import_speed [--rows 10000] [--database-url sqlite|postgresql|URL] [--out f.json]
"""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.common import Timer, context, database, emit, parser
from bot.flows.importing import import_file
from bot.models import Item

HEADER = ["Scan ID", "Company", "First name", "Last name", "E-mail", "Job title", "Region", "Product interest",
          "Category", "Notes", "Customer request", "Business Builder", "Sender", "Account owner", "Painpoint",
          "Offering", "Timeframe", "Budget", "Decision maker", "Infrastructure", "Urgency"]
REGIONS = ["Nordics", "DACH", "UK", "Benelux", "France"]
AREAS = ["Routing", "Switching", "Wi-Fi", "Security"]
CATEGORIES = ["Lead", "Prospect", "Opportunity Intelligence", "Customer Intelligence"]


def rows(n: int) -> list[list[str]]:
    out = []
    for i in range(n):
        company = f"Company {i:06d} AB"
        out.append([f"B-{i:06d}", company, f"First{i}", f"Last{i}", f"person{i}@company{i:06d}.se", "CTO",
                    REGIONS[i % len(REGIONS)], AREAS[i % len(AREAS)], CATEGORIES[i % len(CATEGORIES)],
                    f"Met at the stand, row {i}; wants a follow-up.", "Send a quote" if i % 3 == 0 else "",
                    "kim.stand@example.com", "marketing.ops@example.com", "", "yes", "yes" if i % 2 else "",
                    "", "yes", "", "", "yes"])
    return out


def write_csv(path: Path, data: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter=";")
        w.writerow(HEADER)
        w.writerows(data)


def baseline(engine: sa.Engine, data: list[list[str]]) -> float:
    """Raw bulk write of the same rows: one statement, one transaction (COPY on PostgreSQL)."""
    cols = ", ".join(f"c{i} text" for i in range(len(HEADER)))
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS bench_raw")
        conn.exec_driver_sql(f"CREATE TABLE bench_raw ({cols})")
    with Timer() as t:
        if engine.dialect.name == "postgresql":
            raw = engine.raw_connection()
            try:
                with raw.cursor() as cur, cur.copy("COPY bench_raw FROM STDIN") as copy:  # type: ignore[attr-defined]
                    for r in data:
                        copy.write_row(r)
                raw.commit()
            finally:
                raw.close()
        else:
            marks = ", ".join("?" for _ in HEADER)
            with engine.begin() as conn:
                conn.exec_driver_sql(f"INSERT INTO bench_raw VALUES ({marks})", [tuple(r) for r in data])
    return t.seconds


def run(*, rows_n: int = 10_000, database_url: str = "sqlite", out: Path | None = None,
        quiet: bool = False) -> dict[str, Any]:
    data = rows(rows_n)
    with database(database_url) as db, tempfile.TemporaryDirectory() as tmp:
        ctx = context(db)
        path = Path(tmp) / "export.csv"
        write_csv(path, data)
        base = baseline(db.engine, data)
        with Timer() as t:
            summary = import_file(ctx, path, event="Bench Expo", max_rows=None)
        with db.engine.connect() as conn:
            items = conn.execute(sa.select(sa.func.count()).select_from(Item)).scalar_one()
            cards = conn.exec_driver_sql("SELECT count(*) FROM outbox WHERE kind = 'item_card'").scalar_one()
            trail = conn.exec_driver_sql("SELECT count(*) FROM item_event WHERE kind = 'handed_over'").scalar_one()
        with Timer() as again:
            rerun = import_file(ctx, path, event="Bench Expo", max_rows=None)
        results = {
            "backend": db.backend, "rows": rows_n,
            "import_seconds": t.seconds, "import_rows_per_s": rows_n / t.seconds,
            "baseline_seconds": base, "baseline_rows_per_s": rows_n / base,
            "ratio": (rows_n / base) / (rows_n / t.seconds),
            "rerun_seconds": again.seconds,
            "counts": {"created": summary.created, "errors": len(summary.errors), "items": items,
                       "cards_queued": cards, "handed_over_events": trail,
                       "rerun_created": rerun.created, "rerun_existing": rerun.existing},
        }
    if not quiet:
        emit("import_speed", results, out)
    return results


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--rows", type=int, default=10_000)
    a = p.parse_args()
    run(rows_n=a.rows, database_url=a.database_url, out=a.out)


if __name__ == "__main__":
    main()
