"""CI: the installed `handover` (from the wheel, in a virtualenv outside the source tree) creates the
schema with `handover db upgrade` on SQLite or on a throwaway PostgreSQL cluster, and the schema is there.

    python .ci/wheel_db.py /path/to/venv/bin/handover sqlite|postgresql

Run with the wheel's virtualenv's python (it has SQLAlchemy and psycopg); nothing of the source
tree is imported but tests/pg.py, which starts the cluster (as the `postgres` user when root).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
TABLES = {"item", "item_event", "outbox", "person", "alembic_version"}


def _cluster_class() -> type:
    spec = importlib.util.spec_from_file_location("handover_ci_pg", HERE.parent / "tests" / "pg.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Cluster


def upgrade(handover: str, url: str, workdir: Path) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir), "DATABASE_URL": url}
    for args in (["db", "upgrade"], ["db", "current"]):
        done = subprocess.run(
            [handover, *args], check=False, env=env, cwd=workdir, capture_output=True, text=True, timeout=300
        )
        print(f"$ handover {' '.join(args)}\n{done.stdout.strip()}")
        if done.returncode != 0:
            sys.exit(f"handover {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    words = done.stdout.split()  # "current: 0003   head: 0003"
    if len(words) < 4 or words[1] != words[3] or words[1] == "None":
        sys.exit(f"the schema is not at the newest revision: {done.stdout}")
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    tables = set(sa.inspect(engine).get_table_names())
    engine.dispose()
    if not tables >= TABLES:
        sys.exit(f"tables missing after db upgrade: {sorted(TABLES - tables)}")
    print(f"schema ok: {len(tables)} tables")


def main() -> None:
    handover, backend = sys.argv[1], sys.argv[2]
    workdir = Path(tempfile.mkdtemp(prefix="handover-wheel-db-"))
    if backend == "sqlite":
        upgrade(handover, f"sqlite:///{workdir / 'x.db'}", workdir)
        return
    cluster = _cluster_class()()
    if not cluster.available:
        sys.exit("PostgreSQL is not installed: CI must check the wheel on it")
    try:
        url = cluster.start().replace("postgresql+psycopg://", "postgresql://", 1)
        upgrade(handover, url, workdir)
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
