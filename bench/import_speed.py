"""Import speed: an event export of N rows (default 10,000) through ``import_file`` — validated
first, then written — in rows/s, next to the baseline of the same rows written raw in the same run
(one bulk INSERT, ``executemany`` in one transaction; COPY on PostgreSQL) into a scratch table.
Each round: a fresh database, the baseline, then the import.

    python -m bench.import_speed [--rows 10000] [--rounds 3] [--database-url sqlite|postgresql|URL]
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.common import Timer, command, context, database, measured
from bench.common import rounds as run_rounds
from bot.flows.importing import import_file
from bot.models import Item

HEADER = [
    "Scan ID",
    "Company",
    "First name",
    "Last name",
    "E-mail",
    "Job title",
    "Region",
    "Product interest",
    "Category",
    "Notes",
    "Customer request",
    "Business Builder",
    "Sender",
    "Account owner",
    "Painpoint",
    "Offering",
    "Timeframe",
    "Budget",
    "Decision maker",
    "Infrastructure",
    "Urgency",
]
REGIONS = ["Nordics", "DACH", "UK", "Benelux", "France"]
AREAS = ["Routing", "Switching", "Wi-Fi", "Security"]
CATEGORIES = ["Lead", "Prospect", "Opportunity Intelligence", "Customer Intelligence"]


def rows(n: int) -> list[list[str]]:
    out = []
    for i in range(n):
        company = f"Company {i:06d} AB"
        out.append(
            [
                f"B-{i:06d}",
                company,
                f"First{i}",
                f"Last{i}",
                f"person{i}@company{i:06d}.se",
                "CTO",
                REGIONS[i % len(REGIONS)],
                AREAS[i % len(AREAS)],
                CATEGORIES[i % len(CATEGORIES)],
                f"Met at the stand, row {i}; wants a follow-up.",
                "Send a quote" if i % 3 == 0 else "",
                "kim.stand@example.com",
                "marketing.ops@example.com",
                "",
                "yes",
                "yes" if i % 2 else "",
                "",
                "yes",
                "",
                "",
                "yes",
            ]
        )
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


def one_round(database_url: str, data: list[list[str]], path: Path) -> dict[str, Any]:
    """A fresh database: the raw bulk write of the rows (baseline), then the import, then the import
    again (nothing new)."""
    rows_n = len(data)
    with database(database_url) as db:
        ctx = context(db)
        base = baseline(db.engine, data)
        with Timer() as t:
            summary = import_file(ctx, path, event="Bench Expo", max_rows=None)
        with db.engine.connect() as conn:
            items = conn.execute(sa.select(sa.func.count()).select_from(Item)).scalar_one()
            cards = conn.exec_driver_sql("SELECT count(*) FROM outbox WHERE kind = 'item_card'").scalar_one()
            trail = conn.exec_driver_sql("SELECT count(*) FROM item_event WHERE kind = 'handed_over'").scalar_one()
        with Timer() as again:
            rerun = import_file(ctx, path, event="Bench Expo", max_rows=None)
        return {
            "backend": db.backend,
            "import_seconds": t.seconds,
            "import_rows_per_s": rows_n / t.seconds,
            "baseline_seconds": base,
            "baseline_rows_per_s": rows_n / base,
            "rerun_seconds": again.seconds,
            "counts": {
                "created": summary.created,
                "errors": len(summary.errors),
                "items": items,
                "cards_queued": cards,
                "handed_over_events": trail,
                "rerun_created": rerun.created,
                "rerun_existing": rerun.existing,
            },
        }


def run(*, rows_n: int = 10_000, database_url: str = "sqlite", rounds: int = 3) -> dict[str, Any]:
    data = rows(rows_n)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.csv"
        write_csv(path, data)
        done = run_rounds(rounds, lambda k: one_round(database_url, data, path))
    return {
        "params": {"rows": rows_n, "rounds": rounds},
        **measured(
            done,
            {"import_rows_per_s": "import_rows_per_s", "baseline_rows_per_s": "baseline_rows_per_s"},
            {"baseline_vs_import": ("baseline_rows_per_s", "import_rows_per_s")},
        ),
    }


def options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rows", type=int, default=10_000, dest="rows_n")


if __name__ == "__main__":
    command("import_speed", __doc__ or "", run, options)
