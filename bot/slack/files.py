"""The outbox's file uploads (``outbox.Kind.FILE``): the weekly chart, rendered at send time from
the figures then, and shared to its channel with files.getUploadURLExternal, the upload itself and
files.completeUploadExternal (slack_sdk's ``files_upload_v2``).

Nothing is shared before the last step: a failure in the first two leaves nothing behind in
Slack and the outbox retries. Unlike a message, a shared file carries no outbox key that a retry
could look for, so a time-out *after* Slack completed the upload can, rarely, share the chart twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_sdk import WebClient

from bot import charts, reports, texts
from bot.context import Context
from bot.db import run_in_transaction
from bot.messages import File
from bot.outbox import Done


def send(ctx: Context, client: WebClient, p: File) -> dict[str, Any]:
    if p.what != "weekly_chart":
        raise Done(f"no such file: {p.what!r}")
    config = ctx.config
    start, end = datetime.fromisoformat(p.start), datetime.fromisoformat(p.end)
    report = run_in_transaction(ctx.engine, lambda s: reports.compute(s, config, start, end))
    figures = report.total
    if figures.handed_over == 0:
        raise Done("nothing was handed over that week")
    period = reports.describe_period(start, end, config)
    png = charts.render(figures, title=texts.say("report.j2", "chart_title", week=p.week), subtitle=period)
    response = client.files_upload_v2(
        channel=p.channel,
        file=png,
        filename=f"handover-{p.week}.png",
        title=texts.say("report.j2", "chart_title", week=p.week),
        alt_txt=texts.say("report.j2", "chart_alt", week=p.week, f=figures),
        initial_comment=texts.say(
            "report.j2", "chart_comment", week=p.week, period=period, f=figures, field_rate=reports.FIELD_ACCEPT_RATE
        ),
    )
    shared = response.get("file") or {}
    return {"channel": p.channel, "file": shared.get("id")}
