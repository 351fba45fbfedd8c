"""`handover demo`: a complete scripted handover with no workspace and no settings — the bundled
sample event is imported on SQLite, the cards go to the built-in Slack stand-in, and people
click, ask, answer and discard through signed requests, exactly as Slack would send them."""

from __future__ import annotations

import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.rule import Rule

from bot import migrate
from bot.config import load_config
from bot.context import Context
from bot.db import make_engine
from bot.fakeslack import FakeSlack, FakeUser, SlackAgent
from bot.flows.importing import import_file
from bot.handlers.app import create_bolt_app
from bot.ids import ActionId
from bot.models import Item, stored_id
from bot.samples import sample_path
from bot.serverthread import ServerThread
from bot.settings import Settings
from bot.slack.dispatcher import Dispatcher
from bot.terminal import mrkdwn, print_import, render_blocks
from bot.web import create_web_app

SAMPLE = "global_event_2026.csv"
EVENT = "Global Event 2026"
NOT_IN_SLACK = "m.berg@example.com"  # a sample row's account owner who has no Slack account


@dataclass(frozen=True)
class Picked:
    """An item of the script's story whose card is in its receiver's DMs."""

    id: int
    receiver_user_id: str

    @classmethod
    def of(cls, item: Item) -> Picked:
        if item.receiver_user_id is None:
            raise RuntimeError(f"item #{item.id} has a card but no receiver in Slack")
        return cls(stored_id(item), item.receiver_user_id)


