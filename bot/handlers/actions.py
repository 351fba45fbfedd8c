"""Buttons and checkboxes on the item card.

A one-click decision (Accept, Close, Reopen, a checklist tick) runs its flow in one transaction
and acks. A button that needs more (Recategorize, Ask, Reassign, Discard, Record follow-up)
checks who may act, then opens its modal at once: trigger ids expire after 3 seconds. Anyone
who may not act gets an ephemeral answer saying who holds the item; nothing changes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from slack_bolt import App
from sqlmodel import Session

from bot import customers, texts
from bot.context import Context
from bot.flows import decide, digest, feedback, nudge, review
from bot.flows.decide import Outcome
from bot.handlers.common import Act, Reply, acting, tell
from bot.handlers.refs import ITEM_BLOCK, ITEM_VALUE, NOTES_VALUE, REVIEW_VALUE, SNOOZE_OPTION
from bot.ids import ActionId, Category, ItemRef, NotesRef, ReviewRef, SnoozeRef, Verdict
from bot.models import Item
from bot.slack import decision_modals, notes
from bot.slack import feedback as feedback_blocks
from bot.visibility import Viewer

CHECKLIST_ACTION = re.compile(rf"^{ActionId.CHECKLIST.value}:\d+$")


def _answer(session: Session, act: Act[Any], outcome: Outcome) -> None:
    """A refusal (someone else decided, the item is gone) is told to the person who clicked."""
    if not outcome.ok and outcome.message:
        tell(
            session,
            act.ctx,
            channel=act.channel,
            user=act.user,
            text=outcome.message,
            key=f"refusal:{act.user}:{act.stamp}",
        )


def one_click(flow: Callable[[Session, Context, int, str], Outcome]) -> Callable[..., None]:
    """A button that decides at once (Accept, Close, Reopen); a refusal is told to the person."""

    def click(session: Session, act: Act[ItemRef]) -> None:
        _answer(session, act, flow(session, act.ctx, act.ref.item, act.user))

    return acting(click)


@acting
def checklist_ticked(session: Session, act: Act[ItemRef]) -> None:
    # The keys of this checkbox group come from the card itself, so unticking works too.
    shown = _options_of(act.body, act.action)
    selected = [o["value"] for o in act.action.get("selected_options") or []]
    _answer(
        session, act, decide.tick_checklist(session, act.ctx, act.ref.item, act.user, shown=shown, selected=selected)
    )


def _options_of(body: dict[str, Any], action: dict[str, Any]) -> list[str]:
    for block in (body.get("message") or {}).get("blocks") or []:
        if block.get("block_id") != action.get("block_id"):
            continue
        for element in block.get("elements") or []:
            if element.get("action_id") == action.get("action_id"):
                return [o["value"] for o in element.get("options") or []]
    return [o["value"] for o in action.get("selected_options") or []]


ModalBuilder = Callable[[Context, Session, Item, ItemRef], dict[str, Any]]
# what a button that opens a modal prepares: the view, or the refusal the person is told instead
Prepare = Callable[[Session, Act[ItemRef]], "dict[str, Any] | Outcome"]


def opens_modal(prepare: Prepare) -> Callable[..., None]:
    """A button whose modal opens at once (the trigger expires in 3 s), or a refusal if it may not."""

    def click(session: Session, act: Act[ItemRef]) -> Reply | None:
        view = prepare(session, act)
        if isinstance(view, Outcome):
            _answer(session, act, view)
            return None
        return Reply(then=lambda client: client.views_open(trigger_id=act.body["trigger_id"], view=view))

    return acting(click)


def item_modal(build: ModalBuilder, *, states: tuple[decide.ItemStatus, ...] = decide.ACTIVE) -> Prepare:
    """A decision modal: only the item's holder, only while the item is in one of ``states``."""

    def prepare(session: Session, act: Act[ItemRef]) -> dict[str, Any] | Outcome:
        item = session.get(Item, act.ref.item)
        refusal = decide.check(item, act.user, act.ref.item, states=states)
        if refusal is not None:
            return refusal
        assert item is not None  # check() refuses an item that is gone
        return build(act.ctx, session, item, ItemRef(item=act.ref.item))

    return prepare


def _bb(item: Item) -> str:
    return texts.user(item.business_builder_user_id, item.business_builder_email or "the person who handed it over")


MODALS: dict[ActionId, ModalBuilder] = {
    ActionId.RECATEGORIZE: lambda ctx, s, item, ref: decision_modals.recategorize(
        ctx.config, ref, customer=customers.name_of(s, item, unknown=""), current=Category(item.category)
    ),
    ActionId.ASK: lambda ctx, s, item, ref: decision_modals.ask(ref, business_builder=_bb(item)),
    ActionId.REASSIGN: lambda ctx, s, item, ref: decision_modals.reassign(ref),
    ActionId.DISCARD: lambda ctx, s, item, ref: decision_modals.discard(
        ctx.config, ref, customer=customers.name_of(s, item, unknown="")
    ),
}
OWNER_MODALS: dict[ActionId, ModalBuilder] = {
    ActionId.FOLLOW_UP: lambda ctx, s, item, ref: decision_modals.follow_up(ref),
    ActionId.ACCEPT_NOTE: lambda ctx, s, item, ref: decision_modals.accept_note(
        ref, customer=customers.name_of(s, item, unknown="")
    ),
}


@acting
def snoozed(session: Session, act: Act[SnoozeRef]) -> None:
    """ "Remind me tomorrow / next week" from a reminder's menu."""
    ref = act.ref
    _, message = nudge.snooze(session, act.ctx, ref.item, act.user, days=ref.days)
    tell(
        session,
        act.ctx,
        channel=act.channel,
        user=act.user,
        text=message,
        key=f"snooze:{act.user}:{ref.item}:{act.stamp}",
    )


