"""The Bolt app: one instance per process, listeners registered once at start-up."""

from __future__ import annotations

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.context import Context
from bot.handlers import busy, guard, register_all
from bot.slack.client import reading_client


def create_bolt_app(ctx: Context, *, client: WebClient | None = None, verify_token: bool = True) -> App:
    settings = ctx.settings
    app = App(
        client=client or reading_client(settings, timeout=3),
        signing_secret=settings.signing_secret,
        # Listeners finish their (fast, database-only) work before Bolt answers Slack: the ack is
        # the response, with no 10 ms ack-polling and no thread hand-off per request.
        process_before_response=True,
        token_verification_enabled=verify_token,
        request_verification_enabled=True,
        ignoring_self_events_enabled=True,
        raise_error_for_unhandled_request=False,
    )

    @app.middleware
    def provide_context(context: BoltContext, next) -> None:
        # Only hands the listeners our context; the database session is opened by each listener
        # (bot/handlers/common.py, acting): Bolt middleware's next() does not wrap the listener.
        context["handover"] = ctx
        next()

    # each request's log scope; a button value or form that points at no item is answered by the
    # middleware its listener is registered with (bot/handlers/refs.py), before the listener runs;
    # what no listener handles (an old button, another command) is answered last
    app.middleware(guard.log_scope)
    app.middleware(guard.socket_mode_shape)
    register_all(app)
    guard.register_fallbacks(app)
    # the database is locked or restarting: the person hears "busy, try again" (bot/handlers/busy.py)
    app.error(busy.answer)
    return app
