"""The App Home's data: a person's desk and, for an admin, the outbox's health."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot import outbox_admin
from bot.config import Config
from bot.flows import home


@dataclass(frozen=True)
class HomeData:
    desk: dict[str, Any]  # bot.flows.home.desk: the person's numbers, their parts and their teams'
    outbox: outbox_admin.Health | None  # for admins only (else None)


def load(session: Session, config: Config, user_id: str, now: datetime, *, email: str | None = None) -> HomeData:
    desk = home.desk(session, config, user_id, now, email=email)
    queue = outbox_admin.health(session, now) if config.is_admin(email) else None
    return HomeData(desk=desk, outbox=queue)
