"""Every sentence a user reads lives in templates/ as Jinja2; this module renders them.

A template file holds one message or one family of sentences as macros; ``say(file, macro,
**values)`` renders one of them.

Escaping is automatic, like HTML autoescaping: every value a template prints is escaped for Slack
(``&``, ``<``, ``>``: Slack's only control characters, see "Formatting text: escaping" in Slack's
docs), so a customer's ``<!here>``, ``<@U123>`` or ``<https://evil|bank>`` shows as typed and never
pings or links. Only text that already is Slack markup passes unchanged: a :class:`Mrkdwn` value —
what ``say()`` returns, a mention from the ``user`` filter, a date from ``slack_date``. The same
function, :func:`escape_mrkdwn`, is the one escape path for text that does not go through a template
(the Block Kit builders in ``bot/slack/blocks.py`` call :func:`mrkdwn`).

Slack decodes the three entities in ``plain_text`` objects too (it stores a button's "A & B" as
"A &amp; B"), so headers, buttons, options and modal titles are escaped the same way; only an
input's ``initial_value`` is sent as typed (it is a value the person edits, never rendered).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
import markupsafe

from bot import resources


def templates_dir() -> Path | None:
    """HANDOVER_TEMPLATES: a directory of a company's own wording; a template it does not hold is
    taken from the built-in ones. None: the built-in templates only."""
    configured = os.environ.get("HANDOVER_TEMPLATES")
    return Path(configured) if configured else None


class _BuiltinLoader(jinja2.BaseLoader):
    """The templates shipped with Handover, read through importlib.resources (a wheel, a zip, or
    the source tree's templates/; see bot/resources.py)."""

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str | None, Any]:
        found = resources.find(resources.TEMPLATES)
        entry = found
        for part in template.split("/"):
            if part in ("", ".", ".."):
                raise jinja2.TemplateNotFound(template)
            entry = entry / part
        if not entry.is_file():
            raise jinja2.TemplateNotFound(template)
        source = entry.read_text(encoding="utf-8")
        if isinstance(entry, Path):
            mtime = entry.stat().st_mtime
            return source, str(entry), lambda: entry.stat().st_mtime == mtime
        return source, None, lambda: True

    def list_templates(self) -> list[str]:
        return sorted(e.name for e in resources.find(resources.TEMPLATES).iterdir() if e.is_file())


class Mrkdwn(markupsafe.Markup):
    """Text that already is Slack markup: sent as it is, never escaped again. Joining it with plain
    text (``+``, ``join``, ``format``) escapes the plain part for Slack, like ``Markup`` does for HTML."""

    __slots__ = ()

    @classmethod
    def escape(cls, s: Any, /) -> Mrkdwn:
        return escape_mrkdwn(s)


def escape_mrkdwn(value: Any) -> Mrkdwn:
    """The one escape for Slack: ``&``, ``<`` and ``>`` become entities; everything else is shown as
    typed (``*bold*`` stays bold). Text that already is markup (:class:`Mrkdwn`) is returned as it is."""
    if value is None:
        return Mrkdwn("")
    if hasattr(value, "__html__"):
        return Mrkdwn(value.__html__())
    return Mrkdwn(str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


_ANGLED = re.compile(r"<([^<>]*)>")


def as_typed(markup: str, names: Mapping[str, str] | None = None) -> str:
    """A Slack message's text (markup) as its author typed it: ``&lt;`` is ``<`` again, a mention
    ``<@U1>`` is ``@`` and the person's name (from ``names``, else the id), ``<#C1|sales>`` is
    ``#sales``, ``<!here>`` is ``@here``, a date its fallback text and a link ``<url|label>`` its
    label with the address. What a plain-text input shows, or a terminal."""
    names = names or {}

    def typed(match: re.Match[str]) -> str:
        target, _, label = match.group(1).partition("|")
        if target.startswith("@"):
            return "@" + (names.get(target[1:]) or label or target[1:])
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):  # !here, !channel, !subteam^S1|@sales, !date^…|fallback
            kind = target[1:].split("^", 1)[0]
            return label if kind in ("date", "subteam") and label else "@" + kind
        address = target.removeprefix("mailto:")
        return f"{label} ({address})" if label and label != address else address

    return _ANGLED.sub(typed, markup).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def mrkdwn(value: Any) -> Mrkdwn:
    """``value`` as Slack text: escaped, unless it already is markup (what ``say()`` returns)."""
    return escape_mrkdwn(value)


