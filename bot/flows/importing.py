"""Import: every valid row of an event export becomes one item; every invalid row is reported by
line. The whole file is validated before anything is written; the valid rows are then written in
batches (:data:`BATCH` rows a transaction, in bulk: :func:`bot.flows.deliver.hand_over_many`), so
a bad neighbour never costs a good row and a crash leaves whole batches, and a re-run
(after a crash, by mistake, or of the same rows in ``leads (1).csv``) creates nothing new: each
row's key is its normalized content, or the file's id within the row's event
(:func:`bot.intake.tabular.identity_key`).

Items imported before keys were content-based carry ``import:<--event or file name>:<row key>``;
a re-import under the same --event (or file name) still finds them through
:attr:`ImportRow.legacy_key`, so no migration rewrites old keys (it could not: the row's company as
written is not stored on the item)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlmodel import Session, col, select

from bot import audit
from bot.context import Context
from bot.db import run_in_transaction
from bot.flows.deliver import hand_over, hand_over_many
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


BATCH = 500  # rows written per transaction
KEEP = 20_000  # rows kept in memory from the validating pass; a larger file is read a second time


def _defaults(event: str | None, business_builder: str | None, sender: str | None) -> dict[str, str]:
    out = {}
    if event:
        out["event"] = event
    if business_builder:
        out["business_builder_email"] = business_builder
    if sender:
        out["sender_email"] = sender
    return out


def import_file(
    ctx: Context,
    path: Path,
    *,
    event: str | None = None,
    business_builder: str | None = None,
    sender: str | None = None,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
    max_rows: int | None = MAX_ROWS,
) -> ImportSummary:
    """Import ``path``. A dry run is the very same import in one transaction that is rolled back at
    the end: it shows exactly the routing the real run will do (round-robin turns, account owners
    an admin set on existing customers) and writes nothing.

    A real run reads the whole file once before it writes anything (streamed, nothing kept but the
    count): a whole-file problem found late — a broken quote near the end, too many rows — raises
    :class:`TabularError` with nothing written, rather than after half the items were created."""
    summary = ImportSummary()
    labels = ctx.config.checklist.labels
    defaults = _defaults(event, business_builder, sender)
    legacy_scope = f"{event or Path(path).stem}"
    if not dry_run:
        kept: list[ImportRow | RowError] | None = []
        for row in iter_rows(
            path, checklist_keys=labels, defaults=defaults, warnings=summary.warnings, max_rows=max_rows
        ):
            if kept is not None:
                kept.append(row)
                if len(kept) > KEEP:
                    kept = None
        again = (
            kept
            if kept is not None
            else iter_rows(path, checklist_keys=labels, defaults=defaults, warnings=[], max_rows=max_rows)
        )
        _write(ctx, again, summary, legacy_scope, progress)
        return summary
    rows: Iterable[ImportRow | RowError] = iter_rows(
        path, checklist_keys=labels, defaults=defaults, warnings=summary.warnings, max_rows=max_rows
    )
    preview = Session(ctx.engine, expire_on_commit=False)
    try:
        for row, legacy in _valid(rows, summary, legacy_scope, progress):
            outcome = _create(preview, ctx, row, legacy)
            if outcome.status == "created":
                outcome = replace(outcome, status="would create", item_id=None)
            summary.outcomes.append(outcome)
    finally:
        preview.rollback()
        preview.close()
    return summary


def _valid(
    rows: Iterable[ImportRow | RowError],
    summary: ImportSummary,
    legacy_scope: str,
    progress: Callable[[int], None] | None,
) -> Iterator[tuple[ImportRow, str]]:
    """The rows that can be imported, each with its pre-content-key identity; errors and warnings
    go on the summary, every line counts for the progress bar."""
    for row in rows:
        if progress:
            progress(1)
        if isinstance(row, RowError):
            summary.errors.append(row)
            continue
        summary.warnings.extend(f"line {row.line}: {w}" for w in row.warnings)
        yield row, f"{Source.IMPORT.value}:{legacy_scope}:{row.legacy_key}"


def _write(
    ctx: Context,
    rows: Iterable[ImportRow | RowError],
    summary: ImportSummary,
    legacy_scope: str,
    progress: Callable[[int], None] | None,
) -> None:
    """Write the valid rows in batches, each batch one transaction (retried whole on a locked file)."""
    batch: list[tuple[ImportRow, str]] = []

    def flush() -> None:
        if batch:
            todo = list(batch)
            summary.outcomes.extend(run_in_transaction(ctx.engine, lambda s: _create_batch(s, ctx, todo)))
            batch.clear()

    for row_and_key in _valid(rows, summary, legacy_scope, progress):
        batch.append(row_and_key)
        if len(batch) >= BATCH:
            flush()
    flush()


def _create_batch(session: Session, ctx: Context, batch: list[tuple[ImportRow, str]]) -> list[RowOutcome]:
    """:func:`_create` for a batch of rows, in bulk."""
    legacy_keys = sorted({legacy for _, legacy in batch})
    old = {i.external_key: i for i in session.exec(select(Item).where(col(Item.external_key).in_(legacy_keys)))}
    fresh = [(row, legacy) for row, legacy in batch if legacy not in old]
    deliveries = iter(
        hand_over_many(session, ctx, [(row.item, row.key) for row, _ in fresh], source=Source.IMPORT, actor="import")
    )
    outcomes = []
    for row, legacy in batch:
        if legacy in old:  # imported before keys were content-based
            item = old[legacy]
            outcomes.append(
                RowOutcome(
                    line=row.line,
                    key=legacy,
                    customer=row.item.customer,
                    category=str(item.category),
                    receiver=item.receiver_email or "",
                    routing=item.routing_note or "",
                    status="already imported",
                    item_id=item.id,
                )
            )
            continue
        handed = next(deliveries)
        if handed.created:
            for warning in row.warnings:
                audit.record(
                    session,
                    handed.item_id,
                    actor="import",
                    kind="import_warning",
                    at=ctx.clock.now(),
                    text=f"line {row.line} of the imported file: {warning}",
                    line=row.line,
                )
        outcomes.append(
            RowOutcome(
                line=row.line,
                key=row.key,
                customer=row.item.customer,
                category=handed.category,
                receiver=handed.receiver_email or "",
                routing=handed.routing_note or "",
                status="created" if handed.created else "already imported",
                item_id=handed.item_id,
            )
        )
    return outcomes


def _create(session: Session, ctx: Context, row: ImportRow, legacy_key: str) -> RowOutcome:
    old = session.exec(select(Item).where(Item.external_key == legacy_key)).first()
    if old is not None:  # imported before keys were content-based
        return RowOutcome(
            line=row.line,
            key=legacy_key,
            customer=row.item.customer,
            category=str(old.category),
            receiver=old.receiver_email or "",
            routing=old.routing_note or "",
            status="already imported",
            item_id=old.id,
        )
    delivery = hand_over(session, ctx, row.item, source=Source.IMPORT, key=row.key, actor="import")
    item = delivery.item
    if delivery.created and item.id is not None:
        for warning in row.warnings:  # e.g. a note cut to the limit: said on the item too, not only in the terminal
            audit.record(
                session,
                item.id,
                actor="import",
                kind="import_warning",
                at=ctx.clock.now(),
                text=f"line {row.line} of the imported file: {warning}",
                line=row.line,
            )
    return RowOutcome(
        line=row.line,
        key=row.key,
        customer=row.item.customer,
        category=str(item.category),
        receiver=item.receiver_email or "",
        routing=item.routing_note or "",
        status="created" if delivery.created else "already imported",
        item_id=item.id,
    )


REPORT_COLUMNS = ["line", "status", "customer", "category", "receiver", "why", "item"]


def report_rows(summary: ImportSummary) -> list[list[object]]:
    """Every line of the file that became something, in line order: created, already imported,
    would create (dry run) or rejected with its reasons."""
    rows: list[tuple[int, list[object]]] = [
        (o.line, [o.line, o.status, o.customer, o.category, o.receiver, o.routing, o.item_id]) for o in summary.outcomes
    ]
    rows += [(e.line, [e.line, "rejected", "", "", "", "; ".join(e.reasons), None]) for e in summary.errors]
    return [r for _, r in sorted(rows, key=lambda pair: pair[0])]


def write_report(summary: ImportSummary, path: Path) -> None:
    """The line-numbered report as CSV. Cells come from the imported file, so anything a spreadsheet
    would run as a formula (= + - @ …) is written with a leading apostrophe (bot/csvsafe.py)."""
    from bot import csvsafe

    csvsafe.write_file(path, REPORT_COLUMNS, report_rows(summary))
