"""Engine and sessions. SQLite (WAL) is the embedded default; PostgreSQL via psycopg 3 in production."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

T = TypeVar("T")

# How long database work may wait for a locked SQLite file or a restarting PostgreSQL. Background
# work (dispatcher, scheduler, import) waits up to 30 s per attempt; a request waits only until
# its deadline (``answering_within``): Slack wants an answer within 3 s, and a clear "busy, try
# again" is better than a time-out after which the change may still happen.
BACKGROUND_BUSY_SECONDS = 30.0
REQUEST_SECONDS = 2.0
_deadline: ContextVar[float | None] = ContextVar("handover_db_deadline", default=None)
_read_only: ContextVar[bool] = ContextVar("handover_db_read_only", default=False)


@contextmanager
def answering_within(seconds: float = REQUEST_SECONDS) -> Iterator[None]:
    """The database work inside (waits and retries included) gives up after ``seconds``, raising
    the OperationalError for which :func:`unavailable` is true."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def _busy_ms() -> int:
    deadline = _deadline.get()
    if deadline is None:
        return int(BACKGROUND_BUSY_SECONDS * 1000)
    return max(1, int((deadline - time.monotonic()) * 1000))


def normalize_url(url: str) -> str:
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def make_engine(url: str, *, echo: bool = False) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            # Let SQLAlchemy, not the driver, decide when transactions begin, so BEGIN IMMEDIATE works.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            if ":memory:" not in url and url != "sqlite://":
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={int(BACKGROUND_BUSY_SECONDS * 1000)}")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # Take the write lock at the start of every transaction: read-then-write transactions
            # (claims, decisions) can then never fail half-way with "database is locked". How long
            # it waits for another writer: up to the request's deadline, or 30 s in the background.
            # Read-only work (:func:`reading`) begins DEFERRED: a WAL snapshot that takes no write
            # lock, so the dispatcher's and the scheduler's reads never make a click wait.
            conn.exec_driver_sql(f"PRAGMA busy_timeout={_busy_ms()}")
            conn.exec_driver_sql("BEGIN DEFERRED" if _read_only.get() else "BEGIN IMMEDIATE")

        return engine
    return sa.create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10)


def is_postgres(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "postgresql"


def _writer_lock(engine: Engine) -> threading.RLock | None:
    """SQLite's one write lock, mirrored in the process: the threads of one process (listeners,
    dispatcher, scheduler) queue for it here and are woken the moment it is free, instead of
    sleeping in SQLite's busy handler (growing sleeps, no order), which is what made a click wait
    past its deadline behind other writers. Other processes still meet SQLite's own lock."""
    if engine.dialect.name != "sqlite":
        return None
    lock = engine.__dict__.get("_handover_writer_lock")
    if lock is None:
        lock = engine.__dict__.setdefault("_handover_writer_lock", threading.RLock())
    return lock


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commits on success, rolls back on any error. On SQLite, the writers of
    this process take turns (:func:`_writer_lock`), waiting at most as long as SQLite would."""
    lock = _writer_lock(engine)
    if lock is not None and not lock.acquire(timeout=_busy_ms() / 1000):
        raise OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked"))
    try:
        with Session(engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
    finally:
        if lock is not None:
            lock.release()


@contextmanager
def reading(engine: Engine) -> Iterator[Session]:
    """A read-only unit of work, rolled back at the end. On SQLite it begins DEFERRED (a consistent
    snapshot without the write lock), so long reads — a digest's content, a report — never hold
    up writers; PostgreSQL readers never block writers anyway. Nothing may be written inside."""
    token = _read_only.set(True)
    try:
        with Session(engine, expire_on_commit=False) as session:
            try:
                yield session
            finally:
                session.rollback()
    finally:
        _read_only.reset(token)


def unavailable(exc: BaseException) -> bool:
    """The database is locked, restarting or unreachable (not a bug): say "busy, try again"."""
    return isinstance(exc, OperationalError) and _transient(exc)


def _transient(exc: OperationalError) -> bool:
    text = str(exc.orig).lower() if exc.orig is not None else str(exc).lower()
    markers = (
        "database is locked",
        "could not serialize",
        "deadlock detected",
        "terminating connection",
        "server closed the connection",
        "connection refused",
        "connection is closed",
        "the database system is starting up",
        "the database system is shutting down",
        "consuming input failed",
    )
    return any(m in text for m in markers)


def run_in_transaction(engine: Engine, work: Callable[[Session], T], *, attempts: int = 5) -> T:
    """Run ``work`` in a transaction, retrying transient database trouble (a locked SQLite file,
    a restarted PostgreSQL). ``work`` must be safe to run again: it only sees its own transaction.
    Inside ``answering_within`` it retries until that deadline instead of ``attempts`` times."""
    delay = 0.05
    deadline = _deadline.get()
    attempt = 0
    while True:
        attempt += 1
        try:
            with transaction(engine) as session:
                return work(session)
        except OperationalError as exc:
            if not _transient(exc):
                raise
            if (time.monotonic() + delay >= deadline) if deadline is not None else attempt >= attempts:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


_ONCE: dict[tuple[str, str], sa.Insert] = {}  # by dialect and table: built once, run with each call's values


def insert_once(session: Session, model: type, **values: object) -> bool:
    """INSERT … ON CONFLICT DO NOTHING: True when this call inserted the row. Two schedulers racing
    to claim the same thing (a digest for a week, a review round) both succeed; only one inserts."""
    table: sa.Table = model.__table__  # type: ignore[attr-defined]  # SQLModel's stubs do not declare __table__
    conn = session.connection()
    statement = _ONCE.get((conn.dialect.name, table.name))
    if statement is None:
        insert = postgresql.insert if is_postgres(conn) else sqlite.insert
        statement = _ONCE[(conn.dialect.name, table.name)] = (
            insert(table).on_conflict_do_nothing().returning(*table.primary_key.columns)
        )  # rowcount: unreliable on psycopg
    return conn.execute(statement, values).first() is not None
