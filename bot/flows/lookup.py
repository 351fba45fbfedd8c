"""Look-ups: a customer's intelligence, my items, what I handed over — each filtered by who may see
what (bot.visibility) and logged in the same transaction (LookupLog: who, how, what was shown and
what withheld). A look-up that withholds something says how many items and whom to ask.

Plain data out; bot/slack/lookup.py turns it into messages and modals, bot/lookup_api.py into JSON.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

import sqlalchemy as sa
from rapidfuzz import fuzz
from rapidfuzz import process as rf_process
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col, select

from bot import customers
from bot.config import Config
from bot.customers import domain_of, normalize_name, root_domain
from bot.identifiers import clean_identifier
from bot.ids import ItemStatus
from bot.models import (
    Customer,
    CustomerAlias,
    FollowUp,
    Item,
    LookupLog,
    Person,
    Question,
    QuestionMessage,
    names_person,
)
from bot.visibility import Viewer, split, whom_to_ask

OPEN = (ItemStatus.PENDING, ItemStatus.ACCEPTED)
SIMILAR = 0.75  # similarity (Indel ratio, as difflib's) from which a name counts as a fuzzy match
MATCHES = 10  # at most this many customers in a picker
PICKABLE = 100  # a pick is checked against this many matches of its query (new customers may come first)
LATEST = 5  # questions and follow-ups shown on a customer


class Via:
    COMMAND = "command"
    SHORTCUT = "shortcut"
    HOME = "home"
    API = "api"


@dataclass(frozen=True)
class Match:
    customer: Customer
    score: float
    why: str  # name, similar name, domain, contact e-mail


@dataclass
class Contact:
    email: str
    user_id: str | None = None


@dataclass
class Thread:
    """A question on an item and what was said since (the answers first to last)."""

    question: Question
    item: Item
    answers: list[QuestionMessage] = field(default_factory=list)


@dataclass
class Intelligence:
    customer: Customer
    open_items: list[Item]
    past_items: list[Item]
    open_requests: list[Item]
    questions: list[Thread]
    follow_ups: list[tuple[FollowUp, Item]]
    withheld: int
    ask: list[Contact]

    @property
    def shown(self) -> int:
        return len(self.open_items) + len(self.past_items)


@dataclass
class CustomerLookup:
    query: str
    matches: list[Match]
    intel: Intelligence | None  # None: no match, or several to choose from


@dataclass
class MyItems:
    to_decide: list[Item]
    owned: list[Item]
    responsible: list[Item]  # pending with someone else, still mine until they accept
    asked: list[Thread]
    withheld: int
    ask: list[Contact]
    customer_names: dict[int, str]

    @property
    def shown(self) -> int:
        return len({i.id for i in [*self.to_decide, *self.owned, *self.responsible, *(t.item for t in self.asked)]})


@dataclass
class SentItems:
    items: list[Item]
    withheld: int
    ask: list[Contact]
    customer_names: dict[int, str]

    @property
    def shown(self) -> int:
        return len(self.items)


# ----- finding the customer -------------------------------------------------------------------

_SCHEME = re.compile(r"^(https?://)?(www\.)?")


def _as_domain(query: str) -> str | None:
    """A query that looks like a domain ("acme.se", "https://www.acme.se/about"), as its root."""
    text = _SCHEME.sub("", query.strip().lower()).split("/")[0]
    if " " in text or "." not in text or text.startswith(".") or text.endswith("."):
        return None
    return root_domain(text)


def _name_index(session: Session) -> list[tuple[int, str, str | None, str]]:
    """(id, normalized name, domain, name) of every customer: plain driver tuples, no ORM rows
    (building 50,000 result rows was most of a look-up's time)."""
    cursor = session.connection().connection.cursor()
    try:
        cursor.execute("SELECT id, normalized_name, domain, name FROM customer")
        # the DB-API cursor is untyped (rows of Any); these are the four columns selected
        return cast("list[tuple[int, str, str | None, str]]", cursor.fetchall())
    finally:
        cursor.close()


def _by_domain(session: Session, domain: str) -> list[Customer]:
    """Customers with this domain, or that took it over when an admin merged its record away."""
    own = select(Customer.id).where(col(Customer.domain) == domain)
    merged = select(CustomerAlias.customer_id).where(CustomerAlias.domain == domain)
    return list(session.exec(select(Customer).where(col(Customer.id).in_(sa.union(own, merged)))))


def _by_name(session: Session, norm: str) -> list[Customer]:
    """Customers with this normalized name, or that took it over in a merge."""
    own = select(Customer.id).where(col(Customer.normalized_name) == norm)
    merged = select(CustomerAlias.customer_id).where(CustomerAlias.normalized_name == norm)
    return list(session.exec(select(Customer).where(col(Customer.id).in_(sa.union(own, merged)))))


def find_customers(session: Session, query: str, *, limit: int = MATCHES) -> list[Match]:
    """Customers a person may mean by ``query`` — a name, a domain or a contact's e-mail — best first.
    Exact hits (same normalized name, the domain, a contact's e-mail) win outright; otherwise names
    that contain the query, then similar names (rapidfuzz), then domains that contain it. Names match
    in their own script (:func:`bot.customers.normalize_name`)."""
    cleaned = clean_identifier(query) if "@" in query or "." in query else query.strip()
    query = cleaned or ""
    if not query:
        return []
    exact: dict[int | None, Match] = {}  # by customer id
    if "@" in query:
        email = query.lower()
        for c in session.exec(
            select(Customer).where(
                col(Customer.id).in_(select(Item.customer_id).where(sa.func.lower(Item.contact_email) == email))
            )
        ):
            exact.setdefault(c.id, Match(c, 1.0, "contact e-mail"))
        if domain := root_domain(domain_of(email) or ""):
            for c in _by_domain(session, domain):
                exact.setdefault(c.id, Match(c, 1.0, "domain"))
        return sorted(exact.values(), key=lambda m: (m.customer.name.lower(), m.customer.id))[:limit]
    if domain := _as_domain(query):
        for c in _by_domain(session, domain):
            exact.setdefault(c.id, Match(c, 1.0, "domain"))
    norm = normalize_name(query)
    if norm and not exact:  # a domain that matched says more than the name it spells
        for c in _by_name(session, norm):
            exact.setdefault(c.id, Match(c, 1.0, "name"))
    if exact:
        return sorted(exact.values(), key=lambda m: (m.customer.name.lower(), m.customer.id))[:limit]
    if len(norm) < 2:
        return []
    squeezed = norm.replace(" ", "")
    # One narrow read of the normalized index (id, normalized name, domain: no ORM objects), the
    # similarity in C (rapidfuzz's Indel ratio, difflib's measure) over all names at once, and
    # whole records only for the matches shown.
    rows = _name_index(session)
    names = [r[1] or "" for r in rows]
    width = max(len(norm.split()), 1)
    heads = [" ".join(n.split()[:width]) for n in names]
    cutoff = SIMILAR * 100
    similar: dict[int, float] = {}
    for choices in (names, heads):
        for _, score, index in rf_process.extract(norm, choices, scorer=fuzz.ratio, score_cutoff=cutoff, limit=None):
            similar[index] = max(similar.get(index, 0.0), score / 100)
    scored: list[tuple[float, str, int, str]] = []
    for index, (cid, name, domain, shown) in enumerate(rows):
        name = name or ""
        if norm in name:
            scored.append((round(0.9 + 0.1 * len(norm) / max(len(name), 1), 4), shown.lower(), cid, "name"))
        elif index in similar:
            scored.append((round(similar[index] * 0.9, 4), shown.lower(), cid, "similar name"))
        elif domain and len(squeezed) >= 3 and squeezed in domain:
            scored.append((0.6, shown.lower(), cid, "domain"))
    scored.sort(key=lambda t: (-t[0], t[1], t[2]))
    scored = scored[:limit]
    records = {c.id: c for c in session.exec(select(Customer).where(col(Customer.id).in_([t[2] for t in scored])))}
    found = [Match(records[cid], score, why) for score, _, cid, why in scored if cid in records]
    found.sort(key=lambda m: (-m.score, m.customer.name.lower(), m.customer.id))
    return found[:limit]


def contacts(session: Session, emails: list[str]) -> list[Contact]:
    """E-mails with their Slack user ids where known (for mentions)."""
    if not emails:
        return []
    known = {p.email: p.slack_user_id for p in session.exec(select(Person).where(col(Person.email).in_(emails)))}
    return [Contact(e, known.get(e)) for e in emails]


def _log(
    session: Session,
    viewer: Viewer,
    *,
    via: str,
    query: str,
    now: datetime,
    customer_id: int | None,
    shown: int,
    withheld: int,
) -> None:
    who = (viewer.email if via == Via.API else viewer.user_id) or viewer.user_id or viewer.email or "unknown"
    session.add(
        LookupLog(
            at=now, who=who, via=via, query=(query or "")[:500], customer_id=customer_id, shown=shown, withheld=withheld
        )
    )
    session.flush()


# ----- a customer's intelligence --------------------------------------------------------------


def intelligence(session: Session, config: Config, viewer: Viewer, customer: Customer) -> Intelligence:
    """Everything ``viewer`` may see about ``customer`` (no log; :func:`look_up_customer` logs)."""
    items = list(
        session.exec(
            select(Item)
            .where(Item.customer_id == customer.id)
            .order_by(col(Item.created_at).desc(), col(Item.id).desc())
        )
    )
    visible, withheld = split(session, viewer, items)
    by_id = {i.id: i for i in visible if i.id is not None}  # stored rows: every one has its id
    threads: list[Thread] = []
    follow_ups: list[tuple[FollowUp, Item]] = []
    if by_id:
        ids = sorted(by_id)
        questions = list(
            session.exec(
                select(Question)
                .where(col(Question.item_id).in_(ids))
                .order_by(col(Question.asked_at).desc(), col(Question.id).desc())
                .limit(LATEST)
            )
        )
        threads = _threads(session, questions, by_id)
        for f in session.exec(
            select(FollowUp)
            .where(col(FollowUp.item_id).in_(ids))
            .order_by(col(FollowUp.at).desc(), col(FollowUp.id).desc())
            .limit(LATEST)
        ):
            follow_ups.append((f, by_id[f.item_id]))
    return Intelligence(
        customer=customer,
        open_items=[i for i in visible if i.status in OPEN],
        past_items=[i for i in visible if i.status not in OPEN],
        open_requests=[i for i in visible if i.customer_request and i.customer_request_open],
        questions=threads,
        follow_ups=follow_ups,
        withheld=len(withheld),
        ask=contacts(session, whom_to_ask(config, customer, withheld, viewer=viewer)),
    )


def _threads(session: Session, questions: list[Question], items: dict[int, Item]) -> list[Thread]:
    if not questions:
        return []
    messages = list(
        session.exec(
            select(QuestionMessage)
            .where(col(QuestionMessage.question_id).in_([q.id for q in questions]))
            .order_by(col(QuestionMessage.at), col(QuestionMessage.id))
        )
    )
    out = []
    for q in questions:
        answers = [m for m in messages if m.question_id == q.id and m.author != q.asked_by]
        out.append(Thread(q, items[q.item_id], answers))
    return out


def _private_contacts_withheld(session: Session, viewer: Viewer, query: str, matches: list[Match]) -> list[Match]:
    """A contact's own address (someone@gmail.com) is private: it finds the customer only for a
    person who may see at least one of that customer's items. For anyone else the customer is
    dropped from the matches, so the answer is the same "nothing found" as for an unknown address
    (a withheld count would tell them the address belongs to a customer). An address at the
    customer's own domain finds it as before: the domain is no secret."""
    if "@" not in query:
        return matches
    domain = domain_of(query.strip().lower())
    own_domain = root_domain(domain) if domain else None
    kept = []
    for m in matches:
        if m.why == "contact e-mail" and not (own_domain and m.customer.domain == own_domain):
            items = list(session.exec(select(Item).where(Item.customer_id == m.customer.id)))
            if not split(session, viewer, items)[0]:
                continue
        kept.append(m)
    return kept


def _chosen(session: Session, viewer: Viewer, query: str, customer_id: int) -> list[Match]:
    """The customer a person picked out of a look-up's matches: one that ``query`` matches (as
    shown in the picker), or — asked for by id alone — one the person sees an item of. Counting
    through ids names no customer a search would not have named."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        return []
    if query.strip():
        found = _private_contacts_withheld(session, viewer, query, find_customers(session, query, limit=PICKABLE))
        picked = any(m.customer.id == customer.id for m in found)
    else:
        items = list(session.exec(select(Item).where(Item.customer_id == customer.id)))
        picked = viewer.admin or bool(split(session, viewer, items)[0])
    return [Match(customer, 1.0, "chosen")] if picked else []


def look_up_customer(
    session: Session,
    config: Config,
    viewer: Viewer,
    query: str,
    *,
    via: str,
    now: datetime,
    customer_id: int | None = None,
) -> CustomerLookup:
    """``query`` (a name, a domain or an e-mail), or the chosen ``customer_id``: the matches, and the
    customer's intelligence when exactly one matched. Logged."""
    if customer_id is not None:
        matches = _chosen(session, viewer, query, customer_id)
    else:
        matches = _private_contacts_withheld(session, viewer, query, find_customers(session, query))
    intel = intelligence(session, config, viewer, matches[0].customer) if len(matches) == 1 else None
    _log(
        session,
        viewer,
        via=via,
        query=query,
        now=now,
        customer_id=intel.customer.id if intel else None,
        shown=intel.shown if intel else 0,
        withheld=intel.withheld if intel else 0,
    )
    return CustomerLookup(query=query, matches=matches, intel=intel)


# ----- my items, what I handed over ------------------------------------------------------------


def _mine(user_column: Mapped[str | None], email_column: Mapped[str | None], viewer: Viewer) -> sa.ColumnElement:
    return names_person(user_column, email_column, user_id=viewer.user_id, email=viewer.email)


def my_items(session: Session, config: Config, viewer: Viewer, *, via: str, now: datetime) -> MyItems:
    """What waits for my decision, what I own, what is still mine until someone accepts it, and the
    questions I asked. Logged."""
    pending = Item.status == ItemStatus.PENDING
    newest = (col(Item.created_at).desc(), col(Item.id).desc())
    to_decide = list(
        session.exec(
            select(Item)
            .where(pending, _mine(col(Item.receiver_user_id), col(Item.receiver_email), viewer))
            .order_by(*newest)
        )
    )
    owned: list[Item] = []
    responsible: list[Item] = []
    questions: list[Question] = []
    if viewer.user_id:
        owned = list(
            session.exec(
                select(Item)
                .where(Item.status == ItemStatus.ACCEPTED, Item.owner_user_id == viewer.user_id)
                .order_by(*newest)
            )
        )
        deciding = {i.id for i in to_decide}
        responsible = [
            i
            for i in session.exec(
                select(Item).where(pending, Item.responsible_user_id == viewer.user_id).order_by(*newest)
            )
            if i.id not in deciding
        ]
        questions = list(
            session.exec(
                select(Question)
                .where(Question.asked_by == viewer.user_id)
                .order_by(col(Question.open).desc(), col(Question.asked_at).desc(), col(Question.id).desc())
                .limit(2 * LATEST)
            )
        )
    asked_items = (
        {i.id: i for i in session.exec(select(Item).where(col(Item.id).in_([q.item_id for q in questions])))}
        if questions
        else {}
    )
    everything = {i.id: i for i in [*to_decide, *owned, *responsible, *asked_items.values()]}
    visible, withheld = split(session, viewer, list(everything.values()))
    ok = {i.id for i in visible}
    threads = _threads(
        session, [q for q in questions if q.item_id in ok], {i.id: i for i in visible if i.id is not None}
    )  # stored rows: every one has its id
    result = MyItems(
        to_decide=[i for i in to_decide if i.id in ok],
        owned=[i for i in owned if i.id in ok],
        responsible=[i for i in responsible if i.id in ok],
        asked=threads,
        withheld=len(withheld),
        ask=contacts(session, whom_to_ask(config, None, withheld, viewer=viewer)),
        customer_names=customers.names_of(session, visible),
    )
    _log(
        session, viewer, via=via, query="mine", now=now, customer_id=None, shown=result.shown, withheld=result.withheld
    )
    return result


def sent_items(session: Session, config: Config, viewer: Viewer, *, via: str, now: datetime) -> SentItems:
    """What I handed over (as sender or Business Builder) and what became of it, newest first. Logged."""
    mine = sa.or_(
        _mine(col(Item.sender_user_id), col(Item.sender_email), viewer),
        _mine(col(Item.business_builder_user_id), col(Item.business_builder_email), viewer),
    )
    items = list(session.exec(select(Item).where(mine).order_by(col(Item.created_at).desc(), col(Item.id).desc())))
    visible, withheld = split(session, viewer, items)
    result = SentItems(
        items=visible,
        withheld=len(withheld),
        ask=contacts(session, whom_to_ask(config, None, withheld, viewer=viewer)),
        customer_names=customers.names_of(session, visible),
    )
    _log(
        session, viewer, via=via, query="sent", now=now, customer_id=None, shown=result.shown, withheld=result.withheld
    )
    return result
