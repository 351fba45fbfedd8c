"""The outbox's messages: one pydantic model per kind of row (:class:`Kind`).

A flow builds the message and queues it with ``outbox.enqueue(session, message, key=…)``, which
takes the row's kind from the model (``Message.KIND``) and stores ``message.payload()`` — the same
JSON object rows have always carried — in ``Outbox.payload``. The dispatcher validates a row's
payload once (:func:`parse`) and hands the typed message to the kind's sender
(bot.slack.dispatcher). Models forbid unknown fields: a misspelt field fails where the message is
built, not when it is sent. Rows queued before these models existed validate too: their payloads
have these shapes, and the one control flag that lived in them (``_maybe_sent``, now the column
``Outbox.maybe_sent``, carried over by migration 0005) is ignored.

This module knows nothing about Slack: it is the protocol between the flows and the dispatcher.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, model_validator


class Kind(StrEnum):
    """How the dispatcher turns a row into a Web API call."""

    ITEM_CARD = "item_card"  # post the item card to its receiver (resolving the e-mail first)
    CARD_REFRESH = "card_refresh"  # chat.update the current card from the item's state
    CARD_RETIRE = "card_retire"  # chat.update an old card (the item moved on) to a short note
    DIRECT = "direct"  # a direct message to a person (by e-mail or Slack user id)
    THREAD = "thread"  # a reply in a thread: under the item's card, or a question's thread
    EPHEMERAL = "ephemeral"  # chat.postEphemeral to one person
    HOME = "home"  # views.publish of someone's App Home
    CHANNEL = "channel"  # a message in a configured channel
    FILE = "file"  # a file upload (charts)
    NUDGE = "nudge"  # a reminder / escalation / follow-up reminder, rebuilt from the items' state
    DIGEST = "digest"  # the weekly digest of pending ownership (its content computed when queued)
    FEEDBACK = "feedback"  # the owner's feedback request (or its one reminder), rebuilt when sent
    REVIEW = "review"  # a lead review's messages in the review channel
    ZONE = "zone"  # look a person up in Slack for their time zone (bot/people_time.py); sends nothing


LEGACY_FLAGS = ("_maybe_sent",)  # kept in the payload by earlier versions; now Outbox.maybe_sent


class Message(BaseModel):
    """One outbox row's payload. Each subclass names its :class:`Kind` in ``KIND``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    KIND: ClassVar[Kind]

    @model_validator(mode="before")
    @classmethod
    def _without_legacy_flags(cls, data: Any) -> Any:
        if isinstance(data, dict) and any(flag in data for flag in LEGACY_FLAGS):
            return {k: v for k, v in data.items() if k not in LEGACY_FLAGS}
        return data

    def payload(self) -> dict[str, Any]:
        """The JSON object stored in ``Outbox.payload`` (fields left at their default are omitted)."""
        return self.model_dump(mode="json", exclude_defaults=True)


class OnSent(BaseModel):
    """What to remember once a message has landed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    question_bb: int | None = None  # the question (id) whose Business Builder thread this message starts


class ToPerson(Message):
    """A message to one person: the Slack user, else the e-mail, else the first reachable fallback
    (an e-mail or a user id). Nobody reachable: nothing is sent."""

    to_user: str | None = None
    to_email: str | None = None
    fallbacks: list[str] = []
    working_time: bool = False  # a scheduled message: held until the person's working time


class ItemCard(Message):
    """The item's card, posted to the receiver it was offered to (unless the item moved on)."""

    KIND = Kind.ITEM_CARD
    item_id: int
    receiver_email: str | None = None
    receiver_user: str | None = None
    version: int | None = None


class CardRefresh(Message):
    """chat.update of the item's current card, built from the item's state when sent."""

    KIND = Kind.CARD_REFRESH
    item_id: int


class CardRetire(Message):
    """An earlier card (the item moved on) turned into a short note: no more buttons."""

    KIND = Kind.CARD_RETIRE
    channel: str
    ts: str
    customer: str
    why: str


class Direct(ToPerson):
    """A direct message to a person."""

    KIND = Kind.DIRECT
    text: str
    blocks: list[dict[str, Any]] | None = None
    on_sent: OnSent | None = None


class Thread(Message):
    """A reply in a thread: the given one (``channel`` + ``thread_ts``), else the question's thread
    with its Business Builder (``question_id``), else the thread under the item's card."""

    KIND = Kind.THREAD
    text: str
    blocks: list[dict[str, Any]] | None = None
    channel: str | None = None
    thread_ts: str | None = None
    question_id: int | None = None
    on_sent: OnSent | None = None


class Ephemeral(Message):
    """chat.postEphemeral: seen only by ``user`` in ``channel``."""

    KIND = Kind.EPHEMERAL
    channel: str
    user: str
    text: str
    blocks: list[dict[str, Any]] | None = None


class Home(Message):
    """views.publish of the person's App Home, built from the database when sent."""

    KIND = Kind.HOME
    user: str


class Channel(Message):
    """A message in a configured channel (optionally in a thread there)."""

    KIND = Kind.CHANNEL
    channel: str
    text: str
    blocks: list[dict[str, Any]] | None = None
    thread_ts: str | None = None


class File(Message):
    """A file shared to a channel, rendered when sent (``what``: the weekly chart)."""

    KIND = Kind.FILE
    what: str
    channel: str
    week: str  # the week's label
    start: str  # ISO 8601: the period the file covers
    end: str


NudgeKind = Literal["reminder", "escalation", "follow_up"]


class Nudge(ToPerson):
    """A reminder, escalation or follow-up reminder about ``item_ids``, built when sent."""

    KIND = Kind.NUDGE
    kind: NudgeKind
    item_ids: list[int]


class Digest(ToPerson):
    """The weekly digest; its content was computed when it was queued."""

    KIND = Kind.DIGEST
    week: str
    digest: dict[str, Any]


class Feedback(ToPerson):
    """The owner's feedback request about the row's item (or its one reminder), unless answered;
    like every scheduled message, held until the owner's working time (after an outage too)."""

    KIND = Kind.FEEDBACK
    to_user: str
    reminder: bool = False
    working_time: bool = True


class Review(Message):
    """A lead review's intro or summary (``round_id``), or one sampled discard (``entry_id``),
    posted — or, with ``update``, its message updated with the verdict."""

    KIND = Kind.REVIEW
    part: Literal["intro", "entry", "summary"]
    round_id: int | None = None
    entry_id: int | None = None
    update: bool = False

    @model_validator(mode="after")
    def _names_its_subject(self) -> Review:
        if self.part == "entry" and self.entry_id is None:
            raise ValueError("a review entry's message names its entry_id")
        if self.part != "entry" and self.round_id is None:
            raise ValueError(f"a review {self.part} names its round_id")
        return self


class Zone(Message):
    """Look a person up in Slack for their time zone; sends nothing."""

    KIND = Kind.ZONE
    email: str


MODELS: dict[Kind, type[Message]] = {
    m.KIND: m
    for m in (
        ItemCard,
        CardRefresh,
        CardRetire,
        Direct,
        Thread,
        Ephemeral,
        Home,
        Channel,
        File,
        Nudge,
        Digest,
        Feedback,
        Review,
        Zone,
    )
}


def parse(kind: str, payload: dict[str, Any]) -> Message:
    """A stored row's message. Raises ``KeyError`` for a kind that has no model (``ValueError`` for
    one that is no :class:`Kind`) and pydantic's ``ValidationError`` for a payload that does not fit."""
    return MODELS[Kind(kind)].model_validate(payload)
