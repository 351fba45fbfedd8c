"""Routing: configurable rules, round robin within a team, a fallback so nothing is unrouted;
customers created on the fly and deduplicated."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx

from bot.config import parse
from bot.models import Customer
from tests.flow import hand_over, set_customer
from tests.harness import API_TOKEN, Bench

LEAD_CHECKLIST = {"painpoint": True, "offering": True, "timeframe": True, "budget": True}
NORDICS = ["anna.berg@example.com", "johan.ek@example.com", "sara.nyman@example.com"]


def post(bench: Bench, **fields) -> httpx.Response:
    return httpx.post(
        f"{bench.url}/api/items",
        json={"customer": "Some Customer", **fields},
        headers={"Authorization": f"Bearer {API_TOKEN}"},
        timeout=10,
    )


def test_leads_go_round_robin_within_the_regions_team(bench: Bench) -> None:
    ids = [
        hand_over(bench, external_id=f"rr-{n}", customer=f"Customer {n}", region="Nordics", checklist=LEAD_CHECKLIST)
        for n in range(4)
    ]
    items = [bench.item(i) for i in ids]
    assert all(i.category == "lead" and i.team_key == "nordics-sales" for i in items)
    assert [i.receiver_email for i in items] == NORDICS + NORDICS[:1]
    assert all("round robin" in i.routing_note for i in items)
    # and each of them got the card in Slack
    assert all(bench.card(i).blocks for i in ids)


def test_the_checklist_decides_lead_or_prospect_when_the_sender_did_not(bench: Bench) -> None:
    lead = bench.item(hand_over(bench, region="dach", checklist=LEAD_CHECKLIST))
    prospect = bench.item(hand_over(bench, region="dach", checklist={"painpoint": True}))
    assert (lead.category, lead.team_key) == ("lead", "dach-sales")
    assert (prospect.category, prospect.team_key) == ("prospect", "marketing")


def test_intelligence_goes_to_the_account_owner_and_otherwise_to_marketing(bench: Bench) -> None:
    owned = bench.item(
        hand_over(
            bench,
            category="opportunity_intelligence",
            customer="Owned AB",
            contact_email="cio@owned.se",
            account_owner_email="olivia.grant@example.com",
        )
    )
    assert owned.receiver_email == "olivia.grant@example.com"
    assert "account owner" in owned.routing_note
    # an item's account owner stays on the item: it never becomes the customer's (who may see it)
    assert owned.account_owner_email == "olivia.grant@example.com"
    with bench.db() as s:
        assert s.get(Customer, owned.customer_id).account_owner_email is None
    unowned = bench.item(hand_over(bench, category="customer_intelligence", customer="Owned AB", contact_email=None))
    assert unowned.team_key == "marketing"
    # the account owner an admin set is found by the next item about the customer
    set_customer(bench, "owned.se", account_owner="olivia.grant@example.com")
    again = bench.item(hand_over(bench, category="customer_intelligence", customer="Owned AB", contact_email=None))
    assert again.receiver_email == "olivia.grant@example.com"
    orphan = bench.item(
        hand_over(
            bench, category="customer_intelligence", customer="Nobody's Ltd", contact_email="someone@nobody.co.uk"
        )
    )
    assert orphan.team_key == "marketing"


def test_no_matching_rule_means_the_fallback_receiver(bench: Bench) -> None:
    item = bench.item(hand_over(bench, region="Patagonia", checklist=LEAD_CHECKLIST))
    assert item.receiver_email == bench.ctx.config.routing.fallback
    assert "fallback" in item.routing_note
    assert item.receiver_user_id == bench.user(bench.ctx.config.routing.fallback)


def test_rules_can_send_to_a_person_or_back_to_the_sender(bench: Bench) -> None:
    bench.ctx.config = parse(
        """
routing:
  fallback: handover.desk@example.com
  rules:
    - {when: {product_area: [security]}, to: {person: olivia.grant@example.com}}
    - {when: {category: prospect}, to: sender}
""",
        "test.yaml",
    )
    bench.add_user("sender@example.com")
    security = bench.item(hand_over(bench, product_area="Security", checklist=LEAD_CHECKLIST))
    assert security.receiver_email == "olivia.grant@example.com" and "rule 1" in security.routing_note
    back = bench.item(hand_over(bench, sender_email="sender@example.com", checklist={}))
    assert back.receiver_email == "sender@example.com" and "sender" in back.routing_note
    # the sender rule can't apply without a sender: the fallback takes it
    nobody = bench.item(hand_over(bench, checklist={}))
    assert nobody.receiver_email == "handover.desk@example.com"


def test_round_robin_stays_fair_under_concurrent_intake(bench: Bench) -> None:
    def one(n: int) -> int:
        r = post(bench, external_id=f"par-{n}", customer=f"Parallel {n}", region="nordics", checklist=LEAD_CHECKLIST)
        assert r.status_code == 201, r.text
        return r.json()["id"]

    with ThreadPoolExecutor(max_workers=6) as pool:
        ids = list(pool.map(one, range(9)))
    counts = Counter(bench.item(i).receiver_email for i in ids)
    assert counts == Counter({e: 3 for e in NORDICS})


def test_customers_are_created_on_the_fly_and_deduplicated(bench: Bench) -> None:
    a = bench.item(hand_over(bench, customer="ACME AB", contact_email="ola@acme.se"))
    b = bench.item(hand_over(bench, customer="Acme", contact_email=None))
    c = bench.item(hand_over(bench, customer="Acme Aktiebolag", contact_email="someone@acme.se"))
    d = bench.item(hand_over(bench, customer="Totally Different Oy", contact_email="x@acme-other.fi"))
    free_mail = bench.item(hand_over(bench, customer="Gmail Person Ltd", contact_email="someone@gmail.com"))
    assert a.customer_id == b.customer_id == c.customer_id
    assert d.customer_id != a.customer_id
    with bench.db() as s:
        acme = s.get(Customer, a.customer_id)
        gm = s.get(Customer, free_mail.customer_id)
    assert acme.domain == "acme.se"
    assert gm.domain is None  # a free-mail domain never names a company


def test_a_dry_run_knows_the_account_owner_of_an_existing_customer(bench: Bench, tmp_path) -> None:
    from bot.flows.importing import import_file

    hand_over(bench, category="opportunity_intelligence", customer="Owned AB", contact_email="cio@owned.se")
    set_customer(bench, "Owned AB", account_owner="olivia.grant@example.com")  # by an admin, never by an item
    export = tmp_path / "later.csv"
    export.write_text("Company,Category\nOwned AB,Customer Intelligence\n")
    [chosen] = import_file(bench.ctx, export, event="Later event", dry_run=True).outcomes
    assert chosen.receiver == "olivia.grant@example.com"
