"""Small steps tests share: hand an item over through the API and deliver its card."""

from __future__ import annotations

from typing import Any

import httpx

from tests.harness import API_TOKEN, Bench

_counter = {"n": 0}


def hand_over(bench: Bench, **fields: Any) -> int:
    """Hand one item over through the intake API and deliver its card; returns the item id."""
    _counter["n"] += 1
    body = {
        "external_id": f"t-{_counter['n']}",
        "event": "Global Event 2026",
        "customer": "Nordic Fibre AB",
        "contact_name": "Eva Lund",
        "contact_email": "eva.lund@nordicfibre.example",
        "description": "Wants to replace two data-centre switches before the summer.",
        "region": "nordics",
        "checklist": {"painpoint": True},
    }
    body.update(fields)
    r = httpx.post(f"{bench.url}/api/items", json=body, headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=10)
    assert r.status_code in (200, 201), r.text
    bench.deliver()
    return r.json()["id"]


def sent_texts(bench: Bench, user_id: str) -> list[str]:
    """Everything a person received in their DM with the bot (threads included), as text."""
    return [m.text for m in bench.fake.messages(channel=bench.fake.dm_channel_for(user_id))]


def accept(bench: Bench, item_id: int) -> None:
    """The receiver clicks Accept on the item's card."""
    from bot.ids import ActionId

    receiver = bench.item(item_id).receiver_user_id
    r = bench.agent.click(user=receiver, message=bench.card(item_id), action_id=ActionId.ACCEPT)
    assert r.status_code == 200
    bench.deliver()


def discard(
    bench: Bench,
    item_id: int,
    reason: str = "no_real_interest",
    justification: str = "Student project, no budget and no timeline.",
) -> None:
    """The receiver discards the item through the Discard modal, with a reason and a justification."""
    from bot.ids import ActionId

    receiver = bench.item(item_id).receiver_user_id
    bench.agent.click(user=receiver, message=bench.card(item_id), action_id=ActionId.DISCARD)
    view = bench.fake.views_opened_by(receiver)[-1]
    r = bench.agent.submit_view(user=receiver, view=view, values={"reason": reason, "justification": justification})
    assert r.status_code == 200
    bench.deliver()


def set_customer(bench: Bench, customer: str, **fields: Any) -> None:
    """An admin sets a customer's region / account owner (what `handover customers set` does)."""
    from bot.customer_admin import resolve, set_fields

    with bench.db() as s:
        set_fields(s, resolve(s, customer), actor="handover.desk@example.com", now=bench.clock.now(), **fields)
        s.commit()
