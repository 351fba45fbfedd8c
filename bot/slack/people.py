"""People are known by e-mail in the source data; Slack knows them by user id.
users.lookupByEmail answers are cached in the person table (a day), including "not in Slack"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session, select

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
    def load(session):
        return session.exec(select(Person).where(Person.email == email)).first()

    return run_in_transaction(ctx.engine, load)


def _store(ctx: Context, email: str, **values: object) -> None:
    now = ctx.clock.now()

    def save(session):
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
    _store(
        ctx,
        email,
        slack_user_id=user["id"],
        not_in_slack=False,
        active=active,
        name=user.get("real_name") or user.get("name"),
        tz=user.get("tz"),
    )
    if not active:
        return Resolved(email, None, "this Slack user is deactivated")
    return Resolved(email, user["id"], tz=user.get("tz"))


def email_of(ctx: Context, client: WebClient, user_id: str) -> str | None:
    """The e-mail of a Slack user (who clicked, who submitted), cached like look-ups."""

    def load(session):
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
        _store(
            ctx,
            email.lower(),
            slack_user_id=user_id,
            not_in_slack=False,
            active=not user.get("deleted", False),
            name=user.get("real_name") or user.get("name"),
            tz=user.get("tz"),
        )
    return email.lower() if email else None


SLACKBOT = "USLACKBOT"
CHECK_TIMEOUT = 2  # seconds: the check runs while Slack waits for the modal's answer (3 s)


def why_not_a_receiver(ctx: Context, user_id: str, *, bot_user_id: str | None) -> str | None:
    """None when ``user_id`` is a person who can receive an item (an active, human Slack user);
    otherwise the reason, as the name of a macro in templates/decisions.j2: ``reassign_to_a_bot``,
    ``reassign_to_deactivated``, ``reassign_not_a_user``, or ``reassign_unchecked`` when Slack could
    not be asked. A person known to be active (the person table, a day) costs no call; anyone else
    one users.info with a short time-out and no retries — the one Web API read on the request path
    besides views.open."""
    if user_id in (bot_user_id, SLACKBOT):
        return "reassign_to_a_bot"

    def load(session: Session) -> Person | None:
        return session.exec(select(Person).where(Person.slack_user_id == user_id)).first()

    person = run_in_transaction(ctx.engine, load)
    if person and person.resolved_at and ctx.clock.now() - person.resolved_at < CACHE_FOR and not person.not_in_slack:
        return None if person.active else "reassign_to_deactivated"
    client = WebClient(
        token=ctx.settings.bot_token, base_url=ctx.settings.slack_api_url, timeout=CHECK_TIMEOUT, retry_handlers=[]
    )
    try:
        user = client.users_info(user=user_id)["user"]
    except SlackApiError as exc:
        if exc.response.get("error") in ("user_not_found", "user_not_visible"):
            return "reassign_not_a_user"
        return "reassign_unchecked"
    except OSError:  # a time-out or a dropped connection (urllib's errors are OSErrors)
        return "reassign_unchecked"
    if user.get("is_bot") or user.get("is_app_user") or user.get("id") == SLACKBOT:
        return "reassign_to_a_bot"
    email = (user.get("profile") or {}).get("email")
    if email:
        _store(
            ctx,
            email.strip().lower(),
            slack_user_id=user_id,
            not_in_slack=False,
            active=not user.get("deleted", False),
            name=user.get("real_name") or user.get("name"),
            tz=user.get("tz"),
        )
    return "reassign_to_deactivated" if user.get("deleted") else None


def zone(ctx: Context, client: WebClient, email: str) -> dict[str, object]:
    """A ``zone`` outbox row: look the person up so their time zone is known (see bot/people_time.py)."""
    resolved = resolve(ctx, client, email)
    return {"user": resolved.user_id, "tz": resolved.tz, "why": resolved.reason}
