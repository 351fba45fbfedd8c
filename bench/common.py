"""What every benchmark shares: a database to run against (a SQLite file by default, a throwaway
PostgreSQL cluster with ``--database-url postgresql``, or any URL), a migrated Handover context on
a fake clock, timing helpers and the JSON/table output. Setup (bulk data) is never measured."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot import migrate
from bot.clock import FakeClock
from bot.config import load_config
from bot.context import Context
from bot.db import make_engine
from bot.settings import Settings

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday morning
BOT_TOKEN = "xoxb-bench-token"
SIGNING_SECRET = "bench-signing-secret"


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", "sqlite"),
                   help="'sqlite' (a temporary file, the default), 'postgresql' (a throwaway cluster, "
                        "as the tests start one) or the URL of a PostgreSQL server (each run creates and "
                        "drops its own database there)")
    p.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    return p


@dataclass
class Db:
    url: str
    engine: Engine
    backend: str


@contextmanager
def database_spec(spec: str, tmp: str) -> Iterator[str | None]:
    """A URL for ``spec`` whose schema someone else makes: None for SQLite (the caller's own file in
    ``tmp``), a fresh database on a throwaway PostgreSQL cluster, or the URL given."""
    if spec in ("sqlite", ""):
        yield None
    elif spec in ("postgresql", "pg", "postgres"):
        from tests.pg import Cluster
        cluster = Cluster()
        if not cluster.available:
            raise SystemExit("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
        cluster.start()
        try:
            yield cluster.create_database("handover_bench")
        finally:
            cluster.stop()
    else:
        yield spec


@contextmanager
def database(spec: str) -> Iterator[Db]:
    """A fresh, migrated database for one benchmark run."""
    cluster = None
    with tempfile.TemporaryDirectory(prefix="handover-bench-") as tmp:
        if spec in ("sqlite", ""):
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        elif spec in ("postgresql", "pg", "postgres"):
            from tests.pg import Cluster
            cluster = Cluster()
            if not cluster.available:
                raise SystemExit("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
            cluster.start()
            url = cluster.create_database("handover_bench")
        elif spec.startswith("sqlite"):
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"  # a SQLite URL: a fresh file all the same
        else:
            server, url = _fresh_postgres_database(spec)
        engine = make_engine(url)
        try:
            migrate.upgrade(engine)
            yield Db(url=url, engine=engine, backend=engine.dialect.name)
        finally:
            engine.dispose()
            if cluster is not None:
                cluster.stop()
            elif not url.startswith("sqlite"):
                _drop_database(server, url)


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
    return str(base.render_as_string(hide_password=False)), base.set(database=name).render_as_string(hide_password=False)


def _drop_database(server_url: str, url: str) -> None:
    from sqlalchemy.engine import make_url
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    admin.dispose()


def context(db: Db, *, api_url: str = "http://127.0.0.1:9/api/", clock: FakeClock | None = None) -> Context:
    settings = Settings(slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET, slack_api_url=api_url,
                        database_url=db.url, handover_api_token="bench-api-token-123")
    return Context(engine=db.engine, config=load_config(None), settings=settings, clock=clock or FakeClock(START))


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "load_average_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def summary_ms(seconds: list[float]) -> dict[str, float | None]:
    ms = [s * 1000 for s in seconds]
    return {"n": len(ms), "p50": pct(ms, 50), "p95": pct(ms, 95), "p99": pct(ms, 99),
            "max": max(ms) if ms else None, "mean": statistics.fmean(ms) if ms else None}


class Timer:
    def __enter__(self) -> Self:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


def emit(name: str, results: dict[str, Any], out: Path | None) -> None:
    results = {"bench": name, "machine": machine(), **results}
    text = json.dumps(results, indent=2, default=str)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n")
    print(text)
