"""What every `handover` sub-command shares: the two consoles and the context it works on.

Kept below bot/cli.py so the sub-apps (bot/customers_cli.py, …) use it without importing the
command they are part of."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:  # the command starts fast: the context's imports wait until a command needs them
    from bot.context import Context

console = Console()
err = Console(stderr=True)


def context() -> Context:
    """The context built from the settings; a configuration error is one red paragraph and exit 2."""
    from bot.config import ConfigError
    from bot.runtime import build_context

    try:
        return build_context()
    except ConfigError as exc:
        err.print(f"[bold red]Configuration error[/]\n{exc}")
        raise typer.Exit(2) from None


def ready_context() -> Context:
    """The context, once the database is there and at the code's schema; else one line and exit 2."""
    from bot import readiness

    ctx = context()
    problem = readiness.problem(ctx.engine)
    if problem:
        err.print(escape(problem), soft_wrap=True)
        raise typer.Exit(2)
    return ctx
