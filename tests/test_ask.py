"""Ask the Business Builder: the question and the answers travel between two threads."""

from __future__ import annotations

from sqlmodel import select

from bot.ids import ActionId
from bot.models import Question, QuestionMessage
from tests.flow import hand_over, sent_texts
from tests.harness import Bench

BB = "bb.stand@example.com"
SENDER = "marketing.ops@example.com"


def ask(bench: Bench, text: str) -> tuple[int, str, str, Question]:
    bb = bench.add_user(BB)
    bench.add_user(SENDER)
    item_id = hand_over(bench, business_builder_email=BB, sender_email=SENDER)
    receiver = bench.item(item_id).receiver_user_id
    bench.agent.click(user=receiver, message=bench.card(item_id), action_id=ActionId.ASK)
    view = bench.fake.views_opened_by(receiver)[-1]
    r = bench.agent.submit_view(user=receiver, view=view, values={"question": text})
    assert r.status_code == 200
    bench.deliver()
    with bench.db() as s:
        question = s.exec(select(Question).where(Question.item_id == item_id)).one()
    return item_id, receiver, bb, question


def test_question_reaches_the_business_builder_and_shows_on_the_card(bench: Bench) -> None:
    item_id, receiver, bb, question = ask(bench, "Which sites did they mean?")
    assert any("Which sites did they mean?" in t and "Reply in this thread" in t for t in sent_texts(bench, bb))
    assert question.bb_ts and question.open
    assert "Open question" in str(bench.card(item_id).blocks)


def test_answer_in_the_thread_is_relayed_under_the_card_and_back(bench: Bench) -> None:
    item_id, receiver, bb, question = ask(bench, "Which sites did they mean?")
    bench.agent.user_message(
        user=bb, channel=question.bb_channel, thread_ts=question.bb_ts, text="Gothenburg and Malmö."
    )
    bench.deliver()
    card = bench.card(item_id)
    under_card = [m.text for m in bench.fake.messages(channel=card.channel) if m.thread_ts == card.ts]
    assert any("Gothenburg and Malmö." in t for t in under_card)
    assert "Open question" not in str(card.blocks)  # answered
    # and the receiver answers back under the card
    bench.agent.user_message(user=receiver, channel=card.channel, thread_ts=card.ts, text="Thanks! Budget owner?")
    bench.deliver()
    bb_thread = [m.text for m in bench.fake.messages(channel=question.bb_channel) if m.thread_ts == question.bb_ts]
    assert any("Budget owner?" in t for t in bb_thread)
    with bench.db() as s:
        kept = [m.text for m in s.exec(select(QuestionMessage).order_by(QuestionMessage.id))]
    assert kept == ["Which sites did they mean?", "Gothenburg and Malmö.", "Thanks! Budget owner?"]


def test_slack_retries_of_the_same_event_are_relayed_once(bench: Bench) -> None:
    item_id, receiver, bb, question = ask(bench, "Which sites?")
    ts, _ = bench.agent.user_message(
        user=bb, channel=question.bb_channel, thread_ts=question.bb_ts, text="Only Malmö.", event_id="Ev0001"
    )
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
        r = bench.agent.event(event, event_id="Ev0001", retry_num=n, retry_reason="http_timeout")
        assert r.status_code == 200
    bench.deliver()
    card = bench.card(item_id)
    relayed = [
        m for m in bench.fake.messages(channel=card.channel) if m.thread_ts == card.ts and "Only Malmö." in m.text
    ]
    assert len(relayed) == 1


def test_a_business_builder_who_left_gets_nothing_and_the_sender_is_asked(bench: Bench) -> None:
    bb = bench.add_user(BB)
    sender = bench.add_user(SENDER)
    bench.fake.deactivate_user(bb)
    item_id = hand_over(bench, business_builder_email=BB, sender_email=SENDER)
    receiver = bench.item(item_id).receiver_user_id
    bench.agent.click(user=receiver, message=bench.card(item_id), action_id=ActionId.ASK)
    view = bench.fake.views_opened_by(receiver)[-1]
    bench.agent.submit_view(user=receiver, view=view, values={"question": "Who was this?"})
    bench.deliver()
    assert any("Who was this?" in t for t in sent_texts(bench, sender))
    assert not any("Who was this?" in t for t in sent_texts(bench, bb))


def test_an_empty_question_is_an_error_inside_the_modal(bench: Bench) -> None:
    bench.add_user(BB)
    item_id = hand_over(bench, business_builder_email=BB)
    receiver = bench.item(item_id).receiver_user_id
    bench.agent.click(user=receiver, message=bench.card(item_id), action_id=ActionId.ASK)
    view = bench.fake.views_opened_by(receiver)[-1]
    r = bench.agent.submit_view(user=receiver, view=view, values={"question": " "})
    assert r.json()["response_action"] == "errors" and "question" in r.json()["errors"]
