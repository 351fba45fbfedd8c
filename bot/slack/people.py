"""People are known by e-mail in the source data; Slack knows them by user id.
users.lookupByEmail answers are cached in the person table (a day), including "not in Slack"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import select

from bot.context import Context
from bot.db import run_in_transaction
from bot.models import Person

CACHE_FOR = timedelta(days=1)


@dataclass(frozen=True)
class Resolved:
    email: str
    user_id: str | None  # None: not in Slack, or deactivated
    reason: str = ""  # why not, in words
    tz: str | None = None


def _cached(ctx: Context, email: str) -> Person | None:
    def load(session):  # noqa: ANN001
        return session.exec(select(Person).where(Person.email == email)).first()
    return run_in_transaction(ctx.engine, load)


def _store(ctx: Context, email: str, **values: object) -> None:
    now = ctx.clock.now()

    def save(session):  # noqa: ANN001
        person = session.exec(select(Person).where(Person.email == email)).first() or Person(email=email)
        for k, v in values.items():
            setattr(person, k, v)
        person.resolved_at = now
        session.add(person)
    run_in_transaction(ctx.engine, save)


def resolve(ctx: Context, client: WebClient, email: str) -> Resolved:
    """The Slack user behind ``email``; raises on Slack trouble (the caller retries later)."""
    email = email.strip().lower()
    person = _cached(ctx, email)
    now = ctx.clock.now()
    if person and person.resolved_at and now - person.resolved_at < CACHE_FOR:
        if person.not_in_slack:
            return Resolved(email, None, "no Slack user has this e-mail address")
        if not person.active:
            return Resolved(email, None, "this Slack user is deactivated")
        if person.slack_user_id:
            return Resolved(email, person.slack_user_id, tz=person.tz)
    try:
        user = client.users_lookupByEmail(email=email)["user"]
    except SlackApiError as exc:
        if exc.response.get("error") == "users_not_found":
            _store(ctx, email, not_in_slack=True, slack_user_id=None)
            return Resolved(email, None, "no Slack user has this e-mail address")
        raise
    active = not user.get("deleted", False)
    _store(ctx, email, slack_user_id=user["id"], not_in_slack=False, active=active,
           name=user.get("real_name") or user.get("name"), tz=user.get("tz"))
    if not active:
        return Resolved(email, None, "this Slack user is deactivated")
    return Resolved(email, user["id"], tz=user.get("tz"))


def email_of(ctx: Context, client: WebClient, user_id: str) -> str | None:
    """The e-mail of a Slack user (who clicked, who submitted), cached like look-ups."""
    def load(session):  # noqa: ANN001
        return session.exec(select(Person).where(Person.slack_user_id == user_id)).first()
    person = run_in_transaction(ctx.engine, load)
    if person is not None:
        return person.email
    try:
        user = client.users_info(user=user_id)["user"]
    except SlackApiError:
        return None
    email = (user.get("profile") or {}).get("email")
    if email:
        _store(ctx, email.lower(), slack_user_id=user_id, not_in_slack=False,
               active=not user.get("deleted", False), name=user.get("real_name") or user.get("name"),
               tz=user.get("tz"))
    return email.lower() if email else None


def zone(ctx: Context, client: WebClient, email: str) -> dict[str, object]:
    """A ``zone`` outbox row: look the person up so their time zone is known (see bot/people_time.py)."""
    resolved = resolve(ctx, client, email)
    return {"user": resolved.user_id, "tz": resolved.tz, "why": resolved.reason}
