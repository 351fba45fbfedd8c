"""Outbound webhooks: every state change of an item reaches the configured endpoints as a signed
CloudEvent, once, in order per item — decisions made as Slack makes them (signed requests to
/slack/events), delivered to a local receiver that verifies signatures with the
``standardwebhooks`` library itself (tests/webhook_receiver.py). Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from sqlmodel import select

from bot.config import Webhooks
from bot.flows import feedback, review
from bot.ids import ActionId, WebhookEventType
from bot.models import ReviewEntry, WebhookDelivery, WebhookEndpointState
from bot.webhooks import events
from bot.webhooks.sender import WebhookSender
from tests.flow import accept, discard, hand_over
from tests.harness import START, Bench
from tests.test_nudge import at
from tests.webhook_receiver import Receiver

SCHEMAS = Path(events.__file__).with_name("schemas")
BB = "bb.stand@example.com"
SENDER = "marketing.ops@example.com"


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    made: list[Receiver] = []
    yield made
    for r in made:
        r.stop()


def endpoint(
    bench: Bench,
    monkeypatch: pytest.MonkeyPatch,
    receivers: list[Receiver],
    name: str,
    events_: list[str] | str = "*",
    *,
    previous: str | None = None,
    **more: Any,
) -> Receiver:
    """Start a receiver and add it to the configuration as endpoint ``name``."""
    secret = new_secret()
    monkeypatch.setenv(f"HOOK_{name.upper()}_SECRET", secret)
    receiver = Receiver(secret=secret).start()
    receivers.append(receiver)
    spec: dict[str, Any] = {
        "name": name,
        "url": receiver.url,
        "events": events_,
        "secret_env": f"HOOK_{name.upper()}_SECRET",
        **more,
    }
    if previous is not None:
        monkeypatch.setenv(f"HOOK_{name.upper()}_OLD", previous)
        spec["previous_secret_env"] = f"HOOK_{name.upper()}_OLD"
    current = [e.model_dump(mode="json") for e in bench.ctx.config.webhooks.endpoints]
    bench.ctx.config = bench.ctx.config.model_copy(
        update={
            "webhooks": Webhooks.model_validate(
                {"retry_for_hours": bench.ctx.config.webhooks.retry_for_hours, "endpoints": current + [spec]}
            )
        }
    )
    return receiver


def send(bench: Bench) -> None:
    """What the background webhook sender does: fan out, and send what is due now."""
    WebhookSender(bench.ctx).run_until_idle()


def people(bench: Bench) -> None:
    for email in (BB, SENDER):
        if email not in bench.users:
            bench.add_user(email)


def card_click(bench: Bench, item_id: int, action: ActionId, user: str | None = None) -> None:
    user = user or bench.item(item_id).receiver_user_id
    r = bench.agent.click(user=user, message=bench.card(item_id), action_id=action)
    assert r.status_code == 200


def modal(bench: Bench, item_id: int, action: ActionId, values: dict[str, str], user: str | None = None) -> None:
    user = user or bench.item(item_id).receiver_user_id
    card_click(bench, item_id, action, user)
    view = bench.fake.views_opened_by(user)[-1]
    r = bench.agent.submit_view(user=user, view=view, values=values)
    assert r.status_code == 200 and (not r.content or r.json().get("response_action") != "errors"), r.text
    bench.deliver()


def every_kind_of_change(bench: Bench) -> dict[str, int]:
    """One item through each state change Handover knows, all through signed Slack requests."""
    people(bench)
    items = {}
    # A: handed over, delivered, asked and answered, recategorized, accepted, followed up and closed
    a = items["a"] = hand_over(
        bench,
        sender_email=SENDER,
        business_builder_email=BB,
        customer_request="Call me in May",
        product_area="networking",
    )
    modal(bench, a, ActionId.ASK, {"question": "Which sites did they mean?"})
    from bot.models import Question

    with bench.db() as s:
        q = s.exec(select(Question).where(Question.item_id == a)).one()
    bench.agent.user_message(user=bench.user(BB), channel=q.bb_channel, thread_ts=q.bb_ts, text="Gothenburg.")
    bench.deliver()
    modal(bench, a, ActionId.RECATEGORIZE, {"category": "lead", "note": "Budget confirmed."})
    accept(bench, a)
    modal(bench, a, ActionId.FOLLOW_UP, {"kind": "contacted", "note": "Called, meeting next week"})
    card_click(bench, a, ActionId.CLOSE, bench.item(a).owner_user_id)
    bench.deliver()
    # B: reassigned, discarded, reopened
    b = items["b"] = hand_over(
        bench,
        sender_email=SENDER,
        business_builder_email=BB,
        customer="Baltic Steel AS",
        contact_email="k@balticsteel.example",
    )
    colleague = bench.add_user("colleague@example.com")
    modal(bench, b, ActionId.REASSIGN, {"to": colleague, "note": "Your territory."})
    discard(bench, b, justification="Same as item 12 from the webinar.", reason="duplicate")
    card_click(bench, b, ActionId.REOPEN)
    bench.deliver()
    # C: accepted, feedback given two weeks later
    c = items["c"] = hand_over(
        bench,
        sender_email=SENDER,
        business_builder_email=BB,
        customer="Fjord Data AS",
        contact_email="o@fjorddata.example",
    )
    accept(bench, c)
    owner = bench.item(c).owner_user_id
    bench.clock.set(at(14, 9))
    feedback.run(bench.ctx)
    bench.deliver()
    [request] = [m for m in bench.dm(owner) if m.text.startswith(":memo: How did item")]
    bench.agent.click(user=owner, message=request, action_id=ActionId.FEEDBACK)
    view = bench.fake.views_opened_by(owner)[-1]
    r = bench.agent.submit_view(
        user=owner,
        view=view,
        values={"reached": "yes", "outcome": "opportunity", "usefulness": "4", "comment": "Spot on."},
    )
    assert r.status_code == 200
    bench.deliver()
    # D: discarded in March, and the lead review's verdict on it
    d = items["d"] = hand_over(bench, sender_email=SENDER, customer="Refused AB", contact_email="x@refused.example")
    discard(bench, d, justification="A student collecting brochures.")
    bench.clock.set(at(30, 8))
    review.run(bench.ctx)
    bench.deliver()
    with bench.db() as s:
        entry = s.exec(select(ReviewEntry).where(ReviewEntry.item_id == d)).one()
    message = bench.fake.message(entry.message_channel, entry.message_ts)
    r = bench.agent.click(
        user=bench.user("lena.lindqvist@example.com"), message=message, action_id=ActionId.REVIEW_GOOD_GROUNDS
    )
    assert r.status_code == 200
    bench.deliver()
    return items


def test_each_change_reaches_each_endpoint_once_signed_and_as_the_schema_says(
    bench: Bench, monkeypatch: pytest.MonkeyPatch, receivers: list[Receiver]
) -> None:
    crm = endpoint(bench, monkeypatch, receivers, "crm")
    zap = endpoint(bench, monkeypatch, receivers, "zapier", ["item.accepted", "item.discarded"])
    items = every_kind_of_change(bench)
    send(bench)
    send(bench)  # nothing is sent twice
    got = crm.events()
    assert not crm.refused and all(r.answered == 200 for r in crm.requests)
    assert {e["type"] for e in got} == {t.value for t in WebhookEventType}  # all thirteen event types
    assert max(crm.ids().values()) == 1 and len(got) == len(crm.requests)
    for r in crm.accepted:  # the webhook-id is the CloudEvent id; every body is what its schema says
        schema = json.loads((SCHEMAS / f"{r.event['type']}.json").read_text())
        jsonschema.validate(r.event, schema)
        assert r.headers["webhook-id"] == r.event["id"] and r.headers["content-type"].startswith(
            "application/cloudevents+json"
        )
    # each item's events in the order they happened
    for item_id in items.values():
        audit_ids = [e["data"]["audit_id"] for e in got if e["data"]["item"]["id"] == item_id]
        assert audit_ids == sorted(audit_ids)
    by_type = {}
    for e in got:
        by_type.setdefault(e["type"], []).append(e)
    created = next(e for e in by_type["item.created"] if e["data"]["item"]["id"] == items["a"])
    item = created["data"]["item"]
    assert item["name"] == "Nordic Fibre AB (Global Event 2026)" and item["source"] == "api"
    assert item["description"].startswith("Wants to replace") and item["creator"]["email"] == BB
    assert item["contact"] == {
        "name": "Eva Lund",
        "email": "eva.lund@nordicfibre.example",
        "phone": None,
        "title": None,
    }
    assert item["expected_follow_up"] == "Call me in May" and item["market_category"] == "networking"
    assert created["data"]["customer"]["name"] == "Nordic Fibre AB" and created["subject"] == f"items/{items['a']}"
    delivered = by_type["item.delivered"][0]["data"]["item"]["slack"]
    assert delivered["url"] == f"https://slack.com/archives/{delivered['channel']}/p{delivered['ts'].replace('.', '')}"
    [discarded] = [e for e in by_type["item.discarded"] if e["data"]["item"]["id"] == items["b"]]
    assert discarded["data"]["reason"] == "duplicate"
    assert discarded["data"]["justification"] == "Same as item 12 from the webinar."
    assert discarded["data"]["actor"] == {
        "kind": "person",
        "slack_user_id": bench.user("colleague@example.com"),
        "email": "colleague@example.com",
        "name": None,
    }
    [recategorized] = by_type["item.recategorized"]
    assert (recategorized["data"]["reason"], recategorized["data"]["justification"]) == ("lead", "Budget confirmed.")
    [verdict] = by_type["review.verdict"]
    assert verdict["data"]["reason"] == "good_grounds" and verdict["data"]["item"]["id"] == items["d"]
    [fb] = by_type["feedback.given"]
    assert fb["data"]["change"]["usefulness"] == 4 and fb["data"]["justification"] == "Spot on."
    # the endpoint that wants two types gets just those, each once
    assert sorted(e["type"] for e in zap.events()) == sorted(
        e["type"] for e in got if e["type"] in ("item.accepted", "item.discarded")
    )
    assert max(zap.ids().values()) == 1


def test_filters_by_category_event_and_region(
    bench: Bench, monkeypatch: pytest.MonkeyPatch, receivers: list[Receiver]
) -> None:
    leads = endpoint(bench, monkeypatch, receivers, "leads", ["item.created"], filters={"category": "lead"})
    show = endpoint(
        bench,
        monkeypatch,
        receivers,
        "show",
        ["item.created"],
        filters={"event": ["Global Event 2026"], "region": ["dach"]},
    )
    people(bench)
    lead = hand_over(bench, category="lead", region="nordics")
    prospect = hand_over(
        bench, category="prospect", region="dach", customer="Alpen GmbH", contact_email="a@alpen.example"
    )
    hand_over(
        bench,
        category="prospect",
        region="dach",
        event="Webinar May",
        customer="Other GmbH",
        contact_email="o@other.example",
    )
    send(bench)
    assert [e["data"]["item"]["id"] for e in leads.events()] == [lead]
    assert [e["data"]["item"]["id"] for e in show.events()] == [prospect]


def test_two_secrets_while_rotating_a_receiver_that_knows_only_the_new_one_verifies(
    bench: Bench, monkeypatch: pytest.MonkeyPatch, receivers: list[Receiver]
) -> None:
    old = new_secret()
    rotated = endpoint(bench, monkeypatch, receivers, "rotated", ["item.created"], previous=old)
    people(bench)
    hand_over(bench)
    send(bench)
    [r] = rotated.accepted  # the receiver knows only the new secret
    assert len(r.headers["webhook-signature"].split(" ")) == 2
    from standardwebhooks.webhooks import Webhook

    Webhook(old).verify(r.body, r.headers)  # and one knowing only the old one still verifies too


def test_receiver_down_for_hours_gets_every_event_once_in_order(
    bench: Bench, monkeypatch: pytest.MonkeyPatch, receivers: list[Receiver]
) -> None:
    crm = endpoint(bench, monkeypatch, receivers, "crm")
    crm.stop()  # down: connections refused
    people(bench)
    first = hand_over(bench)
    accept(bench, first)
    second = hand_over(bench, customer="Baltic Steel AS", contact_email="k@balticsteel.example")
    discard(bench, second)
    for _ in range(10):  # five hours of retries on the moved clock, the Slack messages all sent meanwhile
        send(bench)
        bench.clock.advance(minutes=30)
    assert not bench.outbox() or all(r.status == "sent" for r in bench.outbox())
    with bench.db() as s:
        rows = list(s.exec(select(WebhookDelivery)))
    assert rows and all(r.status == "pending" and r.attempts >= 5 for r in rows if r.seq == min(x.seq for x in rows))
    # later events of an item waited behind its first: never attempted while it was pending
    heads = {}
    for r in sorted(rows, key=lambda r: r.seq):
        heads.setdefault(r.item_id, r)
    assert all(r.attempts == 0 for r in rows if heads[r.item_id] is not r)
    crm.start()  # back, on the same port
    bench.clock.advance(hours=1)
    send(bench)
    types = [(e["data"]["item"]["id"], e["type"]) for e in crm.events()]
    assert [t for i, t in types if i == first] == ["item.created", "item.delivered", "item.accepted"]
    assert [t for i, t in types if i == second] == ["item.created", "item.delivered", "item.discarded"]
    assert max(crm.ids().values()) == 1


def test_gone_disables_the_endpoint_and_tells_the_admins(
    bench: Bench, monkeypatch: pytest.MonkeyPatch, receivers: list[Receiver]
) -> None:
    gone = endpoint(bench, monkeypatch, receivers, "gone", ["item.created"])
    other = endpoint(bench, monkeypatch, receivers, "other", ["item.created"])
    gone.status = 410
    people(bench)
    hand_over(bench)
    send(bench)
    hand_over(bench, customer="Baltic Steel AS", contact_email="k@balticsteel.example")
    bench.clock.advance(hours=2)
    send(bench)
    assert len(gone.requests) == 1  # disabled after its 410: nothing more
    assert len(other.events()) == 2
    with bench.db() as s:
        assert s.get(WebhookEndpointState, "gone").disabled_at is not None
    bench.deliver()
    admin = "handover.desk@example.com"  # roles.admins of the default configuration
    assert any("answered 410 Gone" in m.text and "gone" in m.text for m in bench.dm(admin))
    r = httpx.get(f"{bench.url}/healthz")
    assert r.status_code == 200
    from bot.webhooks import queue

    assert queue.figures(bench.ctx.engine)["gone"].disabled_at is not None


def test_a_4xx_marks_the_delivery_failed_and_visible_without_holding_the_item(
    bench: Bench, monkeypatch: pytest.MonkeyPatch, receivers: list[Receiver]
) -> None:
    picky = endpoint(bench, monkeypatch, receivers, "picky", ["item.created", "item.accepted"])
    picky.status = 422
    people(bench)
    item_id = hand_over(bench)
    send(bench)
    picky.status = 200
    accept(bench, item_id)
    bench.clock.advance(hours=3)
    send(bench)
    assert [r.answered for r in picky.requests] == [422, 200]  # not retried; the next event is not held
    assert httpx.get(f"{bench.url}/healthz").json()["webhooks_failed"] == 1
    with bench.db() as s:
        [failed] = s.exec(select(WebhookDelivery).where(WebhookDelivery.status == "failed")).all()
    assert failed.response_status == 422 and "422" in failed.last_error


def test_429_and_5xx_are_retried_then_given_up_after_the_horizon(
    bench: Bench, monkeypatch: pytest.MonkeyPatch, receivers: list[Receiver]
) -> None:
    flaky = endpoint(bench, monkeypatch, receivers, "flaky", ["item.created"])
    flaky.status = 503
    people(bench)
    hand_over(bench)
    for _ in range(80):  # 80 hours
        send(bench)
        bench.clock.advance(hours=1)
    with bench.db() as s:
        [row] = s.exec(select(WebhookDelivery)).all()
    assert row.status == "failed" and "no success within 72 h" in row.last_error
    assert 70 <= len(flaky.requests) <= 85


def test_a_slow_endpoint_delays_neither_slack_nor_another_endpoint(
    bench: Bench, monkeypatch: pytest.MonkeyPatch, receivers: list[Receiver]
) -> None:
    import threading

    slow = endpoint(bench, monkeypatch, receivers, "slow", ["item.created"], timeout_seconds=3, concurrency=1)
    fast = endpoint(bench, monkeypatch, receivers, "fast", ["item.created"])
    slow.delay = 2.0
    people(bench)
    stop = threading.Event()
    sender = threading.Thread(target=WebhookSender(bench.ctx).run_forever, args=(stop,), daemon=True)
    sender.start()
    try:
        started = time.monotonic()
        ids = [hand_over(bench, customer=f"Customer {n} AB", contact_email=f"c@c{n}.example") for n in range(3)]
        cards_in = time.monotonic() - started
        assert all(bench.item(i).card_ts for i in ids) and cards_in < 5  # the cards went out meanwhile
        deadline = time.monotonic() + 10
        while len(fast.events()) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        fast_done = time.monotonic() - started
        assert len(fast.events()) == 3 and fast_done < 2.5, fast_done  # not behind the slow one's 6 s
        deadline = time.monotonic() + 15
        while len(slow.events()) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(slow.events()) == 3
    finally:
        stop.set()
        sender.join(timeout=10)


def test_replay_resends_with_the_original_ids(
    bench: Bench, monkeypatch: pytest.MonkeyPatch, receivers: list[Receiver]
) -> None:
    from rich.console import Console

    from bot.webhooks.cli import replay

    crm = endpoint(bench, monkeypatch, receivers, "crm", ["item.created", "item.accepted"])
    people(bench)
    accept(bench, hand_over(bench))
    send(bench)
    first = [r.webhook_id for r in crm.accepted]
    assert len(first) == 2
    console = Console(record=True, width=200)
    replay(console, console, bench.ctx, since=START.date(), endpoint="crm")
    again = [r.webhook_id for r in crm.accepted]
    assert again == first + first  # the same ids, in the same order: the receiver drops the repeats
    assert "Queued 2 event(s) again" in console.export_text()


def test_the_committed_schemas_are_the_models_and_are_in_the_openapi_document(bench: Bench) -> None:
    for t in WebhookEventType:
        assert (SCHEMAS / f"{t.value}.json").read_text() == events.schema_text(t), (
            "run `python -m bot.webhooks.events` and commit bot/webhooks/schemas/"
        )
        jsonschema.Draft202012Validator.check_schema(json.loads(events.schema_text(t)))
    doc = httpx.get(f"{bench.url}/api/openapi.json").json()
    assert doc["openapi"].startswith("3.1") and set(doc["webhooks"]) == {t.value for t in WebhookEventType}


def test_bad_webhook_configuration_is_reported_with_its_line() -> None:
    from bot.config import ConfigError, parse

    with pytest.raises(ConfigError) as exc:
        parse(
            "webhooks:\n  endpoints:\n    - name: crm\n      url: ftp://crm.example\n      events: [item.sold]\n"
            "      secret_env: CRM_SECRET\n"
        )
    assert exc.value.problems[0] == "<config>:4: webhooks.endpoints[0].url: 'ftp://crm.example' is not an http(s) URL"
    assert exc.value.problems[1].startswith(
        "<config>:5: webhooks.endpoints[0].events[0]: Input should be 'item.created'"
    )


def test_list_shows_each_endpoint_and_test_sends_a_signed_event(
    bench: Bench, monkeypatch: pytest.MonkeyPatch, receivers: list[Receiver]
) -> None:
    from rich.console import Console

    from bot.webhooks.cli import print_list, send_test

    crm = endpoint(bench, monkeypatch, receivers, "crm", ["item.created"])
    picky = endpoint(bench, monkeypatch, receivers, "picky", ["item.created"])
    picky.status = 400
    people(bench)
    hand_over(bench)
    send(bench)
    console = Console(record=True, width=250)
    assert print_list(console, bench.ctx) == 1  # one endpoint needs attention
    lines = console.export_text().splitlines()
    crm_line = next(line for line in lines if line.strip("│ ").startswith("crm"))
    picky_line = next(line for line in lines if line.strip("│ ").startswith("picky"))
    assert "enabled" in crm_line and " 1 " in crm_line
    assert "HTTP 400" in picky_line
    console = Console(record=True, width=250)
    assert send_test(console, console, bench.ctx, "crm") == 0
    [test_event] = [r for r in crm.accepted if r.event["type"] == "handover.test"]
    assert f"crm answered 200 to test event {test_event.webhook_id}" in console.export_text()
    assert send_test(console, console, bench.ctx, "nobody") == 2
    monkeypatch.delenv("HOOK_CRM_SECRET")
    console = Console(record=True, width=250)
    assert send_test(console, console, bench.ctx, "crm") == 1
    said = console.export_text()
    assert "HOOK_CRM_SECRET" in said and "is not set" in said


def test_the_commands_dispatch_list_doctor_and_enable(
    bench: Bench, monkeypatch: pytest.MonkeyPatch, receivers: list[Receiver], tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from bot.cli import app
    from tests.harness import BOT_TOKEN, SIGNING_SECRET

    crm = endpoint(bench, monkeypatch, receivers, "crm", ["item.created"])
    gone = endpoint(bench, monkeypatch, receivers, "gone", ["item.created"])
    gone.status = 410
    config = tmp_path / "handover.yaml"
    config.write_text(
        f"""webhooks:
  endpoints:
    - {{name: crm, url: "{crm.url}", events: [item.created], secret_env: HOOK_CRM_SECRET}}
    - {{name: gone, url: "{gone.url}", events: [item.created], secret_env: HOOK_GONE_SECRET}}
    - {{name: nosecret, url: "http://127.0.0.1:9/x", events: [item.closed], secret_env: HOOK_NOT_SET_ANYWHERE}}
