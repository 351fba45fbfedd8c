"""The test bench: the real web app on loopback, the Slack fake, a database, a movable clock.

Tests act as Slack does (signed HTTP requests through ``bot.agent``) and look at what a person
would notice: messages the fake received, rows in the database, the audit trail.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, select

from bot.clock import FakeClock
from bot.config import Config
from bot.context import Context
from bot.fakeslack import FakeSlack, FakeUser, SlackAgent
from bot.fakeslack.directory import directory, emails_in  # noqa: F401  (tests import them from here)
from bot.models import Item, ItemEvent, Outbox
from bot.slack.dispatcher import Dispatcher

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday, 09:00 in Stockholm

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"
API_TOKEN = "test-api-token-123"


@dataclass
class Bench:
    ctx: Context
    fake: FakeSlack
    agent: SlackAgent
    url: str
    clock: FakeClock
    default_config: Config
    users: dict[str, str] = field(default_factory=dict)  # e-mail -> Slack user id
    web: Any = None  # the FastAPI app behind ``url`` (its memory of wrong API tokens is wiped per test)

    # ----- people --------------------------------------------------------------------------
    def user(self, email: str) -> str:
        return self.users[email.lower()]

    def add_user(self, email: str, *, tz: str = "Europe/Stockholm", deleted: bool = False) -> str:
        uid = f"U{900 + len(self.users)}"
        name = email.split("@")[0]
        self.fake.add_user(
            FakeUser(id=uid, email=email.lower(), name=name, real_name=name.title(), tz=tz, deleted=deleted)
        )
        self.users[email.lower()] = uid
        return uid

    # ----- time and delivery ------------------------------------------------------------------
    def deliver(self) -> None:
        """Let the outbox send everything that is due (what the background dispatcher does)."""
        Dispatcher(self.ctx).run_until_idle()

    # ----- database ------------------------------------------------------------------------
    @contextmanager
    def db(self) -> Iterator[Session]:
        with Session(self.ctx.engine, expire_on_commit=False) as session:
            yield session

    def items(self) -> list[Item]:
        with self.db() as s:
            return list(s.exec(select(Item).order_by(Item.id)))

    def item(self, item_id: int) -> Item:
        with self.db() as s:
            return s.get(Item, item_id)

    def trail(self, item_id: int) -> list[ItemEvent]:
        with self.db() as s:
            return list(s.exec(select(ItemEvent).where(ItemEvent.item_id == item_id).order_by(ItemEvent.id)))

    def outbox(self) -> list[Outbox]:
        with self.db() as s:
            return list(s.exec(select(Outbox).order_by(Outbox.id)))

    # ----- Slack, as a person sees it ------------------------------------------------------------
    def dm(self, email_or_user: str) -> list[Any]:
        """Messages in the bot's DM with a person, oldest first (thread replies included)."""
        uid = self.users.get(email_or_user.lower(), email_or_user)
        return self.fake.messages(channel=self.fake.dm_channel_for(uid))

    def card(self, item_id: int) -> Any:
        item = self.item(item_id)
        assert item.card_ts, f"item {item_id} has no card yet"
        return self.fake.message(item.card_channel, item.card_ts)

    def reset(self) -> None:
        self.fake.reset()
        self.clock.set(START)
        self.ctx.config = self.default_config
        wipe(self.ctx.engine)
        if self.web is not None:
            self.web.state.failed_auth.reset()


def wipe(engine: sa.Engine) -> None:
    tables = [t for t in reversed(SQLModel.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("TRUNCATE " + ", ".join(f'"{t.name}"' for t in tables) + " RESTART IDENTITY CASCADE")
        else:
            for t in tables:
                conn.execute(t.delete())
            conn.exec_driver_sql("DELETE FROM sqlite_sequence") if _has_sequence(conn) else None


def _has_sequence(conn: sa.Connection) -> bool:
    return conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE name='sqlite_sequence'").first() is not None
