"""The outbox dispatcher: claims due rows, turns each into a Web API call, records the result.

Each row's payload is validated once into its kind's message (bot.messages) and the kind's sender
gets that typed message; a payload that fits no message is dead at once (``invalid_payload``).

Guarantees (each proven by a test, see README "Reliability"):
- nothing is lost: a row stays pending until Slack confirmed it; a crashed dispatcher's claim
  expires and another takes the row over;
- nothing is sent twice: every posted message carries its outbox key in Slack message metadata;
  after an attempt whose outcome is unknown (time-out, 5xx, dropped connection) the next attempt
  first looks for that key in the conversation and only posts when it is not there;
- each channel is paced (``HANDOVER_OUTBOX_CHANNEL_PACE``, 1 message/s: Slack's limit): a message
  to a channel posted to less than that ago gets the channel's next free turn (rescheduled, not a
  failure), other channels go on;
- 429 Retry-After is honoured per channel: rows for that channel wait, other channels go on;
- order within one channel is kept under rate limits: when a row for a channel gets 429 (or waits
  for its thread), the later rows for that channel in the batch wait exactly as long, so it goes
  first again; after other failures each row backs off on its own (no head-of-line blocking);
- a claim is a 60 s lease: a row whose lease ran out (its dispatcher crashed, or hung) is taken
  over by the next claim and treated as "maybe sent" (its key is looked for before posting), and
  a dispatcher never starts sending a row whose lease ends within LEASE_MARGIN;
- when that look is impossible (Slack refuses conversations.history/replies: ``missing_scope``,
  ``not_in_channel``, …) the message is posted anyway and a warning names the row as a possible
  duplicate: at least once, never lost;
- an outage does not lose messages: transient failures (5xx, time-outs, refused connections,
  429, and the operator's errors in AUTH, logged as errors) are retried with backoff capped at
  ``HANDOVER_OUTBOX_MAX_BACKOFF`` for ``HANDOVER_OUTBOX_HORIZON_HOURS`` (see bot.outbox); only
  the errors in PERMANENT end a row as dead at once, and a dead row can be sent again with
  ``handover outbox retry``; while Slack can't be reached at all (no connection, 502/503/504) one
  row a round probes and the rest of the batch waits as long.
"""

from __future__ import annotations

import heapq
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, NoReturn
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import update
from sqlmodel import Session, col

from bot import audit, messages, metrics, outbox, people_time
from bot.context import Context
from bot.db import run_in_transaction
from bot.flows import decide, deliver, review
from bot.ids import ItemStatus
from bot.loaders import card as card_data
from bot.loaders import feedback as feedback_data
from bot.loaders import home as home_data
from bot.loaders import nudges as nudge_data
from bot.loaders import review as review_data
from bot.models import Customer, Item, Outbox, Question
from bot.outbox import Defer, Done
from bot.slack import card, files, nudges, people
from bot.slack import digest as digest_blocks
from bot.slack import feedback as feedback_blocks
from bot.slack import home as home_view
from bot.slack import review as review_blocks
from bot.slack.client import reading_client, sending_client

log = logging.getLogger("handover.dispatcher")

