"""Customer look-up: ``find_customers`` (what ``/handover customer <query>`` runs) over N customers
(default 50,000), p50/p95 over a mix of queries — exact names, parts of names, typos, domains and
contacts' e-mails — next to the baseline of the same run: one indexed equality look-up
(``normalized_name = ?``), the floor any look-up pays. The customers are written once; each round
asks every query right after its baseline.

    python -m bench.lookup [--customers 50000] [--queries 60] [--rounds 3] [--database-url ...]
"""

from __future__ import annotations

import argparse
import random
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bench.common import START, Timer, command, database, measured, summary_ms
from bench.common import rounds as run_rounds
from bot.customers import normalize_name
from bot.flows.lookup import find_customers
from bot.models import Customer, Item

WORDS = [
    "nordic",
    "fibre",
    "acme",
    "keller",
    "brau",
    "data",
    "systems",
    "logistics",
    "energy",
    "health",
    "clinic",
    "foods",
    "metal",
    "robotics",
    "cloud",
    "retail",
    "fjord",
    "alpine",
    "baltic",
    "coastal",
    "urban",
    "solar",
    "marine",
    "textile",
    "pharma",
    "motors",
    "print",
    "studio",
    "trading",
    "capital",
]
FORMS = ["AB", "GmbH", "Ltd", "AS", "Oy", "SA", ""]
SCRIPTS = ["株式会社さくら{}", "ООО «Ромашка {}»", "Ελληνικά {} Α.Ε.", "شركة النور {}"]


def customer_rows(n: int, rng: random.Random) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        if i % 50 == 0:
            name = SCRIPTS[(i // 50) % len(SCRIPTS)].format(i)
        else:
            name = f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()} {i} {rng.choice(FORMS)}".strip()
        rows.append(
            {
                "name": name,
                "normalized_name": normalize_name(name),
                "domain": f"c{i}.example" if i % 3 else None,
                "created_at": START,
            }
        )
    return rows


def seed(engine: sa.Engine, n: int, rng: random.Random) -> list[dict[str, Any]]:
    """Bulk setup (not measured): N customers, one item per 10th with a contact e-mail."""
    rows = customer_rows(n, rng)
    with engine.begin() as conn:
        conn.execute(sa.insert(Customer.__table__), rows)  # type: ignore[attr-defined]
        ids = [r[0] for r in conn.execute(sa.select(col(Customer.id)).order_by(col(Customer.id)))]
        items: list[dict[str, Any]] = [
            {
                "external_key": f"bench:{cid}",
                "source": "api",
                "customer_id": cid,
                "category": "lead",
                "contact_email": f"person{cid}@c{cid}.example",
                "description": "",
                "checklist": {},
                "status": "pending",
                "created_at": START,
                "offered_at": START,
                "version": 1,
                "customer_request_open": False,
                "follow_up_count": 0,
                "nudge_step": 0,
            }
            for cid in ids[::10]
        ]
        conn.execute(sa.insert(Item.__table__), items)  # type: ignore[attr-defined]
    for r, cid in zip(rows, ids, strict=True):
        r["id"] = cid
    return rows


def queries(rows: list[dict[str, Any]], count: int, rng: random.Random) -> list[str]:
    out = []
    kinds = ["exact", "part", "typo", "domain", "email", "script"]
    for k in range(count):
        r = rng.choice(rows)
        kind = kinds[k % len(kinds)]
        if kind == "exact":
            out.append(r["name"])
        elif kind == "part":
            out.append(r["name"].split()[0] + " " + r["name"].split()[1])
        elif kind == "typo":
            name = r["normalized_name"]
            at = rng.randrange(1, max(len(name) - 1, 2))
            out.append(name[:at] + "x" + name[at + 1 :])
        elif kind == "domain":
            out.append(f"c{rng.randrange(1, len(rows))}.example")
        elif kind == "email":
            out.append(f"person{rows[rng.randrange(0, len(rows), 10)]['id']}@c1.example")
        else:
            out.append("Ромашка")
    return out


def run(
    *, customers: int = 50_000, queries_n: int = 60, database_url: str = "sqlite", rounds: int = 3
) -> dict[str, Any]:
    """The customers written once; each round asks every query, each right after its baseline."""
    rng = random.Random(13)
    with database(database_url) as db:
        rows = seed(db.engine, customers, rng)
        qs = queries(rows, queries_n, rng)
        with Session(db.engine) as session:
            find_customers(session, qs[0])  # warm-up (imports, caches)

            def one(k: int) -> dict[str, Any]:
                times: list[float] = []
                base: list[float] = []
                found = 0
                for q in qs:
                    norm = normalize_name(q)
                    with Timer() as b:
                        session.exec(select(Customer).where(Customer.normalized_name == norm)).all()
                    base.append(b.seconds)
                    with Timer() as t:
                        matches = find_customers(session, q)
                    times.append(t.seconds)
                    found += bool(matches)
                return {
                    "queries": len(qs),
                    "queries_with_matches": found,
                    "lookup_ms": summary_ms(times),
                    "baseline_indexed_equality_ms": summary_ms(base),
                }

            done = run_rounds(rounds, one)
        return {
            "backend": db.backend,
            "params": {"customers": customers, "queries": len(qs), "rounds": rounds},
            **measured(
                done,
                {
                    "lookup_p50_ms": "lookup_ms.p50",
                    "lookup_p95_ms": "lookup_ms.p95",
                    "baseline_p95_ms": "baseline_indexed_equality_ms.p95",
                },
                {"p95_vs_indexed_equality": ("lookup_p95_ms", "baseline_p95_ms")},
            ),
        }


def options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--customers", type=int, default=50_000)
    p.add_argument("--queries", type=int, default=60, dest="queries_n")


if __name__ == "__main__":
    command("lookup", __doc__ or "", run, options)
