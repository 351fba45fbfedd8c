"""The admin's configuration: one YAML file (HANDOVER_CONFIG) with built-in defaults.

Which checklist items qualify a Lead, who receives what, the discard reasons and the service
levels differ by region and product area: they are configuration, not code. A bad file fails at
start with the file, the line and the problem, one line per problem.
"""

from __future__ import annotations

import datetime as dt
import re
from datetime import date, time
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.ids import Category, WebhookEventType

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ConfigError(Exception):
    """Every problem of a configuration file, each as ``file:line: where: what``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _email(value: str) -> str:
    value = value.strip().lower()
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an e-mail address")
    return value


_HHMM = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])$")


def _clock(value: Any) -> Any:
    """A time of day written "HH:MM". Unquoted 9:00 is a number in YAML (540) and 9 would be read as
    nine seconds past midnight, so anything but a "HH:MM" string is refused."""
    if isinstance(value, time):
        return value
    if isinstance(value, str) and (m := _HHMM.match(value.strip())):
        return time(int(m.group(1)), int(m.group(2)))
    raise ValueError(f'{value!r} is not a time of day: write it in quotes as "HH:MM", e.g. "08:00"')


def _listify(value: Any) -> Any:
    if value is None:
        return None
    return [value] if isinstance(value, str) else value


class SLA(Strict):
    """The service level of a category, in the receiver's working hours."""

    decide_within_hours: float = Field(16, gt=0)
    reminders_after_hours: list[float] = [4, 8]
    escalate_after_hours: float | None = 16
    reassign_after_hours: float | None = None
    follow_ups_expected: int = Field(3, ge=0)
    follow_up_within_hours: float = Field(24, gt=0)


class CategoryConfig(Strict):
    label: str
    definition: str
    receiver: str = ""
    sla: SLA = SLA()


class ChecklistItem(Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1, max_length=75)
    hint: str | None = None


class LeadRule(Strict):
    """What makes an item a Lead: ``required`` items, or ``n`` of the ``n_of`` items."""

    required: list[str] | None = None
    n_of: list[str] | None = None
    n: int | None = None

    @model_validator(mode="after")
    def _one_mode(self) -> LeadRule:
        if bool(self.required) == bool(self.n_of) or (self.required and self.n is not None):
            raise ValueError("give either 'required' or 'n_of' with 'n', not both")
        if self.n_of is not None and (self.n is None or not 1 <= self.n <= len(self.n_of)):
            raise ValueError(f"'n' must be between 1 and {len(self.n_of)} (the number of items in 'n_of')")
        return self

    @property
    def keys(self) -> list[str]:
        return list(self.required or self.n_of or [])

    def is_met(self, filled: set[str]) -> bool:
        if self.required:
            return all(k in filled for k in self.required)
        return sum(1 for k in self.n_of or [] if k in filled) >= (self.n or 0)

    def missing(self, filled: set[str], labels: dict[str, str] | None = None) -> str:
        """What is still missing, in words ("" when met)."""
        if self.is_met(filled):
            return ""
        name = (labels or {}).get
        if self.required:
            return ", ".join(name(k, k) for k in self.required if k not in filled)
        have = sum(1 for k in self.n_of or [] if k in filled)
        rest = [name(k, k) for k in self.n_of or [] if k not in filled]
        return f"{(self.n or 0) - have} more of: " + ", ".join(rest)


class Checklist(Strict):
    items: list[ChecklistItem]
    lead_rule: LeadRule

    @cached_property
    def labels(self) -> dict[str, str]:
        return {i.key: i.label for i in self.items}

    def item(self, key: str) -> ChecklistItem | None:
        return next((i for i in self.items if i.key == key), None)

    @model_validator(mode="after")
    def _known_keys(self) -> Checklist:
        keys = [i.key for i in self.items]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"checklist keys appear twice: {', '.join(dupes)}")
        unknown = [k for k in self.lead_rule.keys if k not in keys]
        if unknown:
            mode = "required" if self.lead_rule.required else "n_of"
            raise _At(
                ("checklist", "lead_rule", mode, self.lead_rule.keys.index(unknown[0])),
                f"lead_rule names unknown checklist items: {', '.join(unknown)} (known: {', '.join(keys)})",
            )
        return self