METADATA_EVENT = "handover_outbox"
LEASE_MARGIN = timedelta(seconds=15)  # longer than one Web API call may take (the sending client's time-out)
# After a failure with the row's own backoff (5xx, time-out, another error) the channel's next rows
# only skip this round: a row that failed often must not hold its channel for its long backoff.
SKIP_ROUND = 0.2
# Kinds that post a message (chat.postMessage) to their row's channel: paced per channel (Slack's ~1
# message per second per channel) so a burst to one person waits its turn instead of collecting 429s.
PACED = {
    outbox.Kind.ITEM_CARD,
    outbox.Kind.DIRECT,
    outbox.Kind.THREAD,
    outbox.Kind.CHANNEL,
    outbox.Kind.NUDGE,
    outbox.Kind.DIGEST,
    outbox.Kind.FEEDBACK,
    outbox.Kind.REVIEW,
}
# Errors where the person can't be reached: the flow's fallbacks take over.
UNREACHABLE = {
    "channel_not_found",
    "user_not_found",
    "user_disabled",
    "account_inactive",
    "cannot_dm_bot",
    "is_archived",
    "not_in_channel",
    "users_not_found",
}
# Errors after which trying again can't help (a message Slack will never accept; a channel, thread
# or person that is not there, after the kind's own fallbacks): the row is dead at once — kept,
# listed by `handover outbox list`, sent again by `handover outbox retry` once the cause is fixed.
PERMANENT = {
    "invalid_blocks",
    "invalid_arguments",
    "msg_too_long",
    "no_text",
    "invalid_metadata_format",
    "too_many_attachments",
    "invalid_json",
    "json_not_object",
    "unknown_method",
    "unknown_kind",
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "thread_not_found",
    "user_not_found",
    "user_disabled",
    "cannot_dm_bot",
    "users_not_found",
    "fallback_unreachable",
    "cant_update_message",
    "restricted_action",
    "invalid_payload",
}
# The operator's errors: the token or the app's scopes. Every message would fail the same way until
# someone fixes the token or reinstalls the app, so the rows wait (retried like an outage, until the
# horizon) and the operator is told: an error in the log (once a minute), `/healthz`, `doctor`.
AUTH = {
    "not_authed",
    "invalid_auth",
    "token_revoked",
    "token_expired",
    "account_inactive",
    "missing_scope",
    "no_permission",
    "not_allowed_token_type",
    "team_access_not_granted",
    "ekm_access_denied",
    "access_denied",
    "org_login_required",
}
# Errors answered with HTTP 200 after which the message may have been posted all the same.
UNCERTAIN = {"fatal_error", "internal_error", "service_unavailable"}


# A kind's sender: takes the row and its message, the kind's model (bot.messages.MODELS) validated
# from the row's payload; returns what Slack answered (stored as the row's result).
Sender = Callable[[Outbox, Any], dict[str, Any]]


