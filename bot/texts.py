"""Every sentence a user reads lives in templates/ as Jinja2; this module renders them.

A template file holds one message or one family of sentences as macros; ``say(file, macro,
**values)`` renders one of them. User-provided text is escaped for Slack's mrkdwn with the
``esc`` filter, so a customer's "<b>" or "&" shows as typed.
"""

from __future__ import annotations

import os
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

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


def escape_mrkdwn(value: Any) -> str:
    """Slack's three control characters; everything else is shown as typed."""
    if value is None:
        return ""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def when(value: datetime | None, tz: str | None = None, fmt: str = "%a %d %b %H:%M") -> str:
    if value is None:
        return ""
    zone = ZoneInfo(tz) if tz else None
    return value.astimezone(zone).strftime(fmt) if zone else value.strftime(fmt + " UTC")


def slack_date(value: datetime | None, fallback_tz: str | None = None) -> str:
    """A date Slack shows in each reader's own time zone."""
    if value is None:
        return ""
    epoch = int(value.timestamp())
    return f"<!date^{epoch}^{{date_short_pretty}} {{time}}|{when(value, fallback_tz)}>"


def duration(hours: float) -> str:
    minutes = int(round(hours * 60))
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        h, m = divmod(minutes, 60)
        return f"{h} h {m} min" if m else f"{h} h"
    return f"{round(minutes / (24 * 60))} days"


def user(user_id: str | None, fallback: str | None = None) -> str:
    """A Slack mention for a user id; Handover itself for its own steps; else the fallback words."""
    if user_id and user_id[:1] in ("U", "W") and user_id.isalnum():
        return f"<@{user_id}>"
    if user_id in ("scheduler", "system", "import"):
        return "Handover"
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
        autoescape=False,
    )
    env.filters["esc"] = escape_mrkdwn
    env.filters["when"] = when
    env.filters["slack_date"] = slack_date
    env.filters["duration"] = duration
    env.filters["user"] = user
    return env


def say(template: str, macro: str | None = None, /, **values: Any) -> str:
    """Render a whole template, or one macro of it, to text."""
    tpl = environment().get_template(template)
    if macro is None:
        return tpl.render(**values).strip()
    module = tpl.make_module(values)
    fn = getattr(module, macro, None)
    if fn is None:
        raise KeyError(f"{template} has no macro {macro!r}")
    accepted = values if fn.catch_kwargs else {k: v for k, v in values.items() if k in fn.arguments}
    return str(fn(**accepted)).strip()
