"""Customers are created on the fly, deduplicated by normalized name and e-mail domain,
so "ACME AB", "Acme" and someone@acme.se meet in one record."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session, select

from bot.models import Customer, Item

# Legal-form suffixes that do not distinguish one customer from another.
_LEGAL_FORMS = {
    "ab", "abp", "publ", "as", "asa", "aps", "oy", "oyj", "gmbh", "ag", "kg", "se", "sa", "sas",
    "sarl", "srl", "spa", "bv", "nv", "ltd", "limited", "plc", "llc", "inc", "incorporated", "corp",
    "corporation", "co", "company", "group", "holding", "holdings", "the",
}
# Addresses at these domains say nothing about which company a person works for.
_FREE_MAIL = {
    "gmail.com", "googlemail.com", "hotmail.com", "outlook.com", "live.com", "yahoo.com", "icloud.com",
    "me.com", "aol.com", "proton.me", "protonmail.com", "gmx.de", "gmx.net", "web.de", "mail.com",
    "yandex.ru", "qq.com", "163.com", "hotmail.se", "telia.com",
}


def normalize_name(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"[^a-z0-9]+", " ", text)
    words = [w for w in text.split() if w not in _LEGAL_FORMS]
    return " ".join(words) or text.strip()


def domain_of(email: str | None) -> str | None:
    if not email or "@" not in email:
        return None
    domain = email.rsplit("@", 1)[1].strip().lower()
    return None if domain in _FREE_MAIL else domain


def root_domain(domain: str) -> str:
    """acme.se and sales.acme.se are one company; compare on the registrable part."""
    parts = domain.split(".")
    return ".".join(parts[-2:]) if len(parts) >= 2 else domain


def _domain(domain: str | None, contact_email: str | None) -> str | None:
    domain = root_domain(domain) if domain else None
    return domain or (root_domain(d) if (d := domain_of(contact_email)) else None)


def find(session: Session, *, name: str, domain: str | None, contact_email: str | None) -> Customer | None:
    """The customer record an item about ``name`` belongs to: by e-mail domain first, then by
    normalized name (unless that record has a different domain), or None."""
    domain = _domain(domain, contact_email)
    customer = None
    if domain:
        customer = session.exec(select(Customer).where(Customer.domain == domain).order_by(Customer.id)).first()
    if customer is None:
        customer = session.exec(
            select(Customer).where(Customer.normalized_name == normalize_name(name)).order_by(Customer.id)
        ).first()
        if customer is not None and customer.domain and domain and customer.domain != domain:
            customer = None  # same name, different company (e.g. two "Nordic Data" firms)
    return customer


def find_or_create(
    session: Session,
    *,
    name: str,
    domain: str | None,
    contact_email: str | None,
    region: str | None,
    account_owner_email: str | None,
    now: datetime,
) -> Customer:
    norm = normalize_name(name)
    domain = _domain(domain, contact_email)
    customer = find(session, name=name, domain=domain, contact_email=contact_email)
    if customer is None:
        customer = Customer(name=name.strip(), normalized_name=norm, domain=domain, region=region,
                            account_owner_email=account_owner_email, created_at=now)
        session.add(customer)
        session.flush()
        return customer
    if domain and not customer.domain:
        customer.domain = domain
    if account_owner_email and not customer.account_owner_email:
        customer.account_owner_email = account_owner_email
    if region and not customer.region:
        customer.region = region
    session.add(customer)
    return customer


def of_items(session: Session, items: Iterable[Item]) -> dict[int, Customer]:
    """The customers of ``items``, by id (one query)."""
    ids = {i.customer_id for i in items}
    if not ids:
        return {}
    return {c.id: c for c in session.exec(select(Customer).where(Customer.id.in_(sorted(ids))))}


def names_of(session: Session, items: Iterable[Item]) -> dict[int, str]:
    """Customer id -> name for ``items``."""
    return {cid: c.name for cid, c in of_items(session, items).items()}


def name_of(session: Session, item: Item, *, unknown: str = "the customer") -> str:
    customer = session.get(Customer, item.customer_id)
    return customer.name if customer else unknown
