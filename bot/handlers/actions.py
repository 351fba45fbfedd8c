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

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from sqlmodel import Session

from bot import customers, texts
from bot.context import Context
from bot.db import run_in_transaction
from bot.flows import decide, digest, feedback, nudge, review
from bot.flows.decide import Outcome
from bot.handlers.common import ctx_of, tell
from bot.ids import ActionId, Category, ItemRef, NotesRef, ReviewRef, SnoozeRef, Verdict
from bot.models import Customer, Item
from bot.slack import decision_modals, notes, people
from bot.slack import feedback as feedback_blocks
from bot.visibility import Viewer

CHECKLIST_ACTION = re.compile(rf"^{ActionId.CHECKLIST.value}:\d+$")


def _where(body: dict[str, Any]) -> tuple[str, str | None]:
    user = body["user"]["id"]
    channel = (body.get("container") or {}).get("channel_id") or (body.get("channel") or {}).get("id")
    return user, channel


def _answer(session: Session, ctx: Context, outcome: Outcome, body: dict[str, Any], action: dict[str, Any]) -> None:
    if not outcome.ok and outcome.message:
        user, channel = _where(body)
        tell(session, ctx, channel=channel, user=user, text=outcome.message,
             key=f"refusal:{user}:{action.get('action_ts') or body.get('trigger_id')}")


def one_click(flow: Callable[..., Outcome]) -> Callable[..., None]:
    def listener(ack: Ack, body: dict, action: dict, context: BoltContext) -> None:
        ctx = ctx_of(context)
        ref = ItemRef.parse(action.get("value"))
        if ref is None:
            ack()
            return
        user, _ = _where(body)

        def work(session: Session) -> None:
            outcome = flow(session, ctx, ref.item, user)
            _answer(session, ctx, outcome, body, action)
        run_in_transaction(ctx.engine, work)
        ack()
    return listener


def checklist_ticked(ack: Ack, body: dict, action: dict, context: BoltContext) -> None:
    ctx = ctx_of(context)
    ref = ItemRef.parse((action.get("block_id") or "").partition("|")[2])
    if ref is None:
        ack()
        return
    user, _ = _where(body)
    # The keys of this checkbox group come from the card itself, so unticking works too.
    shown = _options_of(body, action)
    selected = [o["value"] for o in action.get("selected_options") or []]

    def work(session: Session) -> None:
        outcome = decide.tick_checklist(session, ctx, ref.item, user, shown=shown, selected=selected)
        _answer(session, ctx, outcome, body, action)
    run_in_transaction(ctx.engine, work)
    ack()


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
Prepare = Callable[[Context, Session, ItemRef, str], "dict[str, Any] | Outcome"]


def opens_modal(prepare: Prepare) -> Callable[..., None]:
    """A button whose modal opens at once (the trigger expires in 3 s), or a refusal if it may not."""
    def listener(ack: Ack, body: dict, action: dict, client: WebClient, context: BoltContext) -> None:
        ctx = ctx_of(context)
        ref = ItemRef.parse(action.get("value"))
        if ref is None:
            ack()
            return
        user, _ = _where(body)

        def work(session: Session) -> dict[str, Any] | None:
            view = prepare(ctx, session, ref, user)
            if isinstance(view, Outcome):
                _answer(session, ctx, view, body, action)
                return None
            return view
        view = run_in_transaction(ctx.engine, work)
        if view is not None:
            client.views_open(trigger_id=body["trigger_id"], view=view)
        ack()
    return listener


def item_modal(build: ModalBuilder, *, states: tuple[decide.ItemStatus, ...] = decide.ACTIVE) -> Prepare:
    """A decision modal: only the item's holder, only while the item is in one of ``states``."""
    def prepare(ctx: Context, session: Session, ref: ItemRef, user: str) -> dict[str, Any] | Outcome:
        item = session.get(Item, ref.item)
        refusal = decide.check(item, user, ref.item, states=states)
        return refusal or build(ctx, session, item, ItemRef(item=item.id))
    return prepare


def _bb(item: Item) -> str:
    return texts.user(item.business_builder_user_id, item.business_builder_email or "the person who handed it over")


MODALS: dict[ActionId, ModalBuilder] = {
    ActionId.RECATEGORIZE: lambda ctx, s, item, ref: decision_modals.recategorize(
        ctx.config, ref, customer=customers.name_of(s, item, unknown=""), current=Category(item.category)),
    ActionId.ASK: lambda ctx, s, item, ref: decision_modals.ask(ref, business_builder=_bb(item)),
    ActionId.REASSIGN: lambda ctx, s, item, ref: decision_modals.reassign(ref),
    ActionId.DISCARD: lambda ctx, s, item, ref: decision_modals.discard(
        ctx.config, ref, customer=customers.name_of(s, item, unknown="")),
}
OWNER_MODALS: dict[ActionId, ModalBuilder] = {
    ActionId.FOLLOW_UP: lambda ctx, s, item, ref: decision_modals.follow_up(ref),
    ActionId.ACCEPT_NOTE: lambda ctx, s, item, ref: decision_modals.accept_note(ref, customer=customers.name_of(s, item, unknown="")),
}


def snoozed(ack: Ack, body: dict, action: dict, context: BoltContext) -> None:
    """"Remind me tomorrow / next week" from a reminder's menu."""
    ctx = ctx_of(context)
    ref = SnoozeRef.parse((action.get("selected_option") or {}).get("value"))
    if ref is None:
        ack()
        return
    user, channel = _where(body)

    def work(session: Session) -> None:
        _, message = nudge.snooze(session, ctx, ref.item, user, days=ref.days)
        tell(session, ctx, channel=channel, user=user, text=message,
             key=f"snooze:{user}:{ref.item}:{action.get('action_ts') or body.get('trigger_id')}")
    run_in_transaction(ctx.engine, work)
    ack()