class Dispatcher:
    def __init__(
        self,
        ctx: Context,
        *,
        client: WebClient | None = None,
        reader: WebClient | None = None,
        worker: str | None = None,
    ) -> None:
        self.ctx = ctx
        self.client = client or sending_client(ctx.settings)
        self.reader = reader or reading_client(ctx.settings, retry=False)
        self.worker = worker or f"dispatcher-{uuid.uuid4().hex[:8]}"
        self.horizon = timedelta(hours=ctx.settings.outbox_horizon_hours)
        self.max_backoff = ctx.settings.outbox_max_backoff_seconds
        self._rng = random.Random()
        self._told: dict[str, float] = {}  # AUTH error -> when this dispatcher last logged it (monotonic)
        self._unreachable_for: float | None = None  # set in a round where Slack could not be reached
        self._dm: dict[str, str] = {}
        self.pace = ctx.settings.outbox_channel_pace_seconds
        self._posted_at: dict[str, datetime] = {}  # channel_key -> when this dispatcher last posted there
        self._turn_of: dict[int, datetime] = {}  # outbox id -> the turn a paced row was given
        self._reserved: dict[str, datetime] = {}  # channel_key -> the latest turn given there
        self._paced_due: list[float] = []  # heap: monotonic times deferred (paced) rows fall due
        self._senders: dict[str, Sender] = {
            outbox.Kind.ITEM_CARD: self._item_card,
            outbox.Kind.CARD_REFRESH: self._card_refresh,
            outbox.Kind.CARD_RETIRE: self._card_retire,
            outbox.Kind.DIRECT: self._direct,
            outbox.Kind.THREAD: self._thread,
            outbox.Kind.EPHEMERAL: self._ephemeral,
            outbox.Kind.CHANNEL: self._channel,
            outbox.Kind.NUDGE: self._nudge,
            outbox.Kind.DIGEST: self._digest,
            outbox.Kind.HOME: self._home,
            outbox.Kind.FEEDBACK: self._feedback,
            outbox.Kind.REVIEW: self._review,
            outbox.Kind.FILE: lambda row, m: files.send(self.ctx, self.client, m),  # the weekly chart, rendered now
            outbox.Kind.ZONE: lambda row, m: people.zone(self.ctx, self.reader, m.email),
        }

    def register(self, kind: str, sender: Sender) -> None:
        """Later parts (home views, files) add their own kinds."""
        self._senders[kind] = sender

    # ----- the loop ---------------------------------------------------------------------
    def run_once(self, limit: int = 50) -> int:
        rows = outbox.claim(self.ctx.engine, now=self.ctx.clock.now(), worker=self.worker, limit=limit)
        blocked: dict[str, float] = {}  # channel -> seconds its first waiting row waits
        paced: set[str] = set()  # channels blocked only by their pace
        self._unreachable_for = None
        for row in rows:
            channel = row.channel_key or f"row:{row.id}"
            if self._unreachable_for is not None:
                # Slack can't be reached (no connection, or 502/503/504): the rest of the batch waits as
                # long as the row that found out, instead of each failing in turn; one row probes
                self._hold(row, self._unreachable_for, "waiting: Slack could not be reached", failure=True)
                continue
            if channel in blocked and not (channel in paced and row.kind in PACED):
                # wait as long as the row ahead (its Retry-After, or one round), so it goes first again
                self._hold(row, blocked[channel], "waiting behind an earlier message", failure=False)
                continue
            wait = self._paced(row)
            if wait:
                paced.add(channel)  # the channel's next messages take the next free turns
            else:
                wait = self._send(row)
            if wait:
                blocked[channel] = max(wait, blocked.get(channel, 0.0))
        return len(rows)

    def _hold(self, row: Outbox, seconds: float, why: str, *, failure: bool) -> None:
        """Put a row back untried for ``seconds`` (``failure``: the wait counts toward the horizon)."""
        self._finish(
            lambda s: outbox.reschedule(
                s,
                row,
                now=self.ctx.clock.now(),
                error=why,
                retry_after=seconds,
                count_attempt=False,
                failure=failure,
                horizon=self.horizon,
            )
        )

    def _paced(self, row: Outbox) -> float:
        """Defer a message to a channel this dispatcher posted to less than ``pace`` seconds ago (the
        row waits for its turn, other channels go on); returns how long the channel waits (0: send)."""
        key = row.channel_key or ""
        last = self._posted_at.get(key) if row.kind in PACED else None
        if last is None:
            return 0.0
        now, pace = self.ctx.clock.now(), timedelta(seconds=self.pace)
        turn = last + pace
        mine = self._turn_of.pop(outbox.row_id(row), None)
        reserved = self._reserved.get(key)
        if mine is None and reserved is not None and reserved + pace > turn:
            turn = reserved + pace  # a new row queues behind the rows already given a turn
        wait = (turn - now).total_seconds()
        if wait <= 0:
            return 0.0
        if len(self._turn_of) > 10_000:  # rows another dispatcher sent never come back to this one
            self._turn_of.clear()
        self._turn_of[outbox.row_id(row)] = turn
        if reserved is None or turn > reserved:
            self._reserved[key] = turn
        self._finish(
            lambda s: outbox.reschedule(
                s,
                row,
                now=self.ctx.clock.now(),
                error=f"paced: 1 message per {self.pace:g} s per channel",
                retry_after=wait,
                count_attempt=False,
                failure=False,
            )
        )
        heapq.heappush(self._paced_due, time.monotonic() + wait)
        return wait

    def run_until_idle(self, max_rounds: int = 200, *, wait_for_pace: bool = True) -> None:
        """Send everything that is due now (tests and the demo use this), waiting out the per-channel
        pace of the messages it held back (``wait_for_pace=False``: leave those for later)."""
        for _ in range(max_rounds):
            if self.run_once() == 0 and not (wait_for_pace and self.wait_for_next_turn()):
                return

    def wait_for_next_turn(self, until: float | None = None) -> bool:
        """Sleep until the earliest row held back by its channel's pace is due; False (at once) if
        there is none, or none due before ``until`` (a ``time.monotonic()`` deadline)."""
        now = time.monotonic()
        while self._paced_due and self._paced_due[0] <= now - 1.0:  # due long ago: sent, or taken over
            heapq.heappop(self._paced_due)
        if not self._paced_due or (until is not None and self._paced_due[0] > until):
            return False
        time.sleep(max(0.0, heapq.heappop(self._paced_due) - now) + 0.005)
        return True

    def run_forever(self, stop: threading.Event, interval: float = 0.5) -> None:
        while not stop.is_set():
            try:
                busy = self.run_once()
            except Exception:  # the loop must survive anything: log it and go on
                log.exception("dispatcher round failed")
                busy = 0
            if not busy:
                # a paced row falls due sooner than the next round: wake up for it
                now = time.monotonic()
                while self._paced_due and self._paced_due[0] <= now:
                    heapq.heappop(self._paced_due)
                soon = self._paced_due[0] - now + 0.005 if self._paced_due else interval
                stop.wait(min(interval, soon))

    # ----- one row ----------------------------------------------------------------------
    def _finish(self, work: Callable[[Session], Any]) -> Any:
        return run_in_transaction(self.ctx.engine, work)

    def _send(self, row: Outbox) -> float:
        """Send one row; returns how long its channel must wait (0: the channel may go on)."""
        now = self.ctx.clock.now
        row_id = outbox.row_id(row)
        if row.claimed_until is not None and now() >= row.claimed_until - LEASE_MARGIN:
            # our claim (nearly) ran out in a slow batch: another dispatcher may take the row over
            # (as "maybe sent") before this attempt could finish; leave it to the next claim
            return 0.0
        sender = self._senders.get(row.kind)
        try:
            if sender is None:
                raise SlackApiError(f"unknown outbox kind {row.kind}", {"ok": False, "error": "unknown_kind"})
            try:
                message = messages.parse(row.kind, row.payload)  # validated once, here
            except (KeyError, ValueError) as exc:  # no model for the kind, or a payload that does not fit it
                raise SlackApiError(
                    f"outbox row {row.id}: its payload is no {row.kind} message",
                    {"ok": False, "error": "invalid_payload", "errors": str(exc)},
                ) from exc
            result = sender(row, message)
        except Done as done:
            skipped = done.why
            self._finish(lambda s: outbox.mark_sent(s, row_id, now=now(), result={"skipped": skipped}))
            return 0.0
        except Defer as defer:
            why, seconds = str(defer), defer.seconds
            waits = self._finish(
                lambda s: outbox.reschedule(
                    s, row, now=now(), error=why, retry_after=seconds, count_attempt=False, failure=False
                )
            ).wait
            return waits if defer.holds_channel else 0.0
        except SlackApiError as exc:
            return self._failed(row, exc)
        except Exception as exc:  # noqa: BLE001  (time-outs, refused connections: the outcome is unknown)
            log.warning("outbox %s: %s", row.id, type(exc).__name__, extra={"item_id": row.item_id})
            wait = self._retry(row, f"{type(exc).__name__}: {exc}", ambiguous=True)
            if isinstance(exc, URLError):  # no connection at all (refused, no route, connect time-out)
                self._unreachable_for = max(wait, SKIP_ROUND)
            return SKIP_ROUND
        self._finish(lambda s: outbox.mark_sent(s, row_id, now=now(), result=result))
        metrics.SENT.labels(kind=row.kind).inc()
        return 0.0

    def _retry(
        self,
        row: Outbox,
        error: str,
        *,
        retry_after: float | None = None,
        ambiguous: bool = False,
        count_attempt: bool = True,
    ) -> float:
        """A transient failure: the row waits (capped backoff, jitter) unless it failed past the horizon."""
        now = self.ctx.clock.now()
        done = self._finish(
            lambda s: outbox.reschedule(
                s,
                row,
                now=now,
                error=error,
                retry_after=retry_after,
                ambiguous=ambiguous,
                count_attempt=count_attempt,
                horizon=self.horizon,
                max_backoff=self.max_backoff,
                rng=self._rng,
            )
        )
        metrics.RETRIES.labels(kind=row.kind).inc()
        if done.dead:
            metrics.DEAD.labels(kind=row.kind).inc()
            log.error(
                "outbox %s dead: still failing after %s (%s); `handover outbox retry %s` sends it again",
                row.id,
                self.horizon,
                error,
                row.id,
                extra={"item_id": row.item_id},
            )
        return done.wait

    def _failed(self, row: Outbox, exc: SlackApiError) -> float:
        now = self.ctx.clock.now
        response = exc.response
        status = getattr(response, "status_code", 200)
        error = response.get("error") if hasattr(response, "get") else None
        if status == 429:
            retry_after = float(
                (response.headers or {}).get("retry-after", (response.headers or {}).get("Retry-After", 1))
            )
            return self._retry(row, "ratelimited", retry_after=retry_after, count_attempt=False)
        if status >= 500:
            wait = self._retry(row, f"HTTP {status}", ambiguous=True)
            if status in (502, 503, 504):  # Slack (or the proxy before it) is down, not this message
                self._unreachable_for = max(wait, SKIP_ROUND)
            return SKIP_ROUND
        if error in PERMANENT:
            errors = response.get("errors") if hasattr(response, "get") else None
            why = f"{error}: {errors}" if errors else str(error)
            log.error(
                "outbox %s dead: %s; `handover outbox list` shows it, `handover outbox retry %s` sends it "
                "again once the cause is fixed",
                row.id,
                why,
                row.id,
                extra={"item_id": row.item_id},
            )
            self._finish(lambda s: outbox.mark_dead(s, outbox.row_id(row), error=why, now=now()))
            metrics.DEAD.labels(kind=row.kind).inc()
            return 0.0
        if error in AUTH:
            last = self._told.get(error)
            if last is None or time.monotonic() - last >= 60:
                self._told[error] = time.monotonic()
                log.error(
                    "Slack refuses the bot token (%s): messages wait in the outbox until the token or the "
                    "app's scopes are fixed (`handover doctor` checks them)",
                    error,
                )
        self._retry(row, str(error or exc), ambiguous=error in UNCERTAIN)
        return SKIP_ROUND

    # ----- helpers ----------------------------------------------------------------------
    def dm_channel(self, user_id: str) -> str:
        if user_id not in self._dm:
            self._dm[user_id] = self.client.conversations_open(users=user_id)["channel"]["id"]
        return self._dm[user_id]

    def _metadata(self, row: Outbox) -> dict[str, Any]:
        return {"event_type": METADATA_EVENT, "event_payload": {"key": row.idempotency_key}}

    def _already_posted(self, row: Outbox, channel: str, thread_ts: str | None) -> dict[str, Any] | None:
        """After an attempt with unknown outcome: is a message with this row's key already there?
        When Slack refuses the look (a missing ``*:history`` scope, a channel the bot can't read),
        the message is posted again — at least once — and the possible duplicate is logged."""
        if not row.maybe_sent:
            return None
        try:
            if thread_ts:
                messages = self.reader.conversations_replies(
                    channel=channel, ts=thread_ts, include_all_metadata=True, limit=200
                )["messages"]
            else:
                messages = self.reader.conversations_history(channel=channel, include_all_metadata=True, limit=200)[
                    "messages"
                ]
        except SlackApiError as exc:
            status = getattr(exc.response, "status_code", 200)
            if status == 429 or status >= 500:
                raise  # Slack is in trouble: try the whole row again later
            log.warning(
                "outbox %s: could not check whether it already reached %s (%s): posting it, a duplicate is possible",
                row.id,
                channel,
                exc.response.get("error"),
                extra={"item_id": row.item_id},
            )
            metrics.UNCHECKED.labels(kind=row.kind).inc()
            return None
        for m in messages:
            meta = m.get("metadata") or {}
            if (
                meta.get("event_type") == METADATA_EVENT
                and (meta.get("event_payload") or {}).get("key") == row.idempotency_key
            ):
                return {"channel": channel, "ts": m["ts"], "recovered": True}
        return None

    def post(
        self, row: Outbox, *, channel: str, text: str, blocks: list | None = None, thread_ts: str | None = None
    ) -> dict[str, Any]:
        found = self._already_posted(row, channel, thread_ts)
        if found:
            return found
        response = self.client.chat_postMessage(
            channel=channel,
            text=text,
            blocks=blocks,
            thread_ts=thread_ts,
            metadata=self._metadata(row),
            unfurl_links=False,
            unfurl_media=False,
        )
        if self.pace and row.channel_key:
            self._posted_at[row.channel_key] = self.ctx.clock.now()  # after Slack's answer: the next waits
        return {"channel": response["channel"], "ts": response["ts"]}

    def reach(self, to_user: str | None, to_email: str | None, fallbacks: list[str]) -> str | None:
        """A Slack user id for the first reachable of: the user, the e-mail, the fallbacks."""
        if to_user:
            return to_user
        for email in [e for e in [to_email, *fallbacks] if e]:
            if email.startswith("U") and "@" not in email:
                return email
            resolved = people.resolve(self.ctx, self.reader, email)
            if resolved.user_id:
                return resolved.user_id
        return None

    def recipient(self, p: messages.ToPerson) -> str:
        """The Slack user id a message's ``to_user`` / ``to_email`` / ``fallbacks`` reach; when nobody
        can be reached there is nothing to send (:class:`Done`)."""
        fallbacks = p.fallbacks
        user = self.reach(p.to_user, p.to_email, fallbacks)
        if user is None:
            raise Done("nobody reachable: " + ", ".join(x for x in [p.to_user, p.to_email, *fallbacks] if x))
        if p.working_time:  # a scheduled message waits for this person's working time
            wait = self._finish(lambda s: people_time.wait_for(s, self.ctx.config, user, self.ctx.clock.now()))
            if wait > 0:
                raise Defer(wait, "waiting for the person's working hours", holds_channel=False)
        return user

    # ----- kinds ------------------------------------------------------------------------
    def _item_card(self, row: Outbox, m: messages.ItemCard) -> dict[str, Any]:
        item_id = m.item_id
        email = m.receiver_email
        user = m.receiver_user

        wanted_user = user

        def offered_to_this_receiver(item: Item) -> bool:
            if wanted_user:
                return item.receiver_user_id == wanted_user
            return (item.receiver_email or "").lower() == (email or "").lower()

        def load(session: Session):
            data = card_data.load(session, item_id)
            if data is None:
                raise Done("item no longer exists")
            if not offered_to_this_receiver(data.item):
                raise Done("the item moved on before its card was posted")
            return data

        data = self._finish(load)
        if not user:
            if not email:
                raise SlackApiError("the card names no receiver", {"ok": False, "error": "invalid_payload"})
            resolved = people.resolve(self.ctx, self.reader, email)
            if resolved.user_id is None:
                self._unreachable(item_id, email, resolved.reason)
            user = resolved.user_id
        data.receiver_user = user
        data.item.receiver_user_id = user
        # the decision is expected in the receiver's working hours, now that their zone is known
        data.item.decision_due_at = (
            self._finish(lambda s: decide.settle_due(s, self.ctx.config, item_id, user)) or data.item.decision_due_at
        )
        text, blocks = card.build(data, self.ctx.config)
        try:
            posted = self.post(row, channel=self.dm_channel(user), text=text, blocks=blocks)
        except SlackApiError as exc:
            if exc.response.get("error") in UNREACHABLE:
                self._unreachable(item_id, email or user, exc.response.get("error"))
            raise

        def save(session: Session) -> None:
            item = session.get(Item, item_id)
            if item is not None and offered_to_this_receiver(item):
                session.execute(
                    update(Item)
                    .where(col(Item.id) == item_id)
                    .values(card_channel=posted["channel"], card_ts=posted["ts"], receiver_user_id=user)
                )
                audit.record(
                    session,
                    item_id,
                    actor="system",
                    kind="delivered",
                    at=self.ctx.clock.now(),
                    receiver=user,
                    channel=posted["channel"],
                    ts=posted["ts"],
                )  # item.delivered

        self._finish(save)
        return posted

    def _unreachable(self, item_id: int, who: str, reason: str) -> NoReturn:
        rerouted = self._finish(
            lambda s: deliver.reroute_to_fallback(s, self.ctx, item_id, unreachable=who, reason=reason)
        )
        if rerouted:
            raise Done(f"rerouted to the fallback: {reason}")
        raise SlackApiError(
            f"fallback receiver {who} unreachable: {reason}", {"ok": False, "error": "fallback_unreachable"}
        )

    def _card_refresh(self, row: Outbox, m: messages.CardRefresh) -> dict[str, Any]:
        data = self._finish(lambda s: card_data.load(s, m.item_id))
        if data is None:
            raise Done("item no longer exists")
        if not data.item.card_ts:
            raise Done("no card posted yet; it will be posted from the current state")
        text, blocks = card.build(data, self.ctx.config)
        try:
            self.client.chat_update(channel=data.item.card_channel, ts=data.item.card_ts, text=text, blocks=blocks)
        except SlackApiError as exc:
            if exc.response.get("error") != "message_not_found":
                raise
            return self._repost_card(row, data, text, blocks)
        return {"channel": data.item.card_channel, "ts": data.item.card_ts}

    def _repost_card(self, row: Outbox, data: card.CardData, text: str, blocks: list) -> dict[str, Any]:
        """The receiver deleted the card: post it again so the buttons stay reachable."""
        user = data.item.owner_user_id if data.item.status == ItemStatus.ACCEPTED else data.item.receiver_user_id
        if not user:
            raise Done("card deleted and nobody holds the item")
        posted = self.post(row, channel=self.dm_channel(user), text=text, blocks=blocks)
        item_id = data.item.id
        assert item_id is not None  # loaded from the table

        def save(session: Session) -> None:
            session.execute(
                update(Item).where(col(Item.id) == item_id).values(card_channel=posted["channel"], card_ts=posted["ts"])
            )
            audit.record(
                session,
                item_id,
                actor="system",
                kind="card_reposted",
                at=self.ctx.clock.now(),
                text="the card had been deleted; posted it again",
            )

        self._finish(save)
        return posted

    def _card_retire(self, row: Outbox, m: messages.CardRetire) -> dict[str, Any]:
        text, blocks = card.retired(m.customer, m.why)
        return self.update(m.channel, m.ts, text=text, blocks=blocks, gone="the old card was deleted")

    def update(self, channel: str, ts: str, *, text: str, blocks: list, gone: str) -> dict[str, Any]:
        """chat.update a message we posted; a message deleted meanwhile leaves nothing to do."""
        try:
            self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        except SlackApiError as exc:
            if exc.response.get("error") == "message_not_found":
                raise Done(gone) from exc
            raise
        return {"channel": channel, "ts": ts}

    def _direct(self, row: Outbox, m: messages.Direct) -> dict[str, Any]:
        user = self.recipient(m)
        try:
            posted = self.post(row, channel=self.dm_channel(user), text=m.text, blocks=m.blocks)
        except SlackApiError as exc:
            if exc.response.get("error") in UNREACHABLE and m.fallbacks:
                fallback = self.reach(None, None, m.fallbacks)
                if fallback is None:
                    raise Done("nobody reachable") from exc
                posted = self.post(row, channel=self.dm_channel(fallback), text=m.text, blocks=m.blocks)
            else:
                raise
        self._after(m.on_sent, posted)
        return posted

    def _thread(self, row: Outbox, m: messages.Thread) -> dict[str, Any]:
        channel, thread_ts = m.channel, m.thread_ts
        if not channel and m.question_id:

            def question_thread(session: Session) -> tuple[str | None, str | None]:
                q = session.get(Question, m.question_id)
                return (q.bb_channel, q.bb_ts) if q else (None, None)

            channel, thread_ts = self._finish(question_thread)
            if not thread_ts:
                raise Defer(1.0, "the question has not reached the Business Builder yet")
        if not channel:

            def card_thread(session: Session) -> tuple[str | None, str | None]:
                item = session.get(Item, row.item_id)
                return (item.card_channel, item.card_ts) if item else (None, None)

            channel, thread_ts = self._finish(card_thread)
            if not thread_ts:
                raise Defer(1.0, "the card has not been posted yet")
        posted = self.post(row, channel=channel, text=m.text, blocks=m.blocks, thread_ts=thread_ts)
        self._after(m.on_sent, posted)
        return posted

    def _ephemeral(self, row: Outbox, m: messages.Ephemeral) -> dict[str, Any]:
        try:
            response = self.client.chat_postEphemeral(channel=m.channel, user=m.user, text=m.text, blocks=m.blocks)
        except SlackApiError as exc:
            if exc.response.get("error") in UNREACHABLE:
                raise Done("the person is no longer in that conversation") from exc
            raise
        return {"message_ts": response.get("message_ts")}

    def _channel(self, row: Outbox, m: messages.Channel) -> dict[str, Any]:
        return self.post(row, channel=m.channel, text=m.text, blocks=m.blocks, thread_ts=m.thread_ts)

    def _nudge(self, row: Outbox, m: messages.Nudge) -> dict[str, Any]:
        """A reminder, escalation or follow-up reminder, built from the items' state now."""
        user = self.recipient(m)
        now = self.ctx.clock.now()

        def build(session: Session) -> tuple[str, list] | None:
            if m.kind == "reminder":
                return nudges.reminder(self.ctx.config, nudge_data.reminder(session, user, now), now)
            if m.kind == "escalation":
                return nudges.escalation(self.ctx.config, nudge_data.escalation(session, m.item_ids), now)
            return nudges.follow_up(self.ctx.config, nudge_data.follow_up(session, user, m.item_ids), now)

        built = self._finish(build)
        if built is None:
            raise Done("everything in it was decided meanwhile")
        text, blocks = built
        return self.post(row, channel=self.dm_channel(user), text=text, blocks=blocks)

    def _home(self, row: Outbox, m: messages.Home) -> dict[str, Any]:
        """views.publish of a person's App Home, rebuilt from the database now."""
        user = m.user
        email = people.email_of(self.ctx, self.reader, user)  # a team lead sees the team
        view = self._finish(
            lambda s: home_view.build(home_data.load(s, self.ctx.config, user, self.ctx.clock.now(), email=email))
        )
        try:
            self.client.views_publish(user_id=user, view=view)
        except SlackApiError as exc:
            if exc.response.get("error") in UNREACHABLE:
                raise Done("the person is no longer reachable") from exc
            raise
        return {"user": user}

    def _digest(self, row: Outbox, m: messages.Digest) -> dict[str, Any]:
        user = self.recipient(m)
        text, blocks = digest_blocks.build(m.week, m.digest)
        return self.post(row, channel=self.dm_channel(user), text=text, blocks=blocks)

    def _feedback(self, row: Outbox, m: messages.Feedback) -> dict[str, Any]:
        """The feedback request (or its reminder), unless it was answered meanwhile."""
        user = self.recipient(m)  # waits for the owner's working time
        built = self._finish(
            lambda s: feedback_blocks.request(feedback_data.request(s, row.item_id), reminder=m.reminder)
        )
        if built is None:
            raise Done("feedback already given, or the item is gone")
        text, blocks = built
        return self.post(row, channel=self.dm_channel(user), text=text, blocks=blocks)

    def _review(self, row: Outbox, m: messages.Review) -> dict[str, Any]:
        """A lead review's intro, one sampled discard (posted, or updated with its verdict), or its summary."""
        built = self._finish(
            lambda s: review_blocks.build(
                self.ctx.config, review_data.load(s, m.part, round_id=m.round_id, entry_id=m.entry_id, update=m.update)
            )
        )
        if built is None:
            raise Done("nothing to show")
        text, blocks, target = built
        if target.get("ts"):
            return self.update(
                target["channel"], target["ts"], text=text, blocks=blocks, gone="the review message was deleted"
            )
        posted = self.post(row, channel=target["channel"], text=text, blocks=blocks)
        if m.entry_id:
            entry_id = m.entry_id
            self._finish(lambda s: review.remember_message(s, entry_id, posted["channel"], posted["ts"]))
        return posted

    def _after(self, hook: messages.OnSent | None, posted: dict[str, Any]) -> None:
        """Remember where a message landed when a later one must reply in its thread."""
        if hook is None:
            return
        if hook.question_bb is not None:
            qid = hook.question_bb
            self._finish(
                lambda s: s.execute(
                    update(Question)
                    .where(col(Question.id) == qid)
                    .values(bb_channel=posted["channel"], bb_ts=posted["ts"])
                )
            )


def customer_name(session: Session, item: Item) -> str:
    customer = session.get(Customer, item.customer_id)
    return customer.name if customer else "the customer"


__all__ = ["Dispatcher", "customer_name", "timedelta"]
