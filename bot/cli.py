"""The `handover` command."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from bot.cli_support import console, context, err, ready_context
from bot.customers_cli import customers_app
from bot.logs import setup_logging
from bot.terminal import print_import

app = typer.Typer(
    help="Handover: no customer information handed from marketing to sales gets lost.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="The database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _show_version(value: bool) -> None:
    if value:
        from bot.version import version

        console.print(f"handover {version()}", highlight=False)
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Show Handover's version and stop.")
    ] = False,
) -> None:
    """Handover: no customer information handed from marketing to sales gets lost."""


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the migrations in migrations/ to DATABASE_URL."""
    from bot import migrate

    ctx = context()
    migrate.upgrade(ctx.engine, revision)
    console.print(f"Database at revision [bold]{migrate.current(ctx.engine)}[/].")


@db_app.command("current")
def db_current() -> None:
    """Show the database's migration revision and the newest one."""
    from bot import migrate

    ctx = context()
    console.print(f"current: {migrate.current(ctx.engine)}   head: {migrate.head()}")


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV or XLSX export")],
    event: Annotated[str | None, typer.Option(help="Source event, e.g. 'Global Event 2026'")] = None,
    business_builder: Annotated[
        str | None, typer.Option(help="E-mail of the Business Builder for rows that name none")
    ] = None,
    sender: Annotated[str | None, typer.Option(help="E-mail of the person handing the items over")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would happen, change nothing")] = False,
    deliver: Annotated[bool, typer.Option(help="Send the cards now (otherwise a running server sends them)")] = True,
    report: Annotated[
        Path | None, typer.Option(dir_okay=False, help="Also write the line-by-line report to this CSV file")
    ] = None,
    max_rows: Annotated[int, typer.Option(help="Refuse files with more data rows than this")] = 100_000,
) -> None:
    """Import an event's export: one item per valid row, a line-numbered report of the rest."""
    from bot.flows.importing import import_file, write_report
    from bot.intake.tabular import TabularError, count_rows

    ctx = ready_context()
    try:
        total = count_rows(file)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
            disable=total < 200,
        ) as progress:
            task = progress.add_task("Importing", total=total)
            summary = import_file(
                ctx,
                file,
                event=event,
                business_builder=business_builder,
                sender=sender,
                dry_run=dry_run,
                progress=lambda n: progress.advance(task, n),
                max_rows=max_rows,
            )
    except TabularError as exc:
        err.print(f"[bold red]{escape(str(file))}:[/] {escape(str(exc))}")  # the file's words are not markup
        err.print("Nothing was imported.")
        raise typer.Exit(2) from None
    print_import(summary, dry_run=dry_run, console=console)
    if report:
        write_report(summary, report)
        console.print(f"Wrote the line-by-line report to {escape(str(report))}.")
    new = [o.item_id for o in summary.outcomes if o.status == "created" and o.item_id is not None]
    if new and not dry_run:
        # saved and queued already: one short, quiet attempt to send, then say plainly what happened
        from bot import texts
        from bot.slack import handoff

        cards = handoff.deliver_briefly(ctx, new) if deliver else handoff.queued(ctx, new)
        console.print(
            escape(
                texts.say(
                    "intake.j2",
                    "cards",
                    delivered=cards.delivered,
                    queued=cards.queued,
                    why=cards.why,
                    attempted=cards.attempted,
                    trouble=cards.trouble,
                )
            ),
            soft_wrap=True,
        )
    raise typer.Exit(1 if summary.errors else 0)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Run the web app: /slack/events, /api/items, /healthz (and the dispatcher and scheduler)."""
    import uvicorn

    from bot.runtime import Background, bolt_app
    from bot.web import create_web_app

    ctx = ready_context()
    setup_logging(ctx.settings)
    web = create_web_app(ctx, bolt_app(ctx))
    background = Background(ctx, scheduler=ctx.settings.run_scheduler).start()
    try:
        # access_log off: the app writes one access line per request itself, with its request id
        uvicorn.run(
            web, host=host or ctx.settings.host, port=port or ctx.settings.port, log_config=None, access_log=False
        )
    finally:
        background.shutdown()


@app.command()
def socket() -> None:
    """Run over Socket Mode (no public URL needed). Slack signs nothing here: the app token is the trust."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.runtime import Background, bolt_app

    ctx = ready_context()
    setup_logging(ctx.settings)
    if not ctx.settings.app_token:
        err.print("SLACK_APP_TOKEN (xapp-…) is needed for Socket Mode.")
        raise typer.Exit(2)
    background = Background(ctx, scheduler=ctx.settings.run_scheduler).start()
    try:
        SocketModeHandler(bolt_app(ctx), ctx.settings.app_token).start()
    finally:
        background.shutdown()


