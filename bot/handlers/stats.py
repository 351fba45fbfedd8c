"""/handover stats [event]: the figures of the last 30 days, ephemerally, by event (or, for one
event, by category). A few indexed reads on the request path; nothing is written."""

from __future__ import annotations

from slack_bolt import Ack, BoltContext

from bot import reports
from bot.db import run_in_transaction
from bot.handlers.common import ctx_of
from bot.slack import report as report_blocks

DAYS = 30


def stats_subcommand(ack: Ack, command: dict, context: BoltContext, rest: str) -> None:
    ctx = ctx_of(context)
    event = rest.strip() or None
    start, end = reports.rolling(ctx.clock.now(), DAYS)
    result = run_in_transaction(
        ctx.engine,
        lambda s: reports.compute(s, ctx.config, start, end, by="category" if event else "event", event=event),
    )
    text, blocks = report_blocks.build(result, period=f"in the last {DAYS} days")
    ack(response_type="ephemeral", text=text, blocks=blocks)
