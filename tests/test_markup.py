"""User text never reaches Slack as live markup.

A property test (hypothesis): hostile strings — ``<!here>``, ``<!channel>``, ``<!everyone>``,
``<@U…>``, ``<#C…>``, disguised links, ``<!subteam^…>``, ``<!date^…>``, ``&lt;`` tricks,
backticks — go into every field of every way in (an import file, ``/api/items``, the capture
modal, a message handed over with the shortcut) and into everything people type later (the
question, the Business Builder's answer in the thread and the receiver's reply, the accept note,
the recategorize / reassign / follow-up notes, the discard justification, the feedback comment,
look-up queries, ``/handover stats`` and unknown subcommands). The bot is driven through its real
boundaries (signed HTTP, the API, the import) and made to send every kind of message: cards and
their refresh and retirement, DMs to the sender and the Business Builder, thread relays and history,
ephemeral answers, the App Home, reminders, escalations and follow-up nudges, the weekly digest,
the feedback request and its relay, the lead review, look-up answers and every modal.

Then every string of every call the Slack fake received (and every answer the bot gave in an HTTP
response: command acks, modal errors and updates) is walked: a ``<`` may only open a mention of a
real person in the directory or a date the bot wrote; a ``&`` may only open ``&amp;``, ``&lt;`` or
``&gt;``; and a ``&lt;`` the user typed must arrive as ``&amp;lt;`` (shown as typed). Input values a
person edits (``initial_value``) and ids that are never shown are not text Slack renders.

The default run keeps the property to 30 examples; ``pytest -m slow`` runs 150.
"""

from __future__ import annotations

import csv
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from bot import scheduler
from bot.fakeslack.directory import directory, emails_in
from bot.flows.importing import import_file
from bot.ids import ActionId, CallbackId
from bot.models import Question
from bot.slack.lookup import QUERY_BLOCK
from tests.harness import API_TOKEN, START, Bench

# each example drives a whole month of work, so a failure is reported as found, not shrunk
FAST = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
SLOW = settings(FAST, max_examples=150, derandomize=False)

TRICK = "Ƶ"  # put right before a "&lt;" the user types: it must arrive as "Ƶ&amp;lt;"
CONSTRUCTS = [
    "<!here>",
    "<!channel>",
    "<!everyone>",
    "<!here|here>",
    "<@U0HOSTILE>",
    "<@W0HOSTILE|the boss>",
    "<@U101>",
    "<#C0HOSTILE>",
    "<#C0HOSTILE|general>",
    "<http://evil.example|your bank>",
    "<https://evil.example/login>",
    "<mailto:ceo@evil.example|CEO>",
    "<!subteam^S0HOSTILE>",
    "<!subteam^S0HOSTILE|@sales>",
    "<!date^1392734382^{date_num} {time_secs}|Feb 18>",
    f"{TRICK}&lt;!here&gt;",
    f"{TRICK}&lt;@U101&gt;",
    f"{TRICK}&amp;lt;!channel&amp;gt;",
    "&",
    "<",
    ">",
    "<>",
    "`<!here>`",
    "```<!channel>```",
    "*bold* _it_ ~s~",
    "> quoted",
    "\n> <!everyone>",
    "a & b < c > d",
]
NO_SPACE = [c for c in CONSTRUCTS if not any(ch.isspace() or ch in "/@" for ch in c)]  # fits an address
FILLER = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=6)


@st.composite
def hostile(draw: st.DrawFn, *, spaces: bool = True) -> str:
    """Some words with at least one hostile construct in them."""
    pool = CONSTRUCTS if spaces else NO_SPACE
    parts = [draw(st.sampled_from(pool))]
    for _ in range(draw(st.integers(0, 3))):
        parts.append(draw(st.sampled_from(pool)) if draw(st.booleans()) else draw(FILLER))
    if not spaces:
        parts = [p for p in parts if not any(ch.isspace() or ch in "/@" for ch in p)] or ["<!here>"]
    text = ("" if spaces else "x").join(parts)
    return text.strip() or "<!channel>"


def email(draw: st.DrawFn) -> str:
    """An e-mail address the intake accepts although its local part is hostile."""
    return f"{draw(hostile(spaces=False))}@evil.example".lower()


FIELDS = (
    "customer",
    "contact_name",
    "contact_title",
    "contact_phone",
    "event",
    "region",
    "product_area",
    "description",
    "customer_request",
    "question",
    "answer",
    "reply",
    "accept_note",
    "follow_up_note",
    "recategorize_note",
    "reassign_note",
    "justification",
    "feedback",
    "query",
    "stats",
    "subcommand",
    "message",
    "import_event",
)


