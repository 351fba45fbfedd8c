"""Import: every valid row of an event export becomes one item; every invalid row is reported by
line. Each row is its own transaction, so a bad neighbour never costs a good row, and a re-run
(after a crash, or by mistake) creates nothing new: each row has a stable key."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import select

from bot.context import Context
from bot.db import run_in_transaction
from bot.flows.deliver import hand_over, plan
from bot.ids import Source
from bot.intake.tabular import ImportRow, RowError, iter_rows
from bot.models import Item


@dataclass
class RowOutcome:
    line: int
    key: str
    customer: str
    category: str
    receiver: str
    routing: str
    status: str  # "created", "already imported", "would create" (dry run)
    item_id: int | None = None


@dataclass
class ImportSummary:
    outcomes: list[RowOutcome] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def created(self) -> int:
        return sum(1 for o in self.outcomes if o.status == "created")

    @property
    def existing(self) -> int:
        return sum(1 for o in self.outcomes if o.status == "already imported")


def _defaults(event: str | None, business_builder: str | None, sender: str | None) -> dict[str, str]:
    out = {}
    if event:
        out["event"] = event
    if business_builder:
        out["business_builder_email"] = business_builder
    if sender:
        out["sender_email"] = sender
    return out


def import_file(ctx: Context, path: Path, *, event: str | None = None, business_builder: str | None = None,
                sender: str | None = None, dry_run: bool = False,
                progress: Callable[[int], None] | None = None) -> ImportSummary:
    summary = ImportSummary()
    labels = ctx.config.checklist.labels
    rows: Iterable[ImportRow | RowError] = iter_rows(path, checklist_keys=labels,
                                                      defaults=_defaults(event, business_builder, sender),
                                                      warnings=summary.warnings)
    scope = f"{event or path.stem}"
    turns: dict[str, int] = {}  # dry run: round-robin turns the rows before this one would have taken
    for row in rows:
        if progress:
            progress(1)
        if isinstance(row, RowError):
            summary.errors.append(row)
            continue
        key = f"{scope}:{row.key}"
        if dry_run:
            summary.outcomes.append(_preview(ctx, row, key, turns))
        else:
            summary.outcomes.append(run_in_transaction(ctx.engine, lambda s, r=row, k=key: _create(s, ctx, r, k)))
    return summary


def _create(session, ctx: Context, row: ImportRow, key: str) -> RowOutcome:  # noqa: ANN001
    delivery = hand_over(session, ctx, row.item, source=Source.IMPORT, key=key, actor="import")
    item = delivery.item
    return RowOutcome(line=row.line, key=key, customer=row.item.customer, category=str(item.category),
                      receiver=item.receiver_email or "", routing=item.routing_note or "",
                      status="created" if delivery.created else "already imported", item_id=item.id)


def _preview(ctx: Context, row: ImportRow, key: str, turns: dict[str, int]) -> RowOutcome:
    def look(session):  # noqa: ANN001
        existing = session.exec(select(Item).where(Item.external_key == f"{Source.IMPORT.value}:{key}")).first()
        if existing is not None:
            return RowOutcome(row.line, key, row.item.customer, str(existing.category), existing.receiver_email or "",
                              existing.routing_note or "", "already imported", existing.id)
        category, route = plan(session, ctx.config, row.item)
        session.rollback()  # a dry run must not even move the round-robin cursor
        receiver = route.receiver_email
        if route.team_key:
            # the cursor was not moved, so each preview would name the same member: shift by the turns
            # the earlier rows of this file would have taken, as the real import does
            members = list(ctx.config.team(route.team_key).members)
            if receiver in members:
                receiver = members[(members.index(receiver) + turns.get(route.team_key, 0)) % len(members)]
            turns[route.team_key] = turns.get(route.team_key, 0) + 1
        return RowOutcome(row.line, key, row.item.customer, category.value, receiver, route.note,
                          "would create")
    return run_in_transaction(ctx.engine, look)
