"""Routing: which receiver an item is offered to.

Rules come from the configuration and are tried in order; the first that yields a receiver wins.
A rule sends to the customer's account owner, a named person, the sender, or a team (round robin
among its members). When no rule matches, the configured fallback receives the item: nothing is
ever unrouted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col

from bot.config import Config
from bot.db import insert_once
from bot.ids import Category
from bot.models import RoutingCursor


@dataclass(frozen=True)
class Facts:
    """What routing looks at."""

    category: Category
    region: str | None = None
    product_area: str | None = None
    account_owner_email: str | None = None
    sender_email: str | None = None


@dataclass(frozen=True)
class Route:
    receiver_email: str
    team_key: str | None
    note: str  # why, in words: shown in --dry-run and in the audit trail


def _matches(values: Sequence[str] | None, actual: str | None) -> bool:
    if not values:
        return True
    return actual is not None and actual.strip().lower() in {v.lower() for v in values}


def next_in_rotation(session: Session, team_key: str, size: int) -> int:
    """Atomically advance a team's round-robin cursor and return the member index to use."""
    return (_advance(session, team_key) - 1) % size


def _advance(session: Session, team_key: str) -> int:
    """Advance a team's cursor by one (row-locked until commit) and return its new position."""
    insert_once(session, RoutingCursor, team_key=team_key, position=0)
    position = session.execute(
        sa.update(RoutingCursor)
        .where(col(RoutingCursor.team_key) == team_key)
        .values(position=RoutingCursor.position + 1)
        .returning(col(RoutingCursor.position))
    ).scalar_one()
    return int(position)


class BatchRotation:
    """Round-robin turns for many items in one transaction (a batch of an import): the first turn
    of a team advances its cursor in the database as :func:`next_in_rotation` does (taking the row
    lock, held to the end of the transaction), later turns count on in memory, and :meth:`save`
    writes the final position before commit. The turns are the ones one-by-one routing gives."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.positions: dict[str, int] = {}
        self.moved: set[str] = set()

    def __call__(self, session: Session, team_key: str, size: int) -> int:
        if team_key not in self.positions:
            self.positions[team_key] = _advance(session, team_key)
            return (self.positions[team_key] - 1) % size
        self.positions[team_key] += 1
        self.moved.add(team_key)
        return (self.positions[team_key] - 1) % size

    def save(self) -> None:
        for team_key in sorted(self.moved):
            self.session.execute(
                sa.update(RoutingCursor)
                .where(col(RoutingCursor.team_key) == team_key)
                .values(position=self.positions[team_key])
            )
        self.moved.clear()


def route(
    session: Session,
    config: Config,
    facts: Facts,
    *,
    avoid: set[str] | None = None,
    rotate: Callable[[Session, str, int], int] = next_in_rotation,
) -> Route:
    avoid = {a.lower() for a in (avoid or set())}
    for number, rule in enumerate(config.routing.rules, start=1):
        when = rule.when
        if not (
            _matches(when.category, facts.category.value)
            and _matches(when.region, facts.region)
            and _matches(when.product_area, facts.product_area)
        ):
            continue
        target = rule.to
        label = f"rule {number}"
        if target.kind == "account_owner":
            if facts.account_owner_email and facts.account_owner_email.lower() not in avoid:
                return Route(facts.account_owner_email, None, f"{label}: the customer's account owner")
            continue
        if target.kind == "sender":
            if facts.sender_email and facts.sender_email.lower() not in avoid:
                return Route(facts.sender_email, None, f"{label}: back to the sender")
            continue
        if target.kind == "person":
            if target.person and target.person.lower() not in avoid:
                return Route(target.person, None, f"{label}: {target.person}")
            continue
        if target.kind == "team":
            team = config.team(target.team)
            members = [m for m in team.members if m.lower() not in avoid] or list(team.members)
            if not members:
                continue
            index = rotate(session, team.key, len(members))
            return Route(members[index], team.key, f"{label}: team {team.name} (round robin)")
    fallback = config.routing.fallback
    return Route(fallback, None, "no rule matched: the fallback receiver")