class DiscardReason(Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1, max_length=75)
    suggests: Category | None = None  # really a recategorization: the modal suggests this category
    min_justification: int = Field(10, ge=1, le=2000)


class Team(Strict):
    key: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str
    lead: str | None = None
    members: list[str] = Field(min_length=1)
    region: str | None = None
    categories: list[Category] = []
    holidays: Holidays | None = None  # the team's country/subdivision; the company's extra days still apply

    _emails = field_validator("members", mode="after")(lambda v: [_email(e) for e in v])

    @field_validator("lead")
    @classmethod
    def _lead(cls, v: str | None) -> str | None:
        return _email(v) if v else None


class When(Strict):
    category: list[Category] | None = None
    region: list[str] | None = None
    product_area: list[str] | None = None

    _lists = field_validator("category", "region", "product_area", mode="before")(_listify)


class Target(Strict):
    """Where a rule sends an item: ``account_owner``, ``sender``, ``{team: key}`` or ``{person: e-mail}``."""

    kind: Literal["account_owner", "sender", "team", "person"]
    team: str | None = None
    person: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"kind": value}
        if isinstance(value, dict) and "kind" not in value:
            if set(value) == {"team"}:
                return {"kind": "team", **value}
            if set(value) == {"person"}:
                return {"kind": "person", "person": value["person"]}
            raise ValueError("use 'account_owner', 'sender', {team: <key>} or {person: <e-mail>}")
        return value

    @field_validator("person")
    @classmethod
    def _person(cls, v: str | None) -> str | None:
        return _email(v) if v else None


class Rule(Strict):
    when: When = When()
    to: Target


class Routing(Strict):
    fallback: str
    rules: list[Rule] = []

    _fallback = field_validator("fallback")(lambda v: _email(v))


class Roles(Strict):
    admins: list[str] = []
    reviewers: list[str] = []

    _emails = field_validator("admins", "reviewers", mode="after")(lambda v: [_email(e) for e in v])


_MMDD = re.compile(r"^(0?[1-9]|1[0-2])-(0?[1-9]|[12][0-9]|3[01])$")


def _extra_day(value: Any) -> Any:
    """An extra day off: a date ("2026-12-24") or a day every year ("12-24")."""
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if _MMDD.match(text):
        month, day = (int(x) for x in text.split("-"))
        date(2024, month, day)  # a leap year: 02-29 is a day too; refuses 02-30
        return f"{month:02d}-{day:02d}"
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f'{value!r} is not a date ("2026-12-24") or a yearly day ("12-24")') from None


class Holidays(Strict):
    """Days off: a country's (and subdivision's) public holidays from the maintained ``holidays``
    package, so the calendar never runs out, plus the company's own extra days."""

    country: str | None = None  # ISO 3166-1 alpha-2, e.g. SE, US, JP, GB, AU
    subdivision: str | None = None  # e.g. NY for the United States, BY for Germany, NSW for Australia
    categories: list[str] = ["public"]  # the package's categories, e.g. [public, de_facto] in Sweden
    extra: list[date | str] = []  # "2026-12-24" once, or "12-24" every year

    _extra = field_validator("extra", mode="before")(lambda v: [_extra_day(x) for x in (v or [])])

    @model_validator(mode="before")
    @classmethod
    def _dates_only(cls, value: Any) -> Any:
        return {"extra": value} if isinstance(value, list) else value  # the old form: a list of dates

    @model_validator(mode="after")
    def _known(self) -> Holidays:
        import holidays as holidays_package

        if self.country is None:
            if self.subdivision:
                raise ValueError("a subdivision needs a country")
            return self
        supported = holidays_package.list_supported_countries()
        if self.country.upper() not in supported:
            raise ValueError(
                f"unknown country {self.country!r} (an ISO 3166 code the holidays package "
                "knows, e.g. SE, US, JP, GB, AU)"
            )
        country = self.country.upper()
        subdivisions = supported[country]
        if self.subdivision and self.subdivision not in subdivisions:
            raise ValueError(
                f"unknown subdivision {self.subdivision!r} of {country} (known: {', '.join(subdivisions[:40])})"
            )
        known = holidays_package.country_holidays(country).supported_categories
        wrong = [c for c in self.categories if c not in known]
        if wrong:
            raise ValueError(f"unknown holiday categories {', '.join(wrong)} for {country} (known: {', '.join(known)})")
        return self


