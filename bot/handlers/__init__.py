"""Thin Slack listeners, grouped by kind. Each module has ``register(app)``, where a listener that
reads a reference is registered with the middleware that checks it (refs.py); a listener calls a
flow inside its own database transaction and acks (common.py, ``acting``)."""

from __future__ import annotations

from slack_bolt import App

from bot.handlers import actions, commands, events, lookups, shortcuts, views


def register_all(app: App) -> None:
    for kind in (commands, shortcuts, views, actions, events, lookups):
        kind.register(app)
