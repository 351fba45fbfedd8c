"""Structured logs (HANDOVER_LOG_FORMAT=json): real requests — good ones and failing ones (bad
signatures, Slack's Web API failing, an unexpected error with secrets in its message) — are logged
one JSON object per line with a request id, the item id when known, and no secret anywhere."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bot import logs
from bot.ids import ActionId
from tests.flow import hand_over
from tests.harness import API_TOKEN, BOT_TOKEN, SIGNING_SECRET, Bench
from tests.test_api import GOOD, post
from tests.test_security import accept_body

SECRETS = (API_TOKEN, BOT_TOKEN, SIGNING_SECRET)


@pytest.fixture
def json_log(bench: Bench) -> Iterator[io.StringIO]:
    """The production handler (JSON, scrubbing) on the root logger, at DEBUG, into a buffer."""
    settings = bench.ctx.settings.model_copy(update={"log_format": "json"})
    stream = io.StringIO()
    handler = logs.make_handler(settings, stream)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    text = stream.getvalue()
    for secret in SECRETS:
        assert secret not in text, f"a secret reached the log: {secret[:8]}…"
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        try:
            record = json.loads(line)
        except ValueError:
            raise AssertionError(f"log line {n} is not one JSON object: {line[:200]!r}") from None
        assert {"time", "level", "logger", "message", "request_id", "item_id"} <= set(record), line[:200]
        out.append(record)
    return out


def access(records: list[dict[str, Any]], path: str) -> list[dict[str, Any]]:
    return [r for r in records if r["logger"] == "handover.web" and r.get("path") == path and "status" in r]


def test_every_line_is_json_with_a_request_id_and_no_secret(
    bench: Bench, json_log: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    item_id = hand_over(bench)  # POST /api/items, then the dispatcher posts the card
    receiver = bench.item(item_id).receiver_user_id
    body = accept_body(bench, item_id, receiver)
    assert bench.agent.raw(body, "application/x-www-form-urlencoded", sign=False).status_code == 401
    assert bench.agent.raw(body, "application/x-www-form-urlencoded", secret="guess").status_code == 401
    assert post(bench, GOOD, token="wrong-" + API_TOKEN).status_code == 401
    assert post(bench, {**GOOD, "customer": ""}).status_code == 422
    # Slack's Web API fails while a receiver opens a modal (views.open on the request path)
    bench.fake.fail("views.open", "invalid_auth")
    bench.agent.click(user=receiver, message=bench.card(item_id), action_id=ActionId.DISCARD)
    # ...and while the dispatcher sends (outside any request)
    bench.fake.fail("chat.postMessage", "internal_error", status=500, times=2)
    hand_over(bench, external_id="log-2")
    # an unexpected error whose message carries every secret, in every shape
    import bot.web

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(
            f"token={BOT_TOKEN} secret {SIGNING_SECRET} headers={{'Authorization': 'Bearer {API_TOKEN}'}}"
        )

    monkeypatch.setattr(bot.web, "_receive", boom)
    assert post(bench, {**GOOD, "external_id": "log-3"}).status_code == 500
    # and a careless log call
    logging.getLogger("handover.careless").warning(
        "calling Slack with %s and %s, secret %s", BOT_TOKEN, {"Authorization": f"Bearer {API_TOKEN}"}, SIGNING_SECRET
    )
    assert bench.agent.raw(body, "application/x-www-form-urlencoded").status_code == 200  # a good click at last

    records = lines(json_log)
    assert any("[redacted]" in r["message"] for r in records if r["logger"] == "handover.careless")
    errors = [r for r in records if "error" in r and "RuntimeError" in r["error"]]
    assert errors and all("[redacted]" in r["error"] for r in errors)
    for path in ("/api/items", "/slack/events"):
        requests = access(records, path)
        assert requests, path
        for r in requests:
            assert r["request_id"], r
    # the lines of one request share its id; different requests have different ids
    assert len({r["request_id"] for r in access(records, "/slack/events")}) == len(access(records, "/slack/events"))
    # the failing Slack call was logged inside its request, with the item it was about
    failing = [
        r
        for r in records
        if r["level"] == "error"
        and r["request_id"]
        and r["request_id"] in {a["request_id"] for a in access(records, "/slack/events")}
    ]
    assert failing and all(r["item_id"] == item_id for r in failing), failing
    # the API's and the click's access lines name the item
    assert any(r["item_id"] == item_id and r["status"] == 201 for r in access(records, "/api/items"))
    assert access(records, "/slack/events")[-1]["item_id"] == item_id


def test_a_request_id_from_the_caller_is_used_and_echoed(bench: Bench, json_log: io.StringIO) -> None:
    r = httpx.post(
        f"{bench.url}/api/items",
        json=GOOD,
        timeout=10,
        headers={"Authorization": f"Bearer {API_TOKEN}", "X-Request-Id": "crm-req-42"},
    )
    assert r.status_code == 201 and r.headers["x-request-id"] == "crm-req-42"
    # uvicorn writes the access line after the answer has left: wait for it (bounded), don't race it
    deadline = time.monotonic() + 10
    while True:
        found = any(
            a["request_id"] == "crm-req-42" and a["item_id"] == r.json()["id"]
            for a in access(lines(json_log), "/api/items")
        )
        if found or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert found
    # a request id that could forge log lines is replaced by a fresh one
    forged = 'x"} {"level": "error'
    odd = httpx.get(f"{bench.url}/healthz", headers={"X-Request-Id": forged}, timeout=10)
    assert odd.headers["x-request-id"] != forged and len(odd.headers["x-request-id"]) == 16


def test_text_format_is_scrubbed_too() -> None:
    from bot.settings import Settings

    settings = Settings(slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET, handover_api_token=API_TOKEN)
    stream = io.StringIO()
    handler = logs.make_handler(settings, stream)
    logger = logging.getLogger("handover.text-test")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with logs.request_scope("req-1"):
            logs.bind(item_id=7)
            logger.warning(
                "Authorization: Bearer %s; url=https://x/?token=%s; %s", API_TOKEN, BOT_TOKEN, SIGNING_SECRET
            )
            try:
                raise ValueError(f"xapp-1-A0000-secretapp {SIGNING_SECRET}")
            except ValueError:
                logger.exception("failed")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    text = stream.getvalue()
    assert "[req-1 item 7]" in text
    assert not any(s in text for s in SECRETS) and "xapp-1-A0000" not in text


@pytest.mark.parametrize(
    "raw, kept",
    [
        ("xoxb-123-456-abcdef", False),
        ("xoxp-1-2-3-abcdef", False),
        ("xapp-1-A0-123-abcdef", False),
        ("Authorization: Basic dXNlcjpwYXNz", False),
        ("'authorization': 'Bearer abc.def'", False),
        ("client_secret=abc123&x=1", False),
        ("a normal sentence about tokens", True),
        ("item #42 accepted", True),
    ],
)
def test_the_scrubber(raw: str, kept: bool) -> None:
    assert (logs.scrub(raw) == raw) is kept, logs.scrub(raw)
