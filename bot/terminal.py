"""Show Slack messages and import summaries readably in a terminal (the command and the demo use it)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.emoji import Emoji
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from bot.texts import as_typed

if TYPE_CHECKING:
    from bot.flows.importing import ImportSummary

_EMOJI = {
    ":rotating_light:": "🚨",
    ":white_check_mark:": "✅",
    ":white_medium_square:": "⬜",
    ":bulb:": "💡",
    ":hourglass_flowing_sand:": "⏳",
    ":question:": "❓",
    ":wastebasket:": "🗑",
    ":checkered_flag:": "🏁",
    ":arrow_right:": "➡",
    ":warning:": "⚠",
    ":outbox_tray:": "📤",
    ":speech_balloon:": "💬",
    ":inbox_tray:": "📥",
    ":bell:": "🔔",
}


def mrkdwn(text: str, names: dict[str, str] | None = None) -> Text:
    text = as_typed(text, names)
    for code, emoji in _EMOJI.items():
        text = text.replace(code, emoji)
    text = Emoji.replace(text)  # any other :shortcode: Slack would show as an emoji
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


SHOWN_ROWS = 200  # a longer import is summed up; --report FILE.csv has every line


def print_import(summary: ImportSummary, *, dry_run: bool, console: Console) -> None:
    # every cell comes from the imported file: escaped, so "[/]" in a company name is text, not markup
    table = Table(title="Routing" if dry_run else "Imported items", show_lines=False)
    for col in ("line", "customer", "category", "receiver", "why", "status"):
        table.add_column(col)
    for o in summary.outcomes[:SHOWN_ROWS]:
        table.add_row(str(o.line), escape(o.customer), o.category, escape(o.receiver), escape(o.routing), o.status)
    if summary.outcomes:
        console.print(table)
    if len(summary.outcomes) > SHOWN_ROWS:
        console.print(f"… and {len(summary.outcomes) - SHOWN_ROWS:,} more rows (--report FILE.csv lists every line).")
    for w in summary.warnings:
        console.print(f"[yellow]warning:[/] {escape(w)}")
    for e in summary.errors[:SHOWN_ROWS]:
        console.print(f"[red]line {e.line}:[/] " + escape("; ".join(e.reasons)))
    if len(summary.errors) > SHOWN_ROWS:
        console.print(f"… and {len(summary.errors) - SHOWN_ROWS:,} more rejected lines (--report FILE.csv lists them).")
    verb = "would create" if dry_run else "created"
    n_new = sum(1 for o in summary.outcomes if o.status in ("created", "would create"))
    console.print(f"{n_new} {verb}, {summary.existing} already imported, {len(summary.errors)} rejected.")
