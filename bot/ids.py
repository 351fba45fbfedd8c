"""Every identifier Slack sees, in one place: categories, statuses, action ids, callback ids.

The item id travels in a button's ``value`` or a modal's ``private_metadata`` as a
small typed payload (:class:`ItemRef`), never as free text.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field, ValidationError


class Category(StrEnum):
    PROSPECT = "prospect"
    LEAD = "lead"
    OPPORTUNITY_INTELLIGENCE = "opportunity_intelligence"
    CUSTOMER_INTELLIGENCE = "customer_intelligence"


class ItemStatus(StrEnum):
    """Where an item is in its life (see the README's state diagram)."""

    PENDING = "pending"  # offered to a receiver, nobody owns it yet; the sender is responsible
    ACCEPTED = "accepted"  # the receiver accepted ownership
    DISCARDED = "discarded"  # discarded with a reason and a justification; never deleted
    CLOSED = "closed"  # the owner closed it after follow-up


class Source(StrEnum):
    IMPORT = "import"
    API = "api"
    SLACK = "slack"  # /handover new, the global shortcut or the message shortcut


class ActionId(StrEnum):
    ACCEPT = "item_accept"
    ACCEPT_NOTE = "item_accept_note"
    RECATEGORIZE = "item_recategorize"
    ASK = "item_ask"
    REASSIGN = "item_reassign"
    DISCARD = "item_discard"
    CHECKLIST = "item_checklist"
    FOLLOW_UP = "item_follow_up"
    CLOSE = "item_close"
    REOPEN = "item_reopen"
    SNOOZE = "item_snooze"
    FEEDBACK = "item_feedback"  # opens the feedback form
    DIGEST_OFF = "digest_off"
    DIGEST_ON = "digest_on"
    REVIEW_GOOD_GROUNDS = "review_good_grounds"
    REVIEW_REOPEN = "review_reopen"
    LOOKUP_PICK = "lookup_pick"  # one customer out of several matches
    LOOKUP_MORE = "lookup_more"  # the next page of a look-up
    SHOW_NOTES = "item_show_notes"  # the card's "Show full notes": the whole description in a modal
    NOTES_PAGE = "item_notes_page"  # another page of the full notes, inside that modal
    # inputs inside modals
    INPUT = "input"


class CallbackId(StrEnum):
    NEW_ITEM = "new_item"
    NEW_ITEM_SHORTCUT = "new_item_shortcut"
    MESSAGE_SHORTCUT = "handover_message"
    RECATEGORIZE = "recategorize_item"
    ASK = "ask_business_builder"
    REASSIGN = "reassign_item"
    DISCARD = "discard_item"
    ACCEPT_NOTE = "accept_note"
    FOLLOW_UP = "follow_up_item"
    FEEDBACK = "item_feedback"
    LOOKUP_SHORTCUT = "lookup_customer_shortcut"  # global shortcut "Look up a customer"
    LOOKUP = "lookup_customer"  # the look-up modal
    NOTES = "item_notes"  # an item's full notes (read only: nothing to submit)


class FollowUpKind(StrEnum):
    CONTACTED = "contacted"
    MEETING = "meeting_booked"
    OPPORTUNITY = "opportunity_created"
    WON = "won"
    LOST = "lost"
    NO_RESPONSE = "no_response"


class Outcome(StrEnum):
    """What came of an item, as its owner tells in the feedback form."""

    NOTHING_YET = "nothing_yet"
    MEETING = "meeting"
    OPPORTUNITY = "opportunity"
    WON = "won"
    LOST = "lost"
    NO_INTEREST = "no_interest"


class Verdict(StrEnum):
    """A reviewer's mark on a sampled discard."""

    GOOD_GROUNDS = "good_grounds"
    REOPEN = "reopen"


class ReviewRef(BaseModel):
    """A lead review button's payload: which sampled discard."""

    entry: int

    def dump(self) -> str:
        return self.model_dump_json()

    @classmethod
    def parse(cls, raw: str | None) -> ReviewRef | None:
        try:
            return cls.model_validate_json(raw or "")
        except ValidationError:
            return None


class SnoozeRef(BaseModel):
    """A reminder's snooze option: which item, for how many days."""

    item: int
    days: int

    def dump(self) -> str:
        return self.model_dump_json()

    @classmethod
    def parse(cls, raw: str | None) -> SnoozeRef | None:
        try:
            return cls.model_validate_json(raw or "")
        except ValidationError:
            return None


class LookupRef(BaseModel):
    """A look-up button's payload: which look-up, the query as typed, the chosen customer, the page."""

    k: Literal["customer", "mine", "sent"] = "customer"
    q: str = Field(default="", max_length=500)
    c: int | None = None
    p: int = Field(default=0, ge=0)

    def dump(self) -> str:
        return self.model_dump_json(exclude_none=True)

    @classmethod
    def parse(cls, raw: str | None) -> LookupRef | None:
        try:
            return cls.model_validate_json(raw or "")
        except ValidationError:
            return None


class ItemRef(BaseModel):
    """The payload a button value or a modal's private_metadata carries: which item. (Buttons from
    before carried ``v`` too, the item's version then: it is ignored, as every other extra key.
    A decision is guarded by the item's version as it is read in the decision's own transaction.)"""

    item: int

    def dump(self) -> str:
        return self.model_dump_json(exclude_none=True)

    @classmethod
    def parse(cls, raw: str | None) -> ItemRef | None:
        if not raw:
            return None
        try:
            return cls.model_validate_json(raw)
        except ValidationError:
            return None


class NotesRef(BaseModel):
    """The full-notes modal's page buttons: which item, which page (0 is the first)."""

    item: int
    p: int = Field(default=0, ge=0)

    def dump(self) -> str:
        return self.model_dump_json()

    @classmethod
    def parse(cls, raw: str | None) -> NotesRef | None:
        try:
            return cls.model_validate_json(raw or "")
        except ValidationError:
            return None


class WebhookEventType(StrEnum):
    """The outbound webhooks' event types (CloudEvents ``type``; bot/webhooks/events.py)."""

    ITEM_CREATED = "item.created"
    ITEM_DELIVERED = "item.delivered"
    ITEM_ACCEPTED = "item.accepted"
    ITEM_RECATEGORIZED = "item.recategorized"
    ITEM_REASSIGNED = "item.reassigned"
    ITEM_DISCARDED = "item.discarded"
    ITEM_REOPENED = "item.reopened"
    ITEM_FOLLOW_UP = "item.follow_up"
    ITEM_CLOSED = "item.closed"
    QUESTION_ASKED = "question.asked"
    QUESTION_ANSWERED = "question.answered"
    FEEDBACK_GIVEN = "feedback.given"
    REVIEW_VERDICT = "review.verdict"
