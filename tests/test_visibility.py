"""Who may see what: the rule on its own (bot.visibility), whom to ask about withheld items, and the
permission matrix — each role × each kind of item × each way in (command, shortcut, API, and the
function the App Home calls), through the running bot."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlmodel import select

from bot.config import Config, load_config, parse
from bot.flows import lookup
from bot.ids import CallbackId, Category, ItemStatus
from bot.models import Customer, Item, LookupLog
from bot.visibility import Reason, Viewer, team_regions, whom_to_ask
from tests.flow import accept, discard, hand_over, set_customer
from tests.harness import API_TOKEN, Bench

DEFAULT = load_config(None)
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def item(**fields: Any) -> Item:
    values: dict[str, Any] = {
        "id": 1,
        "external_key": "t:1",
        "source": "api",
        "customer_id": 1,
        "category": Category.LEAD,
        "status": ItemStatus.PENDING,
        "created_at": NOW,
        "offered_at": NOW,
        "receiver_email": "outsider@example.com",
    }
    values.update(fields)
    return Item(**values)


ACME = Customer(id=1, name="Acme AB", normalized_name="acme", created_at=NOW)


# ----- the rule -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "user_id", "fields", "expected"),
    [
        ("handover.desk@example.com", None, {"region": "uk"}, Reason.ADMIN),
        ("anna.berg@example.com", None, {"sender_email": "ANNA.BERG@example.com"}, Reason.SENT),
        ("someone@example.com", "U7", {"sender_user_id": "U7"}, Reason.SENT),
        ("someone@example.com", None, {"receiver_email": "someone@example.com"}, Reason.RECEIVED),
        ("someone@example.com", "U7", {"responsible_user_id": "U7"}, Reason.RECEIVED),  # the previous holder
        ("someone@example.com", "U7", {"owner_user_id": "U7", "status": ItemStatus.ACCEPTED}, Reason.OWNER),
        ("someone@example.com", None, {"business_builder_email": "someone@example.com"}, Reason.BUSINESS_BUILDER),
        ("anna.berg@example.com", None, {"team_key": "nordics-sales", "region": "uk"}, Reason.TEAM),
        ("anna.berg@example.com", None, {"receiver_email": "johan.ek@example.com"}, Reason.TEAM),  # a teammate's
        ("lena.lindqvist@example.com", None, {"receiver_email": "sara.nyman@example.com"}, Reason.TEAM),  # the lead
        ("anna.berg@example.com", None, {"region": "nordics"}, Reason.REGION),
        ("anna.berg@example.com", None, {"region": "Sweden"}, Reason.REGION),  # routed to the team by the rules
        ("klaus.weber@example.com", None, {"region": "austria"}, Reason.REGION),
        ("maria.santos@example.com", None, {"region": "uk", "status": ItemStatus.DISCARDED}, Reason.REVIEWER),
        ("anna.berg@example.com", None, {"region": "uk"}, None),  # another region
        ("anna.berg@example.com", None, {"region": "uk", "status": ItemStatus.DISCARDED}, None),  # not a reviewer
        ("maria.santos@example.com", None, {"region": "uk"}, None),  # a reviewer, but not discarded
        ("erik.holm@example.com", None, {"region": "nordics"}, None),  # marketing has no region
        ("someone@example.com", None, {"region": "nordics"}, None),  # in no team
        (None, None, {"sender_email": None}, None),  # nobody
    ],
)
def test_the_rule(who: str | None, user_id: str | None, fields: dict[str, Any], expected: Reason | None) -> None:
    viewer = Viewer.of(DEFAULT, who, user_id)
    assert viewer.reason(item(**fields), ACME) == expected


def test_the_owner_is_recognized_by_e_mail_and_their_team_by_the_owner() -> None:
    owned = item(owner_user_id="U55", status=ItemStatus.ACCEPTED, receiver_email="outsider@example.com")
    assert (
        Viewer.of(DEFAULT, "sara.nyman@example.com").reason(owned, owner_email="sara.nyman@example.com") == Reason.OWNER
    )
    assert (
        Viewer.of(DEFAULT, "anna.berg@example.com").reason(owned, owner_email="sara.nyman@example.com") == Reason.TEAM
    )
    assert Viewer.of(DEFAULT, "anna.berg@example.com").reason(owned) is None


def test_an_account_owner_sees_everything_on_their_accounts_only() -> None:
    theirs = Customer(
        id=1, name="Acme AB", normalized_name="acme", account_owner_email="Owner@Example.com", created_at=NOW
    )
    other = Customer(
        id=2, name="Other AB", normalized_name="other", account_owner_email="x@example.com", created_at=NOW
    )
    viewer = Viewer.of(DEFAULT, "owner@example.com")
    assert viewer.reason(item(region="uk", status=ItemStatus.DISCARDED), theirs) == Reason.ACCOUNT_OWNER
    assert viewer.reason(item(region="uk", customer_id=2), other) is None


def test_the_item_region_falls_back_to_the_customer_region() -> None:
    nordic = Customer(id=1, name="Acme AB", normalized_name="acme", region="norway", created_at=NOW)
    assert Viewer.of(DEFAULT, "anna.berg@example.com").reason(item(region=None), nordic) == Reason.REGION
    assert Viewer.of(DEFAULT, "anna.berg@example.com").reason(item(region="uk"), nordic) is None


def test_roles_and_regions_come_from_the_configuration() -> None:
    lena = Viewer.of(DEFAULT, "Lena.Lindqvist@example.com", "U1")
    assert (lena.email, lena.led, lena.reviewer, lena.admin, lena.role) == (
        "lena.lindqvist@example.com",
        ("nordics-sales",),
        True,
        False,
        "lead",
    )
    assert (
        lena.regions
        == team_regions(DEFAULT, DEFAULT.team("nordics-sales"))
        == {"nordics", "sweden", "norway", "denmark", "finland"}
    )
    assert Viewer.of(DEFAULT, "anna.berg@example.com").role == "member"
    assert Viewer.of(DEFAULT, "handover.desk@example.com").role == "admin"
    assert Viewer.of(DEFAULT, "nobody@example.com").role == "person"


# ----- whom to ask ----------------------------------------------------------------------------------


def test_whom_to_ask_the_account_owner_else_the_team_lead_else_an_admin() -> None:
    owned = Customer(
        id=1, name="Acme AB", normalized_name="acme", account_owner_email="olivia.grant@example.com", created_at=NOW
    )
    nordic = [item(team_key="nordics-sales")]
    assert whom_to_ask(DEFAULT, owned, nordic) == ["olivia.grant@example.com"]
    assert whom_to_ask(DEFAULT, ACME, nordic) == ["lena.lindqvist@example.com"]
    assert whom_to_ask(DEFAULT, ACME, [item(receiver_email="tom.hughes@example.com")]) == ["olivia.grant@example.com"]
    assert whom_to_ask(DEFAULT, ACME, [item(team_key="nordics-sales"), item(id=2, team_key="dach-sales")]) == [
        "lena.lindqvist@example.com",
        "klaus.weber@example.com",
    ]
    assert whom_to_ask(DEFAULT, ACME, [item(receiver_email="handover.desk@example.com")]) == [
        "handover.desk@example.com"
    ]
    assert whom_to_ask(DEFAULT, None, [item()]) == ["handover.desk@example.com"]
    assert whom_to_ask(DEFAULT, owned, []) == []


def test_whom_to_ask_never_names_the_viewer() -> None:
    olivia = Viewer.of(DEFAULT, "olivia.grant@example.com")
    owned = Customer(
        id=1, name="Acme AB", normalized_name="acme", account_owner_email="olivia.grant@example.com", created_at=NOW
    )
    assert whom_to_ask(DEFAULT, owned, [item(team_key="nordics-sales")], viewer=olivia) == [
        "lena.lindqvist@example.com"
    ]
    lena = Viewer.of(DEFAULT, "lena.lindqvist@example.com")
    assert whom_to_ask(DEFAULT, ACME, [item(team_key="nordics-sales")], viewer=lena) == ["handover.desk@example.com"]


# ----- the permission matrix, through the bot -------------------------------------------------------

MATRIX = """
teams:
  - {{key: nordics, name: Nordics sales, lead: lead.nordics@example.com, members: [member.nordics@example.com, mate.nordics@example.com], region: nordics}}
  - {{key: dach, name: DACH sales, lead: lead.dach@example.com, members: [member.dach@example.com], region: dach}}
  - {{key: uk, name: UK sales, lead: lead.uk@example.com, members: [member.uk@example.com], region: uk}}
