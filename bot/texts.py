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


def templates_dir() -> Path:
    configured = os.environ.get("HANDOVER_TEMPLATES")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parent.parent / "templates"


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


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
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
