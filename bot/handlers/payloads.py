"""What Slack sends to ``/slack/events``, as far as Bolt and the listeners read it: one pydantic model
per kind of request, checked once at the boundary (:func:`bot.handlers.guard.screen`) so a listener
never meets a field of the wrong type, an id that is not an id or a text longer than Slack allows.

Fields the code does not read are not described, and extra fields are allowed (Slack adds fields);
a field that is absent or null is fine unless the model says it is required. The models only check:
the listeners keep reading Bolt's dicts (``body``, ``action``, ``view``), now known to be of this shape.
"""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

# users, channels, teams, enterprises, apps, bots ("" is what Slack sends for "none")
SlackId = Annotated[str, Field(pattern=r"^[A-Z0-9]{0,32}$")]
PersonId = Annotated[str, Field(pattern=r"^[A-Z0-9]{1,32}$")]
# trigger ids, timestamps, view ids, hashes: printable ASCII
Token = Annotated[str, Field(pattern=r"^[\x21-\x7e]{0,128}$")]
GivenToken = Annotated[str, Field(pattern=r"^[\x21-\x7e]{1,128}$")]
Name = Annotated[str, Field(max_length=255)]  # action ids, block ids, callback ids: matched as text
Value = Annotated[str, Field(max_length=2000)]  # a button's or an option's value (Slack's limit)
Url = Annotated[str, Field(max_length=3000)]
NotAnObject = str | int | float | bool | None | list[Any]  # context blocks hold text elements; nobody reads them


class Malformed(ValueError):
    """The request is not what Slack sends; the message says where and why."""


class Shape(BaseModel):
    # strict: a number is not an id, "true" is not a list; fields nobody reads are let through
    model_config = ConfigDict(strict=True, extra="ignore")


# ----- what Bolt reads on every request to build its context ------------------------------------------


class Party(Shape):
    """A team, an enterprise, a user or a channel given as an object."""

    id: SlackId | None = None
    team_id: SlackId | None = None
    enterprise_id: SlackId | None = None


class ViewIds(Shape):
    team_id: SlackId | None = None
    app_installed_team_id: SlackId | None = None


class ResponseUrl(Shape):
    response_url: Url | None = None


class FunctionData(Shape):
    inputs: dict[str, Any] | None = None


class Envelope(Shape):
    """Who and where, at every level Bolt looks for them (the payload, its ``authorizations``, the
    ``event``, ``message``, ``previous_message``, ``item`` and ``assistant_thread`` inside it)."""

    team: Party | str | None = None
    enterprise: Party | str | None = None
    user: Party | SlackId | None = None
    channel: Party | SlackId | None = None
    team_id: SlackId | None = None
    enterprise_id: SlackId | None = None
    user_id: SlackId | None = None
    channel_id: SlackId | None = None
    api_app_id: SlackId | None = None
    context_team_id: SlackId | None = None
    context_enterprise_id: SlackId | None = None
    app_installed_team_id: SlackId | None = None
    thread_ts: Token | None = None
    function_execution_id: Name | None = None
    bot_access_token: Name | None = None
    is_enterprise_install: bool | str | None = None
    is_ext_shared_channel: bool | str | None = None
    authorizations: list[Envelope] | None = None
    response_urls: list[ResponseUrl] | None = None
    response_url: Url | None = None
    function_data: FunctionData | None = None
    view: ViewIds | None = None
    event: Envelope | None = None
    message: Envelope | None = None
    previous_message: Envelope | None = None
    item: Envelope | None = None
    assistant_thread: Envelope | None = None


NOT_NULL = ("view", "actions", "event", "state", "container", "message")


class Payload(Envelope):
    """Any JSON payload: its type, and the callback id every listener matcher compares as text."""

    type: str
    callback_id: Name | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_null_parts(cls, data: Any) -> Any:
        for key in NOT_NULL:
            if isinstance(data, dict) and key in data and data[key] is None:
                raise ValueError(f"{key} is null")
        return data


# ----- a person clicked, submitted or used a shortcut -------------------------------------------------


class Person(Party):
    id: PersonId


class Option(Shape):
    value: Value


class Element(Shape):
    action_id: Name | None = None
    options: list[Option] | None = None


class Block(Shape):
    block_id: Name | None = None
    type: str | None = None
    elements: list[Element | NotAnObject] | None = None
    accessory: Element | None = None


class Message(Envelope):
    """The message a button was clicked in (the card: its checkbox options are read back)."""

    ts: Token | None = None
    thread_ts: Token | None = None
    text: str | None = None
    blocks: list[Block] | None = None


class Container(Shape):
    type: str | None = None
    channel_id: SlackId | None = None
    message_ts: Token | None = None
    view_id: Token | None = None
    thread_ts: Token | None = None


