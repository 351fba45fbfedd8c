"""Bulk setup for the scale benchmarks (not measured): people, customers and items written with
multi-row INSERTs straight into the tables, as a company's database would hold them after a while,
and a "click" load that does what an ack does in the database (one short write under the request
deadline) to see whether background work makes clicks wait or be refused."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Self

import sqlalchemy as sa
from sqlmodel import col

from bot import audit
from bot.db import answering_within, run_in_transaction, unavailable
from bot.models import Customer, Item, Person

STATUSES = ["pending"] * 5 + ["accepted"] * 4 + ["discarded"]
CATEGORIES = ["lead", "prospect", "opportunity_intelligence", "customer_intelligence"]


def email(n: int) -> str:
    return f"person{n}@example.com"


def seed(
    engine: sa.Engine,
    *,
    people: int,
    items: int,
    now: datetime,
    rng: random.Random | None = None,
    status: str | None = None,
    next_nudge: bool = True,
    offered_within_hours: float = 500,
    chunk: int = 5_000,
) -> None:
    """``people`` people known in Slack, ``items`` items among them (customers one per 20 items),
    offered within the last three weeks. ``status``: all items in this status (else a mix).
    ``next_nudge``: the scheduler has assessed them already (steady state), else a fresh backlog.
    ``offered_within_hours``: how long ago at most they were offered."""
    rng = rng or random.Random(13)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Person.__table__),  # type: ignore[attr-defined]  # SQLModel's stubs lack __table__
            [
                {
                    "email": email(n),
                    "slack_user_id": f"U{n:07d}",
                    "name": f"Person {n}",
                    "tz": "Europe/Stockholm",
                    "active": True,
                    "not_in_slack": False,
                    "digest_enabled": True,
                    "resolved_at": now,
                }
                for n in range(people)
            ],
        )
        customers = max(items // 20, 1)
        conn.execute(
            sa.insert(Customer.__table__),  # type: ignore[attr-defined]  # SQLModel's stubs lack __table__
            [
                {
                    "name": f"Customer {c}",
                    "normalized_name": f"customer {c}",
                    "domain": f"c{c}.example",
                    "created_at": now - timedelta(days=60),
                }
                for c in range(customers)
            ],
        )
        first_customer = conn.execute(sa.select(sa.func.min(Customer.id))).scalar_one()
        if first_customer is None:  # written just above
            raise RuntimeError("no customers were written")
    for start in range(0, items, chunk):
        rows = []
        for i in range(start, min(start + chunk, items)):
            receiver, sender = rng.randrange(people), rng.randrange(people)
            state = status or rng.choice(STATUSES)
            offered = now - timedelta(hours=rng.uniform(0, offered_within_hours))
            accepted = min(offered + timedelta(hours=rng.uniform(1, 40)), now) if state == "accepted" else None
            rows.append(
                {
                    "external_key": f"bench:{i}",
                    "source": "api",
                    "event_name": "Bench Expo",
                    "customer_id": first_customer + i % customers,
                    "contact_email": f"c{i}@c{i % customers}.example",
                    "description": "Met at the stand.",
                    "customer_request_open": False,
                    "category": CATEGORIES[i % len(CATEGORIES)],
                    "checklist": {},
                    "status": state,
                    "sender_email": email(sender),
                    "sender_user_id": f"U{sender:07d}",
                    "business_builder_email": email(sender),
                    "business_builder_user_id": f"U{sender:07d}",
                    "receiver_email": email(receiver),
                    "receiver_user_id": f"U{receiver:07d}",
                    "owner_user_id": f"U{receiver:07d}" if state == "accepted" else None,
                    "follow_up_count": 0,
                    "created_at": offered,
                    "offered_at": offered,
                    "accepted_at": accepted,
                    "decided_at": accepted or (offered if state == "discarded" else None),
                    "discard_reason": "not_relevant" if state == "discarded" else None,
                    "decision_due_at": offered + timedelta(days=3),
                    "card_channel": "D1",
                    "card_ts": f"{i}.0001",
                    "version": 1,
                    "nudge_step": 0,
                    "next_nudge_at": (now + timedelta(days=rng.uniform(1, 30))) if next_nudge else None,
                }
            )
        with engine.begin() as conn:
            conn.execute(sa.insert(Item.__table__), rows)  # type: ignore[attr-defined]
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("ANALYZE")
        else:
            conn.exec_driver_sql("ANALYZE")


def item_ids(engine: sa.Engine, limit: int = 20) -> list[int]:
    """The first ``limit`` items' ids: what the clicks click."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(col(Item.id)).order_by(col(Item.id)).limit(limit))
        return [item_id for (item_id,) in rows if item_id is not None]


@dataclass
class Clicks:
    """What the clicks saw while background work ran."""

    latencies: list[float] = field(default_factory=list)
    refused: int = 0
    errors: int = 0

    @property
    def answered(self) -> int:
        return len(self.latencies)


class Clicker:
    """Clicks (one every ``interval`` s) doing an ack's database work: under the 2 s request
    deadline, a checklist tick on an item plus its audit row in one short transaction. A click whose
    transaction cannot start in time is what the bot answers "busy, try again" (refused)."""

    def __init__(self, engine: sa.Engine, item_ids: list[int], *, interval: float = 0.05) -> None:
        self.engine, self.item_ids, self.interval = engine, item_ids, interval
        self.result = Clicks()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="clicker")

    def _click(self, item_id: int, n: int) -> None:
        def work(session: Any) -> None:
            item = session.get(Item, item_id)
            item.checklist = {"painpoint": bool(n % 2)}
            session.add(item)
            audit.record(session, item_id, actor="U0000001", kind="checklist", at=item.offered_at, n=n)

        with answering_within():
            run_in_transaction(self.engine, work)

    def _run(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            started = time.perf_counter()
            try:
                self._click(self.item_ids[n % len(self.item_ids)], n)
                self.result.latencies.append(time.perf_counter() - started)
            except Exception as exc:  # noqa: BLE001 - counted, the load goes on
                if isinstance(exc, sa.exc.OperationalError) and unavailable(exc):
                    self.result.refused += 1
                else:
                    self.result.errors += 1
            self.stop.wait(self.interval)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)