@app.command()
def dispatch() -> None:
    """Send everything waiting in the outbox now, then stop."""
    from bot import outbox
    from bot.slack.dispatcher import Dispatcher

    ctx = ready_context()
    Dispatcher(ctx).run_until_idle()
    console.print(f"{outbox.pending_count(ctx.engine)} message(s) still waiting (retrying later).")
    from bot.outbox_admin import read_health

    if dead := read_health(ctx.engine, ctx.clock.now()).dead:
        console.print(
            f"{dead} message(s) dead: `handover outbox list` shows why, `handover outbox retry` sends them again."
        )
    if ctx.config.webhooks.endpoints:
        from bot.webhooks.sender import WebhookSender

        WebhookSender(ctx).run_until_idle()  # its own threads: a slow endpoint did not hold the messages above


@app.command()
def scheduler(
    once: Annotated[bool, typer.Option("--once", help="Run one tick now and stop")] = False,
) -> None:
    """Run the service-level clock: reminders, escalations, follow-up reminders, unanswered questions."""
    from bot.scheduler import run_blocking, tick

    ctx = ready_context()
    setup_logging(ctx.settings)
    if once:
        done = tick(ctx)
        console.print(
            f"{len(done.reminders)} reminder(s), {len(done.escalations)} escalation(s), "
            f"{len(done.follow_ups)} follow-up reminder(s), {len(done.reassigned)} reassigned, "
            f"{len(done.reasked)} question(s) re-asked, {len(done.unanswered)} unanswered."
        )
        return
    console.print("Scheduler running (one tick a minute); Ctrl-C stops it.")
    run_blocking(ctx)


@app.command()
def report(
    from_: Annotated[
        datetime | None, typer.Option("--from", formats=["%Y-%m-%d"], help="First day (default: 7 days ago)")
    ] = None,
    to: Annotated[
        datetime | None,
        typer.Option("--to", formats=["%Y-%m-%d"], help="Day after the last (exclusive; default: tomorrow)"),
    ] = None,
    by: Annotated[
        str, typer.Option(help="event, sender, business_builder, receiver, team, region, category or none")
    ] = "none",
    event: Annotated[str | None, typer.Option(help="Only items of this event (part of its name)")] = None,
    csv: Annotated[
        Path | None, typer.Option("--csv", dir_okay=False, help="Also write the figures to this CSV file")
    ] = None,
) -> None:
    """Acceptance, time to accept, discards, follow-up, feedback and outcome of the items handed over in a period."""
    from bot import report_cli, reports

    if by not in reports.DIMENSIONS:
        err.print(f"--by must be one of: {', '.join(reports.DIMENSIONS)}")
        raise typer.Exit(2)
    ctx = ready_context()
    start, end = report_cli.period(
        ctx.config, ctx.clock.now(), from_.date() if from_ else None, to.date() if to else None
    )
    if end <= start:
        err.print("--to must be after --from.")
        raise typer.Exit(2)
    result = report_cli.report(ctx, start=start, end=end, by=by, event=event)
    report_cli.print_report(console, result, ctx.config)
    if csv:
        report_cli.write_report_csv(result, csv)
        console.print(f"Wrote {csv}.")


@app.command("export")
def export_(
    item_id: Annotated[int | None, typer.Argument(help="The item's number (#12)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or json")] = "json",
    all_: Annotated[bool, typer.Option("--all", help="Every item handed over since --since")] = False,
    since: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="With --all: from this day on")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", dir_okay=False, help="Write here instead of printing")
    ] = None,
) -> None:
    """An item's fields and full history (audit trail, questions, follow-ups, feedback) for a CRM."""
    import sys

    from bot import report_cli

    if fmt not in ("csv", "json") or (item_id is None) == (not all_):
        err.print("Give one ITEM_ID, or --all [--since DATE]; --format csv or json.")
        raise typer.Exit(2)
    ctx = ready_context()
    ids = [item_id] if item_id is not None else report_cli.ids_since(ctx, since.date() if since else None)
    text, missing = report_cli.export_text(ctx, ids, fmt)
    if missing:
        err.print(f"No item #{', #'.join(map(str, missing))}.")
        raise typer.Exit(1)
    if output:
        output.write_text(text, encoding="utf-8", newline="")
        console.print(f"Wrote {len(ids)} item(s) to {output}.")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


@app.command()
def doctor() -> None:
    """Check configuration, database, Slack token and scopes; say exactly what is wrong."""
    from bot.doctor import run_checks

    ok = run_checks(console)
    raise typer.Exit(0 if ok else 1)


