"""`handover customers …`: list, show, set, merge and split customer records (bot/customer_admin.py).

A CUSTOMER is named by its number (12 or #12), its domain (or an e-mail or host under it), or its
name; a name several records share is refused with their numbers."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from bot.cli_support import console, context, err

customers_app = typer.Typer(
    help="Customer records: list, show, set region/account owner, merge, split.", no_args_is_help=True
)

CustomerRef = Annotated[str, typer.Argument(help="Number (12 or #12), domain or e-mail, or name")]
By = Annotated[
    str | None, typer.Option("--by", help="Who makes the change, for the audit trail (default: cli:<login name>)")
]


def _actor(by: str | None) -> str:
    if by and by.strip():
        return by.strip()
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001  (no login name in a container)
        return "cli"


def _run(work):
    """Run ``work(session, ctx)`` in one transaction; a CustomerError is one red line and exit 1."""
    from bot.customer_admin import CustomerError
    from bot.db import run_in_transaction

    ctx = context()
    try:
        return run_in_transaction(ctx.engine, lambda s: work(s, ctx))
    except CustomerError as exc:
        err.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(1) from None


def _line(c) -> str:
    facts = [
        f"domain {c.domain}" if c.domain else "no domain",
        f"region {c.region}" if c.region else "no region",
        f"account owner {c.account_owner_email}" if c.account_owner_email else "no account owner",
    ]
    return escape(f"#{c.id} {c.name} — " + ", ".join(facts))


@customers_app.command("list")
def list_(
    search: Annotated[str | None, typer.Argument(help="Only customers matching this name or domain")] = None,
) -> None:
    """Every customer (or those matching SEARCH), with domain, region, account owner and item count."""
    from sqlmodel import select

    from bot.customer_admin import count_items
    from bot.customers import normalize_name
    from bot.flows.lookup import find_customers
    from bot.models import Customer

    def work(session, ctx):
        everyone = list(session.exec(select(Customer).order_by(Customer.id)))
        if not search:
            return everyone, count_items(session)
        # what a look-up finds (normalized, fuzzy), and any name or domain containing the words as typed
        text, norm = search.strip().casefold(), normalize_name(search)
        hits = {m.customer.id for m in find_customers(session, search, limit=1000)}
        found = [
            c
            for c in everyone
            if c.id in hits
            or text in c.name.casefold()
            or text in (c.domain or "")
            or (norm and norm in c.normalized_name)
        ]
        return found, count_items(session)

    found, counts = _run(work)
    table = Table(title="Customers")
    for col in ("#", "name", "domain", "region", "account owner", "items"):
        table.add_column(col, no_wrap=col in ("name", "domain"))  # names and domains stay whole, to copy
    for c in found:
        table.add_row(
            str(c.id),
            escape(c.name),
            escape(c.domain or ""),
            escape(c.region or ""),
            escape(c.account_owner_email or ""),
            str(counts.get(c.id, 0)),
        )
    console.print(table)
    console.print(f"{len(found)} customer(s).")


@customers_app.command("show")
def show(customer: CustomerRef) -> None:
    """One customer: its facts, its items and its audit trail."""
    from bot.customer_admin import history, items_of, resolve

    def work(session, ctx):
        c = resolve(session, customer)
        return c, items_of(session, c.id), history(session, c.id)

    c, items, trail = _run(work)
    console.print(_line(c))
    for i in items:
        console.print(
            escape(
                f"  item #{i.id} {i.category} {i.status} — {i.contact_name or ''} "
                f"<{i.contact_email or ''}> → {i.receiver_email or ''}"
            )
        )
    for e in trail:
        console.print(escape(f"  {e.at:%Y-%m-%d %H:%M} {e.actor}: {e.kind} — {e.text or ''}"))


@customers_app.command("set")
def set_(
    customer: CustomerRef,
    region: Annotated[str | None, typer.Option(help='The customer\'s region ("" clears it)')] = None,
    account_owner: Annotated[str | None, typer.Option(help='E-mail of the account owner ("" clears it)')] = None,
    domain: Annotated[str | None, typer.Option(help='The company\'s domain ("" clears it)')] = None,
    name: Annotated[str | None, typer.Option(help="The company's name")] = None,
    by: By = None,
) -> None:
    """Set who may see a customer (region, account owner) and how it is recognised (domain, name)."""
    from bot.customer_admin import resolve, set_fields

    if region is None and account_owner is None and domain is None and name is None:
        err.print("Give at least one of --region, --account-owner, --domain, --name.")
        raise typer.Exit(2)

    def work(session, ctx):
        return set_fields(
            session,
            resolve(session, customer),
            actor=_actor(by),
            now=ctx.clock.now(),
            region=region,
            account_owner=account_owner,
            domain=domain,
            name=name,
        )

    done = _run(work)
    if not done.changes:
        console.print(f"Nothing changed: {_line(done.customer)}")
        return
    for key, (before, after) in done.changes.items():
        console.print(escape(f"{key}: {before or '(none)'} → {after or '(none)'}"))
    console.print(f"Set: {_line(done.customer)}")


@customers_app.command("merge")
def merge(
    keep: Annotated[str, typer.Argument(help="The customer that stays (number, domain or name)")],
    other: Annotated[str, typer.Argument(help="The customer merged into it and removed")],
    by: By = None,
) -> None:
    """OTHER is the same company as KEEP: its items move to KEEP, and OTHER is removed."""
    from bot.customer_admin import merge as do_merge
    from bot.customer_admin import resolve

    def work(session, ctx):
        return do_merge(session, resolve(session, keep), resolve(session, other), actor=_actor(by), now=ctx.clock.now())

    done = _run(work)
    console.print(
        escape(
            f"Merged #{done.removed_id} {done.removed_name} into #{done.kept.id} {done.kept.name}: "
            f"{len(done.moved)} item(s) moved."
        )
    )


@customers_app.command("split")
def split(
    customer: CustomerRef,
    item: Annotated[list[int] | None, typer.Option("--item", help="An item to move (repeat for more)")] = None,
    name: Annotated[str | None, typer.Option(help="Name of the company the items are about")] = None,
    domain: Annotated[
        str | None, typer.Option(help="Domain of that company (alone: move the items whose contact is under it)")
    ] = None,
    by_domain: Annotated[
        bool, typer.Option("--by-domain", help="Move every item to the record of its contact's own domain")
    ] = False,
    by: By = None,
) -> None:
    """Move items filed under CUSTOMER that are about another company to that company's record."""
    from bot.customer_admin import resolve
    from bot.customer_admin import split as do_split

    def work(session, ctx):
        return do_split(
            session,
            resolve(session, customer),
            actor=_actor(by),
            now=ctx.clock.now(),
            item_ids=item or [],
            name=name,
            domain=domain,
            by_domain=by_domain,
        )

    done = _run(work)
    for target, ids, created in done.groups:
        console.print(
            escape(
                f"{len(ids)} item(s) (#{', #'.join(map(str, ids))}) moved from #{done.source.id} "
                f"{done.source.name} to {'new ' if created else ''}customer #{target.id} {target.name}."
            )
        )
