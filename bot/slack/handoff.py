"""After an import: one short, bounded attempt to send the new cards, and a plain account of it.

The import itself never waits for Slack: its items and their cards are saved (the cards in the
outbox) before this runs. Then ``handover import`` makes ONE delivery attempt with a short total
deadline: ``auth.test`` first (a wrong token or an unreachable Slack is known in one call, and
nothing else is tried), then the outbox dispatcher in small rounds, through a client that gives up
for the rest of the attempt at the first sign of trouble (no connection, 5xx, 429, a token Slack
refuses). The dispatcher's own logging is quiet meanwhile: the person gets one line, e.g.
"12 cards queued: Slack answered invalid_auth — run `handover doctor`". Whatever was not sent stays
in the outbox; the running ``handover serve`` (or ``handover dispatch``) sends it later.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import col, select

from bot import outbox
from bot.context import Context
from bot.db import transaction
from bot.models import Outbox

ATTEMPT_SECONDS = 10.0  # the whole attempt, every card included
CALL_SECONDS = 3  # one Web API call
ROUND = 5  # rows claimed per dispatcher round (a round that runs into trouble stops after the first)
# Slack's answers that mean "nothing will get through now": stop trying, say why once.
STOPPERS = {
    "invalid_auth",
    "not_authed",
    "token_revoked",
    "token_expired",
    "account_inactive",
    "no_permission",
    "missing_scope",
    "team_access_not_granted",
    "ratelimited",
}


class _GaveUp(Exception):
    """This attempt is over (the deadline passed, or Slack showed trouble); the row stays queued."""


class _BoundedClient(WebClient):
    """A WebClient for one bounded attempt: a short time-out, no retries, and after the first
    sign of trouble (or past the deadline) every further call fails at once without a request."""

    def __init__(self, *, token: str, base_url: str, deadline: float) -> None:
        super().__init__(token=token, base_url=base_url, timeout=CALL_SECONDS, retry_handlers=[])
        self.deadline = deadline
        self.trouble: str | None = None

    def api_call(self, *args: Any, **kwargs: Any) -> Any:  # every Web API method goes through here
        if self.trouble is not None:
            raise _GaveUp(self.trouble)
        if time.monotonic() > self.deadline:
            raise _GaveUp("the delivery attempt's time ran out")
        try:
            return super().api_call(*args, **kwargs)
        except SlackApiError as exc:
            status = getattr(exc.response, "status_code", 200)
            error = exc.response.get("error") if hasattr(exc.response, "get") else None
            if status == 429 or status >= 500 or error in STOPPERS:
                self.trouble = f"Slack answered {error or f'HTTP {status}'}"
            raise
        except Exception as exc:  # refused, timed out, DNS: Slack can't be reached from here
            self.trouble = f"Slack could not be reached ({type(exc).__name__})"
            raise


@dataclass(frozen=True)
class Handoff:
    """What became of the cards of one import's new items."""

    delivered: int
    queued: int
    why: str | None  # one short line: why the queued ones were not sent now
    attempted: bool  # False: --no-deliver, nothing was tried
    trouble: bool = False  # Slack itself is the reason (unreachable, refused the token, 5xx, 429)


@contextmanager
def _quiet() -> Iterator[None]:
    """No log lines from the dispatcher or slack_sdk during the attempt (the summary says it all)."""
    loggers = [logging.getLogger(name) for name in ("handover", "slack_sdk", "slack_bolt")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _cards(ctx: Context, item_ids: Sequence[int]) -> tuple[int, int, str | None]:
    """(sent, not sent, the first not-sent card's last error) for the cards of ``item_ids``."""
    sent = waiting = 0
    error: str | None = None
    with transaction(ctx.engine) as session:
        for start in range(0, len(item_ids), 500):
            chunk = list(item_ids[start : start + 500])
            rows = session.exec(
                select(Outbox.status, Outbox.last_error).where(
                    Outbox.kind == outbox.Kind.ITEM_CARD, col(Outbox.item_id).in_(chunk)
                )
            ).all()
            for status, last_error in rows:
                if status == outbox.Status.SENT:
                    sent += 1
                else:
                    waiting += 1
                    error = error or last_error
    return sent, waiting, error


def _short(error: str | None) -> str | None:
    if not error:
        return None
    line = error.strip().splitlines()[0] if error.strip() else ""
    return line if len(line) <= 100 else line[:99] + "…"


def deliver_briefly(ctx: Context, item_ids: Sequence[int], *, seconds: float = ATTEMPT_SECONDS) -> Handoff:
    """One bounded attempt to send what the outbox holds (the new cards first in line), then count
    the cards of ``item_ids``. Never raises for Slack trouble and never takes much over ``seconds``."""
    from bot.slack.dispatcher import Dispatcher

    deadline = time.monotonic() + seconds
    client = _BoundedClient(token=ctx.settings.bot_token, base_url=ctx.settings.slack_api_url, deadline=deadline)
    with _quiet():
        try:
            client.auth_test()
        except SlackApiError as exc:
            error = exc.response.get("error") if hasattr(exc.response, "get") else None
            client.trouble = client.trouble or f"Slack answered {error or 'an error'}"
        except Exception:  # noqa: BLE001  (the client noted what happened)
            client.trouble = client.trouble or "Slack could not be reached"
        if client.trouble is None:
            dispatcher = Dispatcher(ctx, client=client, reader=client, worker=f"import-{uuid.uuid4().hex[:8]}")
            while time.monotonic() < deadline and client.trouble is None:
                if dispatcher.run_once(limit=ROUND) == 0 and not dispatcher.wait_for_next_turn(until=deadline):
                    break  # nothing left, or only cards whose channel's turn comes after the deadline
    sent, waiting, error = _cards(ctx, item_ids)
    why = client.trouble or (_short(error) if waiting else None)
    if waiting and why is None:
        why = "the delivery attempt's time ran out"
    return Handoff(delivered=sent, queued=waiting, why=why, attempted=True, trouble=client.trouble is not None)


def queued(ctx: Context, item_ids: Sequence[int]) -> Handoff:
    """No attempt (--no-deliver): the cards of ``item_ids`` as they stand."""
    sent, waiting, _ = _cards(ctx, item_ids)
    return Handoff(delivered=sent, queued=waiting, why=None, attempted=False)
