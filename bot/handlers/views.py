"""Modal submissions. Validation errors go back inside the modal (response_action "errors");
a refusal (someone else decided meanwhile) closes the modal and is said ephemerally."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from sqlmodel import Session

from bot import texts
from bot.context import Context
from bot.flows import ask, decide, feedback
from bot.flows.capture import capture
from bot.flows.decide import Outcome
from bot.handlers.common import Act, Reply, acting, ctx_of, tell
from bot.handlers.refs import ITEM_FORM
from bot.ids import CallbackId, Category, ItemRef
from bot.slack import decision_modals, modals, people


@acting
def new_item_submitted(session: Session, act: Act[None]) -> Reply | None:
    result = capture(session, act.ctx, modals.values(act.view), user_id=act.user, view_id=act.view["id"])
    if result.errors:
        return Reply(ack={"response_action": "errors", "errors": result.errors})
    return None


Flow = Callable[[Session, Context, int, str, dict[str, Any], dict[str, Any]], Outcome]


def decision(flow: Flow) -> Callable[..., None]:
    """A decision modal's submission: run the flow; errors stay in the modal."""

    def submitted(session: Session, act: Act[ItemRef]) -> Reply | None:
        values = modals.values(act.view)
        try:
            metadata = json.loads(act.view.get("private_metadata") or "{}")
        except ValueError:
            metadata = {}
        outcome = flow(session, act.ctx, act.ref.item, act.user, values, metadata)
        if outcome.errors:
            session.rollback()
            return Reply(ack={"response_action": "errors", "errors": outcome.errors})
        if isinstance(outcome, Suggestion):
            return Reply(ack={"response_action": "update", "view": outcome.view})
        if outcome.message:  # a refusal (someone else decided meanwhile), or a thank-you
            tell(
                session,
                act.ctx,
                channel=None,
                user=act.user,
                text=outcome.message,
                key=f"answer:{act.user}:{act.view['id']}:{act.body.get('trigger_id', '')}",
            )
        return None

    return acting(submitted)


class Suggestion(Outcome):
    """Instead of deciding, show the person a better option (the modal is updated)."""

    def __init__(self, view: dict[str, Any]) -> None:
        super().__init__(ok=False)
        self.view = view


def _recategorize(s: Session, ctx: Context, item_id: int, user: str, v: dict, _: dict) -> Outcome:
    return decide.recategorize(s, ctx, item_id, user, category=v.get("category") or "", note=v.get("note"))


def _ask(s: Session, ctx: Context, item_id: int, user: str, v: dict, _: dict) -> Outcome:
    return ask.ask(s, ctx, item_id, user, question=v.get("question"))


def _reassign(s: Session, ctx: Context, item_id: int, user: str, v: dict, _: dict) -> Outcome:
    return decide.reassign(s, ctx, item_id, user, to_user=v.get("to"), note=v.get("note"))


def reassign_submitted(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext, client: WebClient
) -> None:
    """The reassign modal: the person picked must be someone who can receive the item — not this
    app, another bot, a deactivated account or an id Slack does not know (errors stay in the modal)."""
    to_user = modals.values(view).get("to")
    if to_user:
        problem = people.why_not_a_receiver(ctx_of(context), to_user, bot_user_id=context.bot_user_id)
        if problem:
            ack(response_action="errors", errors={"to": texts.say("decisions.j2", problem)})
            return
    reassign(ack, body, context, client)


reassign = decision(_reassign)


def _discard(s: Session, ctx: Context, item_id: int, user: str, v: dict, metadata: dict) -> Outcome:
    choice = v.get("choice")
    if choice is not None:  # the second step: the person saw the recategorization suggestion
        if choice.startswith("recategorize:"):
            return decide.recategorize(
                s, ctx, item_id, user, category=choice.partition(":")[2], note=v.get("justification")
            )
        return decide.discard(
            s, ctx, item_id, user, reason=metadata.get("reason"), justification=v.get("justification")
        )
    reason_key, justification = v.get("reason"), v.get("justification")
    errors = decide.validate_discard(ctx, reason_key, justification)
    if errors or reason_key is None:  # no reason picked is an error
        return Outcome(False, errors=errors)
    reason = ctx.config.discard_reason(reason_key)
    if reason.suggests:
        refusal = decide.check(s.get(decide.Item, item_id), user, item_id)
        if refusal is not None:
            return refusal
        return Suggestion(
            decision_modals.discard_suggestion(
                ctx.config,
                ItemRef(item=item_id),
                reason_key=reason_key,
                reason_label=reason.label,
                justification=justification or "",
                suggested=Category(reason.suggests),
            )
        )
    return decide.discard(s, ctx, item_id, user, reason=reason_key, justification=justification)


def _follow_up(s: Session, ctx: Context, item_id: int, user: str, v: dict, _: dict) -> Outcome:
    return decide.follow_up(
        s, ctx, item_id, user, kind=v.get("kind"), note=v.get("note"), close="close" in (v.get("close") or [])
    )


def _accept_note(s: Session, ctx: Context, item_id: int, user: str, v: dict, _: dict) -> Outcome:
    return decide.accept_note(s, ctx, item_id, user, note=v.get("note"))


def _feedback(s: Session, ctx: Context, item_id: int, user: str, v: dict, _: dict) -> Outcome:
    return feedback.answer(s, ctx, item_id, user, v)


def closed(ack: Ack) -> None:
    """The person closed a modal: nothing was decided, nothing to do."""
    ack()


def register(app: App) -> None:
    """Each form with the middleware that reads and checks the item it names (bot/handlers/refs.py)."""
    app.view(CallbackId.NEW_ITEM)(new_item_submitted)
    app.view(CallbackId.RECATEGORIZE, middleware=[ITEM_FORM])(decision(_recategorize))
    app.view(CallbackId.ASK, middleware=[ITEM_FORM])(decision(_ask))
    app.view(CallbackId.REASSIGN, middleware=[ITEM_FORM])(reassign_submitted)
    app.view(CallbackId.DISCARD, middleware=[ITEM_FORM])(decision(_discard))
    app.view(CallbackId.FOLLOW_UP, middleware=[ITEM_FORM])(decision(_follow_up))
    app.view(CallbackId.ACCEPT_NOTE, middleware=[ITEM_FORM])(decision(_accept_note))
    app.view(CallbackId.FEEDBACK, middleware=[ITEM_FORM])(decision(_feedback))
    for callback in CallbackId:
        app.view_closed(callback)(closed)