class WorkingHours(Strict):
    start: time = time(8, 0)
    end: time = time(17, 0)
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = ["mon", "tue", "wed", "thu", "fri"]
    holidays: Holidays = Holidays()
    # a person's own calendar where it differs from their team's: {e-mail: {country:, subdivision:}}
    people: dict[str, Holidays] = {}

    @field_validator("people", mode="before")
    @classmethod
    def _people(cls, v: Any) -> Any:
        return {_email(k): x for k, x in v.items()} if isinstance(v, dict) else v

    _clocks = field_validator("start", "end", mode="before")(_clock)

    @model_validator(mode="after")
    def _order(self) -> WorkingHours:
        if self.end <= self.start:
            raise _At(("working_hours", "end"), "'end' must be after 'start'")
        return self


class Channels(Strict):
    review: str | None = None
    reports: str | None = None
    ops: str | None = None


class Digest(Strict):
    day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    time: dt.time = dt.time(8, 30)

    _clock = field_validator("time", mode="before")(_clock)


class Feedback(Strict):
    after_days: float = Field(14, gt=0)
    reminder_after_days: float = Field(3, gt=0)


class Review(Strict):
    every: Literal["week", "month"] = "month"
    sample_size: int = Field(10, ge=1, le=100)


class Ask(Strict):
    reask_after_hours: float = Field(24, gt=0)
    tell_sender_after_hours: float = Field(48, gt=0)


class WebhookFilters(Strict):
    """Only items that match: each given list is one condition (any of its values), all must hold."""

    category: list[Category] | None = None
    event: list[str] | None = None  # the item's event (trade show, webinar), as handed over
    region: list[str] | None = None

    _lists = field_validator("category", "event", "region", mode="before")(_listify)