def feedback_form(ctx: Context, session: Session, ref: ItemRef, user: str) -> dict[str, Any] | Outcome:
    """"Give feedback" on a feedback request: the form, for the owner only."""
    _, refusal = feedback.may_answer(session, ref.item, user)
    if refusal:
        return Outcome(False, refusal)
    return feedback_blocks.form(ref.item, customers.name_of(session, session.get(Item, ref.item), unknown=""))


def _notes_or_refusal(ctx: Context, session: Session, item_id: int, user: str, page: int) -> dict[str, Any] | Outcome:
    """The full-notes modal of an item, for whoever may see the item; a refusal for anyone else."""
    item = session.get(Item, item_id)
    if item is None:
        return Outcome(False, texts.say("card.j2", "notes_gone", item_id=item_id))
    customer = session.get(Customer, item.customer_id)
    if not Viewer.resolve(session, ctx.config, user_id=user).sees(item, customer):
        return Outcome(False, texts.say("card.j2", "notes_withheld", item_id=item_id))
    return notes.modal(item_id, customer.name if customer else "", item.description or "", page)


def full_notes(ctx: Context, session: Session, ref: ItemRef, user: str) -> dict[str, Any] | Outcome:
    """The card's "Show full notes": the whole description, paged when long."""
    return _notes_or_refusal(ctx, session, ref.item, user, 0)


def notes_page(ack: Ack, body: dict, action: dict, client: WebClient, context: BoltContext) -> None:
    """"Next page" / "Previous page" inside the full-notes modal: the same modal, another page."""
    ctx = ctx_of(context)
    ref = NotesRef.parse(action.get("value"))
    view = body.get("view") if (body.get("container") or {}).get("type") == "view" else None
    in_modal = isinstance(view, dict) and bool(view.get("id"))
    if ref is None or not (in_modal or body.get("trigger_id")):
        ack()
        return
    user, _ = _where(body)

    def work(session: Session) -> dict[str, Any] | None:
        shown = _notes_or_refusal(ctx, session, ref.item, user, ref.p)
        if isinstance(shown, Outcome):
            _answer(session, ctx, shown, body, action)
            return None
        return shown
    shown = run_in_transaction(ctx.engine, work)
    if shown is not None and in_modal:
        client.views_update(view_id=view["id"], hash=view.get("hash"), view=shown)
    elif shown is not None:  # a page button outside its modal (an old or forged payload): open the modal there
        client.views_open(trigger_id=body["trigger_id"], view=shown)
    ack()


def digest_switch(enabled: bool) -> Callable[..., None]:
    """The digest's "Switch off my weekly digest" button (and its way back)."""
    def listener(ack: Ack, body: dict, action: dict, context: BoltContext) -> None:
        ctx = ctx_of(context)
        user, channel = _where(body)

        def work(session: Session) -> None:
            digest.set_enabled(session, email=None, user_id=user, enabled=enabled)
            tell(session, ctx, channel=channel, user=user, key=f"digest:{user}:{action.get('action_ts')}",
                 text=texts.say("digest.j2", "switched_on" if enabled else "switched_off"))
        run_in_transaction(ctx.engine, work)
        ack()
    return listener


def review_marked(verdict: Verdict) -> Callable[..., None]:
    """A reviewer marks a sampled discard "good grounds" or "reopen" in the review channel."""
    def listener(ack: Ack, body: dict, action: dict, client: WebClient, context: BoltContext) -> None:
        ctx = ctx_of(context)
        ref = ReviewRef.parse(action.get("value"))
        if ref is None:
            ack()
            return
        user, channel = _where(body)
        email = people.email_of(ctx, client, user)  # cached in the person table after the first time

        def work(session: Session) -> None:
            outcome = review.mark(session, ctx, ref.entry, user, email=email, verdict=verdict)
            _answer(session, ctx, outcome, body, action)
            if outcome.ok and outcome.message:
                tell(session, ctx, channel=channel, user=user, text=outcome.message,
                     key=f"review:{user}:{action.get('action_ts')}")
        run_in_transaction(ctx.engine, work)
        ack()
    return listener


def register(app: App) -> None:
    app.action(ActionId.SNOOZE)(snoozed)
    app.action(ActionId.REVIEW_GOOD_GROUNDS)(review_marked(Verdict.GOOD_GROUNDS))
    app.action(ActionId.REVIEW_REOPEN)(review_marked(Verdict.REOPEN))
    app.action(ActionId.FEEDBACK)(opens_modal(feedback_form))
    app.action(ActionId.DIGEST_OFF)(digest_switch(False))
    app.action(ActionId.DIGEST_ON)(digest_switch(True))
    app.action(ActionId.SHOW_NOTES)(opens_modal(full_notes))
    app.action(ActionId.NOTES_PAGE)(notes_page)
    app.action(ActionId.ACCEPT)(one_click(decide.accept))
    app.action(ActionId.CLOSE)(one_click(decide.close))
    app.action(ActionId.REOPEN)(one_click(lambda s, ctx, item_id, user: decide.reopen(s, ctx, item_id, user)))
    app.action(CHECKLIST_ACTION)(checklist_ticked)
    for action_id, build in MODALS.items():
        app.action(action_id)(opens_modal(item_modal(build)))
    for action_id, build in OWNER_MODALS.items():
        app.action(action_id)(opens_modal(item_modal(build, states=(decide.ItemStatus.ACCEPTED,))))
