"""Security at the boundary, beyond tests/test_security.py (a click with a bad signature is refused):

- every kind of Slack request (button, modal, slash command, event) with a bad signature gets 401
  and changes nothing at all: no item, no audit line, no outbox row, no Slack call;
- a body that can't even be parsed is refused for its signature first (401), not for its shape,
  and never crashes the app (it used to: Bolt parsed the body before checking the signature);
- the intake API: the bearer token compared with hmac.compare_digest, the body size limit
  (declared or streamed), schema errors with the reason, the per-token rate limit with Retry-After;
- error bodies never carry a secret or a stack trace;
- Events API retries (same event_id, X-Slack-Retry-Num) are processed once — and a retry after a
  failed first delivery is processed, not dropped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import threading
import time
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import func, select

from bot.handlers.app import create_bolt_app
from bot.ids import ActionId
from bot.models import Item, ItemEvent, Outbox
from bot.web import MAX_BODY_BYTES, create_web_app
from tests.flow import hand_over
from tests.harness import API_TOKEN, BOT_TOKEN, SIGNING_SECRET, Bench
from tests.test_api import GOOD, post
from tests.test_security import accept_body

SECRETS = (API_TOKEN, BOT_TOKEN, SIGNING_SECRET)


def snapshot(bench: Bench) -> tuple:
    """Everything a refused request must leave as it was."""
    with bench.db() as s:
        items = [
            (i.id, i.status, i.version, i.owner_user_id, i.category) for i in s.exec(select(Item).order_by(Item.id))
        ]
        trail = s.exec(select(func.count()).select_from(ItemEvent)).one()
        rows = s.exec(select(func.count()).select_from(Outbox)).one()
    calls = len(bench.fake.calls_to("views.open")) + len(bench.fake.calls_to("chat.postMessage"))
    return items, trail, rows, calls


# ----- Slack: the signature, for every kind of request -------------------------------------------------


def _requests(bench: Bench) -> dict[str, tuple[bytes, str]]:
    """One real request of each kind, as Slack would send it (before it is signed)."""
    item_id = hand_over(bench)
    receiver = bench.item(item_id).receiver_user_id
    bench.agent.click(user=receiver, message=bench.card(item_id), action_id=ActionId.DISCARD)
    view = bench.fake.views_opened_by(receiver)[-1]
    submission = {
        "type": "view_submission",
        "user": {"id": receiver},
        "team": {"id": "T0HANDOVER"},
        "trigger_id": bench.fake.issue_trigger(receiver),
        "view": {
            **view.as_slack(),
            "state": {
                "values": bench.agent._state(
                    view, {"reason": "no_real_interest", "justification": "Student project, no budget at all."}
                )
            },
        },
    }
    command = {
        "command": "/handover",
        "text": "new",
        "user_id": receiver,
        "team_id": "T0HANDOVER",
        "channel_id": "C0GENERAL",
        "trigger_id": bench.fake.issue_trigger(receiver),
        "response_url": bench.fake.api_url + "commands/1",
    }
    event = {
        "type": "event_callback",
        "team_id": "T0HANDOVER",
        "event_id": "EvBAD1",
        "event_time": 1,
        "event": {"type": "app_home_opened", "user": receiver, "channel": "D" + receiver, "tab": "home"},
    }
    bench.deliver()
    return {
        "button": (accept_body(bench, item_id, receiver), "application/x-www-form-urlencoded"),
        "modal": (urlencode({"payload": json.dumps(submission)}).encode(), "application/x-www-form-urlencoded"),
        "command": (urlencode(command).encode(), "application/x-www-form-urlencoded"),
        "event": (json.dumps(event).encode(), "application/json"),
    }


BAD = {
    "unsigned": lambda: {"sign": False},
    "wrong secret": lambda: {"secret": "not-the-signing-secret"},
    "replayed 6 minutes later": lambda: {"timestamp": int(time.time()) - 6 * 60},  # a valid signature, but stale
    "from 6 minutes in the future": lambda: {"timestamp": int(time.time()) + 6 * 60},
    "tampered after signing": lambda: {"tamper": True},
}


@pytest.mark.parametrize("how", list(BAD))
def test_every_kind_of_slack_request_with_a_bad_signature_gets_401_and_changes_nothing(bench: Bench, how: str) -> None:
    requests = _requests(bench)
    before = snapshot(bench)
    for kind, (body, content_type) in requests.items():
        r = bench.agent.raw(body, content_type, **BAD[how]())
        assert r.status_code == 401, f"{kind}: {r.status_code} {r.text}"
        assert r.json()["error"], kind
        assert not any(s in r.text for s in SECRETS)
    bench.deliver()
    assert snapshot(bench) == before
    # and the same requests, correctly signed, do act (so the 401s above were about the signature)
    for kind, (body, content_type) in requests.items():
        assert bench.agent.raw(body, content_type).status_code == 200, kind
    assert snapshot(bench) != before


@pytest.mark.parametrize(
    "body",
    [
        b"payload=%7B",
        b"payload=null",
        b"\xff\xfe\x00garbage",
        b"[" * 20_000,
        b'{"type": "event_callback", "event": []}',
        b"",
    ],
)
def test_an_unparseable_body_is_refused_for_its_signature_first_and_never_crashes(bench: Bench, body: bytes) -> None:
    before = snapshot(bench)
    unsigned = httpx.post(bench.agent.bot_url, content=body, headers={"Content-Type": "application/json"}, timeout=10)
    assert unsigned.status_code == 401, unsigned.text
    ts = str(int(time.time()))
    mac = hmac.new(SIGNING_SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    signed = httpx.post(
        bench.agent.bot_url,
        content=body,
        timeout=10,
        headers={"Content-Type": "application/json", "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + mac},
    )
    assert 400 <= signed.status_code < 500, signed.text  # signed but malformed: 4xx with the reason
    assert signed.json()["error"]
    assert snapshot(bench) == before


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Slack-Request-Timestamp": "not-a-number", "X-Slack-Signature": "v0=00"},
        {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v1=abc"},
        {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=" + "ä" * 64},
        {"X-Slack-Request-Timestamp": "1e20", "X-Slack-Signature": ""},
    ],
)
def test_odd_signature_headers_are_401_not_500(bench: Bench, headers: dict[str, str]) -> None:
    body = b'{"type": "url_verification", "challenge": "x"}'
    r = httpx.post(
        bench.agent.bot_url,
        content=body,
        timeout=10,
        headers={"Content-Type": "application/json", **{k: v.encode() for k, v in headers.items()}},
    )
    assert r.status_code == 401, r.text


def test_a_replayed_click_inside_the_window_decides_nothing_twice(bench: Bench) -> None:
    item_id = hand_over(bench)
    receiver = bench.item(item_id).receiver_user_id
    body = accept_body(bench, item_id, receiver)
    ts = int(time.time())
    assert bench.agent.raw(body, "application/x-www-form-urlencoded", timestamp=ts).status_code == 200
    accepted = bench.item(item_id)
    trail = len(bench.trail(item_id))
    again = bench.agent.raw(body, "application/x-www-form-urlencoded", timestamp=ts)  # byte for byte the same
    assert again.status_code == 200
    assert bench.item(item_id).version == accepted.version and len(bench.trail(item_id)) == trail


# ----- Events API retries ------------------------------------------------------------------------------


def _home_event(user: str) -> dict[str, Any]:
    return {
        "type": "app_home_opened",
        "user": user,
        "channel": "D" + user,
        "tab": "home",
        "event_ts": f"{time.time():.6f}",
    }


def test_retries_of_app_home_opened_publish_the_home_once(bench: Bench) -> None:
    user = next(iter(bench.users.values()))
    for retry in (None, 1, 2):
        r = bench.agent.event(_home_event(user), event_id="EvHOME1", retry_num=retry)
        assert r.status_code == 200
    bench.deliver()
    assert len([c for c in bench.fake.calls_to("views.publish") if c.args.get("user_id") == user]) == 1


def test_a_retry_after_a_failed_first_delivery_is_processed_once_not_dropped(
    bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.flows import ask
    from tests.test_ask import ask as ask_question

    item_id, receiver, bb, question = ask_question(bench, "Which sites?")
    real = ask.relay
    calls = {"n": 0}

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("the database went away mid-request")
        return real(*args, **kwargs)

    monkeypatch.setattr(ask, "relay", flaky)
    ts, first = bench.agent.user_message(
        user=bb, channel=question.bb_channel, thread_ts=question.bb_ts, text="Only Malmö.", event_id="EvFLAKY1"
    )
    assert first.status_code == 500  # Slack will retry: nothing was recorded as processed
    event = {
        "type": "message",
        "channel": question.bb_channel,
        "user": bb,
        "text": "Only Malmö.",
        "ts": ts,
        "thread_ts": question.bb_ts,
        "channel_type": "im",
    }
    for n in (1, 2):
        assert bench.agent.event(event, event_id="EvFLAKY1", retry_num=n).status_code == 200
    bench.deliver()
    card = bench.card(item_id)
    relayed = [
        m for m in bench.fake.messages(channel=card.channel) if m.thread_ts == card.ts and "Only Malmö." in m.text
    ]
    assert len(relayed) == 1


def test_the_same_event_delivered_concurrently_is_processed_once_and_never_fails(bench: Bench) -> None:
    from tests.test_ask import ask as ask_question

    item_id, receiver, bb, question = ask_question(bench, "Which sites?")
    ts = bench.fake.add_message(question.bb_channel, bb, "Both sites.", question.bb_ts).ts
    event = {
        "type": "message",
        "channel": question.bb_channel,
        "user": bb,
        "text": "Both sites.",
        "ts": ts,
        "thread_ts": question.bb_ts,
        "channel_type": "im",
    }
    statuses: list[int] = []
    barrier = threading.Barrier(4)

    def deliver(n: int) -> None:
        barrier.wait()
        statuses.append(bench.agent.event(event, event_id="EvRACE1", retry_num=n or None).status_code)

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 4
    bench.deliver()
    card = bench.card(item_id)
    relayed = [
        m for m in bench.fake.messages(channel=card.channel) if m.thread_ts == card.ts and "Both sites." in m.text
    ]
    assert len(relayed) == 1


# ----- the intake API ----------------------------------------------------------------------------------


def test_the_bearer_token_is_compared_in_constant_time(bench: Bench, monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.web

    seen: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        seen.append((a, b))
        return real(a, b)

    monkeypatch.setattr(bot.web.hmac, "compare_digest", spy)
    assert post(bench, GOOD, token=API_TOKEN[:-1]).status_code == 401
    assert (API_TOKEN[:-1].encode(), API_TOKEN.encode()) in seen  # not ==, which stops at the first difference


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        f"bearer {API_TOKEN}x",
        f"Bearer {API_TOKEN}x",
        f"Bearer {API_TOKEN[:-1]}",
        f"Basic {API_TOKEN}",
        f"Token {API_TOKEN}",
        f"Bearer  {API_TOKEN[::-1]}",
        "Bearer t\u00ebst",
    ],
)
def test_anything_but_the_exact_bearer_token_is_401_and_writes_nothing(bench: Bench, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization.encode()}
    r = httpx.post(f"{bench.url}/api/items", json=GOOD, headers=headers, timeout=10)
    assert r.status_code == 401 and r.json()["error"]
    assert r.headers.get("www-authenticate") == "Bearer"
    assert API_TOKEN not in r.text and bench.items() == []


def test_a_token_in_the_query_string_is_not_a_credential(bench: Bench) -> None:
    r = httpx.post(f"{bench.url}/api/items?token={API_TOKEN}", json=GOOD, timeout=10)
    assert r.status_code == 401 and bench.items() == []


def test_a_body_over_the_limit_is_413_whether_declared_or_streamed(bench: Bench) -> None:
    big = b'{"customer": "' + b"x" * (MAX_BODY_BYTES + 10) + b'"}'
    headers = {"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"}
    declared = httpx.post(f"{bench.url}/api/items", content=big, headers=headers, timeout=30)
    assert declared.status_code == 413 and "larger than" in declared.json()["error"]

    def chunks():  # no Content-Length: the limit must hold while the body streams in
        for n in range(0, len(big), 64 * 1024):
            yield big[n : n + 64 * 1024]

    streamed = httpx.post(f"{bench.url}/api/items", content=chunks(), headers=headers, timeout=30)
    assert streamed.status_code == 413 and "larger than" in streamed.json()["error"]
    slack = bench.agent.raw(b"payload=" + b"x" * (MAX_BODY_BYTES + 10), "application/x-www-form-urlencoded")
    assert slack.status_code == 413
    assert bench.items() == [] and bench.outbox() == []
    # just under the limit is read and judged on its content
    padded = json.dumps(GOOD).encode()[:-1] + b" " * (MAX_BODY_BYTES - len(json.dumps(GOOD)) - 10) + b"}"
    assert post_raw(bench, padded).status_code == 201


def post_raw(bench: Bench, content: bytes) -> httpx.Response:
    return httpx.post(
        f"{bench.url}/api/items",
        content=content,
        timeout=30,
        headers={"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"},
    )


@pytest.mark.parametrize(
    "body, field",
    [
        ({**GOOD, "customer": 5}, "customer"),
        ({**GOOD, "customer": "a\u0000b"}, "customer"),
        ({**GOOD, "checklist": "yes"}, "checklist"),
        ({**GOOD, "checklist": {"budget": "maybe"}}, "checklist.budget"),
        ({**GOOD, "description": "x" * 10_001}, "description"),
        ({**GOOD, "external_id": ["a"]}, "external_id"),
        ({k: v for k, v in GOOD.items() if k != "customer"}, "customer"),
        ([GOOD], "body"),
    ],
)
def test_schema_violations_are_422_naming_the_field_and_the_reason(bench: Bench, body: Any, field: str) -> None:
    r = post(bench, body)
    assert r.status_code == 422, r.text
    errors = r.json()["errors"]
    assert any(e["field"] == field and e["message"] for e in errors), errors
    assert bench.items() == [] and bench.outbox() == []


@pytest.mark.parametrize("content", [b"{", b"", b"\xff", b'{"customer": "\\ud800"}', b"[" * 10_000])
def test_bytes_that_are_not_an_item_are_a_4xx_with_a_reason(bench: Bench, content: bytes) -> None:
    r = post_raw(bench, content)
    assert 400 <= r.status_code < 500 and r.json()["error"], r.text
    assert bench.items() == []


def test_the_rate_limit_is_per_token_429_with_retry_after_and_writes_nothing(
    bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.ratelimit

    now = {"t": 1000.0}
    monkeypatch.setattr(bot.ratelimit.time, "monotonic", lambda: now["t"])
    settings = bench.ctx.settings.model_copy(update={"api_rate_per_second": 0.5, "api_rate_burst": 3})
    ctx = dataclasses.replace(bench.ctx, settings=settings)
    client = TestClient(create_web_app(ctx, create_bolt_app(ctx)))
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    answers = [client.post("/api/items", json={**GOOD, "external_id": f"rl-{n}"}, headers=headers) for n in range(4)]
    assert [a.status_code for a in answers] == [201, 201, 201, 429]
    limited = answers[-1]
    assert limited.headers["retry-after"] == "2" and "too many requests" in limited.json()["error"]
    assert len(bench.items()) == 3
    # a wrong token is refused for the token, never counted against the real one
    assert client.post("/api/items", json=GOOD, headers={"Authorization": "Bearer nope"}).status_code == 401
    now["t"] += 2  # after Retry-After the token may post again
    assert client.post("/api/items", json={**GOOD, "external_id": "rl-9"}, headers=headers).status_code == 201


def test_an_unexpected_error_answers_without_secrets_or_a_stack_trace(
    bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.web
    from bot.flows import ask

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"failed with {BOT_TOKEN} / {SIGNING_SECRET} / Authorization: Bearer {API_TOKEN}")

    monkeypatch.setattr(bot.web, "_receive", boom)
    r = post(bench, GOOD)
    assert r.status_code == 500 and r.json() == {"error": "internal error; it was logged"}
    assert r.headers["x-request-id"]  # what to quote to whoever reads the logs
    monkeypatch.setattr(ask, "relay", boom)
    user = next(iter(bench.users.values()))
    slack = bench.agent.event(
        {"type": "message", "channel": "D" + user, "user": user, "text": "hi", "ts": "1.000001", "channel_type": "im"}
    )
    for answer in (r, slack):
        assert not any(s in answer.text for s in SECRETS)
        assert "Traceback" not in answer.text and "RuntimeError" not in answer.text


def test_a_slash_command_mentioning_payload_reaches_the_command(bench: Bench) -> None:
    """Bolt takes any form body containing the word "payload" for an interaction payload and finds
    nothing in it; the boundary parses it as the slash command it is."""
    user = next(iter(bench.users.values()))
    r = bench.agent.command(user=user, command="/handover", text="help with the payload thing")
    assert r.status_code == 200, r.text
    assert "/handover new" in r.json()["text"]


def test_an_out_of_range_id_in_a_query_is_422_not_500(bench: Bench) -> None:
    r = httpx.get(
        f"{bench.url}/api/customers",
        params={"customer_id": str(2**70), "q": "x"},
        timeout=10,
        headers={"Authorization": f"Bearer {API_TOKEN}", "X-Handover-User": "anna.berg@example.com"},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.customer_id"


def test_a_stale_trigger_gets_a_try_again_not_a_500(bench: Bench) -> None:
    """Slack refuses views.open with an expired trigger (a click answered too late, a replay): the
    person is asked to try again; nothing is written. Found by the slow fuzz run."""
    user = bench.user("anna.berg@example.com")
    payload = {
        **bench.agent._base("shortcut", user),
        "callback_id": "new_item_shortcut",
        "trigger_id": "123.456.not-a-live-trigger",
        "action_ts": "1.2",
    }
    r = bench.agent._interaction(payload)
    assert r.status_code == 200
    bench.deliver()
    told = [m.text for m in bench.dm(user)]
    assert any("try again" in t for t in told), told
    assert bench.items() == []
