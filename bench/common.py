"""What every benchmark shares: a database to run against (a SQLite file by default, a throwaway
PostgreSQL cluster with ``--database-url postgresql``, or any URL), a migrated Handover context on
a fake clock, timing helpers and the JSON/table output. Setup (bulk data) is never measured."""

from __future__ import annotations

import argparse
import atexit
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot import migrate
from bot.clock import Clock, FakeClock
from bot.config import load_config
from bot.context import Context
from bot.db import make_engine
from bot.settings import Settings

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday morning
BOT_TOKEN = "xoxb-bench-token"
SIGNING_SECRET = "bench-signing-secret"


RESULTS = Path(__file__).parent / "results"
DEFAULT_ROUNDS = 3


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "sqlite"),
        help="'sqlite' (a temporary file, the default), 'postgresql' (a throwaway cluster, "
        "as the tests start one) or the URL of a PostgreSQL server (each run creates and "
        "drops its own database there)",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=DEFAULT_ROUNDS,
        help=f"rounds, each its baseline then its subject (default {DEFAULT_ROUNDS}); the JSON "
        "holds every round and the median of each figure and ratio",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="write the results as JSON here (default bench/results/<bench>-<database>.json)",
    )
    return p


def backend_of(spec: str) -> str:
    """``sqlite`` or ``postgresql``: what a ``--database-url`` value runs on."""
    return "sqlite" if spec == "" or spec.startswith("sqlite") else "postgresql"


def command(
    name: str,
    doc: str,
    run: Callable[..., dict[str, Any]],
    options: Callable[[argparse.ArgumentParser], object] | None = None,
    argv: list[str] | None = None,
) -> dict[str, Any]:
    """The whole command line of a benchmark: the common options plus ``options``' own (each ``dest``
    a keyword of ``run``), then ``run(**options)``, then the JSON written and the medians printed."""
    p = parser(doc)
    if options is not None:
        options(p)
    args = vars(p.parse_args(argv))
    out = args.pop("out") or RESULTS / f"{name}-{backend_of(args['database_url'])}.json"
    results = run(**args)
    emit(name, results, out)
    return results


# ----- rounds: every figure is the median of interleaved rounds -------------------------------------


def load_average() -> float | None:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def rounds(n: int, one: Callable[[int], dict[str, Any]]) -> list[dict[str, Any]]:
    """Run ``one(k)`` for rounds k = 1..n, one after another. A round measures its baseline and then
    its subject (A B A B ...; where the baseline is a bound, just the subject). Each round's dict
    gains its number, its wall time and the 1-minute load average when it began."""
    done = []
    for k in range(1, max(n, 1) + 1):
        load = load_average()
        with Timer() as t:
            result = one(k)
        done.append({"round": k, "load_average_1m": load, "seconds": round(t.seconds, 3), **result})
        print(f"round {k}/{max(n, 1)}: {t.seconds:.1f} s (load average {load})", file=sys.stderr)
    return done


def at(data: Any, path: str) -> Any:
    """``data["a"]["b"]`` for ``"a.b"``; None where a part is missing."""
    for part in path.split("."):
        data = data.get(part) if isinstance(data, dict) else None
    return data


def median(values: list[Any]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def measured(
    done: list[dict[str, Any]], figures: dict[str, str], ratios: dict[str, tuple[str, str]] | None = None
) -> dict[str, Any]:
    """The rounds, and for each figure (name -> path in a round) and each ratio (name -> (figure,
    figure it is divided by), computed per round) its value in every round and the median."""
    table: dict[str, list[Any]] = {name: [at(r, path) for r in done] for name, path in figures.items()}
    for name, (num, den) in (ratios or {}).items():
        table[name] = [a / b if a is not None and b else None for a, b in zip(table[num], table[den], strict=True)]
    return {
        "rounds": done,
        "figures": {name: {"median": median(values), "rounds": values} for name, values in table.items()},
    }


@dataclass
class Db:
    url: str
    engine: Engine
    backend: str


_cluster_url: str | None = None


def _cluster() -> str:
    """The server URL of a throwaway PostgreSQL cluster (as the tests start one), started on first
    use and kept for the rest of this process: every round gets its own database on it."""
    global _cluster_url
    if _cluster_url is None:
        from tests.pg import Cluster

        cluster = Cluster()
        if not cluster.available:
            raise SystemExit("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
        _cluster_url = cluster.start()
        atexit.register(cluster.stop)
    return _cluster_url


@contextmanager
def database_spec(spec: str, tmp: str) -> Iterator[str | None]:
    """A URL for ``spec`` whose schema someone else makes: None for SQLite (the caller's own file in
    ``tmp``), else a fresh database on the throwaway cluster or on the server the URL names (dropped
    after)."""
    if backend_of(spec) == "sqlite":
        yield None
        return
    server, url = _fresh_postgres_database(_cluster() if spec in ("postgresql", "pg", "postgres") else spec)
    try:
        yield url
    finally:
        _drop_database(server, url)


@contextmanager
def database(spec: str) -> Iterator[Db]:
    """A fresh, migrated database for one benchmark run (or round)."""
    with tempfile.TemporaryDirectory(prefix="handover-bench-") as tmp, database_spec(spec, tmp) as given:
        url = given or f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = make_engine(url)
        try:
            migrate.upgrade(engine)
            yield Db(url=url, engine=engine, backend=engine.dialect.name)
        finally:
            engine.dispose()


def _fresh_postgres_database(server_url: str) -> tuple[str, str]:
    """A PostgreSQL URL names the server: each run gets a new database there (dropped after), so a
    benchmark never writes into the database the URL points at."""
    import uuid

    from sqlalchemy.engine import make_url

    from bot.db import normalize_url

    base = make_url(normalize_url(server_url))
    name = f"handover_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return str(base.render_as_string(hide_password=False)), base.set(database=name).render_as_string(
        hide_password=False
    )


def _drop_database(server_url: str, url: str) -> None:
    from sqlalchemy.engine import make_url

    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    admin.dispose()


def context(db: Db, *, api_url: str = "http://127.0.0.1:9/api/", clock: Clock | None = None) -> Context:
    settings = Settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=api_url,
        database_url=db.url,
        handover_api_token="bench-api-token-123",
    )
    return Context(engine=db.engine, config=load_config(None), settings=settings, clock=clock or FakeClock(START))


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average_1m": load_average(),
    }


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def summary_ms(seconds: list[float]) -> dict[str, float | None]:
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50": pct(ms, 50),
        "p95": pct(ms, 95),
        "p99": pct(ms, 99),
        "max": max(ms) if ms else None,
        "mean": statistics.fmean(ms) if ms else None,
    }


class Timer:
    def __enter__(self) -> Self:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


def emit(name: str, results: dict[str, Any], out: Path | None) -> None:
    """Write ``results`` (with the machine) as JSON to ``out``; print the median of every figure."""
    results = {"bench": name, "machine": machine(), **results}
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(json.dumps(_medians(results), indent=2, default=str))
    if out is not None:
        print(f"all rounds written to {out}")


def _medians(data: Any) -> Any:
    """Only the medians of ``results`` (nested as they are), for the terminal."""
    if isinstance(data, dict):
        if "figures" in data:
            return {name: f["median"] for name, f in data["figures"].items()}
        return {k: m for k, v in data.items() if k not in ("rounds", "machine") and (m := _medians(v))}
    if isinstance(data, list):
        return [m for v in data if (m := _medians(v))] or None
    return None