""",
        encoding="utf-8",
    )
    env = {
        "DATABASE_URL": bench.ctx.settings.database_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": bench.fake.api_url,
        "HANDOVER_CONFIG": str(config),
        "COLUMNS": "250",
    }
    people(bench)
    item_id = hand_over(bench)  # recorded; no webhook sender has run yet
    runner = CliRunner()
    result = runner.invoke(app, ["dispatch"], env=env)
    assert result.exit_code == 0, result.output
    assert [(e["type"], e["data"]["item"]["id"]) for e in crm.events()] == [("item.created", item_id)]
    assert [r.answered for r in gone.requests] == [410]
    result = runner.invoke(app, ["webhooks", "list"], env=env, terminal_width=250)
    out = " ".join(result.output.split())
    assert result.exit_code == 1 and "disabled since" in out and "HOOK_NOT_SET_ANYWHERE" in out
    result = runner.invoke(app, ["doctor"], env=env, terminal_width=250)
    out = " ".join(result.output.split())
    assert "✘ webhook gone: disabled since" in out and "handover webhooks enable gone" in out
    assert "✘ webhook nosecret: the environment variable HOOK_NOT_SET_ANYWHERE" in out
    assert "✔ webhook crm: 1 delivered, 0 waiting" in out
    gone.status = 200
    result = runner.invoke(app, ["webhooks", "enable", "gone"], env=env)
    assert result.exit_code == 0 and "enabled again" in result.output
    result = runner.invoke(app, ["dispatch"], env=env)
    assert [r.answered for r in gone.requests] == [410, 200]  # the waiting event went out, with its id
    assert gone.requests[0].webhook_id == gone.requests[1].webhook_id
    result = runner.invoke(app, ["webhooks", "replay", "--since", f"{START:%Y-%m-%d}", "--endpoint", "crm"], env=env)
    assert result.exit_code == 0 and "Queued 1 event(s) again" in result.output, result.output
    assert [r.webhook_id for r in crm.accepted] == [crm.accepted[0].webhook_id] * 2
    result = runner.invoke(app, ["webhooks", "replay", "--since", "2026-13-01"], env=env)
    assert result.exit_code == 2  # not a day: typer says so


def test_gone_without_admins_is_told_in_the_ops_channel(
    bench: Bench, monkeypatch: pytest.MonkeyPatch, receivers: list[Receiver]
) -> None:
    config = bench.ctx.config
    bench.ctx.config = config.model_copy(
        update={
            "roles": config.roles.model_copy(update={"admins": []}),
            "channels": config.channels.model_copy(update={"ops": "C0OPS"}),
        }
    )
    gone = endpoint(bench, monkeypatch, receivers, "gone", ["item.created"])
    gone.status = 410
    people(bench)
    hand_over(bench)
    send(bench)
    bench.deliver()
    [told] = [m for m in bench.fake.messages(channel="C0OPS") if "410 Gone" in m.text]
    assert "handover webhooks enable gone" in told.text
