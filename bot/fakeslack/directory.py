"""A Slack directory for the stand-in: one fake user per e-mail the configuration names."""

from __future__ import annotations

import itertools

from bot.config import Config
from bot.fakeslack.server import FakeUser


def emails_in(config: Config) -> list[str]:
    """Every e-mail the configuration names (fallback, teams, roles, person rules), once each."""
    found: list[str] = [config.routing.fallback]
    for team in config.teams:
        found += [team.lead, *team.members] if team.lead else list(team.members)
    found += list(config.roles.admins) + list(config.roles.reviewers)
    found += [rule.to.person for rule in config.routing.rules if rule.to.kind == "person" and rule.to.person]
    out: list[str] = []
    for e in found:
        if e and e.lower() not in out:
            out.append(e.lower())
    return out


def directory(emails: list[str], *, start: int = 100, tz: str = "Europe/Stockholm") -> list[FakeUser]:
    """Fake users U100, U101, … for ``emails``, named after the e-mail's local part."""
    users = []
    for n, email in zip(itertools.count(start), emails):
        name = email.split("@")[0]
        users.append(FakeUser(id=f"U{n}", email=email, name=name, real_name=name.replace(".", " ").title(), tz=tz))
    return users
