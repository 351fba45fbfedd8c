"""A throwaway PostgreSQL 15 cluster for the test session (initdb + pg_ctl in a temp dir, on a
free port). PostgreSQL refuses to run as root, so as root the cluster runs as `postgres`."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PG_BIN_CANDIDATES = ["/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/local/bin", "/usr/bin"]


def _bin(name: str) -> str | None:
    for d in PG_BIN_CANDIDATES:
        p = Path(d) / name
        if p.exists():
            return str(p)
    return shutil.which(name)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="handover-pg-"))
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0
        self.initdb, self.pg_ctl = _bin("initdb") or "", _bin("pg_ctl") or ""  # "": not installed

    @property
    def available(self) -> bool:
        return bool(self.initdb and self.pg_ctl)

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)

    def start(self) -> str:
        if self.as_postgres:
            shutil.chown(self.dir, user="postgres")
        data = self.dir / "data"
        self._run(self.initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        self._run(self.pg_ctl, "-D", str(data), "-o", self._opts, "-l", str(self.dir / "log"), "-w", "start")
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    @property
    def _opts(self) -> str:
        return (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            f"-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )

    def restart(self, down_for: float = 0.0) -> None:
        """Stop (fast: open connections are cut, open transactions rolled back) and start again,
        same port, same settings: what a failover or a `systemctl restart postgresql` does.
        ``down_for``: seconds it stays down in between (a slow restart)."""
        data = str(self.dir / "data")
        if not down_for:
            self._run(
                self.pg_ctl, "-D", data, "-m", "fast", "-w", "restart", "-o", self._opts, "-l", str(self.dir / "log")
            )
            return
        self._run(self.pg_ctl, "-D", data, "-m", "fast", "-w", "stop")
        time.sleep(down_for)
        self._run(self.pg_ctl, "-D", data, "-o", self._opts, "-l", str(self.dir / "log"), "-w", "start")

    def stop(self) -> None:
        try:
            self._run(self.pg_ctl, "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop")
        except Exception:  # noqa: BLE001  (stopped already, or never started)
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


def database_url(backend: str, tmp: Path, cluster: Cluster | None, name: str) -> str:
    """A fresh database for a test: a SQLite file in ``tmp``, or a new database on the throwaway
    cluster (the test is skipped without one; conftest fails instead when CI must run it)."""
    import pytest

    if backend == "sqlite":
        return f"sqlite:///{tmp / (name + '.db')}"
    if cluster is None:
        pytest.skip("PostgreSQL is not available here (CI runs these tests)")
    return cluster.create_database(name)