class WebhookEndpoint(Strict):
    """A receiver of the outbound webhooks (a CRM workflow, Zapier, n8n, an integration service)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=100)
    url: str
    events: list[WebhookEventType] = Field(min_length=1)
    filters: WebhookFilters = WebhookFilters()
    secret_env: str = Field(pattern=r"^[A-Z_][A-Z0-9_]*$")  # the environment variable holding the whsec_… secret
    # while rotating: the other secret, also signed with, until the receiver knows the new one
    previous_secret_env: str | None = Field(default=None, pattern=r"^[A-Z_][A-Z0-9_]*$")
    timeout_seconds: float = Field(5, gt=0, le=60)
    concurrency: int = Field(4, ge=1, le=32)  # requests in flight to this endpoint (different items)

    @field_validator("events", mode="before")
    @classmethod
    def _events(cls, v: Any) -> Any:
        v = _listify(v)
        if isinstance(v, list) and "*" in v:
            return [t.value for t in WebhookEventType]
        return v

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(v.strip())
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError(f"{v!r} is not an http(s) URL")
        return v.strip()


class Webhooks(Strict):
    retry_for_hours: float = Field(72, gt=0)  # keep retrying an unreachable endpoint this long
    endpoints: list[WebhookEndpoint] = []

    @model_validator(mode="after")
    def _unique(self) -> Webhooks:
        names = [e.name for e in self.endpoints]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"webhook endpoint names appear twice: {', '.join(dupes)}")
        return self

    def endpoint(self, name: str) -> WebhookEndpoint | None:
        return next((e for e in self.endpoints if e.name == name), None)


class Config(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, ignored_types=(cached_property,))

    timezone: str = "Europe/Stockholm"
    working_hours: WorkingHours = WorkingHours()
    categories: dict[Category, CategoryConfig]
    checklist: Checklist
    discard_reasons: list[DiscardReason] = Field(min_length=1)
    teams: list[Team] = []
    routing: Routing
    roles: Roles = Roles()
    channels: Channels = Channels()
    digest: Digest = Digest()
    feedback: Feedback = Feedback()
    review: Review = Review()
    ask: Ask = Ask()
    webhooks: Webhooks = Webhooks()

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (use an IANA name such as Europe/Stockholm)") from None
        return v

    @model_validator(mode="after")
    def _references(self) -> Config:
        missing = [c.value for c in Category if c not in self.categories]
        if missing:
            raise ValueError(f"categories missing: {', '.join(missing)}")
        keys = [r.key for r in self.discard_reasons]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"discard reason keys appear twice: {', '.join(dupes)}")
        team_keys = [t.key for t in self.teams]
        for n, rule in enumerate(self.routing.rules):
            if rule.to.kind == "team" and rule.to.team not in team_keys:
                raise _At(
                    ("routing", "rules", n, "to", "team"),
                    f"unknown team {rule.to.team!r} (known: {', '.join(team_keys) or 'none'})",
                )
            if rule.to.kind == "person" and not rule.to.person:
                raise _At(("routing", "rules", n, "to"), "a person target needs an e-mail")
        return self

    # ----- look-ups --------------------------------------------------------------------------
    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def category(self, category: Category | str) -> CategoryConfig:
        return self.categories[Category(category)]

    def discard_reason(self, key: str) -> DiscardReason:
        for r in self.discard_reasons:
            if r.key == key:
                return r
        return DiscardReason(
            key=key if re.match(r"^[a-z][a-z0-9_]*$", key or "") else "unknown", label=key or "unknown reason"
        )

    def team(self, key: str | None) -> Team:
        for t in self.teams:
            if t.key == key:
                return t
        raise KeyError(key)

    def teams_led_by(self, email: str | None) -> list[Team]:
        email = (email or "").lower()
        return [t for t in self.teams if t.lead == email]

    def team_of(self, email: str | None) -> Team | None:
        email = (email or "").lower()
        return next((t for t in self.teams if email in t.members), None)

    def holidays_of(self, email: str | None) -> Holidays:
        """Whose public holidays a person keeps: their own entry, their team's (as a member, then
        as its lead), else the company's."""
        email = (email or "").lower()
        if email in self.working_hours.people:
            return self.working_hours.people[email]
        team = self.team_of(email) or next(iter(self.teams_led_by(email)), None)
        if team is not None and team.holidays is not None:
            return team.holidays
        return self.working_hours.holidays

    def is_admin(self, email: str | None) -> bool:
        return (email or "").lower() in self.roles.admins

    def is_reviewer(self, email: str | None) -> bool:
        return (email or "").lower() in self.roles.reviewers


class _At(ValueError):
    """A cross-reference problem that knows where in the file it is."""

    def __init__(self, loc: tuple, message: str) -> None:
        super().__init__(message)
        self.loc = loc


# ----- loading --------------------------------------------------------------------------------


def default_text() -> str:
    return resources.files("bot").joinpath("default_config.yaml").read_text(encoding="utf-8")


