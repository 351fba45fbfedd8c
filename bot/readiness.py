"""Is the database ready for a command? One sentence when it is not (no schema yet, an older
schema, no database file, no connection) — never a traceback from deep inside a query.

Checking never creates anything: a SQLite file that does not exist is reported, not created (a
connection would create an empty one)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError


def missing_sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names when it does not exist yet (None for other databases, memory)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or not parsed.database or parsed.database == ":memory:":
        return None
    path = Path(parsed.database)
    return None if path.exists() else path


def problem(engine: Engine) -> str | None:
    """One line saying why the database is not ready for Handover's commands (None: it is)."""
    from bot import migrate, texts

    missing = missing_sqlite_file(str(engine.url))
    if missing is not None:
        return texts.say("intake.j2", "not_ready", kind="no_file", detail=str(missing))
    try:
        current = migrate.current(engine)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        return texts.say(
            "intake.j2",
            "not_ready",
            kind="unreachable",
            detail=f"{type(exc).__name__}: {reason[0] if reason else ''}"[:200],
        )
    head = migrate.head()
    if current is None:
        return texts.say("intake.j2", "not_ready", kind="no_schema", detail="")
    if current != head:
        return texts.say("intake.j2", "not_ready", kind="old_schema", detail=f"{current} (this version needs {head})")
    return None
