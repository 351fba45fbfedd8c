"""Fuzz the HTTP boundary with hypothesis: correctly SIGNED but malformed requests to
``/slack/events`` (interactive payloads, slash commands, events) and random JSON to ``/api/items``.

Whatever arrives, the bot never answers 5xx, never writes part of a change (items, their audit
trail and the messages about them are unchanged unless the request was a valid one), and always
answers clearly: a person gets an ephemeral message or an error inside the modal; a system gets a
4xx with a reason.

The default run keeps each property to ~60 examples; ``pytest -m slow`` runs the same properties
with many more.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import func, select

from bot import outbox
from bot.ids import ActionId, CallbackId, ItemRef, ReviewRef, SnoozeRef
from bot.models import Item, ItemEvent, Outbox
from tests.flow import hand_over
from tests.harness import API_TOKEN, SIGNING_SECRET, Bench

FAST = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
SLOW = settings(FAST, max_examples=400, derandomize=False)

# ----- what odd input looks like ---------------------------------------------------------------------

ODD = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "\u202eevil\u202c",
    "\ufeffBOM",
    "👩‍👩‍👧‍👦",
    "ǅ",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "a\u0301\u0301\u0301",
    "\n\r\t",
    "<!channel>",
    "<@U1>",
    "*bold* _it_",
    "null",
    "{}",
    "[]",
    '{"item": 1}',
    '{"item": -1}',
    '{"item": 99999999999999999999999}',
    '{"item": "1"}',
    '{"item": 1.5}',
    '{"item": null}',
    '{"item": 1, "v": "x"}',
    "'; DROP TABLE item; --",
    "%00",
    "\\u0000",
    "../../etc/passwd",
    "=cmd|' /C calc'!A0",
    "9" * 400,
]
HUGE = st.sampled_from(["A" * 100_000, "€" * 50_000, "\u0301" * 30_000, "😀" * 20_000])
TEXT = st.one_of(
    st.text(max_size=30), st.sampled_from(ODD), HUGE, st.text(st.characters(exclude_categories=()), max_size=20)
)  # lone surrogates too
LEAF = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False, allow_infinity=False), TEXT
)
JSON = st.recursive(
    LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


FIXED = {"response_url", "response_urls"}  # where Slack wants the answer: not part of the fuzz


def _paths(doc: Any, prefix: tuple = ()) -> Iterator[tuple]:
    if isinstance(doc, dict):
        for k, v in doc.items():
            if k in FIXED:
                continue
            yield prefix + (k,)
            yield from _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield prefix + (i,)
            yield from _paths(v, prefix + (i,))


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any], hot: tuple[tuple, ...] = ()) -> dict[str, Any]:
    """``base`` with one to three parts deleted, replaced by random JSON or retyped. Paths in
    ``hot`` (the fields the bot reads) are picked more often than the rest."""
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        every = list(_paths(doc))
        if not every:
            break
        present = [p for p in hot if _has(doc, p)]
        path = draw(st.sampled_from(present)) if present and draw(st.booleans()) else draw(st.sampled_from(every))
        parent = _get(doc, path[:-1])
        op = draw(st.sampled_from(["delete", "replace", "retype"]))
        if op == "delete":
            del parent[path[-1]]
        elif op == "replace":
            parent[path[-1]] = draw(JSON)
        else:
            value = parent[path[-1]]
            parent[path[-1]] = draw(st.sampled_from([[value], {"value": value}, str(value), 0, None, True]))
    return doc


def _get(doc: Any, path: tuple) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def _has(doc: Any, path: tuple) -> bool:
    try:
        parent = _get(doc, path[:-1])
        return isinstance(parent, (dict, list)) and (
            path[-1] in parent if isinstance(parent, dict) else isinstance(path[-1], int) and path[-1] < len(parent)
        )
    except (KeyError, IndexError, TypeError):
        return False


# ----- what must hold after each request ---------------------------------------------------------------

ANSWERS = {outbox.Kind.EPHEMERAL.value, outbox.Kind.DIRECT.value}


class World:
    """What a request may not change unless it was valid: the items, their trail, the messages
    about them (answers to the person who sent the request are expected)."""

    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        with bench.db() as s:
            self.items = [
                (i.id, i.status, i.version, i.receiver_user_id, i.owner_user_id, i.category)
                for i in s.exec(select(Item).order_by(Item.id))
            ]
            self.trail = s.exec(select(func.count()).select_from(ItemEvent)).one()
            self.last_outbox = s.exec(select(func.max(Outbox.id))).one() or 0
        self.responses = len(bench.fake.calls_to("response_url"))
        self.views_opened = {u: len(bench.fake.views_opened_by(u)) for u in bench.users.values()}

    def new_rows(self) -> list[Outbox]:
        with self.bench.db() as s:
            return list(s.exec(select(Outbox).where(Outbox.id > self.last_outbox).order_by(Outbox.id)))

    def assert_unchanged(self, *, answers_to: str | None = None) -> list[Outbox]:
        after = World(self.bench)
        assert after.items == self.items, "an item changed"
        assert after.trail == self.trail, "the audit trail grew"
        rows = self.new_rows()
        others = [r for r in rows if r.kind not in ANSWERS]
        assert not others, f"messages queued: {[(r.kind, r.key) for r in others]}"
        return rows


def assert_clear(r: httpx.Response) -> None:
    assert r.status_code < 500, f"{r.status_code}: {r.text[:300]}"
    if r.status_code >= 400:
        assert r.text.strip(), f"{r.status_code} without a reason"
        assert "Traceback" not in r.text and 'File "' not in r.text


def interaction(bench: Bench, payload: Any) -> httpx.Response:
    body = urlencode({"payload": json.dumps(payload)}).encode()
    return bench.agent.raw(body, "application/x-www-form-urlencoded")


def answered(rows: list[Outbox], r: httpx.Response, user: Any, before: World | None = None) -> bool:
    """The person heard something: the response itself, an answer through the response_url, a modal
    opened for them (an admin may see any item's notes, once the bot knows their e-mail), or an
    ephemeral message / DM to them."""
    if r.status_code >= 400:
        return True
    if before is not None and len(before.bench.fake.calls_to("response_url")) > before.responses:
        return True
    if before is not None and len(before.bench.fake.views_opened_by(user)) > before.views_opened.get(user, 0):
        return True
    if r.content and r.headers.get("content-type", "").startswith("application/json"):
        body = r.json()
        if isinstance(body, dict) and (body.get("response_action") or body.get("text")):
            return True
    return any((row.payload or {}).get("user") == user or (row.payload or {}).get("to_user") == user for row in rows)


# ----- the world the fuzz runs in ----------------------------------------------------------------------


@pytest.fixture
def world(bench: Bench) -> dict[str, Any]:
    item_id = hand_over(bench)
    receiver = bench.item(item_id).receiver_user_id
    stranger = next(uid for uid in bench.users.values() if uid != receiver)
    card = bench.card(item_id)
    # a real discard modal, opened by the receiver: its view is what the fuzz submits, mutated
    bench.agent.click(user=receiver, message=card, action_id=ActionId.DISCARD)
    discard_view = bench.fake.views_opened_by(receiver)[-1]
    bench.agent.command(user=stranger, command="/handover", text="new")
    new_view = bench.fake.views_opened_by(stranger)[-1]
    bench.deliver()
    return {
        "item": item_id,
        "receiver": receiver,
        "stranger": stranger,
        "card": card,
        "discard_view": discard_view,
        "new_view": new_view,
        "captured": set(),
    }


def response_url(bench: Bench, user: str | None = None, channel: str = "C0GENERAL") -> str:
    """A response_url the fake Slack knows (answers posted to it are shown to the person)."""
    if hasattr(bench.fake, "issue_response_url"):
        return bench.fake.issue_response_url(user, channel)
    return bench.fake.api_url.removesuffix("api/") + "actions/" + uuid.uuid4().hex


def click_payload(bench: Bench, w: dict[str, Any], action_id: str, value: Any) -> dict[str, Any]:
    card = w["card"]
    user = w["stranger"]
    return {
        "type": "block_actions",
        "token": "legacy",
        "api_app_id": "AHANDOVER",
        "team": {"id": "T0FAKE", "domain": "handover-fake"},
        "user": {"id": user, "username": "x", "name": "x", "team_id": "T0FAKE"},
        "trigger_id": bench.fake.issue_trigger(user),
        "container": {"type": "message", "message_ts": card.ts, "channel_id": card.channel, "is_ephemeral": False},
        "channel": {"id": card.channel, "name": "directmessage"},
        "message": card.as_slack(with_metadata=False),
        "response_url": response_url(bench, user, card.channel),
        "state": {"values": {}},
        "actions": [
            {
                "action_id": action_id,
                "block_id": "decide",
                "value": value,
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }


ACTION_IDS = st.one_of(
    st.sampled_from([a.value for a in ActionId]),
    st.sampled_from([f"{ActionId.CHECKLIST.value}:0", f"{ActionId.CHECKLIST.value}:x", "nope", "", "item_", "💥"]),
    TEXT,
)


def values_for(item_id: int) -> st.SearchStrategy[Any]:
    refs = st.sampled_from(
        [
            ItemRef(item=item_id).dump(),
            ItemRef(item=item_id, v=99).dump(),
            ItemRef(item=item_id + 1000).dump(),
            SnoozeRef(item=item_id, days=1).dump(),
            SnoozeRef(item=item_id, days=10**12).dump(),
            ReviewRef(entry=1).dump(),
            json.dumps({"item": 2**63}),
            json.dumps({"item": -(2**63) - 1}),
            json.dumps({"entry": 2**64}),
            json.dumps({"item": item_id, "days": -5}),
            json.dumps({"k": "customer", "q": "nordic", "c": 2**40}),
            json.dumps({"k": "mine", "p": 10**30}),
            json.dumps({"k": "nope"}),
        ]
    )
    return st.one_of(refs, TEXT, JSON)


# ----- interactive payloads (a person clicked or submitted something) -----------------------------------


def check_click(bench: Bench, w: dict[str, Any], payload: Any) -> None:
    before = World(bench)
    r = interaction(bench, payload)
    assert_clear(r)
    rows = before.assert_unchanged()
    if r.status_code < 400 and isinstance(payload, dict) and payload.get("type") == "block_actions":
        assert answered(rows, r, w["stranger"], before), "the person clicked and heard nothing"


def buttons_with_garbage_values_and_unknown_action_ids(bench: Bench, world: dict, data: st.DataObject) -> None:
    action_id = data.draw(ACTION_IDS, "action_id")
    value = data.draw(values_for(world["item"]), "value")
    check_click(bench, world, click_payload(bench, world, action_id, value))


HOT_CLICK = (
    ("actions",),
    ("actions", 0),
    ("actions", 0, "action_id"),
    ("actions", 0, "value"),
    ("actions", 0, "block_id"),
    ("user",),
    ("user", "id"),
    ("trigger_id",),
    ("container",),
    ("container", "channel_id"),
    ("channel",),
    ("message",),
    ("message", "blocks"),
    ("type",),
    ("team",),
    ("state",),
)


def click_payloads_of_the_wrong_shape(bench: Bench, world: dict, data: st.DataObject) -> None:
    action = data.draw(
        st.sampled_from(
            [
                ActionId.ACCEPT,
                ActionId.DISCARD,
                ActionId.SNOOZE,
                ActionId.REVIEW_REOPEN,
                ActionId.FEEDBACK,
                ActionId.DIGEST_OFF,
                f"{ActionId.CHECKLIST.value}:0",
            ]
        )
    )
    base = click_payload(bench, world, str(action), ItemRef(item=world["item"]).dump())
    if action == ActionId.SNOOZE:
        base["actions"][0] = {
            "action_id": str(action),
            "block_id": "b",
            "type": "static_select",
            "selected_option": {"value": SnoozeRef(item=world["item"], days=1).dump()},
        }
    if str(action).startswith(ActionId.CHECKLIST.value):
        base["actions"][0] = {
            "action_id": str(action),
            "block_id": f"checklist|{ItemRef(item=world['item']).dump()}",
            "type": "checkboxes",
            "selected_options": [{"value": "budget"}],
        }
    check_click(bench, world, data.draw(mutated(base, HOT_CLICK), "payload"))


def submission(bench: Bench, view: Any, user: str, values: dict[str, Any]) -> dict[str, Any]:
    current = bench.fake.views.get(view.id, view)
    return {
        "type": "view_submission",
        "token": "legacy",
        "api_app_id": "AHANDOVER",
        "team": {"id": "T0FAKE", "domain": "handover-fake"},
        "user": {"id": user, "username": "x", "name": "x", "team_id": "T0FAKE"},
        "trigger_id": bench.fake.issue_trigger(user),
        "view": {**current.as_slack(), "state": {"values": bench.agent._state(current, values)}},
        "response_urls": [],
    }


HOT_VIEW = (
    ("view",),
    ("view", "id"),
    ("view", "callback_id"),
    ("view", "private_metadata"),
    ("view", "state"),
    ("view", "state", "values"),
    ("view", "blocks"),
    ("user",),
    ("user", "id"),
    ("type",),
)


def decision_modals_with_garbage_metadata_stale_views_and_wrong_types(
    bench: Bench, world: dict, data: st.DataObject
) -> None:
    user = data.draw(st.sampled_from([world["stranger"], world["receiver"]]), "user")
    base = submission(
        bench,
        world["discard_view"],
        user,
        {"reason": "no_real_interest", "justification": data.draw(TEXT, "justification")},
    )
    payload = data.draw(
        st.one_of(
            mutated(base, HOT_VIEW),
            st.builds(
                lambda meta, vid, cb: _with_view(base, private_metadata=meta, id=vid, callback_id=cb),
                values_for(world["item"]),
                st.one_of(st.just(base["view"]["id"]), TEXT),
                st.one_of(st.sampled_from([c.value for c in CallbackId]), TEXT),
            ),
        ),
        "payload",
    )
    before = World(bench)
    r = interaction(bench, payload)
    assert_clear(r)
    if user == world["receiver"] and r.status_code == 200 and bench.item(world["item"]).status != "pending":
        return  # a valid discard by the receiver: that is allowed to change things (once)
    before.assert_unchanged()


def _with_view(base: dict[str, Any], **fields: Any) -> dict[str, Any]:
    out = copy.deepcopy(base)
    out["view"].update(fields)
    return out


def the_capture_modal_with_odd_values_creates_a_whole_item_or_nothing(
    bench: Bench, world: dict, data: st.DataObject
) -> None:
    stranger = world["stranger"]
    values = {
        "customer": data.draw(TEXT, "customer"),
        "contact_email": data.draw(TEXT, "email"),
        "description": data.draw(TEXT, "description"),
    }
    base = submission(bench, world["new_view"], stranger, values)
    base["view"]["id"] = data.draw(st.one_of(st.just(base["view"]["id"]), st.text(min_size=1, max_size=12)), "vid")
    payload = data.draw(st.one_of(st.just(base), mutated(base, HOT_VIEW)), "payload")
    before = World(bench)
    r = interaction(bench, payload)
    assert_clear(r)
    after = World(bench)
    new_items = [i for i in after.items if i not in before.items]
    view_id = (payload.get("view") or {}).get("id") if isinstance(payload.get("view"), dict) else None
    view_id = view_id if isinstance(view_id, str) else None
    if new_items:  # valid: exactly one whole item, with its trail and its card queued
        assert r.status_code == 200 and len(new_items) == 1
        world["captured"].add(view_id)
        [item] = new_items
        assert bench.trail(item[0]), "an item without its audit trail"
        kinds = {row.kind for row in before.new_rows()}
        assert outbox.Kind.ITEM_CARD.value in kinds
    else:
        before.assert_unchanged()
        if view_id in world["captured"]:
            return  # the same form submitted again: a retry, already answered the first time
        if r.status_code == 200 and payload.get("type") == "view_submission":
            body = r.json() if r.content else {}
            assert body.get("response_action") == "errors" or answered(before.new_rows(), r, stranger, before), (
                "the person pressed Submit and heard nothing"
            )


def shortcuts_and_closed_views_of_the_wrong_shape(bench: Bench, world: dict, data: st.DataObject) -> None:
    user = world["stranger"]
    shortcut = {
        "type": "shortcut",
        "token": "legacy",
        "callback_id": CallbackId.NEW_ITEM_SHORTCUT.value,
        "trigger_id": bench.fake.issue_trigger(user),
        "team": {"id": "T0FAKE"},
        "user": {"id": user, "team_id": "T0FAKE"},
        "action_ts": "1.2",
    }
    message_action = {
        **shortcut,
        "type": "message_action",
        "callback_id": CallbackId.MESSAGE_SHORTCUT.value,
        "message": {"type": "message", "text": "hello", "ts": "1.2"},
        "channel": {"id": "C1"},
        "message_ts": "1.2",
        "response_url": response_url(bench, user, "C1"),
    }
    closed = {
        "type": "view_closed",
        "team": {"id": "T0FAKE"},
        "user": {"id": user},
        "view": world["discard_view"].as_slack(),
        "is_cleared": False,
    }
    base = data.draw(st.sampled_from([shortcut, message_action, closed]), "base")
    payload = data.draw(
        st.one_of(
            mutated(
                base,
                (
                    ("callback_id",),
                    ("trigger_id",),
                    ("message",),
                    ("user",),
                    ("message", "text"),
                    ("channel",),
                    ("type",),
                    ("view",),
                ),
            ),
            JSON,
        ),
        "payload",
    )
    before = World(bench)
    r = interaction(bench, payload)
    assert_clear(r)
    before.assert_unchanged()


# ----- slash commands --------------------------------------------------------------------------------

FORM_FIELDS = (
    "token",
    "team_id",
    "channel_id",
    "user_id",
    "user_name",
    "command",
    "text",
    "trigger_id",
    "response_url",
    "api_app_id",
)


def slash_commands_with_odd_text_and_missing_fields(bench: Bench, world: dict, data: st.DataObject) -> None:
    user = world["stranger"]
    form = {
        "token": "legacy",
        "team_id": "T0FAKE",
        "team_domain": "handover-fake",
        "channel_id": "C0GENERAL",
        "user_id": user,
        "user_name": "x",
        "command": "/handover",
        "text": data.draw(
            st.one_of(
                st.sampled_from(
                    [
                        "new",
                        "help",
                        "digest",
                        "digest off",
                        "digest maybe",
                        "NEW",
                        " new  extra",
                        "mine",
                        "stats",
                        "customer",
                    ]
                ),
                TEXT.filter(lambda t: "\x00" not in t),
            ),
            "text",
        ),
        "api_app_id": "AHANDOVER",
        "trigger_id": bench.fake.issue_trigger(user),
        "response_url": response_url(bench, user),
    }
    for name in data.draw(st.lists(st.sampled_from(FORM_FIELDS), max_size=3), "dropped"):
        form.pop(name, None)
    if data.draw(st.booleans(), "odd command"):
        form["command"] = data.draw(st.one_of(st.just("/other"), st.text(max_size=10)), "command")
    before = World(bench)
    try:
        body = urlencode(form).encode()
    except UnicodeEncodeError:
        body = urlencode(form, encoding="utf-8", errors="surrogatepass").encode()
    r = bench.agent.raw(body, "application/x-www-form-urlencoded")
    assert_clear(r)
    rows = before.assert_unchanged()
    if r.status_code == 200 and form.get("command") == "/handover" and form.get("user_id"):
        assert answered(rows, r, user, before) or bench.fake.views_opened_by(user), "the command said nothing"


# ----- events ----------------------------------------------------------------------------------------

HOT_EVENT = (
    ("event",),
    ("event", "type"),
    ("event", "user"),
    ("event", "channel"),
    ("event", "text"),
    ("event", "ts"),
    ("event", "thread_ts"),
    ("event_id",),
    ("type",),
    ("authorizations",),
    ("event", "tab"),
    ("team_id",),
    ("event", "subtype"),
    ("event", "bot_id"),
)


def events_of_odd_shapes(bench: Bench, world: dict, data: st.DataObject) -> None:
    user = world["receiver"]
    message = {
        "type": "message",
        "channel": bench.fake.dm_channel_for(user),
        "user": user,
        "text": "hello",
        "ts": "1700000000.000100",
        "event_ts": "1700000000.000100",
        "channel_type": "im",
        "thread_ts": world["card"].ts,
    }
    home = {
        "type": "app_home_opened",
        "user": user,
        "channel": bench.fake.dm_channel_for(user),
        "tab": "home",
        "event_ts": "1.2",
    }
    envelope = {
        "token": "legacy",
        "team_id": "T0FAKE",
        "api_app_id": "AHANDOVER",
        "type": "event_callback",
        "event": data.draw(st.sampled_from([message, home]), "event"),
        "event_id": f"Ev{data.draw(st.integers(0, 10**9))}",
        "event_time": 1,
        "authorizations": [{"team_id": "T0FAKE", "user_id": "UBOT", "is_bot": True}],
    }
    payload = data.draw(
        st.one_of(
            mutated(envelope, HOT_EVENT),
            JSON,
            st.just({"type": "url_verification", "challenge": "abc"}),
            st.builds(lambda c: {"type": "url_verification", "challenge": c}, JSON),
        ),
        "payload",
    )
    before = World(bench)
    r = bench.agent.raw(json.dumps(payload).encode(), "application/json")
    assert_clear(r)
    after = World(bench)
    assert after.items == before.items
    kinds = {row.kind for row in before.new_rows()}
    assert kinds <= {outbox.Kind.HOME.value, outbox.Kind.THREAD.value, *ANSWERS}, kinds


SLACK_BYTES = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(str.encode),
    st.sampled_from(
        [
            b"{",
            b"payload=",
            b"payload=%7B",
            b"payload=null",
            b"payload=[1]",
            b"payload=%22x%22",
            b"payload=%7B%7D",
            b"[]",
            b"null",
            b"{}",
            b"\xff\xfe",
            b"command=/handover",
            b"ssl_check=1",
            b"payload=%FF",
            b"[" * 5000,
            b'{"type": "event_callback", "event": ' * 3000,
        ]
    ),
)
CONTENT_TYPES = st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain", ""])


def signed_bodies_that_are_not_json_or_forms(bench: Bench, world: dict, data: st.DataObject) -> None:
    body, content_type = data.draw(SLACK_BYTES, "body"), data.draw(CONTENT_TYPES, "content_type")
    before = World(bench)
    r = signed_bytes(bench, body, content_type)
    assert_clear(r)
    before.assert_unchanged()


def signed_bytes(bench: Bench, body: bytes, content_type: str) -> httpx.Response:
    """Any bytes, signed as Slack signs (the agent's signer only takes UTF-8)."""
    ts = str(int(time.time()))
    mac = hmac.new(SIGNING_SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return bench.agent.http.post(
        bench.agent.bot_url,
        content=body,
        headers={"Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + mac},
    )


# ----- the intake API (a system) ------------------------------------------------------------------------

GOOD = {
    "external_id": "crm-1",
    "event": "Global Event 2026",
    "customer": "Nordic Fibre AB",
    "contact_email": "eva.lund@nordicfibre.example",
    "description": "Wants switches.",
    "region": "nordics",
    "checklist": {"painpoint": True},
}


def post_api(bench: Bench, content: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    h = {"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json", **(headers or {})}
    return httpx.post(f"{bench.url}/api/items", content=content, headers=h, timeout=10)


def the_api_answers_random_json_with_a_reason_and_writes_all_or_nothing(bench: Bench, data: st.DataObject) -> None:
    doc = data.draw(
        st.one_of(
            JSON,
            mutated(GOOD, tuple((k,) for k in GOOD)),
            st.builds(lambda k, v: {**GOOD, k: v}, st.sampled_from(list(GOOD) + ["category"]), JSON),
        ),
        "body",
    )
    doc = (
        doc
        if not isinstance(doc, dict) or "external_id" not in doc
        else {**doc, "external_id": None}
        if data.draw(st.booleans())
        else doc
    )
    before = World(bench)
    r = post_api(bench, json.dumps(doc).encode())
    assert_clear(r)
    after = World(bench)
    grown = len(after.items) - len(before.items)
    if r.status_code in (200, 201):
        assert grown == (1 if r.status_code == 201 else 0)
        assert r.json()["id"]
    else:
        assert 400 <= r.status_code < 500 and r.json()["error"]
        before.assert_unchanged()


API_BYTES = st.one_of(
    st.binary(max_size=300),
    st.sampled_from(
        [
            b"",
            b"{",
            b"null",
            b"[]",
            b'"x"',
            b"1e999",
            b'{"customer": "\\ud800"}',
            b'{"customer": "a\\u0000b"}',
            b'{"customer": "x", "checklist": {"a": 2}}',
            b'{"customer": "x"' + b" " * 10_000 + b"}",
            b"[" * 5000,
        ]
    ),
)


def the_api_answers_bytes_that_are_not_json_with_a_4xx(bench: Bench, data: st.DataObject) -> None:
    body = data.draw(API_BYTES, "body")
    content_type = data.draw(st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded"]))
    before = World(bench)
    r = post_api(bench, body, {"Content-Type": content_type})
    assert_clear(r)
    if r.status_code >= 400:
        assert r.json().get("error"), r.text
        before.assert_unchanged()


# ----- the tests: each property fast in every run, and big under -m slow --------------------------------

# ----- the runs: each property quickly by default, and at length in the slow group ---------------------

WITH_A_WORLD = [
    buttons_with_garbage_values_and_unknown_action_ids,
    click_payloads_of_the_wrong_shape,
    decision_modals_with_garbage_metadata_stale_views_and_wrong_types,
    the_capture_modal_with_odd_values_creates_a_whole_item_or_nothing,
    shortcuts_and_closed_views_of_the_wrong_shape,
    slash_commands_with_odd_text_and_missing_fields,
    events_of_odd_shapes,
    signed_bodies_that_are_not_json_or_forms,
]
API = [
    the_api_answers_random_json_with_a_reason_and_writes_all_or_nothing,
    the_api_answers_bytes_that_are_not_json_with_a_4xx,
]


def run(prop: Any, how: Any, *args: Any) -> None:
    """Run the property ``prop`` with the hypothesis settings ``how`` (FAST or SLOW)."""
    how(given(data=st.data())(lambda data: prop(*args, data)))()


def _name(prop: Any) -> str:
    return prop.__name__


@pytest.mark.parametrize("prop", WITH_A_WORLD, ids=_name)
def test_signed_slack_requests(bench: Bench, world: dict, prop: Any) -> None:
    run(prop, FAST, bench, world)


@pytest.mark.slow
@pytest.mark.parametrize("prop", WITH_A_WORLD, ids=_name)
def test_big_signed_slack_requests(bench: Bench, world: dict, prop: Any) -> None:
    run(prop, SLOW, bench, world)


@pytest.mark.parametrize("prop", API, ids=_name)
def test_intake_api_requests(bench: Bench, prop: Any) -> None:
    run(prop, FAST, bench)


@pytest.mark.slow
@pytest.mark.parametrize("prop", API, ids=_name)
def test_big_intake_api_requests(bench: Bench, prop: Any) -> None:
    run(prop, SLOW, bench)