@st.composite
def inputs(draw: st.DrawFn) -> dict[str, str]:
    h = {f: draw(hostile()) for f in FIELDS}
    h["customer"] = "Co " + h["customer"]  # a customer name is never empty after trimming
    for label in ("region", "product_area"):  # labels fit their 100-character columns (longer is a 422)
        h[label] = h[label][:100].strip() or "<!here>"
    h["domain"] = f"{draw(hostile(spaces=False))}.example"
    h["contact_email"] = email(draw)
    h["account_owner_email"] = email(draw)
    h["business_builder_email"] = email(draw)
    h["long"] = (h["description"] + " ") * (3200 // (len(h["description"]) + 1) + 1)  # too long for a card
    return h


# ----- what Slack would render --------------------------------------------------------------------------

NOT_SHOWN = {
    "initial_value",
    "value",
    "private_metadata",
    "block_id",
    "action_id",
    "callback_id",
    "external_id",
    "trigger_id",
    "view_id",
    "hash",
    "ts",
    "thread_ts",
    "channel",
    "channel_id",
    "user",
    "user_id",
    "users",
    "email",
    "metadata",
    "token",
    "filename",
    "response_url",
    "type",
    "style",
    "id",
    "root_view_id",
    "previous_view_id",
    "app_id",
    "bot_id",
    "team_id",
    "response_action",
}
BOT_DATE = re.compile(r"<!date\^\d+\^\{date_short_pretty\} \{time\}\|[^<>&]*>")
MENTION = re.compile(r"<@([UW][A-Z0-9]+)>")
ENTITY = re.compile(r"&(amp|lt|gt);")


def strings(doc: Any, where: str = "") -> list[tuple[str, str]]:
    """Every string Slack would show in ``doc``, with where it is."""
    out: list[tuple[str, str]] = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            if k not in NOT_SHOWN:
                out += strings(v, f"{where}.{k}")
    elif isinstance(doc, list):
        for n, v in enumerate(doc):
            out += strings(v, f"{where}[{n}]")
    elif isinstance(doc, str):
        if doc[:1] in "[{":
            try:
                return strings(json.loads(doc), where)
            except ValueError:
                pass
        out.append((where, doc))
    return out


def live_markup(text: str, people: set[str]) -> list[str]:
    """The pieces of ``text`` Slack would turn into a ping, a link or a mangled character although
    the bot did not write them."""
    bad = []
    for n, char in enumerate(text):
        rest = text[n:]
        if char == "<":
            mention = MENTION.match(rest)
            if mention and mention.group(1) in people:
                continue
            if BOT_DATE.match(rest):
                continue
            bad.append(rest[:50])
        elif char == "&" and not ENTITY.match(rest):
            bad.append(rest[:50])
    bad += [text[m.start() : m.start() + 20] for m in re.finditer(f"{TRICK}&(?!amp;)", text)]
    return bad


def everything_sent(bench: Bench, answers: list[Any]) -> list[tuple[str, str]]:
    """What the fake received and recorded, what it shows, and what the bot answered over HTTP."""
    fake = bench.fake
    seen: list[tuple[str, str]] = []
    for n, call in enumerate(fake.calls):
        seen += strings(call.args, f"{call.method}#{n}")
    for m in [*fake.responses, *(m for m in fake.messages() if m.from_bot)]:  # not what people wrote
        seen += strings({"text": m.text, "blocks": m.blocks}, f"message {m.channel}/{m.ts}")
    for view in fake.views.values():
        seen += strings(view.raw, f"view {view.id}")
    for user, home in fake.homes.items():
        seen += strings(home, f"home {user}")
    for e in fake.ephemerals:
        seen += strings(e, "ephemeral")
    for n, a in enumerate(answers):
        seen += strings(a, f"answer#{n}")
    return seen


# ----- driving the bot through every way in and every message kind ----------------------------------------

SENDER = "marketing.ops@example.com"
BB = "bb.stand@example.com"
REVIEWER = "lena.lindqvist@example.com"


def fresh(bench: Bench) -> None:
    """What the ``bench`` fixture does, again for each example."""
    bench.reset()
    bench.users = {}
    for user in directory(emails_in(bench.ctx.config)):
        bench.fake.add_user(user)
        bench.users[user.email] = user.id


def at(day: int, hour: int, minute: int = 0) -> datetime:
    base = START.astimezone(ZoneInfo("Europe/Stockholm")).replace(hour=0, minute=0)
    return (base + timedelta(days=day, hours=hour, minutes=minute)).astimezone(UTC)


def post(bench: Bench, body: dict[str, Any]) -> int:
    r = httpx.post(f"{bench.url}/api/items", json=body, headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=20)
    assert r.status_code in (200, 201), r.text
    return r.json()["id"]


class Run:
    def __init__(self, bench: Bench, h: dict[str, str], tmp: Path) -> None:
        self.bench, self.h, self.tmp, self.answers = bench, h, tmp, []

    def answer(self, r: httpx.Response) -> httpx.Response:
        assert r.status_code < 500, r.text
        if r.content and r.headers.get("content-type", "").startswith("application/json"):
            self.answers.append(r.json())
        elif r.content:
            self.answers.append(r.text)
        return r

    def receiver(self, item_id: int) -> str:
        return self.bench.item(item_id).receiver_user_id

    def click(self, user: str, item_id: int, action: ActionId) -> None:
        self.answer(self.bench.agent.click(user=user, message=self.bench.card(item_id), action_id=action))

    def modal(self, user: str, item_id: int, action: ActionId, values: dict[str, Any]) -> None:
        self.click(user, item_id, action)
        view = self.bench.fake.views_opened_by(user)[-1]
        self.answer(self.bench.agent.submit_view(user=user, view=view, values=values))
        self.bench.deliver()

    def command(self, user: str, text: str) -> None:
        self.answer(self.bench.agent.command(user=user, command="/handover", text=text))
        self.bench.deliver()

    def tick(self, when: datetime) -> None:
        self.bench.clock.set(when)
        scheduler.tick(self.bench.ctx)
        self.bench.deliver()

    # ----- the ways in ----------------------------------------------------------------------------
    def api_items(self) -> tuple[int, int]:
        h = self.h
        fields = {
            k: h[k]
            for k in (
                "customer",
                "contact_name",
                "contact_title",
                "contact_phone",
                "event",
                "region",
                "product_area",
                "customer_request",
                "contact_email",
                "account_owner_email",
            )
        }
        a = post(
            self.bench,
            {
                **fields,
                "external_id": "markup-a",
                "customer_domain": h["domain"],
                "description": h["long"],
                "business_builder_email": BB,
                "sender_email": SENDER,
            },
        )
        # a Business Builder nobody knows: questions go to the sender, who is told so
        e = post(
            self.bench,
            {
                **fields,
                "external_id": "markup-e",
                "customer": h["customer"] + " E",
                "description": h["description"],
                "business_builder_email": h["business_builder_email"],
                "sender_email": SENDER,
            },
        )
        self.bench.deliver()
        return a, e

    def imported(self) -> int:
        h = self.h
        path = self.tmp / "export.csv"
        columns = {
            "Company": h["customer"] + " I",
            "Website": h["domain"],
            "Contact": h["contact_name"],
            "Title": h["contact_title"],
            "Email": h["contact_email"],
            "Phone": h["contact_phone"],
            "Notes": h["description"],
            "Request": h["customer_request"],
            "Region": h["region"],
            "Product": h["product_area"],
            "Account owner": h["account_owner_email"],
            "Sender": SENDER,
        }
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(columns)
            writer.writerow(columns.values())
        summary = import_file(self.bench.ctx, path, event=h["import_event"])
        self.bench.deliver()
        assert summary.created == 1, summary
        return self.bench.items()[-1].id

    def captured(self, bb: str) -> int:
        h = self.h
        self.answer(self.bench.agent.command(user=bb, command="/handover", text="new"))
        view = self.bench.fake.views_opened_by(bb)[-1]
        values = {
            "customer": h["customer"] + " C",
            "contact_name": h["contact_name"],
            "contact_email": h["contact_email"],
            "contact_phone": h["contact_phone"],
            "customer_domain": h["domain"],
            "event": h["event"],
            "region": h["region"],
            "product_area": h["product_area"],
            "description": h["description"],
            "customer_request": h["customer_request"],
        }
        r = self.answer(self.bench.agent.submit_view(user=bb, view=view, values=values))
        assert not r.content or r.json().get("response_action") != "errors", r.text
        self.bench.deliver()
        return self.bench.items()[-1].id

    def shortcut(self, bb: str) -> int:
        message = {"ts": "1700000000.000100", "text": self.h["message"], "user": bb}
        self.answer(
            self.bench.agent.message_shortcut(user=bb, callback_id=CallbackId.MESSAGE_SHORTCUT, message=message)
        )
        view = self.bench.fake.views_opened_by(bb)[-1]
        # an e-mail address that is no address comes back inside the modal, as an error
        customer, text = self.h["customer"] + " M", self.h["message"]
        self.answer(
            self.bench.agent.submit_view(
                user=bb, view=view, values={"customer": customer, "contact_email": text + " @", "description": text}
            )
        )
        self.answer(
            self.bench.agent.submit_view(user=bb, view=view, values={"customer": customer, "description": text})
        )
        self.bench.deliver()
        return self.bench.items()[-1].id


def drive(bench: Bench, h: dict[str, str], tmp: Path) -> list[Any]:
    run = Run(bench, h, tmp)
    bb, sender = bench.add_user(BB), bench.add_user(SENDER)
    outsider = bench.add_user("outsider@elsewhere.example")
    a, e = run.api_items()
    imported = run.imported()
    captured = run.captured(bb)
    shortcut = run.shortcut(bb)

    # the receiver of A asks the Business Builder; the answer and a reply travel between the threads
    ra = run.receiver(a)
    run.modal(ra, a, ActionId.ASK, {"question": "Which sites? " + h["question"]})
    with bench.db() as s:
        q = s.exec(select(Question).where(Question.item_id == a)).one()
    run.answer(bench.agent.user_message(user=bb, channel=q.bb_channel, thread_ts=q.bb_ts, text=h["answer"])[1])
    bench.deliver()
    card = bench.card(a)
    run.answer(bench.agent.user_message(user=ra, channel=card.channel, thread_ts=card.ts, text=h["reply"])[1])
    bench.deliver()
    run.modal(
        run.receiver(e), e, ActionId.ASK, {"question": "Which budget? " + h["question"]}
    )  # never answered: re-asked, then the sender told
    run.click(ra, a, ActionId.SHOW_NOTES)  # the whole (long) description in a modal

    # someone else clicks: an ephemeral refusal naming who holds the item
    run.click(outsider, a, ActionId.ACCEPT)
    bench.deliver()

    # decisions, each with what people type
    run.click(ra, a, ActionId.ACCEPT)
    bench.deliver()
    run.modal(ra, a, ActionId.ACCEPT_NOTE, {"note": h["accept_note"]})
    run.modal(ra, a, ActionId.FOLLOW_UP, {"kind": "contacted", "note": h["follow_up_note"]})
    run.modal(
        run.receiver(imported),
        imported,
        ActionId.DISCARD,
        {"reason": "no_real_interest", "justification": "No budget this year: " + h["justification"]},
    )
    other = next(c for c in ("prospect", "lead") if c != bench.item(captured).category)
    run.modal(
        run.receiver(captured), captured, ActionId.RECATEGORIZE, {"category": other, "note": h["recategorize_note"]}
    )
    to = next(u for u in (bench.user(REVIEWER), bench.user(SENDER)) if u != run.receiver(shortcut))
    run.modal(run.receiver(shortcut), shortcut, ActionId.REASSIGN, {"to": to, "note": h["reassign_note"]})

    # look-ups and commands that echo what was typed
    for text in (
        f"customer {h['customer']}",
        f"customer {h['query']}",
        "mine",
        "sent",
        f"stats {h['stats']}",
        h["subcommand"],
    ):
        run.command(sender, text)
    run.command(ra, "mine")
    run.answer(bench.agent.shortcut(user=sender, callback_id=CallbackId.LOOKUP_SHORTCUT))
    view = bench.fake.views_opened_by(sender)[-1]
    for query in (h["query"], h["customer"]):
        run.answer(bench.agent.submit_view(user=sender, view=view, values={QUERY_BLOCK: query}))
    for user in (ra, sender, bb, bench.user(REVIEWER)):
        run.answer(bench.agent.app_home_opened(user=user))
    bench.deliver()

    # the scheduler: reminders, escalations, re-asked questions, follow-up nudges, the digest on
    # Monday, the feedback request two weeks after accepting, the lead review of March in April
    for day, hour in ((0, 13), (1, 10), (2, 10), (3, 15), (7, 8), (7, 9), (7, 10), (14, 9), (15, 9), (31, 9)):
        run.tick(at(day, hour))
    requests = [m for m in bench.dm(ra) if any(ActionId.FEEDBACK.value in str(b) for b in m.blocks)]
    if requests:
        run.answer(bench.agent.click(user=ra, message=requests[-1], action_id=ActionId.FEEDBACK))
        form = bench.fake.views_opened_by(ra)[-1]
        run.answer(
            bench.agent.submit_view(
                user=ra,
                view=form,
                values={"reached": "yes", "outcome": "meeting", "usefulness": "4", "comment": h["feedback"][:500]},
            )
        )
        bench.deliver()
    return run.answers


KINDS = {  # what each example must have made the bot send, so the property covers every kind
    "card": lambda b: b.fake.calls_to("chat.postMessage"),
    "card refresh or retirement": lambda b: b.fake.calls_to("chat.update"),
    "modal": lambda b: b.fake.calls_to("views.open"),
    "App Home": lambda b: b.fake.calls_to("views.publish"),
    "ephemeral": lambda b: b.fake.calls_to("chat.postEphemeral") or b.fake.responses,
    "thread": lambda b: [m for m in b.fake.messages() if m.thread_ts],
    "review channel": lambda b: b.fake.messages(channel="C0LEADREVIEW"),
    "digest": lambda b: [m for m in b.fake.messages() if m.text.startswith(":calendar:")],
    "reminder": lambda b: [m for m in b.fake.messages() if m.text.startswith((":bell:", ":rotating_light:"))],
    "feedback relay": lambda b: [m for m in b.fake.messages() if m.text.startswith(":memo: Feedback from")],
    "full notes": lambda b: [v for v in b.fake.views.values() if v.callback_id == CallbackId.NOTES],
}


def no_live_markup(bench: Bench, tmp: Path, h: dict[str, str]) -> None:
    fresh(bench)
    answers = drive(bench, h, tmp)
    people = set(bench.fake.users)
    leaks = [(where, piece) for where, text in everything_sent(bench, answers) for piece in live_markup(text, people)]
    assert not leaks, "user text reached Slack as live markup:\n" + "\n".join(f"{w}: {p!r}" for w, p in leaks[:20])
    missing = [kind for kind, sent in KINDS.items() if not sent(bench)]
    assert not missing, f"this run sent no {missing}: the property would not cover them"


def test_user_text_never_reaches_slack_as_live_markup(bench: Bench, tmp_path: Path) -> None:
    FAST(given(h=inputs())(lambda h: no_live_markup(bench, tmp_path, h)))()


@pytest.mark.slow
def test_user_text_never_reaches_slack_as_live_markup_at_length(bench: Bench, tmp_path: Path) -> None:
    SLOW(given(h=inputs())(lambda h: no_live_markup(bench, tmp_path, h)))()


def test_the_check_itself_finds_live_markup() -> None:
    """The walker is what the property rests on: it must see what Slack would ping or link."""
    people = {"U101"}
    assert live_markup("hi <@U101> <!date^1^{date_short_pretty} {time}|Mon 2 Mar> &amp; &lt;", people) == []
    for bad in (
        "<!here>",
        "<@U0HOSTILE>",
        "<#C1>",
        "<http://x|y>",
        "<!subteam^S1>",
        "a & b",
        "<!date^1^{date_num}|x>",
        f"{TRICK}&lt;!here&gt;",
    ):
        assert live_markup(f"x {bad} y", people), bad
    found = strings({"text": "<!here>", "initial_value": "<!here>", "blocks": json.dumps([{"text": "<!channel>"}])})
    assert [t for _, t in found] == ["<!here>", "<!channel>"]


def test_a_template_that_forgets_to_escape_still_escapes() -> None:
    """Autoescaping: a new template printing a value without ``| esc`` cannot send live markup,
    while what the bot writes on purpose (a mention, a date, a rendered template) stays markup."""
    from bot import texts

    template = texts.environment().from_string("{{ name }} asked {{ who | user }} on {{ at | slack_date }}: {{ said }}")
    said = texts.say("ask.j2", "relay_from_receiver", author="U101", text="<!channel> & *now*")
    out = template.render(name='<!here> "Q&A" it\'s', who="U101", at=START, said=said)
    assert out.startswith('&lt;!here&gt; "Q&amp;A" it\'s asked <@U101> on <!date^')
    assert out.endswith("<@U101>: &lt;!channel&gt; &amp; *now*")
    # Python-side joins escape the plain part, never the markup part
    assert texts.Mrkdwn("*{}*").format("<@U1>") == "*&lt;@U1&gt;*"
    assert texts.Mrkdwn("\n").join([texts.user("U1"), "<!here>"]) == "<@U1>\n&lt;!here&gt;"
    assert texts.escape_mrkdwn(texts.escape_mrkdwn("<&>")) == "&lt;&amp;&gt;"  # never twice
