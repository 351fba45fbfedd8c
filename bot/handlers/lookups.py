"""Look-ups in Slack: ``/handover customer``, ``/handover mine``, ``/handover sent`` (ephemeral
answers), the picker and *More* buttons under them, and the "Look up a customer" shortcut with its
modal. Each look-up reads and logs in one transaction (bot/flows/lookup.py) and shows only what the
person may see (bot/visibility.py)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.context import Context
from bot.db import run_in_transaction
from bot.flows import lookup
from bot.flows.lookup import Via
from bot.handlers.common import ctx_of
from bot.handlers.refs import LOOKUP_VALUE
from bot.ids import ActionId, CallbackId, LookupRef
from bot.slack import blocks as b
from bot.slack import lookup as pages
from bot.slack import modals, people
from bot.visibility import Viewer


def answer(
    ctx: Context, client: WebClient, user: str, ref: LookupRef, *, via: str, budget: int = b.MESSAGE_BLOCKS
) -> pages.Page:
    """Run the look-up ``ref`` for Slack user ``user`` and render the asked page."""
    email = people.email_of(ctx, client, user)
    now = ctx.clock.now()
    config = ctx.config

    def work(session: Session) -> Any:
        viewer = Viewer.of(config, email, user)
        if ref.k == "mine":
            return lookup.my_items(session, config, viewer, via=via, now=now)
        if ref.k == "sent":
            return lookup.sent_items(session, config, viewer, via=via, now=now)
        return lookup.look_up_customer(session, config, viewer, ref.q, via=via, now=now, customer_id=ref.c)

    found = run_in_transaction(ctx.engine, work)
    asks = found.intel.ask if isinstance(found, lookup.CustomerLookup) and found.intel else getattr(found, "ask", [])
    _mention(ctx, client, asks)
    if ref.k == "mine":
        return pages.mine_page(config, found, ref.p, budget=budget)
    if ref.k == "sent":
        return pages.sent_page(config, found, ref.p, budget=budget)
    return pages.customer_page(config, found, ref.p, budget=budget)


def _mention(ctx: Context, client: WebClient, contacts: list[lookup.Contact]) -> None:
    """Whom to ask, as Slack mentions: resolve the few e-mails not yet known (cached for a day)."""
    for contact in contacts:
        if contact.user_id is None:
            try:
                contact.user_id = people.resolve(ctx, client, contact.email).user_id
            except SlackApiError:
                pass  # the e-mail address is shown instead


def _ephemeral(ack: Ack, page: pages.Page) -> None:
    ack(response_type="ephemeral", text=page.text, blocks=page.blocks)


def customer_subcommand(ack: Ack, command: dict, context: BoltContext, rest: str) -> None:
    """/handover customer <name, domain or e-mail>"""
    query = rest.strip()
    if not query:
        ack(response_type="ephemeral", text=pages.say("usage"))
        return
    _ephemeral(
        ack,
        answer(
            ctx_of(context), context.client, command["user_id"], LookupRef(k="customer", q=query[:500]), via=Via.COMMAND
        ),
    )


def mine_subcommand(ack: Ack, command: dict, context: BoltContext, rest: str) -> None:
    """/handover mine"""
    _ephemeral(
        ack, answer(ctx_of(context), context.client, command["user_id"], LookupRef(k="mine", q="mine"), via=Via.COMMAND)
    )


def sent_subcommand(ack: Ack, command: dict, context: BoltContext, rest: str) -> None:
    """/handover sent"""
    _ephemeral(
        ack, answer(ctx_of(context), context.client, command["user_id"], LookupRef(k="sent", q="sent"), via=Via.COMMAND)
    )


SUBCOMMANDS = {"customer": customer_subcommand, "mine": mine_subcommand, "sent": sent_subcommand}


def clicked(
    ack: Ack, body: dict[str, Any], ref: LookupRef, client: WebClient, context: BoltContext, respond: Respond
) -> None:
    """A customer chosen in the picker, or More: answer in place (the ephemeral message through its
    response_url, or the modal through views.update). ``ref`` is the look-up its middleware read."""
    ack()
    ctx = ctx_of(context)
    user = body["user"]["id"]
    view: dict[str, Any] | None = body.get("view") if (body.get("container") or {}).get("type") == "view" else None
    if view is not None:
        page = answer(ctx, client, user, ref, via=Via.SHORTCUT, budget=pages.MODAL_BUDGET)
        client.views_update(view_id=view["id"], hash=view.get("hash"), view=pages.modal(ref.q, page))
        return
    page = answer(ctx, client, user, ref, via=Via.COMMAND)
    respond(replace_original=True, response_type="ephemeral", text=page.text, blocks=page.blocks)


def shortcut(ack: Ack, shortcut: dict, client: WebClient, context: BoltContext) -> None:
    """Global shortcut "Look up a customer": the search modal."""
    ack()
    client.views_open(trigger_id=shortcut["trigger_id"], view=pages.modal())


def submitted(ack: Ack, body: dict, view: dict, context: BoltContext) -> None:
    """The look-up modal's search: the answer replaces the modal's contents (response_action update)."""
    query = (modals.values(view).get(pages.QUERY_BLOCK) or "").strip()
    if not query:
        ack(response_action="errors", errors={pages.QUERY_BLOCK: pages.say("modal_empty")})
        return
    page = answer(
        ctx_of(context),
        context.client,
        body["user"]["id"],
        LookupRef(k="customer", q=query[:500]),
        via=Via.SHORTCUT,
        budget=pages.MODAL_BUDGET,
    )
    ack(response_action="update", view=pages.modal(query, page))


def register(app: App) -> None:
    app.action(ActionId.LOOKUP_PICK, middleware=[LOOKUP_VALUE])(clicked)
    app.action(ActionId.LOOKUP_MORE, middleware=[LOOKUP_VALUE])(clicked)
    app.shortcut(CallbackId.LOOKUP_SHORTCUT)(shortcut)
    app.view(CallbackId.LOOKUP)(submitted)