def feedback_form(session: Session, act: Act[ItemRef]) -> dict[str, Any] | Outcome:
    """ "Give feedback" on a feedback request: the form, for the owner only."""
    _, refusal = feedback.may_answer(session, act.ref.item, act.user)
    if refusal:
        return Outcome(False, refusal)
    item = session.get(Item, act.ref.item)
    assert item is not None  # may_answer() refuses an item that is gone
    return feedback_blocks.form(act.ref.item, customers.name_of(session, item, unknown=""))


def _notes_or_refusal(ctx: Context, session: Session, item_id: int, user: str, page: int) -> dict[str, Any] | Outcome:
    """The full-notes modal of an item, for whoever may see the item; a refusal for anyone else."""
    item = session.get(Item, item_id)
    if item is None:
        return Outcome(False, texts.say("card.j2", "notes_gone", item_id=item_id))
    customer = item.customer
    if not Viewer.resolve(session, ctx.config, user_id=user).sees(item, customer):
        return Outcome(False, texts.say("card.j2", "notes_withheld", item_id=item_id))
    return notes.modal(item_id, customer.name if customer else "", item.description or "", page)


def full_notes(session: Session, act: Act[ItemRef]) -> dict[str, Any] | Outcome:
    """The card's "Show full notes": the whole description, paged when long."""
    return _notes_or_refusal(act.ctx, session, act.ref.item, act.user, 0)


@acting
def notes_page(session: Session, act: Act[NotesRef]) -> Reply | None:
    """ "Next page" / "Previous page" inside the full-notes modal: the same modal, another page."""
    view = act.view if (act.body.get("container") or {}).get("type") == "view" else {}
    in_modal = bool(view.get("id"))
    if not (in_modal or act.body.get("trigger_id")):
        return None
    shown = _notes_or_refusal(act.ctx, session, act.ref.item, act.user, act.ref.p)
    if isinstance(shown, Outcome):
        _answer(session, act, shown)
        return None
    if in_modal:
        return Reply(then=lambda client: client.views_update(view_id=view["id"], hash=view.get("hash"), view=shown))
    # a page button outside its modal (an old or forged payload): open the modal there
    return Reply(then=lambda client: client.views_open(trigger_id=act.body["trigger_id"], view=shown))


def digest_switch(enabled: bool) -> Callable[..., None]:
    """The digest's "Switch off my weekly digest" button (and its way back)."""

    def switch(session: Session, act: Act[None]) -> None:
        digest.set_enabled(session, email=None, user_id=act.user, enabled=enabled)
        tell(
            session,
            act.ctx,
            channel=act.channel,
            user=act.user,
            key=f"digest:{act.user}:{act.action.get('action_ts')}",
            text=texts.say("digest.j2", "switched_on" if enabled else "switched_off"),
        )

    return acting(switch)


def review_marked(verdict: Verdict) -> Callable[..., None]:
    """A reviewer marks a sampled discard "good grounds" or "reopen" in the review channel."""

    def mark(session: Session, act: Act[ReviewRef]) -> None:
        outcome = review.mark(session, act.ctx, act.ref.entry, act.user, email=act.email, verdict=verdict)
        _answer(session, act, outcome)
        if outcome.ok and outcome.message:
            tell(
                session,
                act.ctx,
                channel=act.channel,
                user=act.user,
                text=outcome.message,
                key=f"review:{act.user}:{act.action.get('action_ts')}",
            )

    # the reviewer's e-mail: cached in the person table after the first time
    return acting(mark, email=True)


def register(app: App) -> None:
    """Each button with the middleware that reads and checks its reference (bot/handlers/refs.py)."""
    app.action(ActionId.SNOOZE, middleware=[SNOOZE_OPTION])(snoozed)
    app.action(ActionId.REVIEW_GOOD_GROUNDS, middleware=[REVIEW_VALUE])(review_marked(Verdict.GOOD_GROUNDS))
    app.action(ActionId.REVIEW_REOPEN, middleware=[REVIEW_VALUE])(review_marked(Verdict.REOPEN))
    app.action(ActionId.FEEDBACK, middleware=[ITEM_VALUE])(opens_modal(feedback_form))
    app.action(ActionId.DIGEST_OFF)(digest_switch(False))
    app.action(ActionId.DIGEST_ON)(digest_switch(True))
    app.action(ActionId.SHOW_NOTES, middleware=[ITEM_VALUE])(opens_modal(full_notes))
    app.action(ActionId.NOTES_PAGE, middleware=[NOTES_VALUE])(notes_page)
    app.action(ActionId.ACCEPT, middleware=[ITEM_VALUE])(one_click(decide.accept))
    app.action(ActionId.CLOSE, middleware=[ITEM_VALUE])(one_click(decide.close))
    app.action(ActionId.REOPEN, middleware=[ITEM_VALUE])(
        one_click(lambda s, ctx, item_id, user: decide.reopen(s, ctx, item_id, user))
    )
    app.action(CHECKLIST_ACTION, middleware=[ITEM_BLOCK])(checklist_ticked)
    for action_id, build in MODALS.items():
        app.action(action_id, middleware=[ITEM_VALUE])(opens_modal(item_modal(build)))
    for action_id, build in OWNER_MODALS.items():
        app.action(action_id, middleware=[ITEM_VALUE])(
            opens_modal(item_modal(build, states=(decide.ItemStatus.ACCEPTED,)))
        )