@app.command()
def demo(
    pause: Annotated[float, typer.Option(help="Seconds between steps")] = 0.0,
) -> None:
    """A complete scripted handover on SQLite against the built-in Slack stand-in. Needs no settings."""
    from bot.demo import run_demo

    run_demo(console, pause=pause)


@app.command()
def sandbox(
    port: Annotated[int, typer.Option(help="The page's port")] = 8765,
    host: Annotated[str, typer.Option(help="Address to bind; loopback unless you mean it")] = "127.0.0.1",
    start: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d"],
            help="Where the clock starts, company time (default: this week's second working day 09:00)",
        ),
    ] = None,
) -> None:
    """The real bot against the built-in Slack stand-in, with a browser workspace and a clock to move. Needs no settings."""
    import uvicorn

    from bot.config import load_config
    from bot.sandbox import Sandbox
    from bot.sandbox.web import create_sandbox_app

    when = start.replace(tzinfo=load_config(None).tz) if start is not None and start.tzinfo is None else start
    sb = Sandbox(start=when).start()
    url = f"http://{host}:{port}/"
    console.print(f"[bold]Handover sandbox[/]: open [bold cyan]{url}[/]")
    console.print(
        f"Bound to {host} ({'loopback only: nobody else can reach it' if host == '127.0.0.1' else 'REACHABLE FROM OTHER MACHINES'}). "
        f"The bot runs at {sb.bot_url} on a temporary SQLite database ({sb.tmp}); "
        "every click is a signed request to its /slack/events. A development and evaluation tool, "
        "not for real data. Ctrl-C stops it."
    )
    try:
        uvicorn.run(
            create_sandbox_app(sb, loopback_only=host in ("127.0.0.1", "localhost", "::1")),
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            log_level="warning",
        )
    finally:
        sb.stop()


app.add_typer(customers_app, name="customers")


outbox_app = typer.Typer(help="Messages waiting for Slack, and dead ones: list, retry, discard.", no_args_is_help=True)
app.add_typer(outbox_app, name="outbox")


def _operator() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001  (no login name in a bare container)
        return "operator"


def _kind_option(kind: str | None) -> str | None:
    from bot.outbox import Kind

    if kind is not None and kind not in {k.value for k in Kind}:
        err.print(f"--kind must be one of: {', '.join(k.value for k in Kind)}")
        raise typer.Exit(2)
    return kind


def _chosen(choose: Callable[[], list[int]]) -> list[int]:
    """The outbox rows a retry or discard took: exit 2 when the call chose none by its words, 1 when none matched."""
    from bot import outbox_admin

    try:
        chosen = choose()
    except outbox_admin.NothingChosen as exc:
        err.print(f"{exc}.")
        raise typer.Exit(2) from None
    if not chosen:
        err.print("No dead or waiting row matches.")
        raise typer.Exit(1)
    return chosen


