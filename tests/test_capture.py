"""A Business Builder hands an item over from Slack: /handover new, the shortcuts, the modal."""

from __future__ import annotations

from bot.ids import CallbackId
from tests.flow import hand_over, sent_texts
from tests.harness import Bench


def open_modal(bench: Bench, user: str) -> object:
    r = bench.agent.command(user=user, command="/handover", text="new", channel="C0STAND")
    assert r.status_code == 200
    views = bench.fake.views_opened_by(user)
    assert views and views[-1].callback_id == CallbackId.NEW_ITEM
    return views[-1]


def test_handover_new_opens_the_modal_and_the_submission_creates_the_item(bench: Bench) -> None:
    bb = bench.add_user("bb.stand@example.com")
    view = open_modal(bench, bb)
    checklist_block = next(b["block_id"] for b in view.blocks if b.get("block_id", "").startswith("checklist"))
    r = bench.agent.submit_view(
        user=bb,
        view=view,
        values={
            "customer": "Acme AB",
            "contact_name": "Ola Nordmann",
            "contact_email": "ola@acme.se",
            "description": "Looking at replacing their core routers in Q3.",
            "region": "nordics",
            "customer_request": "Send me a quote",
            checklist_block: ["painpoint", "timeframe"],
        },
    )
    assert r.status_code == 200 and (not r.content or r.json().get("response_action") != "errors")
    [item] = bench.items()
    assert item.business_builder_user_id == bb and item.sender_user_id == bb
    assert item.checklist == {"painpoint": True, "timeframe": True}
    assert item.customer_request_open
    bench.deliver()
    assert bench.card(item.id) is not None
    assert any("was handed over to" in t for t in sent_texts(bench, bb))


def test_invalid_input_comes_back_inside_the_modal(bench: Bench) -> None:
    bb = bench.add_user("bb.stand@example.com")
    view = open_modal(bench, bb)
    r = bench.agent.submit_view(user=bb, view=view, values={"customer": "Acme", "contact_email": "ola at acme"})
    body = r.json()
    assert body["response_action"] == "errors" and "contact_email" in body["errors"]
    assert bench.items() == []


def test_a_repeated_submission_of_the_same_modal_creates_one_item(bench: Bench) -> None:
    bb = bench.add_user("bb.stand@example.com")
    view = open_modal(bench, bb)
    for _ in range(2):
        bench.agent.submit_view(user=bb, view=view, values={"customer": "Acme AB", "description": "Routers."})
    assert len(bench.items()) == 1


def test_global_shortcut_opens_the_same_modal(bench: Bench) -> None:
    bb = bench.add_user("bb.stand@example.com")
    r = bench.agent.shortcut(user=bb, callback_id=CallbackId.NEW_ITEM_SHORTCUT)
    assert r.status_code == 200
    assert bench.fake.views_opened_by(bb)[-1].callback_id == CallbackId.NEW_ITEM


def test_message_shortcut_prefills_the_modal_with_the_message(bench: Bench) -> None:
    bb = bench.add_user("bb.stand@example.com")
    message = {"ts": "1700000000.000100", "text": "Forwarded: Acme wants a quote for 40 switches", "user": bb}
    r = bench.agent.message_shortcut(user=bb, callback_id=CallbackId.MESSAGE_SHORTCUT, message=message)
    assert r.status_code == 200
    view = bench.fake.views_opened_by(bb)[-1]
    assert "Acme wants a quote for 40 switches" in str(view.blocks)


def test_a_handed_over_messages_markup_is_prefilled_as_it_was_typed(bench: Bench) -> None:
    """Slack sends a message's text as markup (``&lt;``, ``<@U…>``, ``<url|label>``); the modal's
    plain-text input shows it as its author typed it, with the names the bot knows people by."""
    bb = bench.add_user("bb.stand@example.com")
    item_id = hand_over(bench)
    receiver = bench.item(item_id).receiver_user_id  # a person the bot has looked up
    known = bench.fake.users[receiver].real_name
    text = (
        f"Ask <@{receiver}> &amp; <@U0NOBODY>: budget &lt; 10k &gt; 5k, see <https://acme.example/rfq?a=1&amp;b=2|the RFQ>"
        " or <mailto:ops@acme.example|ops@acme.example> in <#C0SALES|sales> <!here>"
    )
    message = {"ts": "1700000000.000200", "text": text, "user": bb}
    bench.agent.message_shortcut(user=bb, callback_id=CallbackId.MESSAGE_SHORTCUT, message=message)
    view = bench.fake.views_opened_by(bb)[-1]
    [prefilled] = [
        b["element"]["initial_value"] for b in view.blocks if b.get("block_id") == "description" and b.get("element")
    ]
    assert prefilled == (
        f"Ask @{known} & @U0NOBODY: budget < 10k > 5k, see the RFQ (https://acme.example/rfq?a=1&b=2)"
        " or ops@acme.example in #sales @here"
    )


def test_unknown_subcommand_gets_help_not_an_error(bench: Bench) -> None:
    user = bench.add_user("someone@example.com")
    r = bench.agent.command(user=user, command="/handover", text="frobnicate")
    assert r.status_code == 200
    body = r.json()
    assert body["response_type"] == "ephemeral" and "/handover new" in body["text"]
