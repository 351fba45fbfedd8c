"""Assembling a process: settings → context → Bolt app, web app, dispatcher, scheduler."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import App

from bot.clock import Clock
from bot.config import load_config
from bot.context import Context
from bot.db import make_engine
from bot.handlers.app import create_bolt_app
from bot.settings import Settings, load_settings
from bot.slack.dispatcher import Dispatcher

log = logging.getLogger("handover")


def build_context(settings: Settings | None = None, *, clock: Clock | None = None) -> Context:
    settings = settings or load_settings()
    config = load_config(settings.handover_config)
    return Context(engine=make_engine(settings.database_url), config=config, settings=settings, clock=clock or Clock())


@dataclass
class Background:
    """The outbox dispatcher, and (unless HANDOVER_RUN_SCHEDULER=false) the scheduler, beside the web server."""

    ctx: Context
    scheduler: bool = True
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    clock: Any = None

    def start(self) -> Background:
        dispatcher = Dispatcher(self.ctx)
        t = threading.Thread(target=dispatcher.run_forever, args=(self.stop,), name="outbox-dispatcher", daemon=True)
        t.start()
        self.threads.append(t)
        # the outbound webhooks: their own sender, so a slow endpoint never delays a Slack message
        from bot.webhooks.sender import WebhookSender

        hooks = threading.Thread(
            target=WebhookSender(self.ctx).run_forever, args=(self.stop,), name="webhook-sender", daemon=True
        )
        hooks.start()
        self.threads.append(hooks)
        if self.scheduler:
            from bot.scheduler import start_background

            self.clock = start_background(self.ctx)
        return self

    def shutdown(self) -> None:
        self.stop.set()
        if self.clock is not None:
            self.clock.shutdown(wait=False)
        for t in self.threads:
            t.join(timeout=5)


def bolt_app(ctx: Context, *, verify_token: bool = True) -> App:
    return create_bolt_app(ctx, verify_token=verify_token)
