"""What ``handover report`` and ``handover export`` print and write (the commands are in bot/cli.py)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bot import csvsafe, export, reports
from bot.config import Config
from bot.context import Context
from bot.db import transaction


def period(config: Config, now: datetime, first: date | None, last_exclusive: date | None) -> tuple[datetime, datetime]:
    """``--from``/``--to`` as company-time-zone midnights, [from, to); by default the last 7 days
    including today."""
    if first is None and last_exclusive is None:
        return reports.last_days(config, now, 7)
    if last_exclusive is None:
        last_exclusive = now.astimezone(config.tz).date() + timedelta(days=1)
    if first is None:
        first = last_exclusive - timedelta(days=7)
    return reports.days_period(config, first, last_exclusive)


def report(ctx: Context, *, start: datetime, end: datetime, by: str, event: str | None) -> reports.Report:
    with transaction(ctx.engine) as session:
        return reports.compute(session, ctx.config, start, end, by=by, event=event)


def print_report(console: Console, result: reports.Report, config: Config) -> None:
    title = f"Handover report · {reports.describe_period(result.start, result.end, config)}"
    if result.event:
        title += f" · event “{result.event}”"
    if result.by != "none":
        title += f" · by {result.by.replace('_', ' ')}"
    table = Table(title=escape(title), title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column(result.by.replace("_", " ") if result.by != "none" else "", overflow="fold", min_width=12)
    for name in ("items", "accepted", "med/p90 h", "rec/disc", "followed up", "f-ups", "useful", "opp/won"):
        table.add_column(name, justify="right")
    groups = result.groups if result.by != "none" else []
    for g in [*groups, result.total]:
        table.add_row(
            escape(g.group),
            str(g.handed_over),
            f"{g.accepted} ({reports.pct(g.accept_rate)})",
            f"{_num(g.median_accept_hours)}/{_num(g.p90_accept_hours)}",
            f"{g.recategorized}/{g.discarded}",
            f"{g.followed_up} ({reports.pct(g.follow_up_rate)})",
            str(g.follow_ups),
            f"{_num(g.usefulness_mean)} ({g.feedback})",
            f"{g.opportunities}/{g.won}",
            end_section=bool(groups) and g is groups[-1],
            style="bold" if g is result.total else None,
        )
    console.print(table)
    if result.total.reasons:
        reasons = Table(title="Discard reasons", title_justify="left", box=box.SIMPLE_HEAD)
        reasons.add_column("reason")
        reasons.add_column("discards", justify="right")
        for label in result.reason_labels:
            reasons.add_row(escape(label), str(result.total.reasons[label]))
        console.print(reasons)
    t = result.total
    console.print(
        f"items: handed over in the period (what happened to them since counts) · accepted: at least "
        f"once, % of items (field average {reports.pct(reports.FIELD_ACCEPT_RATE)}) · med/p90 h: median "
        f"and 90th percentile of hours from handover to first acceptance · rec/disc: recategorizations/"
        f"discards ({t.justified} of {t.discarded} discards justified) · followed up: % of accepted · "
        f"f-ups: follow-ups recorded · useful: mean feedback score 1–5 (answers) · opp/won: items that "
        f"became an opportunity/were won",
        style="dim",
    )


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def write_report_csv(result: reports.Report, path: Path) -> None:
    header, rows = reports.csv_table(result)
    csvsafe.write_file(path, header, rows)


def export_text(ctx: Context, item_ids: list[int], fmt: str) -> tuple[str, list[int]]:
    """The export of ``item_ids`` in ``fmt`` (csv or json), and the ids that do not exist."""
    with transaction(ctx.engine) as session:
        records = export.histories(session, item_ids)
    found = {r["item"]["id"] for r in records}
    missing = [i for i in item_ids if i not in found]
    text = export.to_csv(records) if fmt == "csv" else export.to_json(records, exported_at=ctx.clock.now())
    return text, missing


def ids_since(ctx: Context, since: date | None) -> list[int]:
    """Items handed over on or after ``since`` (a company-time-zone day); every item without it."""
    with transaction(ctx.engine) as session:
        return export.item_ids_since(session, reports.day_start(since, ctx.config) if since else None)
