"""Import: every valid row of an event export becomes one item; every invalid row is reported by
line. Each row is its own transaction, so a bad neighbour never costs a good row, and a re-run
(after a crash, by mistake, or of the same rows in ``leads (1).csv``) creates nothing new: each
row's key is its normalized content, or the file's id within the row's event
(:func:`bot.intake.tabular.identity_key`).

Items imported before keys were content-based carry ``import:<--event or file name>:<row key>``;
a re-import under the same --event (or file name) still finds them through
:attr:`ImportRow.legacy_key`, so no migration rewrites old keys (it could not: the row's company as
written is not stored on the item)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlmodel import Session, select

from bot import audit
from bot.context import Context
from bot.db import run_in_transaction
from bot.flows.deliver import hand_over
from bot.ids import Source
from bot.intake.tabular import MAX_ROWS, ImportRow, RowError, iter_rows
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
                progress: Callable[[int], None] | None = None, max_rows: int | None = MAX_ROWS) -> ImportSummary:
    """Import ``path``. A dry run is the very same import in one transaction that is rolled back at
    the end: it shows exactly the routing the real run will do (round-robin turns, account owners
    an admin set on existing customers) and writes nothing.

    A real run reads the whole file once before it writes anything (streamed, nothing kept but the
    count): a whole-file problem found late — a broken quote near the end, too many rows — raises
    :class:`TabularError` with nothing written, rather than after half the items were created."""
    summary = ImportSummary()
    labels = ctx.config.checklist.labels
    defaults = _defaults(event, business_builder, sender)
    if not dry_run:
        for _ in iter_rows(path, checklist_keys=labels, defaults=defaults, warnings=summary.warnings,
                           max_rows=max_rows):
            pass
    rows: Iterable[ImportRow | RowError] = iter_rows(path, checklist_keys=labels, defaults=defaults,
                                                      warnings=summary.warnings if dry_run else [],
                                                      max_rows=max_rows)
    legacy_scope = f"{event or Path(path).stem}"
    preview = Session(ctx.engine, expire_on_commit=False) if dry_run else None
    try:
        for row in rows:
            if progress:
                progress(1)
            if isinstance(row, RowError):
                summary.errors.append(row)
                continue
            summary.warnings.extend(f"line {row.line}: {w}" for w in row.warnings)
            legacy = f"{Source.IMPORT.value}:{legacy_scope}:{row.legacy_key}"
            if preview is not None:
                outcome = _create(preview, ctx, row, legacy)
                if outcome.status == "created":
                    outcome = replace(outcome, status="would create", item_id=None)
            else:
                outcome = run_in_transaction(ctx.engine, lambda s, r=row, k=legacy: _create(s, ctx, r, k))
            summary.outcomes.append(outcome)
    finally:
        if preview is not None:
            preview.rollback()
            preview.close()
    return summary


def _create(session: Session, ctx: Context, row: ImportRow, legacy_key: str) -> RowOutcome:
    old = session.exec(select(Item).where(Item.external_key == legacy_key)).first()
    if old is not None:  # imported before keys were content-based
        return RowOutcome(line=row.line, key=legacy_key, customer=row.item.customer, category=str(old.category),
                          receiver=old.receiver_email or "", routing=old.routing_note or "",
                          status="already imported", item_id=old.id)
    delivery = hand_over(session, ctx, row.item, source=Source.IMPORT, key=row.key, actor="import")
    item = delivery.item
    if delivery.created and item.id is not None:
        for warning in row.warnings:  # e.g. a note cut to the limit: said on the item too, not only in the terminal
            audit.record(session, item.id, actor="import", kind="import_warning", at=ctx.clock.now(),
                         text=f"line {row.line} of the imported file: {warning}", line=row.line)
    return RowOutcome(line=row.line, key=row.key, customer=row.item.customer, category=str(item.category),
                      receiver=item.receiver_email or "", routing=item.routing_note or "",
                      status="created" if delivery.created else "already imported", item_id=item.id)


REPORT_COLUMNS = ["line", "status", "customer", "category", "receiver", "why", "item"]


def report_rows(summary: ImportSummary) -> list[list[object]]:
    """Every line of the file that became something, in line order: created, already imported,
    would create (dry run) or rejected with its reasons."""
    rows: list[tuple[int, list[object]]] = [
        (o.line, [o.line, o.status, o.customer, o.category, o.receiver, o.routing, o.item_id]) for o in summary.outcomes]
    rows += [(e.line, [e.line, "rejected", "", "", "", "; ".join(e.reasons), None]) for e in summary.errors]
    return [r for _, r in sorted(rows, key=lambda pair: pair[0])]


def write_report(summary: ImportSummary, path: Path) -> None:
    """The line-numbered report as CSV. Cells come from the imported file, so anything a spreadsheet
    would run as a formula (= + - @ …) is written with a leading apostrophe (bot/csvsafe.py)."""
    from bot import csvsafe
    csvsafe.write_file(path, REPORT_COLUMNS, report_rows(summary))
