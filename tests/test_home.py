"""The App Home tab: each person's desk, published when opened and after each decision; a team
lead also sees the team."""

from __future__ import annotations

from datetime import timedelta

from bot.config import parse
from bot.ids import ActionId, ItemStatus
from tests.flow import accept, hand_over
from tests.harness import START, Bench
from tests.test_digest import BY_AREA


def home_text(bench: Bench, user: str) -> str:
    view = bench.fake.published_home(user)
    assert view is not None, "no Home tab was published"
    out = []
    for block in view["blocks"]:
        text = block.get("text")
        if isinstance(text, dict):
            out.append(text.get("text", ""))
        out += [e.get("text", "") for e in block.get("elements", []) if isinstance(e.get("text"), str)]
    return "\n".join(out)


def open_home(bench: Bench, user: str) -> str:
    r = bench.agent.app_home_opened(user=user)
    assert r.status_code == 200
    bench.deliver()
    return home_text(bench, user)


def desk(bench: Bench) -> dict[str, int]:
    bench.ctx.config = parse(BY_AREA, "test.yaml")
    ids = {"old": hand_over(bench, product_area="a", customer="Oldest AB", contact_email="x@oldest.example")}
    bench.clock.set(START + timedelta(hours=1))
    ids["new"] = hand_over(bench, product_area="a", customer="Newer AB", contact_email="x@newer.example")
    ids["owned"] = hand_over(bench, product_area="a", customer="Owned AB", contact_email="x@owned.example")
    ids["johans"] = hand_over(bench, product_area="j", customer="Johans AB", contact_email="x@johans.example")
    bench.clock.set(START + timedelta(hours=3))
    accept(bench, ids["owned"])
    return ids


def test_a_members_home_shows_what_waits_what_they_own_and_no_one_elses_items(bench: Bench) -> None:
    ids = desk(bench)
    anna = bench.user("anna.berg@example.com")
    text = open_home(bench, anna)
    assert "Waiting for your decision (2)" in text and "Yours to follow up (1)" in text
    assert text.index("Oldest AB") < text.index("Newer AB") < text.index("Owned AB")
    assert "Johans AB" not in text  # Johan's item is not on Anna's desk
    assert "Nordics sales" not in text  # members have no team view
    assert "accepted by you: *1*" in text
    blocks = {b.get("block_id"): b for b in bench.fake.published_home(anna)["blocks"]}
    assert [e["action_id"] for e in blocks[f"home-act|{ids['old']}"]["elements"]] == [
        ActionId.ACCEPT,
        ActionId.DISCARD,
        ActionId.REASSIGN,
    ]
    assert [e["action_id"] for e in blocks[f"home-act|{ids['owned']}"]["elements"]] == [ActionId.FOLLOW_UP]


def test_deciding_from_home_works_like_the_card_and_refreshes_the_home(bench: Bench) -> None:
    ids = desk(bench)
    anna = bench.user("anna.berg@example.com")
    open_home(bench, anna)
    r = bench.agent.click_in_home(user=anna, action_id=ActionId.ACCEPT, block_id=f"home-act|{ids['old']}")
    assert r.status_code == 200
    bench.deliver()
    assert bench.item(ids["old"]).status == ItemStatus.ACCEPTED
    text = home_text(bench, anna)  # published again after the decision, without reopening the tab
    assert "Waiting for your decision (1)" in text and "Yours to follow up (2)" in text
    assert ActionId.REOPEN.value not in str(bench.fake.published_home(anna))
    # a modal opens from the Home too
    bench.agent.click_in_home(user=anna, action_id=ActionId.DISCARD, block_id=f"home-act|{ids['new']}")
    assert bench.fake.views_opened_by(anna)[-1].callback_id == "discard_item"


def test_a_team_leads_home_shows_the_team(bench: Bench) -> None:
    desk(bench)
    lena = bench.user("lena.lindqvist@example.com")
    text = open_home(bench, lena)
    assert "Nordics sales: the team's week" in text
    anna, johan = bench.user("anna.berg@example.com"), bench.user("johan.ek@example.com")
    assert f"<@{anna}>: 2 items" in text and f"<@{johan}>: 1 item" in text
    assert "1 accepted, 0 discarded" in text and "acceptance rate *100%*" in text
    assert "Nothing waits for your decision" in text  # her own desk is empty


def test_the_numbers_show_their_trend_against_last_week(bench: Bench) -> None:
    bench.ctx.config = parse(BY_AREA, "test.yaml")
    anna = bench.user("anna.berg@example.com")
    accept(bench, hand_over(bench, product_area="a", customer="Last week AB", contact_email="x@last.example"))
    bench.clock.set(START + timedelta(days=7, hours=1))
    for n in range(2):
        accept(
            bench, hand_over(bench, product_area="a", customer=f"This week {n} AB", contact_email=f"x@this{n}.example")
        )
    text = open_home(bench, anna)
    assert "accepted by you: *2* :arrow_up_small: (last week 1)" in text


def test_the_home_never_shows_an_item_its_reader_may_not_see(bench: Bench) -> None:
    """The Home way into the permission matrix: every item a Home mentions is one the visibility
    rule lets its reader see, for a member, a member of another region, a team lead and an admin."""
    import re

    from sqlmodel import select

    from bot import visibility
    from bot.models import Item

    nordics = [
        hand_over(
            bench,
            region="nordics",
            customer=f"North {n} AB",
            contact_email=f"x@north{n}.example",
            sender_email="anna.berg@example.com",
        )
        for n in range(4)
    ]
    dach = [
        hand_over(bench, region="dach", customer=f"Süd {n} GmbH", contact_email=f"x@sued{n}.example") for n in range(3)
    ]
    accept(bench, nordics[0])
    accept(bench, dach[0])
    readers = [
        "anna.berg@example.com",
        "petra.huber@example.com",
        "lena.lindqvist@example.com",
        "handover.desk@example.com",
    ]
    for email in readers:
        user = bench.user(email)
        shown = {int(n) for n in re.findall(r"#(\d+)", open_home(bench, user))}
        with bench.db() as s:
            viewer = visibility.Viewer.resolve(s, bench.ctx.config, user_id=user)
            visible, _ = visibility.split(s, viewer, list(s.exec(select(Item))))
        assert shown <= {i.id for i in visible}, email
    # and the Homes are not empty: a receiver's items are there
    assert any(f"#{i}" in open_home(bench, bench.item(i).receiver_user_id) for i in dach[1:])
