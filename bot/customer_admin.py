"""Correcting customer records (``handover customers …``): who owns an account and which region it
belongs to, and which items are about the same company.

Deduplication by domain and name is sometimes wrong — a reseller's shared domain, a holding with
several brands, records made before the Public Suffix List was used — so an admin can **merge** two
records, **split** items off one, and **set** the fields that decide who may see a customer
(region, account owner), which intake never sets (bot/customers.py).

A customer is named by (:func:`resolve`):

- its number: ``12`` or ``#12``;
- its domain, or any address or host under it: ``acme.co.uk``, ``sales.acme.co.uk``, ``ola@acme.co.uk``;
- its name, normalized as intake does (``"ACME AB"`` finds ``Acme``) — when several records share
  the name, the command lists them and asks for the number.

Every change is audited: a ``customer_event`` row on each record touched, and an ``item_event``
row on every item that moved or whose visibility changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot import audit
from bot.customers import clean_domain, domain_of, normalize_name, root_domain
from bot.identifiers import clean_identifier
from bot.models import Customer, CustomerAlias, CustomerEvent, Item, stored_id


class CustomerError(Exception):
    """A customer that cannot be named, or a change that cannot be made; the message says why."""


def record(
    session: Session, customer_id: int, *, actor: str, kind: str, at: datetime, text: str, **detail: object
) -> None:
    session.add(CustomerEvent(customer_id=customer_id, actor=actor, kind=kind, at=at, text=text, detail=detail))


def history(session: Session, customer_id: int) -> list[CustomerEvent]:
    return list(
        session.exec(
            select(CustomerEvent).where(CustomerEvent.customer_id == customer_id).order_by(col(CustomerEvent.id))
        )
    )


def resolve(session: Session, ref: str) -> Customer:
    """The one customer ``ref`` names (a number, a domain or e-mail, or a name); CustomerError when
    none or several."""
    ref = (clean_identifier(ref) if "@" in ref or "." in ref else ref.strip()) or ""
    if not ref:
        raise CustomerError("Name a customer: its number, its domain or its name.")
    number = ref.removeprefix("#")
    if number.isdigit():
        found = session.get(Customer, int(number))
        if found is None:
            raise CustomerError(f"There is no customer #{number}.")
        return found
    if "@" in ref or ("." in ref and " " not in ref):
        domain = root_domain(domain_of(ref) or "") if "@" in ref else root_domain(ref)
        if domain:
            by_domain = list(session.exec(select(Customer).where(Customer.domain == domain).order_by(col(Customer.id))))
            if not by_domain:  # a domain merged into another record
                by_domain = list(
                    session.exec(
                        select(Customer)
                        .join(CustomerAlias, col(CustomerAlias.customer_id) == Customer.id)
                        .where(CustomerAlias.domain == domain)
                        .order_by(col(Customer.id))
                    )
                )
            if len(by_domain) == 1:
                return by_domain[0]
            if by_domain:
                raise CustomerError(_several(ref, by_domain))
    norm = normalize_name(ref)
    named = (
        list(session.exec(select(Customer).where(Customer.normalized_name == norm).order_by(col(Customer.id))))
        if norm
        else []
    )
    if len(named) == 1:
        return named[0]
    if named:
        raise CustomerError(_several(ref, named))
    raise CustomerError(f"No customer is named {ref!r} (try its number from `handover customers list`).")


def _several(ref: str, found: Sequence[Customer]) -> str:
    listed = ", ".join(f"#{c.id} {c.name}" + (f" ({c.domain})" if c.domain else "") for c in found)
    return f"{ref!r} names {len(found)} customers: {listed}. Name one by its number."


def items_of(session: Session, customer_id: int) -> list[Item]:
    return list(session.exec(select(Item).where(Item.customer_id == customer_id).order_by(col(Item.id))))


def count_items(session: Session) -> dict[int, int]:
    rows = session.exec(select(Item.customer_id, sa.func.count()).group_by(col(Item.customer_id)))
    return {cid: n for cid, n in rows}


# ----- set ------------------------------------------------------------------------------------------

UNSET = ""  # `--region ""` clears a field


@dataclass
class Changed:
    customer: Customer
    changes: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)  # field -> (before, after)


def set_fields(
    session: Session,
    customer: Customer,
    *,
    actor: str,
    now: datetime,
    region: str | None = None,
    account_owner: str | None = None,
    domain: str | None = None,
    name: str | None = None,
) -> Changed:
    """Set what decides who may see ``customer`` (region, account owner) and how it is recognised
    (domain, name). None leaves a field as it is; the empty string clears it. Audited on the
    customer and on each of its items (their visibility follows)."""
    wanted: dict[str, str | None] = {}
    if region is not None:
        wanted["region"] = region.strip().lower() or None
    if account_owner is not None:
        owner = (clean_identifier(account_owner) or "").lower()
        if owner and ("@" not in owner or "." not in owner.rsplit("@", 1)[1]):
            raise CustomerError(f"{account_owner!r} is not an e-mail address.")
        wanted["account_owner_email"] = owner or None
    if domain is not None:
        found = root_domain(domain) if clean_domain(domain) else None
        if clean_domain(domain) and not found:
            raise CustomerError(f"{domain!r} identifies no company (a public suffix or a free-mail domain).")
        if found and (
            other := session.exec(select(Customer).where(Customer.domain == found, Customer.id != customer.id)).first()
        ):
            raise CustomerError(
                f"{found} is already the domain of #{other.id} {other.name}: "
                f"merge the two instead (`handover customers merge #{customer.id} #{other.id}`)."
            )
        wanted["domain"] = found
    if name is not None:
        if not name.strip():
            raise CustomerError("A customer's name cannot be empty.")
        wanted["name"] = name.strip()
    result = Changed(customer)
    for key, value in wanted.items():
        before = getattr(customer, key)
        if before != value:
            result.changes[key] = (before, value)
            setattr(customer, key, value)
    if "name" in result.changes:
        customer.normalized_name = normalize_name(customer.name)
    if not result.changes:
        return result
    session.add(customer)
    words = "; ".join(f"{k}: {b or '(none)'} → {a or '(none)'}" for k, (b, a) in result.changes.items())
    record(
        session,
        stored_id(customer),
        actor=actor,
        kind="customer_set",
        at=now,
        text=words,
        changes={k: [b, a] for k, (b, a) in result.changes.items()},
    )
    for item in items_of(session, stored_id(customer)):
        audit.record(
            session,
            stored_id(item),
            actor=actor,
            kind="customer_set",
            at=now,
            text=f"customer #{customer.id} {customer.name}: {words}",
            customer_id=customer.id,
        )
    return result


# ----- merge ----------------------------------------------------------------------------------------


@dataclass
class Merged:
    kept: Customer
    removed_id: int
    removed_name: str
    moved: list[int]  # item ids
    took: dict[str, str]  # fields the kept record had empty and took from the other


def merge(session: Session, keep: Customer, other: Customer, *, actor: str, now: datetime) -> Merged:
    """``other`` is the same company as ``keep``: its items move to ``keep`` and the record goes.
    ``keep``'s region and account owner stay; where ``keep`` has none, it takes ``other``'s (both
    were set by an admin). Refused when both have a different region or account owner — set one
    first, so nobody gains or loses sight of items without an admin saying so."""
    if keep.id == other.id:
        raise CustomerError(f"#{keep.id} {keep.name} is one customer: there is nothing to merge.")
    for key, label in (("region", "region"), ("account_owner_email", "account owner")):
        a, b = getattr(keep, key), getattr(other, key)
        if a and b and a.lower() != b.lower():
            raise CustomerError(
                f"#{keep.id} {keep.name} and #{other.id} {other.name} have different {label}s ({a}, {b}). "
                f"Set the {label} of one first (`handover customers set`), then merge."
            )
    took: dict[str, str] = {}
    for key in ("domain", "region", "account_owner_email"):
        if not getattr(keep, key) and getattr(other, key):
            took[key] = getattr(other, key)
    moved = items_of(session, stored_id(other))
    keep_id, other_id, other_name = stored_id(keep), stored_id(other), other.name
    for item in moved:
        item.customer_id = keep_id
        session.add(item)
        audit.record(
            session,
            stored_id(item),
            actor=actor,
            kind="customer_merged",
            at=now,
            text=f"customer #{other_id} {other_name} merged into #{keep.id} {keep.name}",
            from_customer=other_id,
            to_customer=keep.id,
        )
    # the next item naming the other company's domain or name finds the kept record
    for alias in session.exec(select(CustomerAlias).where(CustomerAlias.customer_id == other_id)):
        alias.customer_id = keep_id
        session.add(alias)
    if other.domain and other.domain != keep.domain and "domain" not in took:
        session.add(CustomerAlias(customer_id=keep_id, domain=other.domain))
    if other.normalized_name and other.normalized_name != keep.normalized_name:
        session.add(CustomerAlias(customer_id=keep_id, normalized_name=other.normalized_name))
    session.flush()  # the items and aliases point at the kept record before the other one goes
    session.delete(other)
    for key, value in took.items():
        setattr(keep, key, value)
    session.add(keep)
    text = f"#{other_id} {other_name} merged into #{keep.id} {keep.name}; {len(moved)} item(s) moved"
    moved_ids = [stored_id(i) for i in moved]
    detail = {"kept": keep.id, "removed": other_id, "removed_name": other_name, "items": moved_ids, "took": took}
    record(session, keep_id, actor=actor, kind="customer_merged", at=now, text=text, **detail)
    record(session, other_id, actor=actor, kind="customer_merged", at=now, text=text, **detail)
    return Merged(keep, other_id, other_name, moved_ids, took)


# ----- split ----------------------------------------------------------------------------------------


@dataclass
class Split:
    source: Customer
    groups: list[tuple[Customer, list[int], bool]]  # target, item ids moved, target newly created


def split(
    session: Session,
    source: Customer,
    *,
    actor: str,
    now: datetime,
    item_ids: Sequence[int] = (),
    name: str | None = None,
    domain: str | None = None,
    by_domain: bool = False,
) -> Split:
    """Items filed under ``source`` that are about another company move to that company's record.

    - ``item_ids`` (with ``name`` and/or ``domain``): those items move to the customer with that
      domain or name, created when there is none (``name`` is then required);
    - ``domain`` alone: the items whose contact's e-mail is under that domain move;
    - ``by_domain``: every item whose contact's registrable domain is not ``source``'s moves to the
      record of its own domain (created, named as the item names the customer) — the repair for
      records merged before the Public Suffix List (every ``*.co.uk`` contact under one company).

    The new records get no region and no account owner: an admin sets them. Audited."""
    items = items_of(session, stored_id(source))
    plan: dict[tuple[str | None, str | None], list[Item]] = {}
    wanted_domain = None
    if domain is not None:
        wanted_domain = root_domain(domain)
        if not wanted_domain:
            raise CustomerError(f"{domain!r} identifies no company (a public suffix or a free-mail domain).")
    if by_domain:
        if item_ids or name or domain:
            raise CustomerError("--by-domain moves every item by its contact's domain; give it alone.")
        for item in items:
            d = root_domain(domain_of(item.contact_email) or "")
            if d and d != source.domain:
                plan.setdefault((d, None), []).append(item)
    elif item_ids:
        if not (name or wanted_domain):
            raise CustomerError("Say where the items go: --name and/or --domain of their company.")
        by_id = {i.id: i for i in items}
        missing = [n for n in item_ids if n not in by_id]
        if missing:
            raise CustomerError(
                f"Item(s) #{', #'.join(map(str, missing))} are not filed under #{source.id} {source.name}."
            )
        plan[(wanted_domain, name)] = [by_id[n] for n in dict.fromkeys(item_ids)]
    elif wanted_domain:
        plan[(wanted_domain, name)] = [
            i for i in items if root_domain(domain_of(i.contact_email) or "") == wanted_domain
        ]
    else:
        raise CustomerError("Say which items move: --item N (with --name/--domain), --domain D, or --by-domain.")
    plan = {k: v for k, v in plan.items() if v}
    if not plan:
        raise CustomerError(f"No item of #{source.id} {source.name} matches: nothing to split.")
    if wanted_domain and wanted_domain == source.domain:
        raise CustomerError(f"{wanted_domain} is #{source.id} {source.name}'s own domain.")
    result = Split(source, [])
    for (target_domain, target_name), moving in plan.items():
        target, created = _target(session, source, target_domain, target_name, now)
        for item in moving:
            item.customer_id = stored_id(target)
            session.add(item)
            audit.record(
                session,
                stored_id(item),
                actor=actor,
                kind="customer_split",
                at=now,
                text=f"moved from customer #{source.id} {source.name} to #{target.id} {target.name}",
                from_customer=source.id,
                to_customer=target.id,
            )
        # a merge's alias on the source no longer sends this company's next items back to it
        for alias in session.exec(select(CustomerAlias).where(CustomerAlias.customer_id == source.id)):
            if (target.domain and alias.domain == target.domain) or (
                target.normalized_name and alias.normalized_name == target.normalized_name
            ):
                session.delete(alias)
        ids = [stored_id(i) for i in moving]
        text = f"{len(ids)} item(s) moved from #{source.id} {source.name} to #{target.id} {target.name}"
        record(
            session,
            stored_id(source),
            actor=actor,
            kind="customer_split",
            at=now,
            text=text,
            to_customer=target.id,
            items=ids,
        )
        record(
            session,
            stored_id(target),
            actor=actor,
            kind="customer_split",
            at=now,
            text=text,
            from_customer=source.id,
            items=ids,
            created=created,
        )
        result.groups.append((target, ids, created))
    return result


def _target(
    session: Session, source: Customer, domain: str | None, name: str | None, now: datetime
) -> tuple[Customer, bool]:
    """The record the split items go to: the customer with ``domain`` (else ``name``), or a new one."""
    if domain:
        found = session.exec(select(Customer).where(Customer.domain == domain).order_by(col(Customer.id))).first()
        if found is not None:
            return found, False
    elif name and (norm := normalize_name(name)):
        for found in session.exec(
            select(Customer)
            .where(Customer.normalized_name == norm, Customer.id != source.id)
            .order_by(col(Customer.id))
        ):
            return found, False
    if not name:
        name = domain or ""  # by domain: the company's own domain names it until an admin renames it
    customer = Customer(name=name, normalized_name=normalize_name(name), domain=domain, created_at=now)
    session.add(customer)
    session.flush()
    return customer, True