def _finalize(value: Any) -> Any:
    """Every ``{{ value }}`` a template prints: escaped for Slack unless it already is markup."""
    if value is None:
        return Mrkdwn("")
    return escape_mrkdwn(value)


# markupsafe's HTML escape (used by a few Jinja filters on mixed text) also writes quotes as
# entities; Slack would show those literally, so they are turned back (a user's own "&#34;" was
# escaped to "&amp;#34;" first, so it cannot be mistaken for one).
_HTML_QUOTES = (("&#34;", '"'), ("&#39;", "'"))


def _slack_quotes(text: str) -> str:
    for entity, char in _HTML_QUOTES:
        text = text.replace(entity, char)
    return text


def blockquote(value: Any) -> Mrkdwn:
    """Text quoted with Slack's "> " on every line, escaped."""
    return Mrkdwn("> ") + Mrkdwn("\n> ").join(escape_mrkdwn(value).split("\n"))


def when(value: datetime | None, tz: str | None = None, fmt: str = "%a %d %b %H:%M") -> str:
    if value is None:
        return ""
    zone = ZoneInfo(tz) if tz else None
    return value.astimezone(zone).strftime(fmt) if zone else value.strftime(fmt + " UTC")


def slack_date(value: datetime | None, fallback_tz: str | None = None) -> Mrkdwn:
    """A date Slack shows in each reader's own time zone."""
    if value is None:
        return Mrkdwn("")
    epoch = int(value.timestamp())
    return Mrkdwn(f"<!date^{epoch}^{{date_short_pretty}} {{time}}|") + when(value, fallback_tz) + Mrkdwn(">")


def number(value: int) -> str:
    """A count as people write it: 7,012."""
    return f"{value:,}"


def duration(hours: float) -> str:
    minutes = round(hours * 60)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        h, m = divmod(minutes, 60)
        return f"{h} h {m} min" if m else f"{h} h"
    return f"{round(minutes / (24 * 60))} days"


def user(user_id: str | None, fallback: str | None = None) -> Mrkdwn:
    """A Slack mention for a user id; Handover itself for its own steps; else the fallback words."""
    if user_id and user_id[:1] in ("U", "W") and user_id.isascii() and user_id.isalnum():
        return Mrkdwn(f"<@{user_id}>")
    if user_id in ("scheduler", "system", "import"):
        return Mrkdwn("Handover")
    return escape_mrkdwn(fallback or user_id or "someone")


def _loader() -> jinja2.BaseLoader:
    override = templates_dir()
    if override is None:
        return _BuiltinLoader()
    return jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(override)), _BuiltinLoader()])


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=_loader(),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=True,
        finalize=_finalize,
    )
    env.filters["esc"] = escape_mrkdwn
    env.filters["blockquote"] = blockquote
    env.filters["when"] = when
    env.filters["slack_date"] = slack_date
    env.filters["duration"] = duration
    env.filters["number"] = number
    env.filters["user"] = user
    return env


def say(template: str, macro: str | None = None, /, **values: Any) -> Mrkdwn:
    """Render a whole template, or one macro of it, to Slack text (every value in it escaped)."""
    tpl = environment().get_template(template)
    if macro is None:
        return Mrkdwn(_slack_quotes(tpl.render(**values).strip()))
    module = tpl.make_module(values)
    fn = getattr(module, macro, None)
    if fn is None:
        raise KeyError(f"{template} has no macro {macro!r}")
    accepted = values if fn.catch_kwargs else {k: v for k, v in values.items() if k in fn.arguments}
    return Mrkdwn(_slack_quotes(str(fn(**accepted)).strip()))