routing:
  fallback: desk@example.com
  rules:
    - {{when: {{product_area: [to_viewer]}}, to: {{person: {viewer}}}}}
    - {{when: {{product_area: [to_mate]}}, to: {{person: mate.nordics@example.com}}}}
    - {{when: {{product_area: [outside]}}, to: {{person: outsider@example.com}}}}
    - {{when: {{region: [nordics, sweden]}}, to: {{team: nordics}}}}
    - {{when: {{region: [dach]}}, to: {{team: dach}}}}
    - {{when: {{region: [uk]}}, to: {{team: uk}}}}
roles:
  admins: [admin@example.com]
  reviewers: [reviewer@example.com]
"""
OWNER = "owner@example.com"  # the account owner of Matrix AB
ROLES = {
    "admin": "admin@example.com",
    "account owner": OWNER,
    "team lead": "lead.nordics@example.com",
    "member": "member.nordics@example.com",
    "member of another region": "member.dach@example.com",
    "reviewer": "reviewer@example.com",
}
KINDS = ("sent by me", "received by me", "owned by me", "my team's", "my region's", "another region's", "discarded")
NORDICS = {"sent by me", "received by me", "owned by me", "my team's", "my region's"}  # "my": the Nordics team's
EXPECTED = {
    "admin": set(KINDS),
    "account owner": set(KINDS),
    "team lead": NORDICS,
    "member": NORDICS,
    "member of another region": {"sent by me", "received by me", "owned by me"},
    "reviewer": {"sent by me", "received by me", "owned by me", "discarded"},
}
WAYS = ("command", "shortcut", "api", "home")


def matrix_world(bench: Bench, viewer: str) -> dict[str, int]:
    """Seven items on Matrix AB, one of each kind, as seen from ``viewer`` (and the Nordics team)."""
    bench.ctx.config = parse(MATRIX.format(viewer=viewer), "test.yaml")
    for email in [viewer, OWNER, "outsider@example.com", "sender@example.com", "mate.nordics@example.com"]:
        if email not in bench.users:
            bench.add_user(email)
    common = {
        "customer": "Matrix AB",
        "contact_email": "cto@matrix.example",
        "account_owner_email": OWNER,
        "sender_email": "sender@example.com",
        "region": "apac",
    }

    def make(**fields: Any) -> int:
        return hand_over(bench, **{**common, **fields})

    first = make(product_area="outside", sender_email=viewer)
    set_customer(bench, "Matrix AB", account_owner=OWNER)  # by an admin: an item's account owner opens nothing
    ids = {
        "sent by me": first,
        "received by me": make(product_area="to_viewer"),
        "owned by me": make(product_area="to_viewer"),
        "my team's": make(product_area="to_mate"),
        "my region's": make(product_area="outside", region="sweden"),
        "another region's": make(product_area="outside", region="uk"),
        "discarded": make(product_area="outside", region="uk"),
    }
    accept(bench, ids["owned by me"])
    discard(bench, ids["discarded"])
    assert bench.item(ids["owned by me"]).owner_user_id == bench.user(viewer)
    return ids


def _text(blocks: list[dict[str, Any]]) -> str:
    return "\n".join(b["text"]["text"] for b in blocks if isinstance(b.get("text"), dict))


def _slack_answer(blocks: list[dict[str, Any]]) -> tuple[set[int], int, str]:
    ids = {int(b["block_id"].split(":")[1]) for b in blocks if (b.get("block_id") or "").startswith("item:")}
    text = _text(blocks)
    found = re.search(r"(\d+) items? on Matrix AB (?:is|are) withheld", text)
    ask = re.search(r"Ask (.*) if you need", text)
    return ids, int(found.group(1)) if found else 0, ask.group(1) if ask else ""


def look_up(bench: Bench, way: str, email: str) -> tuple[set[int], int, str]:
    """What ``email`` is shown of Matrix AB through ``way``: item ids, the withheld count, whom to ask."""
    user = bench.user(email)
    if way == "command":
        r = bench.agent.command(user=user, command="/handover", text="customer Matrix AB")
        return _slack_answer(bench.agent.shown(r, user=user).blocks)
    if way == "shortcut":
        bench.agent.shortcut(user=user, callback_id=CallbackId.LOOKUP_SHORTCUT)
        view = bench.fake.views_opened_by(user)[-1]
        assert bench.agent.submit_view(user=user, view=view, values={"query": "matrix.example"}).status_code == 200
        return _slack_answer(bench.fake.views[view.id].blocks)
    if way == "api":
        r = httpx.get(
            f"{bench.url}/api/customers",
            params={"q": "Matrix"},
            timeout=10,
            headers={"Authorization": f"Bearer {API_TOKEN}", "X-Handover-User": email},
        )
        assert r.status_code == 200, r.text
        body = r.json()
        return {i["id"] for i in body["items"]}, body["withheld"], " ".join(body["ask"])
    # the App Home: the function it calls with the Slack user id it has
    with bench.db() as s:
        config: Config = bench.ctx.config
        viewer = Viewer.resolve(s, config, user_id=user)
        found = lookup.look_up_customer(s, config, viewer, "Matrix AB", via=lookup.Via.HOME, now=bench.clock.now())
        s.commit()
        intel = found.intel
        assert intel is not None
        return (
            {i.id for i in [*intel.open_items, *intel.past_items]},
            intel.withheld,
            " ".join(c.email for c in intel.ask),
        )


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("role", list(ROLES))
def test_permission_matrix(bench: Bench, role: str, way: str) -> None:
    email = ROLES[role]
    ids = matrix_world(bench, email)
    shown, withheld, ask = look_up(bench, way, email)
    expected = EXPECTED[role]
    assert {kind for kind, i in ids.items() if i in shown} == expected, f"{role} via {way}"
    assert withheld == len(KINDS) - len(expected)
    if withheld:  # whom to ask: the account owner of Matrix AB
        assert OWNER in ask or f"<@{bench.user(OWNER)}>" in ask
    with bench.db() as s:
        log = s.exec(select(LookupLog).order_by(LookupLog.id.desc())).first()
    assert (log.via, log.shown, log.withheld) == ("shortcut" if way == "shortcut" else way, len(expected), withheld)
    assert log.who == (email if way == "api" else bench.user(email))
