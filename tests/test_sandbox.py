"""`handover sandbox` in a real browser: Debian's Chromium, driven by Playwright, clicks through the
page as an evaluator would — load the sample event, accept, ask the Business Builder, answer in
the thread, discard (first without a justification), look a customer up, move the clock for a
reminder and the weekly digest, open the App Home — and every step is checked on the page and in
the database. A screenshot of each step is written to test-output/sandbox/ (ignored by git)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from bot.config import load_config
from bot.ids import ActionId, ItemStatus
from bot.models import (
    DigestSent,
    Item,
    ItemEvent,
    LookupLog,
    Outbox,
    Question,
    QuestionMessage,
)
from bot.sandbox import Sandbox
from bot.sandbox.agent import action_payload
from bot.sandbox.web import create_sandbox_app
from bot.sandbox.world import SAMPLE_ITEM, RunningClock, move_target
from bot.serverthread import ServerThread

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parent.parent / "test-output" / "sandbox"
TIMEOUT = 15_000  # ms: the outbox dispatcher delivers within a second; a loaded CI machine is slower


def chromium() -> str:
    """Debian's chromium (Playwright's own browser download can't be reached here); installed with
    apt when missing, as .ci/run installs PostgreSQL."""
    if not Path(CHROMIUM).exists() and shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(
            "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium",
            shell=True,
            check=False,
            capture_output=True,
        )
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{CHROMIUM} is missing and could not be installed with apt")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture
def sandbox() -> Iterator[tuple[Sandbox, str]]:
    sb = Sandbox().start()
    page_server = ServerThread(create_sandbox_app(sb)).start()
    yield sb, page_server.url
    page_server.stop()
    sb.stop()


@pytest.fixture
def page(sandbox: tuple[Sandbox, str]) -> Iterator:
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = chromium()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.set_default_timeout(TIMEOUT)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        yield page
        browser.close()
        assert not errors, f"the page's JavaScript failed: {errors}"


@pytest.mark.slow
def test_an_evaluator_walks_through_a_handover_in_the_browser(sandbox: tuple[Sandbox, str], page) -> None:
    from playwright.sync_api import expect

    sb, url = sandbox
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()
    step = iter(range(1, 100))

    def shot(name: str) -> None:
        page.screenshot(path=str(SHOTS / f"{next(step):02d}-{name}.png"))

    def db() -> Session:
        return Session(sb.ctx.engine, expire_on_commit=False)

    def item_of(contact: str) -> Item:
        with db() as s:
            return s.exec(select(Item).where(Item.contact_name == contact)).one()

    def act_as(email: str) -> None:
        person = page.locator(f'#sidebar [data-email="{email}"]')
        if not person.is_visible():
            page.locator("#others summary").click()  # "Everyone else"
        person.click()
        expect(page.locator("#me-line")).to_contain_text(email.split("@")[0].split(".")[0].title())

    def card(contact: str):
        return page.locator("#timeline .msg", has_text=contact).first

    page.goto(url)
    expect(page.locator("#clock-now")).to_have_attribute("title", re.compile("Europe/Stockholm"))
    expect(page.locator("#topbar")).to_contain_text("127.0.0.1")
    shot("empty-workspace")

    # 1. the bundled sample event: good rows become items and cards, bad rows are reported by line
    page.get_by_role("button", name="Load sample event").click()
    expect(page.locator("#toasts")).to_contain_text("12 item(s) created")
    expect(page.locator("#toasts")).to_contain_text("2 row(s) rejected")
    with db() as s:
        items = list(s.exec(select(Item)))
    assert len(items) == 12 and all(i.status == ItemStatus.PENDING for i in items)

    # 2. an account manager (Nordics, Stockholm) sees the cards in her DM and accepts one
    anna = "anna.berg@example.com"
    act_as(anna)
    ola = card("Ola Nordmann")
    expect(ola).to_contain_text("ACME AB")
    expect(ola.locator(f'[data-action="{ActionId.ACCEPT}"]')).to_be_visible()
    expect(ola.locator(".btn.primary").first).to_be_visible()  # Slack's primary style, rendered
    # the card's Block Kit as Slack draws it: header, mrkdwn bold and italics, a mention by name,
    # context, checkboxes ticked as the bot sent them
    expect(ola.locator("h3.bk-header")).to_have_text("Lead: ACME AB")
    expect(ola.locator(".bk-context .mention", has_text="@Anna Berg")).to_be_visible()
    expect(ola.locator(".bk-context i").first).to_contain_text("Routed by")
    expect(ola.locator("b", has_text="Customer request:")).to_be_visible()
    expect(ola.locator(".btn.danger", has_text="Discard")).to_be_visible()
    assert ola.locator("input[type=checkbox]:checked").count() == 6  # the sample row's six "yes"
    shot("account-manager-cards")
    ola.locator(f'[data-action="{ActionId.ACCEPT}"]').click()
    expect(card("Ola Nordmann")).not_to_contain_text("Accept ownership")
    accepted = item_of("Ola Nordmann")
    assert accepted.status == ItemStatus.ACCEPTED and accepted.owner_user_id == sb.user_of(anna)
    shot("accepted")

    # 3. she asks the Business Builder about another item: a modal, submitted back to the bot
    card("Per Strand").locator(f'[data-action="{ActionId.ASK}"]').click()
    modal = page.locator("#modal-layer .modal")
    expect(modal).to_be_visible()
    question_text = "Is the fixed price for all 40 routers, or only the first site?"
    modal.locator("textarea, input[type=text]").first.fill(question_text)
    shot("ask-modal")
    modal.locator(".modal-submit").click()
    expect(page.locator("#modal-layer")).to_be_hidden()
    per = item_of("Per Strand")
    with db() as s:
        question = s.exec(select(Question).where(Question.item_id == per.id)).one()
    assert question.text == question_text and question.open

    # 4. the Business Builder gets the question in their DM and answers in its thread
    act_as("kim.stand@example.com")
    asked = page.locator("#timeline .msg", has_text=question_text).first
    expect(asked).to_be_visible()
    asked.hover()
    asked.locator(".reply-in-thread").click()
    answer = "All 40 routers, both data centres; their CFO confirmed it at the stand."
    page.locator("#reply").fill(answer)
    shot("business-builder-answers")
    page.locator("#reply-send").click()
    expect(page.locator("#thread-body")).to_contain_text(answer)
    with db() as s:
        said = list(s.exec(select(QuestionMessage).where(QuestionMessage.question_id == question.id)))
        answered_question = s.get(Question, question.id)
    assert answered_question is not None
    assert any(m.text == answer for m in said) and answered_question.answered_at is not None

    # 5. back as the receiver: the answer is in the thread under her card
    act_as(anna)
    replies = card("Per Strand").locator(".replies")
    expect(replies).to_be_visible()
    replies.click()
    expect(page.locator("#thread-body")).to_contain_text(answer)
    shot("receiver-sees-answer")

    # 6. discard: without a justification the modal shows Slack's inline error; then with one
    kari = card("Kari Holm")
    kari.locator(f'[data-action="{ActionId.DISCARD}"]').click()
    expect(modal).to_be_visible()
    modal.locator("select").first.select_option("duplicate")
    modal.locator(".modal-submit").click()
    expect(modal.locator(".bk-error")).to_be_visible()
    shot("discard-needs-justification")
    assert item_of("Kari Holm").status == ItemStatus.PENDING
    justification = "Same switch tender as Ola's router deal; the account team already has it."
    modal.locator("textarea, input[type=text]").first.fill(justification)
    modal.locator(".modal-submit").click()
    expect(page.locator("#modal-layer")).to_be_hidden()
    discarded = item_of("Kari Holm")
    assert discarded.status == ItemStatus.DISCARDED
    with db() as s:
        kinds = [e.kind for e in s.exec(select(ItemEvent).where(ItemEvent.item_id == discarded.id))]
    assert "discarded" in kinds
    expect(card("Kari Holm")).to_contain_text("Discarded")
    shot("discarded")

    # 7. a slash command in the message box: the answer only she sees
    page.locator("#say").fill("/handover customer acme")
    page.locator("#send").click()
    answer_box = page.locator("#timeline .msg.ephemeral").last
    expect(answer_box).to_contain_text("ACME")
    expect(answer_box).to_contain_text("Only visible to you")
    with db() as s:
        logged = list(s.exec(select(LookupLog).where(LookupLog.query == "acme")))
    assert logged and logged[0].via == "command" and logged[0].shown >= 1
    shot("customer-lookup")

    # 8. the clock: next working morning — Johan Ek's lead waited a working day: a reminder
    page.locator('[data-move="morning"]').click()
    expect(page.locator("#clock-now")).to_contain_text("Wed")
    johan = "johan.ek@example.com"
    act_as(johan)
    expect(page.locator("#timeline")).to_contain_text("your decision")
    eva = item_of("Eva Lund")
    with db() as s:
        nudged = [e.kind for e in s.exec(select(ItemEvent).where(ItemEvent.item_id == eva.id))]
    assert "nudge_reminder" in nudged
    shot("reminder")

    # 9. next Monday 08:00, then an hour on: the weekly digest arrives at 08:30 local time
    page.locator('[data-move="monday"]').click()
    expect(page.locator("#clock-now")).to_contain_text("Mon")
    expect(page.locator("#clock-now")).to_contain_text("08:00")
    iso = sb.clock.now().isocalendar()
    week = f"{iso.year}-W{iso.week:02d}"

    def digests() -> list[DigestSent]:
        with db() as s:
            return list(s.exec(select(DigestSent).where(DigestSent.person == anna, DigestSent.week == week)))

    assert digests() == []  # 08:00 is before the digest's 08:30
    page.locator('[data-move="hour"]').click()
    expect(page.locator("#clock-now")).to_contain_text("09:00")
    act_as(anna)
    expect(page.locator("#timeline")).to_contain_text(f"Your Handover week · {week}")
    assert len(digests()) == 1
    shot("weekly-digest")

    # 10. the App Home tab: app_home_opened, then the view the bot published
    page.locator("#tab-home").click()
    expect(page.locator("#home .blocks")).to_be_visible()
    expect(page.locator("#home")).to_contain_text("ACME")
    shot("app-home")

    # every Web API call the bot made is listed, and went through
    calls = page.locator("#calls-list .call")
    expect(calls.first).to_be_visible()
    assert calls.count() > 20
    assert sb.fake.calls_to("views.publish") and sb.fake.calls_to("views.open")

    # 11. Slack answers 429 for a while: the outbox keeps what it could not send, then sends it
    published = len(sb.fake.calls_to("views.publish"))
    page.locator("#trouble").select_option("429")
    expect(page.locator("#outbox-line")).to_contain_text("Slack answers 429")
    page.locator("#tab-messages").click()
    page.locator("#tab-home").click()  # app_home_opened: the bot queues a views.publish
    expect(page.locator("#calls-list .call.fail").first).to_contain_text("429 ratelimited")
    shot("slack-trouble")
    expect(page.locator("#outbox-line")).not_to_contain_text("Slack answers", timeout=60_000)
    expect(page.locator("#outbox-line")).to_contain_text("Outbox: 0 waiting", timeout=30_000)
    after = sb.fake.calls_to("views.publish")[published:]
    assert [c.status for c in after][:1] == [429] and after[-1].ok  # refused, then sent once Slack recovered
    with db() as s:
        rows = list(s.exec(select(Outbox)))
    assert rows and all(r.status == "sent" for r in rows)
    shot("slack-recovered")

    # 12. one item through /api/items from the page's dialog; what a sender wrote stays text
    page.get_by_role("button", name="Post an item").click()
    dialog = page.locator("#dialog-layer .dialog")
    item = {**SAMPLE_ITEM, "description": '<img src="x" onerror="window.pwned=1"> <@U100>'}
    dialog.locator("textarea").fill(json.dumps(item))
    dialog.get_by_role("button", name="Send").click()
    expect(dialog.locator(".result")).to_contain_text("HTTP 201")
    shot("post-an-item")
    dialog.get_by_role("button", name="Close").click()
    with db() as s:
        posted = s.exec(select(Item).where(Item.contact_name == "Maja Ek")).one()
    assert posted.receiver_email
    act_as(posted.receiver_email)
    lakeside = card("Maja Ek")
    # the bot escaped <, > and & (Slack shows them as text); the page draws them as text too
    expect(lakeside).to_contain_text('<img src="x" onerror="window.pwned=1">')
    expect(lakeside).to_contain_text("<@U100>")  # not a mention of Kim Stand
    assert page.locator('#timeline img[src="x"]').count() == 0 and not page.evaluate("window.pwned")


# ----- the parts, without a browser ---------------------------------------------------------------
STOCKHOLM = ZoneInfo("Europe/Stockholm")


def local(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=STOCKHOLM).astimezone(UTC)


@pytest.mark.parametrize(
    ("now", "move", "expected"),
    [
        (local(2026, 12, 18, 15, 0), "morning", local(2026, 12, 21, 8, 0)),  # Friday -> Monday
        (local(2026, 12, 23, 10, 0), "morning", local(2026, 12, 28, 8, 0)),  # over Christmas (holidays) and a weekend
        (local(2026, 11, 30, 9, 0), "monday", local(2026, 12, 7, 8, 0)),  # on a Monday: the next one
        (local(2026, 12, 3, 23, 30), "monday", local(2026, 12, 7, 8, 0)),
        (local(2026, 12, 10, 9, 0), "month", local(2027, 1, 4, 8, 0)),  # 1 Jan is a holiday, then a weekend
        (local(2026, 3, 2, 9, 0), "month", local(2026, 4, 1, 8, 0)),
        (
            local(2026, 3, 28, 9, 0),
            "fortnight",
            local(2026, 4, 11, 9, 0),
        ),  # across the switch to summer time: same UTC span
        (local(2026, 3, 2, 16, 30), "hour", local(2026, 3, 2, 17, 30)),
    ],
)
def test_the_clock_buttons_land_where_they_say(now: datetime, move: str, expected: datetime) -> None:
    target = move_target(load_config(None), now, move)
    assert target == expected if move != "fortnight" else target == now + timedelta(days=14)


def test_the_clock_starts_on_a_working_morning_with_the_weeks_digest_behind_it() -> None:
    from datetime import date

    from bot.sandbox.world import default_start

    config = load_config(None)
    assert default_start(config, date(2026, 12, 3)) == local(2026, 12, 1, 9, 0)  # Thursday -> that Tuesday
    assert default_start(config, date(2026, 11, 30)) == local(2026, 12, 1, 9, 0)  # a Monday -> the next day
    assert default_start(config, date(2026, 12, 23)) == local(2026, 12, 22, 9, 0)


def test_the_sandbox_clock_runs_and_jumps() -> None:
    clock = RunningClock(local(2026, 3, 2, 9, 0))
    first = clock.now()
    assert clock.now() >= first  # real seconds pass on it: outbox retries become due
    clock.set(local(2026, 3, 3, 8, 0))
    assert abs(clock.now() - local(2026, 3, 3, 8, 0)) < timedelta(seconds=5)
    assert clock.advance(hours=1) - local(2026, 3, 3, 9, 0) < timedelta(seconds=5)


def test_each_element_is_sent_with_slacks_action_shape() -> None:
    block = {"type": "actions", "block_id": "b1"}
    options = [
        {"text": {"type": "plain_text", "text": "One"}, "value": "1"},
        {"text": {"type": "plain_text", "text": "Two"}, "value": "2"},
    ]
    button = action_payload(
        block,
        {
            "type": "button",
            "action_id": "a",
            "text": {"type": "plain_text", "text": "Go"},
            "value": "v",
            "style": "danger",
        },
        None,
    )
    assert button | {"action_ts": "x"} == {
        "action_id": "a",
        "block_id": "b1",
        "type": "button",
        "value": "v",
        "text": {"type": "plain_text", "text": "Go"},
        "style": "danger",
        "action_ts": "x",
    }
    assert (
        action_payload(block, {"type": "static_select", "action_id": "s", "options": options}, "2")["selected_option"]
        == options[1]
    )
    assert (
        action_payload(block, {"type": "checkboxes", "action_id": "c", "options": options}, ["1"])["selected_options"]
        == options[:1]
    )
    assert action_payload(block, {"type": "users_select", "action_id": "u"}, "U100")["selected_user"] == "U100"
    assert (
        action_payload(block, {"type": "datepicker", "action_id": "d"}, "2026-03-02")["selected_date"] == "2026-03-02"
    )
    with pytest.raises(LookupError):
        action_payload(block, {"type": "static_select", "action_id": "s", "options": options}, "3")


def test_the_message_box_answers_an_unknown_command_clearly(sandbox: tuple[Sandbox, str]) -> None:
    import httpx

    sb, url = sandbox
    me = sb.user_of("anna.berg@example.com")
    refused = httpx.post(url + "/api/say", json={"user": me, "text": "/handoff mine"})
    assert refused.status_code == 400 and "/handoff is not a valid command" in refused.json()["error"]
    answered = httpx.post(url + "/api/say", json={"user": me, "text": "/handover help"})
    assert answered.status_code == 200 and answered.json()["status"] == 200
    shown = sb.fake.responses_to(me)
    assert shown and "/handover" in shown[-1].text  # the help, only she sees it
    assert httpx.get(url + "/api/state", params={"user": "U999"}).status_code == 404
    assert httpx.post(url + "/api/say", json={"text": "hello"}).json() == {"error": "missing field 'user'"}
    elsewhere = httpx.post(url + "/api/say", json={"user": me, "text": "hi", "thread_ts": "1.000001"})
    assert elsewhere.status_code == 400 and "thread" in elsewhere.json()["error"]
    page = httpx.get(url + "/")
    assert page.status_code == 200 and "/static/app.js" in page.text and "https://" not in page.text
    assert httpx.get(url + "/static/../world.py").status_code == 404
    assert httpx.get(url + "/api/state", params={"user": me}, headers={"Host": "evil.example"}).status_code == 400


def test_shortcuts_checkboxes_and_a_user_select_reach_the_bot_as_slack_sends_them(sandbox: tuple[Sandbox, str]) -> None:
    import time

    import httpx

    sb, url = sandbox
    anna = sb.user_of("anna.berg@example.com")
    johan = sb.user_of("johan.ek@example.com")

    def call(path: str, **body: object) -> dict:
        response = httpx.post(url + path, json=body, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def modal(user: str) -> dict:
        state = httpx.get(url + "/api/state", params={"user": user}).json()
        assert state["modal"], "no modal is open"
        return state["modal"]

    def wait_for(check: Callable[[], bool], what: str) -> None:  # the dispatcher runs in the background
        deadline = time.monotonic() + 10
        while not check():
            assert time.monotonic() < deadline, f"never happened: {what}"
            time.sleep(0.1)

    # one item through the intake API, with its bearer token; a broken one gets the API's 422
    posted = call("/api/item", **SAMPLE_ITEM)
    assert posted["status"] == 201 and posted["body"]["created"] is True
    refused = call("/api/item", **{**SAMPLE_ITEM, "external_id": "sandbox-2", "contact_email": "not an address"})
    assert refused["status"] == 422 and refused["body"]["errors"][0]["field"] == "contact_email"

    # the global shortcut opens the look-up modal; its submission is answered with a view update
    call("/api/shortcut", user=anna, callback_id="lookup_customer_shortcut")
    opened = modal(anna)
    assert opened["view"]["callback_id"] == "lookup_customer"
    query = next(b["block_id"] for b in opened["view"]["blocks"] if b["type"] == "input")
    assert call("/api/submit", user=anna, view_id=opened["id"], values={query: ""})["errors"]  # inline error
    call("/api/submit", user=anna, view_id=opened["id"], values={query: "nobody at all"})
    assert modal(anna)["id"] == opened["id"] and modal(anna)["hash"] != opened["hash"]  # updated in place
    call("/api/close", user=anna, view_id=opened["id"])
    assert httpx.get(url + "/api/state", params={"user": anna}).json()["modal"] is None

    # the message shortcut on one of her messages opens the capture modal
    sb.load_sample()
    wait_for(lambda: len(sb.fake.messages(sb.fake.dm_channel_for(anna))) >= 3, "Anna's cards")
    first = sb.fake.messages(sb.fake.dm_channel_for(anna))[0]
    call("/api/shortcut", user=anna, callback_id="handover_message", channel=first.channel, ts=first.ts)
    assert modal(anna)["view"]["callback_id"] == "new_item"
    call("/api/close", user=anna, view_id=modal(anna)["id"])

    # ticking a checklist box on a card: block_actions with the selected options
    with Session(sb.ctx.engine) as s:
        item = s.exec(select(Item).where(Item.contact_name == "Kari Holm")).one()
    assert item.card_channel and item.card_ts
    card = sb.fake.message(item.card_channel, item.card_ts)
    assert card is not None
    index, element = next(
        (i, e)
        for i, b in enumerate(card.blocks)
        if b["type"] == "actions"
        for e in b["elements"]
        if e["type"] == "checkboxes"
    )
    ticked = [o["value"] for o in element["options"][:2]]
    call(
        "/api/act",
        user=anna,
        where="message",
        channel=card.channel,
        ts=card.ts,
        index=index,
        action_id=element["action_id"],
        chosen=ticked,
    )
    with Session(sb.ctx.engine) as s:
        ticked_item = s.get(Item, item.id)
        assert ticked_item and all((ticked_item.checklist or {}).get(k) for k in ticked)

    # reassigning: the modal's users_select carries the chosen person
    reassign = next(
        (i, e)
        for i, b in enumerate(card.blocks)
        if b["type"] == "actions"
        for e in b["elements"]
        if e.get("action_id") == ActionId.REASSIGN
    )
    call(
        "/api/act",
        user=anna,
        where="message",
        channel=card.channel,
        ts=card.ts,
        index=reassign[0],
        action_id=ActionId.REASSIGN,
    )
    form = modal(anna)
    assert form["view"]["callback_id"] == "reassign_item"
    values = {
        b["block_id"]: johan if b["element"]["type"] == "users_select" else "Johan covers the tender."
        for b in form["view"]["blocks"]
        if b["type"] == "input" and b["element"]["type"] in ("users_select", "plain_text_input")
    }
    call("/api/submit", user=anna, view_id=form["id"], values=values)
    with Session(sb.ctx.engine) as s:
        reassigned = s.get(Item, item.id)
        assert reassigned and reassigned.receiver_user_id == johan
