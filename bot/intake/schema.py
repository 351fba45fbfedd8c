"""The one shape of an incoming item, shared by the file import, the API and the capture modal."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from bot.identifiers import clean_identifier
from bot.ids import Category

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=10_000)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Label = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=100)
]  # region, product area: their columns' size


def _email(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip().lower()
    if not value:
        return None
    if not _EMAIL.match(value) or len(value) > 254:
        raise ValueError("is not a valid e-mail address")
    return value


def _not_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class ItemIn(BaseModel):
    """A handed-over item as a sender describes it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    external_id: Short | None = Field(
        default=None, description="The sender's own id for the item; makes re-sending safe."
    )
    event: Short | None = Field(default=None, description="Source event, e.g. 'Global Event 2026'.")
    customer: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)] = Field(
        description="Customer (company) name."
    )
    customer_domain: Short | None = None
    contact_name: Short | None = None
    contact_email: str | None = None
    contact_phone: Short | None = None
    contact_title: Short | None = None
    description: Text = Field(default="", description="What the customer said.")
    customer_request: Text | None = Field(
        default=None, description="An explicit request by the customer ('send me a quote')."
    )
    region: Label | None = None
    product_area: Label | None = None
    category: Category | None = Field(
        default=None, description="Category as the sender sees it; suggested from the checklist when empty."
    )
    business_builder_email: str | None = Field(default=None, description="Who captured the item at the event.")
    sender_email: str | None = Field(default=None, description="Who hands the item over.")
    account_owner_email: str | None = Field(
        default=None,
        description="The account owner as the sender knows it: it routes this item and never "
        "changes who may see the customer.",
    )
    checklist: dict[str, bool] = Field(default_factory=dict, description="Checklist keys that are filled.")

    @field_validator(
        "contact_email",
        "business_builder_email",
        "sender_email",
        "account_owner_email",
        "customer_domain",
        mode="before",
    )
    @classmethod
    def _visible(cls, value: object) -> object:
        # pasted identifiers carry zero-width spaces, NBSP, BOMs and bidi marks: one cleaning for every way in
        return clean_identifier(value) if isinstance(value, str) else value

    _emails = field_validator("contact_email", "business_builder_email", "sender_email", "account_owner_email")(_email)

    @field_validator("*")
    @classmethod
    def _only_text(cls, value: object) -> object:
        # a NUL or an unpaired surrogate fits no database column and no Slack message
        for text in (value, *value) if isinstance(value, dict) else (value,):
            if isinstance(text, str) and ("\x00" in text or (not text.isprintable() and _not_utf8(text))):
                raise ValueError("contains characters that are not text (a NUL or an unpaired surrogate)")
        return value

    @field_validator("customer_domain")
    @classmethod
    def _domain(cls, value: str | None) -> str | None:
        if not value:
            return None
        value = value.strip().lower().removeprefix("http://").removeprefix("https://").removeprefix("www.")
        value = value.split("/")[0]
        if "." not in value or " " in value:
            raise ValueError("is not a domain name")
        return value
