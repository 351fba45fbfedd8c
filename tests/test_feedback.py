"""Feedback: the owner is asked a while after accepting, reminded once at most, and the answer
reaches the sender and the Business Builder and is kept for the quality figures."""

from __future__ import annotations

from sqlmodel import select

from bot.flows import feedback
from bot.ids import ActionId
from bot.models import Feedback
from tests.flow import accept, hand_over, sent_texts
from tests.harness import Bench
from tests.test_nudge import at

SENDER = "marketing.sender@example.com"
BB = "bb.stand@example.com"


def requests(bench: Bench, owner: str) -> list:
    return [m for m in bench.dm(owner) if m.text.startswith(":memo: How did item")]


def tick(bench: Bench, when) -> feedback.Run:
    bench.clock.set(when)
    done = feedback.run(bench.ctx)
    bench.deliver()
    return done


def accepted_item(bench: Bench) -> tuple[int, str]:
    bench.add_user(SENDER)
    bench.add_user(BB)
    item_id = hand_over(bench, sender_email=SENDER, business_builder_email=BB)  # Monday 2 March, 09:00
    accept(bench, item_id)
    return item_id, bench.item(item_id).owner_user_id


def test_the_owner_is_asked_two_weeks_after_accepting_in_one_message(bench: Bench) -> None:
    item_id, owner = accepted_item(bench)
    assert tick(bench, at(14, 8, 59)).asked == []
    assert tick(bench, at(14, 9, 0)).asked == [item_id]
    [message] = requests(bench, owner)
    assert "Nordic Fibre AB" in str(message.blocks) and ActionId.FEEDBACK.value in str(message.blocks)
    assert tick(bench, at(14, 10)).asked == []  # asked once
    assert len(requests(bench, owner)) == 1
    assert [e.kind for e in bench.trail(item_id)].count("feedback_requested") == 1


def test_nobody_is_asked_outside_their_working_hours(bench: Bench) -> None:
    item_id, owner = accepted_item(bench)
    bench.ctx.config = bench.ctx.config.model_copy(
        update={"feedback": bench.ctx.config.feedback.model_copy(update={"after_days": 12})}
    )  # due Saturday 14 March
    assert tick(bench, at(12, 10)).asked == []
    assert tick(bench, at(13, 10)).asked == []
    assert tick(bench, at(14, 8)).asked == [item_id]  # Monday, the start of the working day


def test_one_reminder_at_most(bench: Bench) -> None:
    item_id, owner = accepted_item(bench)
    tick(bench, at(14, 9))
    assert tick(bench, at(17, 8, 59)).reminded == []
    assert tick(bench, at(17, 9)).reminded == [item_id]  # three days later
    for day in (18, 21, 28):
        assert tick(bench, at(day, 10)).reminded == []
    assert sum("only reminder" in str(m.blocks) for m in bench.dm(owner)) == 1


def test_the_answer_goes_to_the_sender_and_the_business_builder_and_is_kept(bench: Bench) -> None:
    item_id, owner = accepted_item(bench)
    tick(bench, at(14, 9))
    [message] = requests(bench, owner)
    bench.agent.click(user=owner, message=message, action_id=ActionId.FEEDBACK)
    view = bench.fake.views_opened_by(owner)[-1]
    # a form without a score is refused inside the modal, and nothing is stored
    r = bench.agent.submit_view(user=owner, view=view, values={"reached": "yes", "outcome": "meeting"})
    assert r.json()["response_action"] == "errors" and set(r.json()["errors"]) == {"usefulness"}
    with bench.db() as s:
        assert s.exec(select(Feedback)).one().answered_at is None
    r = bench.agent.submit_view(
        user=owner,
        view=view,
        values={
            "reached": "yes",
            "outcome": "opportunity",
            "usefulness": "4",
            "comment": "The pain point was spot on; the budget was not.",
        },
    )
    assert r.status_code == 200 and (not r.content or r.json().get("response_action") != "errors")
    bench.deliver()
    with bench.db() as s:
        fb = s.exec(select(Feedback)).one()
    assert (fb.reached_customer, fb.outcome, fb.usefulness, fb.by) == (True, "opportunity", 4, owner)
    assert fb.comment == "The pain point was spot on; the budget was not."
    for person in (SENDER, BB):
        [relay] = [t for t in sent_texts(bench, bench.user(person)) if t.startswith(":memo: Feedback")]
        assert f"<@{owner}>" in relay and "*An opportunity*" in relay and "*4/5*" in relay
        assert "budget was not" in relay
    assert any("Thanks" in t for t in sent_texts(bench, owner))
    assert "feedback" in [e.kind for e in bench.trail(item_id)]
    # answered: no reminder, and a second answer changes nothing
    assert tick(bench, at(17, 9)).reminded == []
    r = bench.agent.submit_view(user=owner, view=view, values={"reached": "no", "outcome": "lost", "usefulness": "1"})
    bench.deliver()
    with bench.db() as s:
        assert s.exec(select(Feedback)).one().outcome == "opportunity"
    assert any("already given" in t for t in sent_texts(bench, owner))


def test_only_the_owner_gives_the_feedback(bench: Bench) -> None:
    item_id, owner = accepted_item(bench)
    tick(bench, at(14, 9))
    [message] = requests(bench, owner)
    other = (
        bench.user("johan.ek@example.com")
        if bench.user("johan.ek@example.com") != owner
        else bench.user("sara.nyman@example.com")
    )
    opened = len(bench.fake.views_opened_by(other))
    bench.agent.click(user=other, message=message, action_id=ActionId.FEEDBACK)
    bench.deliver()
    assert len(bench.fake.views_opened_by(other)) == opened
    assert any("Only the owner" in e["text"] and e["user"] == other for e in bench.fake.ephemerals)


def test_a_request_held_up_by_a_slack_outage_waits_for_the_owners_next_morning(bench: Bench) -> None:
    """Queued at 16:55 on the owner's working day, Slack down until the evening: the request is not
    sent at 19:00 when Slack is back, but at the start of the owner's next working day, once."""
    item_id, owner = accepted_item(bench)
    bench.fake.set_outage(True)
    assert tick(bench, at(14, 16, 55)).asked == [item_id]
    assert requests(bench, owner) == []
    bench.fake.set_outage(False)
    for hour in (19, 21, 23):
        tick(bench, at(14, hour))
        assert requests(bench, owner) == [], f"a feedback request reached the owner at {hour}:00"
    tick(bench, at(15, 7, 55))
    assert requests(bench, owner) == []
    tick(bench, at(15, 8, 1))
    assert len(requests(bench, owner)) == 1
    tick(bench, at(15, 9))
    assert len(requests(bench, owner)) == 1