@outbox_app.command("list")
def outbox_list(
    status: Annotated[str, typer.Option(help="open (waiting and dead), pending, dead or discarded")] = "open",
    kind: Annotated[str | None, typer.Option(help="Only this kind (item_card, direct, digest, …)")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows, oldest first")] = 200,
) -> None:
    """What waits to be sent and what was given up: age, attempts, next try, last error."""
    from bot import outbox_admin
    from bot.outbox import Status

    choices = {
        "open": outbox_admin.OPEN,
        "pending": (Status.PENDING, Status.SENDING),
        "dead": (Status.DEAD,),
        "discarded": (Status.DISCARDED,),
    }
    if status not in choices:
        err.print(f"--status must be one of: {', '.join(choices)}")
        raise typer.Exit(2)
    ctx = ready_context()
    now = ctx.clock.now()
    rows = outbox_admin.rows(ctx.engine, statuses=choices[status], kind=_kind_option(kind), limit=limit)
    queue = outbox_admin.read_health(ctx.engine, now)
    if rows:
        table = Table(title="Outbox")
        for col in ("id", "kind", "status", "age", "attempts", "next try", "item", "last error"):
            table.add_column(col, overflow="fold")
        for r in rows:
            due = (
                "–"
                if r.status != Status.PENDING
                else (
                    "now"
                    if r.next_attempt_at <= now
                    else "in " + outbox_admin.age_text((r.next_attempt_at - now).total_seconds())
                )
            )
            table.add_row(
                str(r.id),
                r.kind,
                r.status,
                outbox_admin.age_text((now - r.created_at).total_seconds()),
                str(r.attempts),
                due,
                f"#{r.item_id}" if r.item_id else "",
                escape(r.last_error or ""),
            )
        console.print(table)
    console.print(
        f"{queue.pending} waiting (oldest {outbox_admin.age_text(queue.oldest_pending_seconds)}), {queue.dead} dead."
    )


@outbox_app.command("retry")
def outbox_retry(
    ids: Annotated[list[int] | None, typer.Argument(help="Row ids (from `handover outbox list`)")] = None,
    kind: Annotated[str | None, typer.Option(help="Every dead or waiting row of this kind")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every dead or waiting row")] = False,
    send: Annotated[bool, typer.Option(help="Send them now (otherwise a running server sends them)")] = True,
    by: Annotated[str | None, typer.Option(help="Who retries (for the trail; default: your login)")] = None,
) -> None:
    """Send dead rows again (and waiting ones without waiting out their backoff)."""
    from bot import outbox_admin
    from bot.outbox import Status

    ctx = ready_context()
    chosen = _chosen(
        lambda: outbox_admin.retry(
            ctx.engine, ctx.clock.now(), ids=ids, kind=_kind_option(kind), everything=all_, actor=by or _operator()
        )
    )
    console.print(f"{len(chosen)} message(s) due again: {', '.join(map(str, chosen))}.")
    if send:
        from bot.slack.dispatcher import Dispatcher

        Dispatcher(ctx).run_until_idle()
        left = [r for r in outbox_admin.rows(ctx.engine) if r.id in set(chosen)]
        sent = len(chosen) - len(left)
        console.print(
            f"{sent} sent now; {sum(r.status != Status.DEAD for r in left)} still waiting, "
            f"{sum(r.status == Status.DEAD for r in left)} dead again (`handover outbox list`)."
        )
        raise typer.Exit(1 if any(r.status == Status.DEAD for r in left) else 0)


@outbox_app.command("discard")
def outbox_discard(
    ids: Annotated[list[int] | None, typer.Argument(help="Row ids (from `handover outbox list`)")] = None,
    reason: Annotated[str, typer.Option(help="Why nobody should receive them (kept on the trail)")] = "",
    kind: Annotated[str | None, typer.Option(help="Every dead or waiting row of this kind")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every dead or waiting row")] = False,
    by: Annotated[str | None, typer.Option(help="Who discards (for the trail; default: your login)")] = None,
) -> None:
    """Give rows up for good, with a reason (recorded on the row's and the item's trail)."""
    from bot import outbox_admin

    if not reason.strip():
        err.print("--reason is required: say why these messages should not be sent.")
        raise typer.Exit(2)
    ctx = ready_context()
    chosen = _chosen(
        lambda: outbox_admin.discard(
            ctx.engine,
            ctx.clock.now(),
            ids=ids,
            kind=_kind_option(kind),
            everything=all_,
            actor=by or _operator(),
            reason=reason,
        )
    )
    console.print(f"{len(chosen)} message(s) discarded: {', '.join(map(str, chosen))}.")


webhooks_app = typer.Typer(
    help="Outbound webhooks: every state change of an item, signed, to CRMs and automation tools.", no_args_is_help=True
)
app.add_typer(webhooks_app, name="webhooks")


@webhooks_app.command("list")
def webhooks_list() -> None:
    """The configured endpoints: events, state, and their deliveries (delivered, waiting, failed)."""
    from bot.webhooks.cli import print_list

    raise typer.Exit(print_list(console, ready_context()))


@webhooks_app.command("test")
def webhooks_test(
    endpoint: Annotated[str, typer.Argument(help="The endpoint's name in the configuration")],
) -> None:
    """Send a signed test event (type handover.test) to an endpoint now and print its answer."""
    from bot.webhooks.cli import send_test

    raise typer.Exit(send_test(console, err, ready_context(), endpoint))


@webhooks_app.command("replay")
def webhooks_replay(
    since: Annotated[
        datetime, typer.Option(formats=["%Y-%m-%d"], help="Re-send the events from this day on (company time)")
    ],
    endpoint: Annotated[str | None, typer.Option(help="Only to this endpoint (default: every endpoint)")] = None,
) -> None:
    """Re-send events from the audit trail with their original ids (receivers drop the ones they have)."""
    from bot.webhooks.cli import replay

    raise typer.Exit(replay(console, err, ready_context(), since=since.date(), endpoint=endpoint))


@webhooks_app.command("enable")
def webhooks_enable(
    endpoint: Annotated[str, typer.Argument(help="The endpoint's name in the configuration")],
) -> None:
    """Send to an endpoint again after it answered 410 Gone (its waiting events go out)."""
    from bot.webhooks import queue

    ctx = ready_context()
    if ctx.config.webhooks.endpoint(endpoint) is None:
        err.print(f"No webhook endpoint {escape(endpoint)!r} in the configuration.")
        raise typer.Exit(2)
    was = queue.enable(ctx.engine, endpoint)
    console.print(f"{escape(endpoint)}: " + ("enabled again." if was else "was not disabled."))


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    app()


if __name__ == "__main__":
    main()