class SelectedOption(Shape):
    value: str


class Entry(Shape):
    """One input's value in a view's state."""

    type: str | None = None
    value: str | None = None
    selected_user: str | None = None
    selected_date: str | None = None
    selected_channel: str | None = None
    selected_conversation: str | None = None
    selected_time: str | None = None
    selected_option: SelectedOption | None = None
    selected_options: list[Option] | None = None
    selected_users: list[str] | None = None
    selected_channels: list[str] | None = None
    selected_conversations: list[str] | None = None


class State(Shape):
    values: dict[Name, dict[str, Entry]] = Field(default_factory=dict)  # block id → action id → the value


class View(ViewIds):
    id: Token | None = None
    hash: Token | None = None
    root_view_id: Token | None = None
    previous_view_id: Token | None = None
    type: Annotated[str, Field(max_length=64)] | None = None
    callback_id: Name | None = None
    private_metadata: Url | None = None
    external_id: Name | None = None
    state: State | None = None


class SubmittedView(View):
    id: GivenToken
    callback_id: Annotated[str, Field(min_length=1, max_length=255)]
    type: Annotated[str, Field(min_length=1, max_length=64)]


class Action(Shape):
    action_id: Name
    block_id: Name | None = None
    value: Value | None = None
    type: str | None = None
    action_ts: Token | None = None
    selected_option: Option | None = None
    selected_options: list[Option] | None = None


class Interaction(Payload):
    """What every interaction carries: who (``user.id``), where, and what was clicked or submitted."""

    user: Person
    channel: Party | None = None
    trigger_id: Token | None = None
    action_ts: Token | None = None
    message_ts: Token | None = None
    container: Container | None = None
    message: Message | None = None
    view: View | None = None
    state: State | None = None
    actions: list[Action] | None = None


class BlockActions(Interaction):
    trigger_id: GivenToken
    actions: Annotated[list[Action], Field(min_length=1)]


class Shortcut(Interaction):
    trigger_id: GivenToken
    callback_id: Annotated[str, Field(min_length=1, max_length=255)]


class Submission(Interaction):
    """A modal submitted or closed."""

    view: SubmittedView


# ----- the Events API -----------------------------------------------------------------------------------


class Event(Envelope):
    type: Annotated[str, Field(max_length=100)]
    subtype: str | None = None
    text: str | None = None
    bot_id: str | None = None
    tab: str | None = None
    channel_type: str | None = None
    user_team: str | None = None
    team: str | None = None
    source_team: str | None = None
    ts: Token | None = None
    thread_ts: Token | None = None
    event_ts: Token | None = None

    @model_validator(mode="after")
    def _what_the_listeners_read(self) -> Self:
        if self.type in ("message", "app_home_opened"):  # the events we listen to name people by id
            for key in ("user", "channel"):
                if isinstance(getattr(self, key), Party):
                    raise ValueError(f"event.{key} must be a Slack id, not an object")
        if self.type == "message" and self.user and not self.subtype:
            for key in ("channel", "ts"):  # what the reply relay reads
                if getattr(self, key) is None:
                    raise ValueError(f"event.{key} is missing")
        return self


class EventCallback(Payload):
    event_id: Annotated[str, Field(max_length=64)]
    event: Event


class UrlVerification(Payload):
    challenge: str


# ----- slash commands (a form, not JSON) ----------------------------------------------------------------


class SlashCommand(Shape):
    command: Annotated[str, Field(min_length=1)]
    user_id: PersonId
    trigger_id: GivenToken
    channel_id: SlackId | None = None
    team_id: SlackId | None = None


KINDS: dict[str, type[Payload]] = {
    "event_callback": EventCallback,
    "url_verification": UrlVerification,
    "block_actions": BlockActions,
    "view_submission": Submission,
    "view_closed": Submission,
    "shortcut": Shortcut,
    "message_action": Shortcut,
    "block_suggestion": Interaction,
}


def model_for(payload: dict[str, Any], *, form: bool) -> type[Shape] | None:
    """The model a payload must fit: by its type (a form is a slash command or nothing we read)."""
    if form:
        return SlashCommand if "command" in payload else None  # ssl_check and the like: Bolt answers them
    kind = payload.get("type")
    return KINDS.get(kind, Payload) if isinstance(kind, str) else Payload


def validate(payload: dict[str, Any], *, form: bool = False) -> None:
    """Raise :class:`Malformed` unless ``payload`` fits its model; the message names the first problem."""
    model = model_for(payload, form=form)
    if model is None:
        return
    try:
        model.model_validate(payload)
    except ValidationError as exc:
        raise Malformed(_first_problem(exc)) from None


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part)[:40] for part in ("payload", *error["loc"]))
    return f"{where}: {error['msg']}"
