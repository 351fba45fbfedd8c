"""The item card: what a busy account manager reads in five seconds, and never a message Slack
would refuse, whatever the source data holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import load_config
from bot.fakeslack import validate_blocks
from bot.ids import ActionId, ItemStatus
from bot.models import Customer, Item, Question
from bot.slack import blocks as b
from bot.slack.card import CardData, build, retired

CONFIG = load_config(None)
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def make(**fields) -> CardData:
    item = Item(
        id=7,
        version=3,
        external_key="api:x",
        source="api",
        event_name="Global Event 2026",
        customer_id=1,
        contact_name="Ola Nordmann",
        contact_title="Head of Network",
        contact_email="ola@acme.se",
        description="Replacing core routers in Q3.",
        region="nordics",
        product_area="Routing",
        category="lead",
        checklist={"painpoint": True, "budget": True},
        business_builder_email="kim.stand@example.com",
        sender_email="marketing.ops@example.com",
        receiver_email="anna.berg@example.com",
        receiver_user_id="U1",
        status=ItemStatus.PENDING,
        created_at=NOW,
        offered_at=NOW,
        decision_due_at=NOW + timedelta(hours=16),
    )
    customer = Customer(id=1, name="ACME AB", normalized_name="acme", domain="acme.se", created_at=NOW)
    question = fields.pop("question", None)
    for k, v in fields.items():
        setattr(item, k, v)
    return CardData(
        item=item, customer=customer, open_question=question, business_builder_user="U9", receiver_user="U1"
    )


def texts_of(blocks: list[dict]) -> str:
    return str(blocks)


def test_the_card_shows_what_a_receiver_needs_at_a_glance() -> None:
    text, blocks = build(make(customer_request="Send a quote for 40 routers"), CONFIG)
    assert validate_blocks(blocks) == []
    assert blocks[0]["type"] == "header" and blocks[0]["text"]["text"] == "Lead: ACME AB"
    everything = texts_of(blocks)
    for expected in (
        "Ola Nordmann",
        "Head of Network",
        "Global Event 2026",
        "<@U9>",
        "Replacing core routers in Q3.",
        "Send a quote for 40 routers",
        "2 of 12",
    ):
        assert expected in everything, expected
    request = next(x for x in blocks if x.get("block_id") == "customer_request")
    assert ":rotating_light:" in request["text"]["text"]  # customer requests stand out
    assert "<!date^" in everything  # the decision time, in each reader's own time zone
    buttons = [e["action_id"] for x in blocks if x["type"] == "actions" for e in x["elements"] if e["type"] == "button"]
    assert buttons == [ActionId.ACCEPT, ActionId.RECATEGORIZE, ActionId.ASK, ActionId.REASSIGN, ActionId.DISCARD]
    assert "ACME AB" in text  # the notification text says what it is about


def test_the_checklist_is_interactive_and_the_suggestion_follows_it() -> None:
    _, blocks = build(make(checklist={"painpoint": True}), CONFIG)
    boxes = [e for x in blocks if x["type"] == "actions" for e in x["elements"] if e["type"] == "checkboxes"]
    assert sum(len(e["options"]) for e in boxes) == 12 and all(len(e["options"]) <= 10 for e in boxes)
    assert [o["value"] for e in boxes for o in e.get("initial_options", [])] == ["painpoint"]
    suggestion = next(x for x in blocks if x.get("block_id") == "suggestion")
    assert "Prospect" in str(suggestion) and "3 more" in str(suggestion)
    _, blocks = build(make(checklist={k: True for k in ("painpoint", "offering", "timeframe", "budget")}), CONFIG)
    assert "supports *Lead*" in str(next(x for x in blocks if x.get("block_id") == "suggestion"))


def test_each_status_offers_its_own_next_steps() -> None:
    def buttons(status: str) -> list[str]:
        _, blocks = build(
            make(
                status=status,
                owner_user_id="U1",
                accepted_at=NOW,
                discard_reason="duplicate",
                discard_justification="Same as #3",
                decided_at=NOW,
            ),
            CONFIG,
        )
        return [
            e["action_id"] for x in blocks if x["type"] == "actions" for e in x["elements"] if e["type"] == "button"
        ]

    assert ActionId.FOLLOW_UP in buttons(ItemStatus.ACCEPTED) and ActionId.ACCEPT not in buttons(ItemStatus.ACCEPTED)
    assert buttons(ItemStatus.DISCARDED) == [ActionId.REOPEN]
    assert buttons(ItemStatus.CLOSED) == [ActionId.REOPEN]


def test_an_open_question_shows_on_the_card() -> None:
    q = Question(id=1, item_id=7, asked_by_user_id="U1", text="Which sites?", asked_at=NOW, open=True)
    _, blocks = build(make(question=q), CONFIG)
    assert "Which sites?" in str(blocks)


def test_mrkdwn_in_source_data_is_shown_as_typed() -> None:
    _, blocks = build(make(description="<!channel> & <https://evil|click> *bold*"), CONFIG)
    said = next(x for x in blocks if x.get("block_id") == "said")["text"]["text"]
    assert "<!channel>" not in said and "&lt;!channel&gt;" in said and "&amp;" in said


def test_clip_cuts_cleanly() -> None:
    assert b.clip("short", 10) == "short"
    cut = b.clip("word " * 100, 50)
    assert len(cut) <= 50 and cut.endswith("…") and not cut.endswith(" …")
    assert b.clip("x" * 40 + " <@U12345678>", 45).endswith("…")
    assert "<@U1" not in b.clip("x" * 40 + " <@U12345678>", 45)
    assert "&am" not in b.clip("y" * 40 + " &amp; more", 44)


def test_a_retired_card_is_valid() -> None:
    _, blocks = retired("ACME AB", "Reassigned to someone else; you are still responsible until they accept.")
    assert validate_blocks(blocks) == [] and "responsible" in str(blocks)


any_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=6000)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    description=any_text,
    request=st.one_of(st.none(), any_text),
    name=st.text(min_size=1, max_size=700),
    contact=st.one_of(st.none(), st.text(max_size=600)),
    event=st.one_of(st.none(), st.text(max_size=600)),
    status=st.sampled_from(list(ItemStatus)),
    category=st.sampled_from(["prospect", "lead", "opportunity_intelligence", "customer_intelligence"]),
    checklist=st.dictionaries(st.sampled_from([i.key for i in CONFIG.checklist.items]), st.booleans()),
)
def test_no_source_data_can_make_a_card_slack_would_refuse(
    description: str,
    request: str | None,
    name: str,
    contact: str | None,
    event: str | None,
    status: str,
    category: str,
    checklist: dict,
) -> None:
    data = make(
        description=description,
        customer_request=request,
        contact_name=contact,
        event_name=event,
        status=status,
        category=category,
        checklist=checklist,
        owner_user_id="U1",
        accepted_at=NOW,
        discard_reason="other",
        discard_justification=description[:500],
        decided_at=NOW,
    )
    data.customer.name = name
    text, blocks = build(data, CONFIG)
    assert validate_blocks(blocks) == []
    assert 0 < len(text) <= b.NOTIFICATION_TEXT
