"""The receiver decides on the card: each action end to end, through signed requests."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from bot.ids import ActionId, ItemStatus
from tests.flow import hand_over, sent_texts
from tests.harness import Bench

SENDER = "marketing.ops@example.com"


def setup_item(bench: Bench, **fields) -> tuple[int, str, str]:
    sender_user = bench.add_user(SENDER) if SENDER not in bench.users else bench.user(SENDER)
    if "bb.stand@example.com" not in bench.users:
        bench.add_user("bb.stand@example.com")
    item_id = hand_over(bench, sender_email=SENDER, business_builder_email="bb.stand@example.com", **fields)
    item = bench.item(item_id)
    assert item.receiver_user_id, "the card was delivered to a known Slack user"
    return item_id, item.receiver_user_id, sender_user


def test_accept_makes_the_receiver_owner_updates_the_card_and_tells_the_sender(bench: Bench) -> None:
    item_id, receiver, sender = setup_item(bench)
    r = bench.agent.click(user=receiver, message=bench.card(item_id), action_id=ActionId.ACCEPT)
    assert r.status_code == 200  # how fast the ack is: bench/ack_latency.py, not a unit test
    item = bench.item(item_id)
    assert item.status == ItemStatus.ACCEPTED and item.owner_user_id == receiver
    bench.deliver()
    card = bench.card(item_id)
    assert "Accepted" in str(card.blocks) and card.updated >= 1
    assert f"'{ActionId.ACCEPT.value}'" not in str(card.blocks)  # no second accept button
    assert any("accepted item" in t for t in sent_texts(bench, sender))
    kinds = [e.kind for e in bench.trail(item_id)]
    assert kinds == ["handed_over", "delivered", "accepted"]


def test_someone_else_clicking_gets_an_ephemeral_and_nothing_changes(bench: Bench) -> None:
    item_id, receiver, _ = setup_item(bench)
    intruder = bench.add_user("curious@example.com")
    bench.agent.click(user=intruder, message=bench.card(item_id), action_id=ActionId.ACCEPT)
    bench.deliver()
    assert bench.item(item_id).status == ItemStatus.PENDING
    [ephemeral] = bench.fake.calls_to("chat.postEphemeral")
    assert ephemeral.args["user"] == intruder
    assert f"<@{receiver}>" in ephemeral.args["text"]
    assert [e.kind for e in bench.trail(item_id)] == ["handed_over", "delivered"]


def test_two_clicks_at_once_make_one_decision(bench: Bench) -> None:
    item_id, receiver, sender = setup_item(bench)
    card = bench.card(item_id)
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(
            pool.map(lambda _: bench.agent.click(user=receiver, message=card, action_id=ActionId.ACCEPT), range(6))
        )
    assert all(r.status_code == 200 for r in results)
    assert [e.kind for e in bench.trail(item_id)].count("accepted") == 1
    bench.deliver()
    assert sum("accepted item" in t for t in sent_texts(bench, sender)) == 1


def test_checklist_ticks_are_recorded_and_update_the_suggestion(bench: Bench) -> None:
    item_id, receiver, _ = setup_item(bench)
    card = bench.card(item_id)
    keys = ["painpoint", "budget", "decision_maker", "timeframe"]
    action = next(
        e["action_id"]
        for b in card.blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"].startswith(ActionId.CHECKLIST.value)
    )
    bench.agent.click_checkbox(user=receiver, message=card, action_id=action, selected_values=keys)
    item = bench.item(item_id)
    assert all(item.checklist.get(k) for k in keys)
    bench.deliver()
    assert "supports *Lead*" in str(bench.card(item_id).blocks) or "Lead" in str(bench.card(item_id).blocks)
    assert bench.trail(item_id)[-1].kind == "checklist"


def test_recategorize_reroutes_and_the_old_holder_stays_responsible(bench: Bench) -> None:
    item_id, receiver, sender = setup_item(bench)  # a Prospect (one checklist item): marketing holds it
    assert bench.item(item_id).category == "prospect"
    bench.agent.click(user=receiver, message=bench.card(item_id), action_id=ActionId.RECATEGORIZE)
    view = bench.fake.views_opened_by(receiver)[-1]
    old_card = bench.card(item_id)
    r = bench.agent.submit_view(user=receiver, view=view, values={"category": "lead", "note": "Budget confirmed."})
    assert r.status_code == 200
    item = bench.item(item_id)
    assert item.category == "lead" and item.status == ItemStatus.PENDING
    assert item.team_key == "nordics-sales"  # re-routed by the rules for a Lead in the Nordics
    bench.deliver()
    item = bench.item(item_id)
    assert item.responsible_user_id == receiver  # still responsible until someone accepts
    assert any("recategorized" in t for t in sent_texts(bench, sender))
    assert item.receiver_user_id != receiver, "a Nordics Lead goes to the Nordics sales team"
    retired = bench.fake.message(old_card.channel, old_card.ts)
    assert ActionId.ACCEPT.value not in str(retired.blocks)
    assert "responsible" in str(retired.blocks)
    # the new receiver accepts: the old holder is released
    bench.agent.click(user=item.receiver_user_id, message=bench.card(item_id), action_id=ActionId.ACCEPT)
    bench.deliver()
    assert any("no longer responsible" in t for t in sent_texts(bench, receiver))


def test_reassign_offers_the_item_and_ownership_moves_only_on_accept(bench: Bench) -> None:
    item_id, receiver, sender = setup_item(bench)
    colleague = bench.add_user("colleague@example.com")
    bench.agent.click(user=receiver, message=bench.card(item_id), action_id=ActionId.REASSIGN)
    view = bench.fake.views_opened_by(receiver)[-1]
    bench.agent.submit_view(user=receiver, view=view, values={"to": colleague, "note": "Your territory."})
    bench.deliver()
    item = bench.item(item_id)
    assert item.receiver_user_id == colleague and item.owner_user_id is None and item.status == "pending"
    assert item.responsible_user_id == receiver
    # the old receiver can no longer act
    bench.agent.click(user=receiver, message=bench.card(item_id), action_id=ActionId.ACCEPT)
    assert bench.item(item_id).owner_user_id is None
    bench.agent.click(user=colleague, message=bench.card(item_id), action_id=ActionId.ACCEPT)
    assert bench.item(item_id).owner_user_id == colleague


def test_discard_needs_a_reason_and_a_justification_inside_the_modal(bench: Bench) -> None:
    item_id, receiver, sender = setup_item(bench)
    bench.agent.click(user=receiver, message=bench.card(item_id), action_id=ActionId.DISCARD)
    view = bench.fake.views_opened_by(receiver)[-1]
    r = bench.agent.submit_view(user=receiver, view=view, values={"reason": "no_real_interest", "justification": ""})
    assert r.json()["response_action"] == "errors" and "justification" in r.json()["errors"]
    r = bench.agent.submit_view(user=receiver, view=view, values={"reason": "other", "justification": "Too short"})
    assert "justification" in r.json()["errors"]
    assert bench.item(item_id).status == ItemStatus.PENDING
    r = bench.agent.submit_view(
        user=receiver,
        view=view,
        values={"reason": "no_real_interest", "justification": "A student collecting brochures; no buying role."},
    )
    assert (r.status_code == 200 and not r.content) or r.json().get("response_action") != "errors"
    item = bench.item(item_id)
    assert item.status == ItemStatus.DISCARDED and item.discard_reason == "no_real_interest"
    bench.deliver()
    assert any("discarded item" in t and "no buying role" in t for t in sent_texts(bench, sender))
    assert ActionId.REOPEN.value in str(bench.card(item_id).blocks)


def test_discard_for_an_ongoing_opportunity_suggests_recategorizing(bench: Bench) -> None:
    item_id, receiver, _ = setup_item(bench)
    bench.agent.click(user=receiver, message=bench.card(item_id), action_id=ActionId.DISCARD)
    view = bench.fake.views_opened_by(receiver)[-1]
    r = bench.agent.submit_view(
        user=receiver,
        view=view,
        values={"reason": "ongoing_opportunity", "justification": "Part of the deal Anna already runs."},
    )
    assert r.json()["response_action"] == "update"
    assert bench.item(item_id).status == ItemStatus.PENDING
    updated = bench.fake.views[view.id]
    r = bench.agent.submit_view(user=receiver, view=updated, values={"choice": "recategorize:opportunity_intelligence"})
    item = bench.item(item_id)
    assert item.category == "opportunity_intelligence" and item.status == ItemStatus.PENDING
    assert "recategorized" in [e.kind for e in bench.trail(item_id)]


def test_a_discarded_item_can_be_reopened(bench: Bench) -> None:
    item_id, receiver, sender = setup_item(bench)
    bench.agent.click(user=receiver, message=bench.card(item_id), action_id=ActionId.DISCARD)
    view = bench.fake.views_opened_by(receiver)[-1]
    bench.agent.submit_view(
        user=receiver, view=view, values={"reason": "duplicate", "justification": "Same as item 12 from the webinar."}
    )
    bench.deliver()
    bench.agent.click(user=receiver, message=bench.card(item_id), action_id=ActionId.REOPEN)
    bench.deliver()
    item = bench.item(item_id)
    assert item.status == ItemStatus.PENDING and item.receiver_user_id == receiver
    assert item.discard_reason is None
    assert ActionId.ACCEPT.value in str(bench.card(item_id).blocks)
    assert [e.kind for e in bench.trail(item_id)][-2:] == ["discarded", "reopened"]


def test_follow_up_counts_and_ends_the_customer_request(bench: Bench) -> None:
    item_id, receiver, sender = setup_item(bench, customer_request="Call me in May")
    bench.agent.click(user=receiver, message=bench.card(item_id), action_id=ActionId.ACCEPT)
    bench.deliver()
    bench.agent.click(user=receiver, message=bench.card(item_id), action_id=ActionId.FOLLOW_UP)
    view = bench.fake.views_opened_by(receiver)[-1]
    bench.agent.submit_view(user=receiver, view=view, values={"kind": "contacted", "note": "Called, meeting next week"})
    item = bench.item(item_id)
    assert item.follow_up_count == 1 and item.customer_request_open is False
    bench.agent.click(user=receiver, message=bench.card(item_id), action_id=ActionId.CLOSE)
    assert bench.item(item_id).status == ItemStatus.CLOSED


def test_the_card_thread_shows_the_history(bench: Bench) -> None:
    item_id, receiver, _ = setup_item(bench)
    card = bench.card(item_id)
    bench.agent.click(user=receiver, message=card, action_id=ActionId.ACCEPT)
    bench.deliver()
    thread = [m for m in bench.fake.messages(channel=card.channel) if m.thread_ts == card.ts]
    assert any("Accepted by" in m.text for m in thread)


def test_closing_a_modal_changes_nothing(bench: Bench) -> None:
    item_id, receiver, _ = setup_item(bench)
    bench.agent.click(user=receiver, message=bench.card(item_id), action_id=ActionId.DISCARD)
    view = bench.fake.views_opened_by(receiver)[-1]
    r = bench.agent.close_view(user=receiver, view=view)
    assert r.status_code == 200
    assert bench.item(item_id).status == ItemStatus.PENDING


def test_a_deleted_card_is_posted_again_on_the_next_update(bench: Bench) -> None:
    item_id, receiver, _ = setup_item(bench)
    card = bench.card(item_id)
    bench.fake.delete_message(card.channel, card.ts)
    bench.agent.click(user=receiver, message=card, action_id=ActionId.ACCEPT)
    bench.deliver()
    item = bench.item(item_id)
    assert item.card_ts != card.ts
    assert "Accepted" in str(bench.card(item_id).blocks)
    assert "card_reposted" in [e.kind for e in bench.trail(item_id)]


def test_the_owner_tells_the_sender_why_the_item_was_interesting(bench: Bench) -> None:
    item_id, receiver, sender = setup_item(bench)
    bench.agent.click(user=receiver, message=bench.card(item_id), action_id=ActionId.ACCEPT)
    bench.deliver()
    bench.agent.click(user=receiver, message=bench.card(item_id), action_id=ActionId.ACCEPT_NOTE)
    view = bench.fake.views_opened_by(receiver)[-1]
    r = bench.agent.submit_view(user=receiver, view=view, values={"note": ""})
    assert r.json()["response_action"] == "errors" and "note" in r.json()["errors"]
    bench.agent.submit_view(user=receiver, view=view, values={"note": "They are replacing 40 routers this year."})
    bench.deliver()
    assert any("40 routers this year" in t for t in sent_texts(bench, sender))
    bb = bench.user("bb.stand@example.com")
    assert any("40 routers this year" in t for t in sent_texts(bench, bb))
    assert bench.trail(item_id)[-1].kind == "accept_note"


def test_the_business_builder_hears_about_the_acceptance_too(bench: Bench) -> None:
    item_id, receiver, _ = setup_item(bench)
    bench.agent.click(user=receiver, message=bench.card(item_id), action_id=ActionId.ACCEPT)
    bench.deliver()
    bb = bench.user("bb.stand@example.com")
    assert any("accepted item" in t and "after" in t for t in sent_texts(bench, bb))


def test_a_deactivated_receiver_gets_no_card_the_item_goes_to_the_fallback(bench: Bench) -> None:
    bench.fake.deactivate_user(bench.user("anna.berg@example.com"))
    item_id = hand_over(
        bench, region="nordics", checklist={k: True for k in ("painpoint", "offering", "timeframe", "budget")}
    )
    item = bench.item(item_id)
    fallback = bench.ctx.config.routing.fallback
    assert item.receiver_email == fallback and "anna.berg@example.com" in item.routing_note
    assert item.receiver_user_id == bench.user(fallback) and bench.card(item_id).blocks
    assert "rerouted" in [e.kind for e in bench.trail(item_id)]
