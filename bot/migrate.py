"""Schema migrations (Alembic, in migrations/). The schema is never created any other way."""

from __future__ import annotations

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy.engine import Engine

from bot import resources


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    # the wheel's bot/_migrations, or the source tree's migrations/ (a real directory: Alembic needs one)
    cfg.set_main_option("script_location", str(resources.directory(resources.MIGRATIONS)))
    cfg.attributes["url"] = url
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    with engine.begin() as connection:
        cfg = alembic_config(str(engine.url))
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def current(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
