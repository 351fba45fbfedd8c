"""`handover socket` end to end: the real command in its own process, connected over Socket Mode to
the Slack stand-in (apps.connections.open → a ws:// URL → hello, envelopes, acks by envelope id,
disconnect and reconnect), on SQLite and PostgreSQL (the bench's database)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.fakeslack.socket_agent import SocketModeAgent
from bot.ids import ActionId, ItemStatus
from bot.models import Person
from tests.flow import hand_over, sent_texts
from tests.harness import BOT_TOKEN, Bench

ROOT = Path(__file__).resolve().parent.parent
SENDER = "marketing.ops@example.com"


def eventually(check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    """Poll until ``check()`` is truthy: the bot's own dispatcher sends in its own time."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)


@pytest.fixture
def socket_bot(bench: Bench, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`handover socket` as its own process against the bench's database and Slack stand-in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "HANDOVER_", "DATABASE_"))}
    env.update(
        PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN=bench.fake.app_token,
        SLACK_API_URL=bench.fake.api_url,
        DATABASE_URL=bench.ctx.settings.database_url,
        HANDOVER_RUN_SCHEDULER="false",
    )
    before = len(bench.fake.socket_mode.connections)
    log = (tmp_path / "socket.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "socket"], env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        try:
            bench.fake.socket_mode.wait_for_connections(before + 1, timeout=60)
        except AssertionError:
            raise AssertionError(
                "handover socket never connected:\n" + (tmp_path / "socket.log").read_text(errors="replace")
            ) from None
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_handover_socket_serves_clicks_modals_commands_and_events_and_survives_a_reconnect(
    bench: Bench, socket_bot: subprocess.Popen[bytes]
) -> None:
    sender = bench.add_user(SENDER)
    bench.add_user("bb.stand@example.com")
    first = hand_over(bench, sender_email=SENDER, business_builder_email="bb.stand@example.com")
    second = hand_over(
        bench,
        sender_email=SENDER,
        business_builder_email="bb.stand@example.com",
        external_id="socket-2",
        customer="Alpine Rail GmbH",
    )
    # the bot's own dispatcher may be the one delivering the cards: wait for both
    eventually(lambda: all(bench.item(i).card_ts for i in (first, second)), "both cards to be delivered")
    receiver = bench.item(first).receiver_user_id
    assert receiver and bench.item(second).receiver_user_id
    socket = bench.fake.socket_mode
    agent = SocketModeAgent(bench.fake)

    # an accept click: an `interactive` envelope, acked with no payload; the decision is in the
    # database by the time the ack arrives, the card and the sender's message follow from the outbox
    r = agent.click(user=receiver, message=bench.card(first), action_id=ActionId.ACCEPT)
    assert r.status_code == 200 and not r.content
    ack = socket.acks[agent.last_envelope]
    assert ack == {"envelope_id": agent.last_envelope}
    item = bench.item(first)
    assert item.status == ItemStatus.ACCEPTED and item.owner_user_id == receiver
    eventually(lambda: "Accepted" in str(bench.card(first).blocks), "the card to show the acceptance")
    eventually(lambda: any("accepted item" in t for t in sent_texts(bench, sender)), "the sender to hear of it")

    # discard through the modal: the button opens it (views.open with the envelope's trigger id);
    # a submission without a justification is answered in the ack's payload, the full one discards
    other = bench.item(second).receiver_user_id
    agent.click(user=other, message=bench.card(second), action_id=ActionId.DISCARD)
    view = bench.fake.views_opened_by(other)[-1]
    r = agent.submit_view(user=other, view=view, values={"reason": "no_real_interest", "justification": ""})
    assert r.json()["response_action"] == "errors" and "justification" in r.json()["errors"]
    assert bench.item(second).status == ItemStatus.PENDING
    justification = "Student project, no budget and no timeline."
    r = agent.submit_view(user=other, view=view, values={"reason": "no_real_interest", "justification": justification})
    assert r.status_code == 200
    assert bench.item(second).status == ItemStatus.DISCARDED
    discarded = [e for e in bench.trail(second) if e.kind == "discarded"]
    assert len(discarded) == 1 and discarded[0].text == justification and discarded[0].actor == other
    eventually(lambda: ActionId.REOPEN.value in str(bench.card(second).blocks), "the card to offer Reopen")
    eventually(
        lambda: any("discarded item" in t and "no budget" in t for t in sent_texts(bench, sender)),
        "the sender to hear why",
    )

    # a slash command: a `slash_commands` envelope; the ephemeral answer travels in the ack's payload
    r = agent.command(user=receiver, command="/handover", text="digest off")
    shown = agent.shown(r, user=receiver)
    assert r.json()["response_type"] == "ephemeral" and shown.text
    with bench.db() as s:
        person = s.exec(select(Person).where(Person.slack_user_id == receiver)).one()
        assert person.digest_enabled is False

    # an Events API event: acked without a payload, the Home tab is published
    r = agent.app_home_opened(user=receiver)
    assert r.status_code == 200 and not r.content
    eventually(lambda: bench.fake.published_home(receiver), "the App Home to be published")

    # Slack recycles the connection: `disconnect`, the app opens a new one and closes the old one
    connections = len(socket.connections)
    old = socket.disconnect()
    socket.wait_for_connections(connections + 1)
    assert sum(c.method == "apps.connections.open" for c in bench.fake.calls) >= 2
    r = agent.command(user=receiver, command="/handover", text="digest on")
    assert r.json()["response_type"] == "ephemeral"
    with bench.db() as s:
        assert s.exec(select(Person).where(Person.slack_user_id == receiver)).one().digest_enabled is True
    eventually(lambda: old.closed, "the app to close the recycled connection")

    # every envelope was acknowledged exactly by its id; nothing else came back
    assert {e["envelope_id"] for e in socket.sent} <= set(socket.acks)
    assert socket_bot.poll() is None, "handover socket is still running"


def test_apps_connections_open_wants_the_app_level_token(bench: Bench) -> None:
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    client = WebClient(base_url=bench.fake.api_url)
    with pytest.raises(SlackApiError) as refused:
        client.apps_connections_open(app_token=BOT_TOKEN)
    assert refused.value.response["error"] == "not_allowed_token_type"
    url = client.apps_connections_open(app_token=bench.fake.app_token)["url"]
    assert url.startswith("ws://127.0.0.1:")


def test_a_malformed_envelope_is_acknowledged_logged_and_changes_nothing(
    bench: Bench, socket_bot: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    """Over Socket Mode there is no signature to check, but the shape check of HTTP requests still
    holds: a click whose button value is an object, not the string Slack sends, is acked (Slack
    would only send it again), named in the log, and no listener acts on it — nobody is told
    "busy", the item stays as it was. The next well-formed click works."""
    item_id = hand_over(bench)
    eventually(lambda: bench.item(item_id).card_ts, "the card to be delivered")  # perhaps by the bot's dispatcher
    receiver = bench.item(item_id).receiver_user_id
    card = bench.card(item_id)
    socket = bench.fake.socket_mode
    payload = {
        "type": "block_actions",
        "team": {"id": "T0FAKE", "domain": "handover-fake"},
        "api_app_id": "AHANDOVER",
        "user": {"id": receiver, "username": "x", "team_id": "T0FAKE"},
        "trigger_id": bench.fake.issue_trigger(receiver),
        "container": {"type": "message", "message_ts": card.ts, "channel_id": card.channel, "is_ephemeral": False},
        "channel": {"id": card.channel, "name": "directmessage"},
        "message": card.as_slack(with_metadata=False),
        "actions": [
            {
                "action_id": ActionId.ACCEPT.value,
                "block_id": "decide",
                "value": {"item": item_id},
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    queued = len(bench.outbox())
    envelope = socket.send("interactive", payload)
    assert socket.wait_for_ack(envelope, timeout=10) == {"envelope_id": envelope}
    eventually(
        lambda: (
            "refused a Socket Mode request: malformed Slack request: payload.actions.0.value"
            in (tmp_path / "socket.log").read_text(errors="replace")
        ),
        "the log to name the malformed field",
    )
    assert bench.item(item_id).status == ItemStatus.PENDING
    assert not bench.fake.ephemerals and len(bench.outbox()) == queued  # nobody told anything
    r = SocketModeAgent(bench.fake).click(user=receiver, message=card, action_id=ActionId.ACCEPT)
    assert r.status_code == 200 and bench.item(item_id).status == ItemStatus.ACCEPTED