def _node_line(node: yaml.Node | None, loc: tuple) -> int | None:
    """The line of the YAML node at ``loc`` (or of its nearest existing parent)."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if str(key.value) == str(part):
                    child = value
                    line = key.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line


def _duplicate_keys(node: yaml.Node | None, name: str, path: tuple = ()) -> list[str]:
    """YAML keeps the last of two equal keys silently; a second `teams:` would hide the first."""
    out: list[str] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            k = str(key.value)
            if k in seen:
                out.append(
                    f"{name}:{key.start_mark.line + 1}: {_where(path + (k,))}: appears twice "
                    "(the second would silently replace the first)"
                )
            seen.add(k)
            out.extend(_duplicate_keys(value, name, path + (k,)))
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            out.extend(_duplicate_keys(value, name, path + (i,)))
    return out


def _where(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top)"


def _merge_defaults(data: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    merged = dict(defaults)
    merged.update(data)
    if isinstance(data.get("categories"), dict):
        # a category given in the file overrides the default one key by key (its sla too): changing
        # only the service level keeps the default label and definition
        categories = dict(defaults.get("categories", {}))
        for key, override in data["categories"].items():
            base = categories.get(key)
            if isinstance(base, dict) and isinstance(override, dict):
                over = dict(override)
                if isinstance(base.get("sla"), dict) and isinstance(over.get("sla"), dict):
                    over["sla"] = {**base["sla"], **over["sla"]}
                categories[key] = {**base, **over}
            else:
                categories[key] = override
        merged["categories"] = categories
    return merged


def parse(text: str, name: str = "<config>", *, use_defaults: bool = True) -> Config:
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text) if root is not None else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{mark.line + 1}" if mark else "?"
        raise ConfigError([f"{name}:{where}: not valid YAML: {getattr(exc, 'problem', exc)}"]) from None
    if data is None:
        data = {}
    duplicates = _duplicate_keys(root, name)
    if duplicates:
        raise ConfigError(duplicates)
    if not isinstance(data, dict):
        raise ConfigError([f"{name}:1: the file must be a mapping of sections (timezone:, categories:, …)"])
    if use_defaults:
        data = _merge_defaults(data, yaml.safe_load(default_text()))
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            loc = _clean_loc(data, e["loc"])
            cause = e.get("ctx", {}).get("error")
            if isinstance(cause, _At):
                loc = cause.loc
            message = str(cause) if cause is not None else e["msg"]
            message = message.removeprefix("Value error, ")
            if e["type"] == "extra_forbidden":
                message = f"unknown setting {loc[-1]!r} (a typo?)"
            line = _node_line(root, loc) or 1
            problems.append(f"{name}:{line}: {_where(loc)}: {message}")
        raise ConfigError(
            sorted(set(problems), key=lambda p: (int(p.split(":")[1]) if p.split(":")[1].isdigit() else 0, p))
        ) from None


def _clean_loc(data: Any, loc: tuple) -> tuple:
    """Keep the parts of a pydantic error location that are keys in the file (or field names);
    drop union members and validator names pydantic adds."""
    out: list[Any] = []
    node = data
    for part in loc:
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            node = node[part]
        elif isinstance(part, str) and _is_field(part):
            node = None
        else:
            continue
        out.append(part)
    return tuple(out)


def _is_field(name: str) -> bool:
    return any(
        name in m.model_fields
        for m in (
            Config,
            SLA,
            CategoryConfig,
            ChecklistItem,
            LeadRule,
            Checklist,
            DiscardReason,
            Team,
            When,
            Target,
            Rule,
            Routing,
            Roles,
            WorkingHours,
            Channels,
            Digest,
            Feedback,
            Review,
            Ask,
            Holidays,
            Webhooks,
            WebhookEndpoint,
            WebhookFilters,
        )
    )


def load_config(path: Path | str | None) -> Config:
    """The configuration in ``path``, or the built-in defaults when ``path`` is None."""
    if path is None:
        return parse(default_text(), "default_config.yaml", use_defaults=False)
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read the configuration file ({exc.strerror})"]) from None
    return parse(text, str(path))
