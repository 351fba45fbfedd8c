"""Show Slack messages readably in a terminal (the demo and the sandbox use it)."""

from __future__ import annotations

import re
from typing import Any

from rich.console import Group
from rich.emoji import Emoji
from rich.panel import Panel
from rich.text import Text

_USER = re.compile(r"<@([A-Z0-9]+)>")
_DATE = re.compile(r"<!date\^\d+\^[^|]*\|([^>]*)>")
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_EMOJI = {":rotating_light:": "🚨", ":white_check_mark:": "✅", ":white_medium_square:": "⬜",
          ":bulb:": "💡", ":hourglass_flowing_sand:": "⏳", ":question:": "❓", ":wastebasket:": "🗑",
          ":checkered_flag:": "🏁", ":arrow_right:": "➡", ":warning:": "⚠", ":outbox_tray:": "📤",
          ":speech_balloon:": "💬", ":inbox_tray:": "📥", ":bell:": "🔔"}


def mrkdwn(text: str, names: dict[str, str] | None = None) -> Text:
    names = names or {}
    text = _USER.sub(lambda m: "@" + names.get(m.group(1), m.group(1)), text)
    text = _DATE.sub(lambda m: m.group(1), text)
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", text)
    for code, emoji in _EMOJI.items():
        text = text.replace(code, emoji)
    text = Emoji.replace(text)  # any other :shortcode: Slack would show as an emoji
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    out = Text()
    for part in re.split(r"(\*[^*\n]+\*|_[^_\n]+_)", text):
        if part.startswith("*") and part.endswith("*") and len(part) > 2:
            out.append(part[1:-1], style="bold")
        elif part.startswith("_") and part.endswith("_") and len(part) > 2:
            out.append(part[1:-1], style="italic")
        else:
            out.append(part)
    return out


def _text(obj: dict[str, Any] | None, names: dict[str, str]) -> Text:
    if not obj:
        return Text()
    return mrkdwn(obj.get("text", ""), names)


def render_blocks(blocks: list[dict[str, Any]], *, title: str = "", names: dict[str, str] | None = None) -> Panel:
    names = names or {}
    parts: list[Any] = []
    heading = title
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            heading = block["text"]["text"]
        elif kind == "section":
            if block.get("text"):
                parts.append(_text(block["text"], names))
            if block.get("fields"):
                for f in block["fields"]:
                    parts.append(_text(f, names))
        elif kind == "context":
            line = Text(" · ").join(_text(e, names) for e in block.get("elements", []) if e.get("text"))
            line.stylize("dim")
            parts.append(line)
        elif kind == "divider":
            parts.append(Text("─" * 40, style="dim"))
        elif kind == "actions":
            line = Text()
            for el in block.get("elements", []):
                if el.get("type") == "button":
                    style = {"primary": "bold green", "danger": "bold red"}.get(el.get("style", ""), "bold")
                    line.append(f"[ {el['text']['text']} ]", style=style)
                    line.append(" ")
                elif el.get("type") == "checkboxes":
                    chosen = {o["value"] for o in el.get("initial_options") or []}
                    for o in el.get("options", []):
                        mark = "☑" if o["value"] in chosen else "☐"
                        line.append(f"{mark} {o['text']['text']}\n")
            parts.append(line)
    return Panel(Group(*parts), title=heading, title_align="left", border_style="cyan")
