"""Who may see what: customer information is confidential, and "the responsibilities need to align
with the tool accesses" (DOMAIN.md). Roles come from the configuration; nothing here knows Slack.

The rule, for one item on one customer:

- an **admin** (``roles.admins``) sees everything;
- the customer's **account owner** (``customer.account_owner_email``) sees everything on their accounts;
- everyone sees the items they **sent**, **received** (or stay responsible for), **own**, or were
  the **Business Builder** of;
- a **team lead** and a team's **members** see the team's items (``item.team_key``, or the item's
  receiver or owner is in the team) and the items in the team's **region** (the team's ``region``
  and every region word a routing rule sends to that team, e.g. "sweden" for the Nordics team; the
  item's region, else its customer's);
- a **reviewer** (``roles.reviewers``) also sees every **discarded** item (they review discards).

Anything else is withheld — and a look-up says how many items it withheld and whom to ask
(:func:`whom_to_ask`), never pretends they don't exist.

Usage (a look-up, the App Home, the API)::

    viewer = Viewer.resolve(session, config, email=..., user_id=...)   # or Viewer.of(config, email, user_id)
    visible, withheld = split(session, viewer, items)
    ask = whom_to_ask(config, customer, withheld, viewer=viewer)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlmodel import Session, col, select

from bot.config import Config, Team
from bot.customers import of_items
from bot.ids import ItemStatus
from bot.models import Customer, Item, Person


class Reason(StrEnum):
    """Why a viewer may see an item (the first that applies, in this order)."""

    ADMIN = "admin"
    ACCOUNT_OWNER = "account_owner"
    SENT = "sent"
    RECEIVED = "received"
    OWNER = "owner"
    BUSINESS_BUILDER = "business_builder"
    TEAM = "team"
    REGION = "region"
    REVIEWER = "reviewer"  # a discarded item, for the lead review


def _low(value: str | None) -> str:
    return (value or "").strip().lower()


def team_regions(config: Config, team: Team) -> frozenset[str]:
    """The region words that belong to ``team``: its own ``region`` and every region a routing rule
    sends to it (so an item in "sweden" is in the Nordics team's region)."""
    regions = {_low(team.region)} if team.region else set()
    for rule in config.routing.rules:
        if rule.to.kind == "team" and rule.to.team == team.key:
            regions.update(_low(r) for r in rule.when.region or [])
    return frozenset(r for r in regions if r)


@dataclass(frozen=True)
class Viewer:
    """A person looking at customer information, with what the configuration says about them."""

    email: str | None
    user_id: str | None = None
    admin: bool = False
    reviewer: bool = False
    led: tuple[str, ...] = ()  # keys of the teams this person leads
    member_of: tuple[str, ...] = ()  # keys of the teams this person is a member of
    people: frozenset[str] = frozenset()  # e-mails of everyone in those teams (leads included)
    regions: frozenset[str] = frozenset()  # the regions of those teams

    @classmethod
    def of(cls, config: Config, email: str | None, user_id: str | None = None) -> Viewer:
        email = _low(email) or None
        led = [t for t in config.teams if email and t.lead == email]
        member = [t for t in config.teams if email and email in t.members]
        teams = {t.key: t for t in [*led, *member]}.values()
        people = {m for t in teams for m in t.members} | {t.lead for t in teams if t.lead}
        regions = frozenset().union(*(team_regions(config, t) for t in teams)) if teams else frozenset()
        return cls(
            email=email,
            user_id=user_id or None,
            admin=config.is_admin(email),
            reviewer=config.is_reviewer(email),
            led=tuple(t.key for t in led),
            member_of=tuple(t.key for t in member),
            people=frozenset(people),
            regions=regions,
        )

    @classmethod
    def resolve(
        cls, session: Session, config: Config, *, email: str | None = None, user_id: str | None = None
    ) -> Viewer:
        """:meth:`of`, filling in the e-mail or the Slack user id from the person table when only
        one is known (the API knows an e-mail, the Home tab a user id)."""
        if email and not user_id:
            person = session.exec(select(Person).where(Person.email == _low(email))).first()
            user_id = person.slack_user_id if person else None
        elif user_id and not email:
            person = session.exec(select(Person).where(Person.slack_user_id == user_id)).first()
            email = person.email if person else None
        return cls.of(config, email, user_id)

    @property
    def teams(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([*self.led, *self.member_of]))

    @property
    def role(self) -> str:
        """The broadest role, in words for logs: admin, lead, member, reviewer or person."""
        if self.admin:
            return "admin"
        if self.led:
            return "lead"
        if self.member_of:
            return "member"
        return "reviewer" if self.reviewer else "person"

    def _me(self, email: str | None, user_id: str | None) -> bool:
        return bool((self.email and _low(email) == self.email) or (self.user_id and user_id == self.user_id))

    def reason(self, item: Item, customer: Customer | None = None, *, owner_email: str | None = None) -> Reason | None:
        """Why this viewer may see ``item`` (on ``customer``; ``owner_email``: the e-mail of
        ``item.owner_user_id`` when known), or None when it is withheld."""
        if self.admin:
            return Reason.ADMIN
        if customer is not None and self.email and _low(customer.account_owner_email) == self.email:
            return Reason.ACCOUNT_OWNER
        if self._me(item.sender_email, item.sender_user_id):
            return Reason.SENT
        if self._me(item.receiver_email, item.receiver_user_id) or (
            self.user_id and item.responsible_user_id == self.user_id
        ):
            return Reason.RECEIVED
        if self._me(owner_email, item.owner_user_id):
            return Reason.OWNER
        if self._me(item.business_builder_email, item.business_builder_user_id):
            return Reason.BUSINESS_BUILDER
        if self.teams and (
            item.team_key in self.teams
            or _low(item.receiver_email) in self.people
            or (owner_email and _low(owner_email) in self.people)
        ):
            return Reason.TEAM
        region = _low(item.region) or (_low(customer.region) if customer is not None else "")
        if region and region in self.regions:
            return Reason.REGION
        if self.reviewer and item.status == ItemStatus.DISCARDED:
            return Reason.REVIEWER
        return None

    def sees(self, item: Item, customer: Customer | None = None, *, owner_email: str | None = None) -> bool:
        return self.reason(item, customer, owner_email=owner_email) is not None


def owner_emails(session: Session, items: Iterable[Item]) -> dict[str, str]:
    """Slack user id -> e-mail for the owners of ``items`` (from the person table)."""
    ids = {i.owner_user_id for i in items if i.owner_user_id}
    if not ids:
        return {}
    rows = session.exec(select(Person).where(col(Person.slack_user_id).in_(sorted(ids))))
    return {p.slack_user_id: p.email for p in rows if p.slack_user_id}


def split(session: Session, viewer: Viewer, items: Sequence[Item]) -> tuple[list[Item], list[Item]]:
    """``items`` divided into what ``viewer`` may see and what is withheld, each in the given order."""
    customers = of_items(session, items)
    owners = owner_emails(session, items)
    visible: list[Item] = []
    withheld: list[Item] = []
    for item in items:
        ok = viewer.sees(
            item,
            customers.get(item.customer_id),
            owner_email=owners.get(item.owner_user_id) if item.owner_user_id else None,
        )
        (visible if ok else withheld).append(item)
    return visible, withheld


def whom_to_ask(
    config: Config, customer: Customer | None, withheld: Sequence[Item], *, viewer: Viewer | None = None
) -> list[str]:
    """Whom a viewer can ask about withheld items, as e-mails: the customer's account owner, else
    the team leads of the items' teams, else an admin (else the fallback receiver). Never the
    viewer themself; empty when nothing is withheld."""
    if not withheld:
        return []
    me = viewer.email if viewer else None

    def others(emails: Iterable[str | None]) -> list[str]:
        return [e for e in dict.fromkeys(_low(x) for x in emails if x) if e and e != me]

    if customer is not None and (owner := others([customer.account_owner_email])):
        return owner
    keys = [i.team_key for i in withheld if i.team_key]
    for item in withheld:  # an item routed to a person who belongs to a team
        if not item.team_key and (team := config.team_of(item.receiver_email)):
            keys.append(team.key)
    leads = []
    for key in dict.fromkeys(keys):
        try:
            leads.append(config.team(key).lead)
        except KeyError:
            continue
    if found := others(leads):
        return found
    return others(config.roles.admins)[:1] or others([config.routing.fallback])
