"""Every request to /slack/events is verified; unsigned, tampered, stale or wrongly signed
requests get 401 and change nothing."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest

from bot.ids import ActionId, ItemRef
from tests.flow import hand_over
from tests.harness import Bench


def accept_body(bench: Bench, item_id: int, user: str) -> bytes:
    payload = {
        "type": "block_actions",
        "user": {"id": user},
        "team": {"id": "T1"},
        "trigger_id": "123.456",
        "container": {"type": "message"},
        "actions": [
            {
                "action_id": ActionId.ACCEPT.value,
                "block_id": "decide",
                "value": ItemRef(item=item_id).dump(),
                "type": "button",
                "action_ts": "1",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


@pytest.mark.parametrize("how", ["unsigned", "wrong secret", "too old", "tampered"])
def test_bad_signatures_are_refused_and_change_nothing(bench: Bench, how: str) -> None:
    item_id = hand_over(bench)
    receiver = bench.item(item_id).receiver_user_id
    body = accept_body(bench, item_id, receiver)
    kwargs: dict = {}
    if how == "unsigned":
        kwargs["sign"] = False
    elif how == "wrong secret":
        kwargs["secret"] = "not-the-secret"
    elif how == "too old":
        kwargs["timestamp"] = int(time.time()) - 6 * 60
    r = (
        bench.agent.raw(body, "application/x-www-form-urlencoded", tamper=(how == "tampered"), **kwargs)
        if how == "tampered"
        else bench.agent.raw(body, "application/x-www-form-urlencoded", **kwargs)
    )
    assert r.status_code == 401
    assert bench.item(item_id).status == "pending"


def test_a_correctly_signed_request_is_accepted(bench: Bench) -> None:
    item_id = hand_over(bench)
    receiver = bench.item(item_id).receiver_user_id
    r = bench.agent.raw(accept_body(bench, item_id, receiver), "application/x-www-form-urlencoded")
    assert r.status_code == 200
    assert bench.item(item_id).status == "accepted"