class Demo:
    def __init__(self, console: Console, pause: float) -> None:
        self.console, self.pause = console, pause
        self.tmp = Path(tempfile.mkdtemp(prefix="handover-demo-"))
        self.fake = FakeSlack(token="xoxb-demo-" + secrets.token_hex(8))
        self.names: dict[str, str] = {}

    # ----- set-up ------------------------------------------------------------------------------
    def start(self) -> None:
        self.fake.start()
        config = load_config(None)
        emails = self._people(config)
        for n, email in enumerate(emails, start=100):
            uid = f"U{n}"
            name = email.split("@")[0].replace(".", " ").title()
            self.fake.add_user(
                FakeUser(id=uid, email=email, name=email.split("@")[0], real_name=name, tz="Europe/Stockholm")
            )
            self.names[uid] = name
        self.users = {email: f"U{n}" for n, email in enumerate(emails, start=100)}
        settings = Settings(
            slack_bot_token=self.fake.token,
            slack_signing_secret=secrets.token_hex(16),
            slack_api_url=self.fake.api_url,
            database_url=f"sqlite:///{self.tmp / 'demo.db'}",
            handover_api_token=secrets.token_hex(16),
        )
        self.ctx = Context(engine=make_engine(settings.database_url), config=config, settings=settings)
        migrate.upgrade(self.ctx.engine)
        self.server = ServerThread(create_web_app(self.ctx, create_bolt_app(self.ctx))).start()
        self.agent = SlackAgent(
            self.fake, bot_url=self.server.url + "/slack/events", signing_secret=settings.signing_secret
        )

    def _people(self, config) -> list[str]:
        from bot.fakeslack.directory import emails_in
        from bot.intake.tabular import read_items

        emails = emails_in(config)
        report = read_items(sample_path(SAMPLE), checklist_keys=config.checklist.labels)
        for row in report.rows:
            emails += [
                e for e in (row.item.business_builder_email, row.item.sender_email, row.item.account_owner_email) if e
            ]
        seen: list[str] = []
        for e in emails:
            if e and e.lower() not in seen and e.lower() != NOT_IN_SLACK:
                seen.append(e.lower())
        return seen

    def stop(self) -> None:
        self.server.stop()
        self.fake.stop()
        self.ctx.engine.dispose()

    # ----- helpers -----------------------------------------------------------------------------
    def step(self, title: str) -> None:
        self.console.print()
        self.console.print(Rule(f"[bold]{title}"))
        if self.pause:
            time.sleep(self.pause)

    def deliver(self) -> None:
        Dispatcher(self.ctx).run_until_idle()

    def show(self, message: Any, *, title: str = "") -> None:
        self.console.print(
            render_blocks(message.blocks or [], title=title, names=self.names)
            if message.blocks
            else mrkdwn(message.text, self.names)
        )

    def name(self, uid: str | None) -> str:
        return self.names.get(uid or "", uid or "?")

    def items(self) -> list[Item]:
        from sqlmodel import Session, col, select

        with Session(self.ctx.engine) as s:
            return list(s.exec(select(Item).order_by(col(Item.id))))

    def item(self, item_id: int) -> Item:
        from sqlmodel import Session

        with Session(self.ctx.engine) as s:
            item = s.get(Item, item_id)
        if item is None:
            raise LookupError(f"no item #{item_id}")
        return item

    def card(self, item_id: int) -> Any:
        item = self.item(item_id)
        if item.card_channel is None or item.card_ts is None:
            return None  # no card (yet)
        return self.fake.message(item.card_channel, item.card_ts)

    def new_messages(self, since: int) -> list[Any]:
        return [c for c in self.fake.calls[since:] if c.method == "chat.postMessage" and c.ok]

    def show_new(self, since: int) -> None:
        for call in self.new_messages(since):
            channel = call.response.get("channel")
            ts = call.response.get("ts")
            message = self.fake.message(channel, ts)
            if message is None:
                continue
            who = next((self.name(u) for u in self.names if self.fake.dm_channel_for(u) == channel), channel)
            where = "in the thread" if message.thread_ts else "direct message"
            self.console.print(f"[dim]→ to {who} ({where}):[/]")
            self.show(message)

    def customers(self) -> None:
        """Who the import says the customers are (one company, one record: acme.se's three rows are
        one customer, each *.co.uk company its own), and the admin recording ACME's account owner —
        intake never sets who may see a customer."""
        from sqlmodel import Session, col, select

        from bot.customer_admin import count_items, resolve, set_fields
        from bot.models import Customer

        with Session(self.ctx.engine) as s:
            counts = count_items(s)
            self.console.print(
                "[dim]Customers filed:[/] "
                + escape(
                    "; ".join(
                        f"{c.name} ({c.domain or 'no domain'}) {counts.get(stored_id(c), 0)}"
                        for c in s.exec(select(Customer).order_by(col(Customer.id)))
                    )
                ),
                soft_wrap=True,
            )
            owner = "anna.berg@example.com"
            set_fields(
                s,
                resolve(s, "acme.se"),
                actor="handover.desk@example.com",
                now=self.ctx.clock.now(),
                account_owner=owner,
            )
            s.commit()
        self.console.print(
            f"[dim]The admin records ACME's account owner from the CRM:[/] "
            f"handover customers set acme.se --account-owner {owner}"
        )

    # ----- the script --------------------------------------------------------------------------
    def run(self) -> None:
        c = self.console
        self.step(f"1. Marketing operations imports the badge-scanner export of {EVENT}")
        summary = import_file(self.ctx, sample_path(SAMPLE), event=EVENT)
        print_import(summary, dry_run=False, console=c)
        c.print("[dim]Running the same import again creates nothing new:[/]")
        again = import_file(self.ctx, sample_path(SAMPLE), event=EVENT)
        c.print(f"  {again.created} created, {again.existing} already imported.")
        self.customers()

        self.step("2. Each receiver gets the item card in a direct message")
        self.deliver()
        items = self.items()
        for item in items[:2]:
            c.print(f"[dim]Card for {self.name(item.receiver_user_id)} ({item.receiver_email}):[/]")
            self.show(self.card(stored_id(item)))
        for item in items[2:]:
            c.print(
                f"  • #{item.id} {item.category:<25} → {self.name(item.receiver_user_id)} [dim]({item.routing_note})[/]"
            )
        rerouted = [i for i in items if i.routing_note and i.routing_note.startswith("fallback")]
        for item in rerouted:
            c.print(
                f"  [yellow]#{item.id} was meant for someone not in Slack; it went to the fallback "
                f"receiver and the sender was told.[/]"
            )

        def pick(contact: str) -> Picked:
            return Picked.of(
                next(i for i in items if i.status == "pending" and i.card_ts and i.contact_name == contact)
            )

        # the sample's story: ACME's router deal is accepted; the CFO's note on the same deal is
        # really Opportunity Intelligence; the mine needs a question answered; the student is discarded
        a, b, q, d = pick("Ola Nordmann"), pick("Per Strand"), pick("Lars Svensson"), pick("Ingrid Dahl")

        self.step(f"3. {self.name(a.receiver_user_id)} accepts item #{a.id} with one click")
        mark = len(self.fake.calls)
        self.agent.click(user=a.receiver_user_id, message=self.card(a.id), action_id=ActionId.ACCEPT)
        self.deliver()
        self.show(self.card(a.id), title=f"Item #{a.id}, updated in place")
        self.show_new(mark)

        self.step(f"4. {self.name(b.receiver_user_id)} recategorizes item #{b.id} as Opportunity Intelligence")
        mark = len(self.fake.calls)
        self.agent.click(user=b.receiver_user_id, message=self.card(b.id), action_id=ActionId.RECATEGORIZE)
        view = self.fake.views_opened_by(b.receiver_user_id)[-1]
        c.print(f"[dim]Modal opened: “{view.title}”[/]")
        self.agent.submit_view(
            user=b.receiver_user_id,
            view=view,
            values={
                "category": "opportunity_intelligence",
                "note": "They already have an open deal with us; the account team should have this.",
            },
        )
        self.deliver()
        item = self.item(b.id)
        c.print(
            f"[dim]Re-routed by the rules for Opportunity Intelligence to {self.name(item.receiver_user_id)} "
            f"({item.routing_note}).[/]"
        )
        self.show(self.card(b.id), title=f"Item #{b.id} as {self.name(item.receiver_user_id)} sees it now")
        self.show_new(mark)

        self.step(f"5. {self.name(q.receiver_user_id)} asks the Business Builder about item #{q.id}")
        mark = len(self.fake.calls)
        self.agent.click(user=q.receiver_user_id, message=self.card(q.id), action_id=ActionId.ASK)
        view = self.fake.views_opened_by(q.receiver_user_id)[-1]
        self.agent.submit_view(
            user=q.receiver_user_id,
            view=view,
            values={"question": "Which sites did they mean, and who decides on the budget?"},
        )
        self.deliver()
        self.show_new(mark)
        from sqlmodel import Session, select

        from bot.models import Question

        with Session(self.ctx.engine) as s:
            question = s.exec(select(Question).where(Question.item_id == q.id)).first()
        if question is None or question.bb_channel is None or question.bb_ts is None:
            raise RuntimeError(f"item #{q.id}: the question did not reach the Business Builder")
        bb_user = next(
            (u for u, ch in ((u, self.fake.dm_channel_for(u)) for u in self.names) if ch == question.bb_channel), None
        )
        if bb_user is None:
            raise RuntimeError(f"item #{q.id}: the question's thread is in no one's DMs")
        c.print(f"[dim]{self.name(bb_user)} answers in the thread:[/]")
        mark = len(self.fake.calls)
        self.agent.user_message(
            user=bb_user,
            channel=question.bb_channel,
            thread_ts=question.bb_ts,
            text="The Gothenburg and Malmö sites. Their CFO signs off; she was at the stand too.",
        )
        self.deliver()
        self.show_new(mark)

        self.step(f"6. {self.name(d.receiver_user_id)} discards item #{d.id}, with a justification")
        self.agent.click(user=d.receiver_user_id, message=self.card(d.id), action_id=ActionId.DISCARD)
        view = self.fake.views_opened_by(d.receiver_user_id)[-1]
        response = self.agent.submit_view(
            user=d.receiver_user_id, view=view, values={"reason": "no_real_interest", "justification": ""}
        )
        errors = response.json().get("errors", {}) if response.content else {}
        c.print(f"[dim]Submitting without a justification keeps the modal open with:[/] {errors}")
        mark = len(self.fake.calls)
        self.agent.submit_view(
            user=d.receiver_user_id,
            view=view,
            values={
                "reason": "no_real_interest",
                "justification": "Student collecting brochures for a thesis; no buying role.",
            },
        )
        self.deliver()
        self.show(self.card(d.id), title=f"Item #{d.id}, updated in place")
        self.show_new(mark)

        self.step("Done")
        items = self.items()
        by_status: dict[str, int] = {}
        for i in items:
            by_status[str(i.status)] = by_status.get(str(i.status), 0) + 1
        c.print(f"{len(items)} items handed over: " + ", ".join(f"{n} {s}" for s, n in sorted(by_status.items())))
        c.print(
            f"{len([x for x in self.fake.calls if x.ok])} Web API calls reached the Slack stand-in; "
            f"every message is in the outbox table with its result."
        )
        c.print("[bold green]Every item has a receiver, and every sender heard what happened.[/]")


def run_demo(console: Console, *, pause: float = 0.0) -> None:
    demo = Demo(console, pause)
    demo.start()
    try:
        demo.run()
    finally:
        demo.stop()
