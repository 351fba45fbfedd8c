"""The figures as Block Kit (``/handover stats``): a header, the figures as section fields, the
discard reasons, one line per group, and how to read them. Within Slack's limits (bot.slack.blocks)."""

from __future__ import annotations

from typing import Any

from bot import texts
from bot.reports import FIELD_ACCEPT_RATE, Report
from bot.slack import blocks as b

SHOWN = 10  # groups and reasons listed; the rest is counted


def say(macro: str, **values: Any) -> str:
    return texts.say("report.j2", macro, **values)


def build(report: Report, *, period: str) -> tuple[str, list[dict[str, Any]]]:
    """The notification text and the blocks of ``report``; ``period`` in words."""
    f = report.total
    if f.handed_over == 0:
        text = say("empty", period=period, event=report.event)
        return text, b.to_dicts([b.section(text)])
    parts: list[Any] = [
        b.header(say("title", event=report.event)),
        b.fields(
            [
                say("handed_over", f=f),
                say("accepted", f=f, field_rate=FIELD_ACCEPT_RATE),
                say("time_to_accept", f=f),
                say("decisions", f=f),
                say("follow_up", f=f),
                say("feedback", f=f),
                say("outcome", f=f),
            ]
        ),
    ]
    if f.reasons:
        lines = [(label, f.reasons[label]) for label in report.reason_labels]
        parts.append(b.section(say("reasons", lines=lines[:SHOWN], more=max(len(lines) - SHOWN, 0))))
    if report.by != "none" and report.groups:
        parts.append(
            b.section(say("groups", by=report.by, lines=report.groups[:SHOWN], more=max(len(report.groups) - SHOWN, 0)))
        )
    parts.append(b.context(say("footer", period=period)))
    return say("text", period=period, event=report.event, f=f), b.to_dicts(parts)
