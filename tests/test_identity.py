"""Who is "the same customer" decides who may read it (DOMAIN.md): companies by their registrable
domain (Public Suffix List), names in any script, invisible characters gone from identifiers, no
item ever changing who may see a customer, and admins correcting records (merge, split, set) with
the audit trail and the items following. Driven through the real ways in: the intake API, the
capture modal and `/handover customer` as signed Slack requests, and the `handover` CLI."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from bot import migrate
from bot.cli import app
from bot.customers import normalize_name
from bot.db import make_engine
from bot.identifiers import invisible
from bot.ids import CallbackId
from bot.models import Customer, CustomerEvent, Item
from bot.samples import sample_path
from tests.flow import hand_over, set_customer
from tests.harness import API_TOKEN, BOT_TOKEN, SIGNING_SECRET, Bench
from tests.test_lookup import command, item_ids, text_of

DATA = Path(__file__).parent / "data" / "identity"
ATTACKER = "tom.hughes@example.com"  # UK sales: neither the Nordics team nor the Nordics region
UK_LEAD = "olivia.grant@example.com"
ADMIN = "handover.desk@example.com"


@pytest.fixture
def cli(bench: Bench, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The `handover` command on the bench's database (SQLite or PostgreSQL) and Slack fake."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    env = {
        "DATABASE_URL": bench.ctx.settings.database_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": bench.fake.api_url,
        "HANDOVER_API_TOKEN": API_TOKEN,
        "COLUMNS": "200",
    }
    monkeypatch.delenv("HANDOVER_CONFIG", raising=False)
    runner = CliRunner()

    def run(*args: str, code: int | None = 0) -> Any:
        result = runner.invoke(app, list(args), env=env, catch_exceptions=False)
        bench.clock.set(datetime.now(UTC))  # the CLI runs on the real clock: what it queued is due now
        if code is not None:
            assert result.exit_code == code, result.output
        return result

    return run


def write(tmp_path: Path, text: str, name: str = "export.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def customers(bench: Bench) -> list[Customer]:
    with bench.db() as s:
        return list(s.exec(select(Customer).order_by(Customer.id)))


def customer_of(bench: Bench, item_id: int) -> Customer:
    with bench.db() as s:
        return s.get(Customer, bench.item(item_id).customer_id)


def card_text(bench: Bench, item_id: int) -> str:
    card = bench.card(item_id)
    return (card.text or "") + str(card.blocks)


# ----- 1. the Public Suffix List -----------------------------------------------------------------


def test_companies_under_two_part_suffixes_are_their_own_customers(bench: Bench, cli, tmp_path: Path) -> None:
    export = DATA / "two_part_suffixes.csv"
    out = cli("import", str(export), "--event", "Expo", "--no-deliver")
    assert "10 created" in out.output
    found = {(c.name, c.domain) for c in customers(bench)}
    assert found == {
        ("Harbour Logistics Ltd", "harbourlogistics.co.uk"),
        ("Thames Water Tech", "thameswatertech.co.uk"),
        ("Foo Pty Ltd", "foo.com.au"),
        ("Bar Pty Ltd", "bar.com.au"),
        ("X KK", "x.co.jp"),
        ("Y Ltda", "y.com.br"),
        ("Gmail Person One", None),
        ("Gmail Person Two", None),
        ("Mail.ru Person", None),
    }
    assert not any(c.domain in ("co.uk", "com.au", "co.jp", "com.br", "gmail.com", "mail.ru") for c in customers(bench))
    # each card names its own company
    bench.deliver()
    items = bench.items()
    thames = next(i for i in items if i.contact_email == "oliver.price@thameswatertech.co.uk")
    assert "Thames Water Tech" in card_text(bench, thames.id) and "Harbour" not in card_text(bench, thames.id)
    # look-ups by domain find the right one
    shown = command(bench, ADMIN, "customer thameswatertech.co.uk")
    assert item_ids(shown.blocks) == [thames.id]


def test_the_demo_sample_files_every_company_once(bench: Bench, cli) -> None:
    cli("import", str(sample_path("global_event_2026.csv")), "--event", "Global Event 2026", "--no-deliver", code=1)
    with bench.db() as s:
        rows = s.exec(
            select(Customer.name, Customer.domain, Item.contact_email)
            .join(Item, Item.customer_id == Customer.id)
            .order_by(Item.id)
        ).all()
    by_contact = {email: (name, domain) for name, domain, email in rows}
    assert by_contact["emma.clarke@harbourlogistics.co.uk"] == ("Harbour Logistics Ltd", "harbourlogistics.co.uk")
    assert by_contact["oliver.price@thameswatertech.co.uk"] == ("Thames Water Tech", "thameswatertech.co.uk")
    assert by_contact["james.moore@riversideretail.co.uk"] == ("Riverside Retail", "riversideretail.co.uk")
    # ACME AB, Acme and ACME Aktiebolag (all acme.se) are one customer; the other companies one each
    assert {by_contact[e] for e in ("ola.nordmann@acme.se", "kari.holm@acme.se", "per.strand@acme.se")} == {
        ("ACME AB", "acme.se")
    }
    assert len(customers(bench)) == 10
    listed = cli("customers", "list").output
    for name in ("Harbour Logistics Ltd", "Thames Water Tech", "Riverside Retail", "ACME AB"):
        assert name in listed
    uk = cli("customers", "list", "co.uk").output
    assert "3 customer(s)" in uk and "ACME" not in uk
    # the sample's account owners stay on their items: no customer got one from an import
    assert all(c.account_owner_email is None and c.region is None for c in customers(bench))
    assert {i.account_owner_email for i in bench.items()} == {None, "anna.berg@example.com", "m.berg@example.com"}


def test_the_demo_shows_the_right_customers() -> None:
    result = CliRunner().invoke(app, ["demo"], env={"COLUMNS": "400"}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("Customers filed:"))
    assert "Harbour Logistics Ltd (harbourlogistics.co.uk) 1" in line
    assert "Thames Water Tech (thameswatertech.co.uk) 1" in line
    assert "Riverside Retail (riversideretail.co.uk) 1" in line
    assert "ACME AB (acme.se) 3" in line and "co.uk)" not in line.replace(".co.uk)", "")
    # ACME's account owner set by the admin routes the recategorized note to her
    assert "Re-routed by the rules for Opportunity Intelligence to Anna Berg" in result.output.replace("\n", " ")


# ----- 10. names in any script ------------------------------------------------------------------


def test_names_in_three_scripts_are_three_customers_and_each_is_found(bench: Bench) -> None:
    sender = "kim.stand@example.com"
    bench.add_user(sender) if sender not in bench.users else None
    common = {"contact_email": None, "region": None, "sender_email": sender, "category": "customer_intelligence"}
    sakura = hand_over(bench, customer="株式会社さくら", **common)
    sber = hand_over(bench, customer="Сбербанк", **common)
    stc = hand_over(bench, customer="شركة الاتصالات", **common)
    sakura_again = hand_over(bench, customer="さくら(株)", **common)  # the legal form written after, abbreviated
    sber_again = hand_over(bench, customer="ПАО «Сбербанк»", **common)
    ids = {customer_of(bench, i).id for i in (sakura, sber, stc)}
    assert len(ids) == 3
    assert customer_of(bench, sakura_again).id == customer_of(bench, sakura).id
    assert customer_of(bench, sber_again).id == customer_of(bench, sber).id
    assert {c.normalized_name for c in customers(bench)} == {"さくら", "сбербанк", "شركة الاتصالات"}
    # routed to marketing, not to one shared customer's owner; each look-up finds its own customer
    for query, wanted in (
        ("Сбербанк", {sber, sber_again}),
        ("сбербанк", {sber, sber_again}),
        ("Сбер", {sber, sber_again}),  # partial
        ("Сбербанкк", {sber, sber_again}),  # a typo: the similar-name match
        ("株式会社さくら", {sakura, sakura_again}),
        ("さくら", {sakura, sakura_again}),
        ("شركة الاتصالات", {stc}),
        ("الاتصالات", {stc}),
    ):
        shown = command(bench, sender, f"customer {query}")
        assert set(item_ids(shown.blocks)) == wanted, (query, text_of(shown.blocks))


def test_a_name_that_normalizes_to_nothing_never_merges(bench: Bench) -> None:
    names = ["!!!", "!!!", "株式会社", "株式会社", "AB", "ООО"]
    ids = [hand_over(bench, customer=n, contact_email=None, category="prospect") for n in names]
    assert len({customer_of(bench, i).id for i in ids}) == len(names)
    assert all(c.normalized_name == "" for c in customers(bench))
    # and a real company's name never lands on them either
    acme = hand_over(bench, customer="Acme AB", contact_email=None, category="prospect")
    assert customer_of(bench, acme).id not in {customer_of(bench, i).id for i in ids}
    shown = command(bench, ADMIN, "customer !!!")
    assert item_ids(shown.blocks) == []


def test_normalization_keeps_scripts_apart_and_strips_only_legal_forms() -> None:
    assert normalize_name("ACME AB") == normalize_name("Acme") == normalize_name("acme aktiebolag") == "acme"
    assert normalize_name("Müller GmbH") == normalize_name("Muller") == "muller"
    assert normalize_name("㈱さくら") == normalize_name("株式会社さくら") == "さくら"
    assert normalize_name("が") != normalize_name("か")  # a mark is part of a Japanese letter
    assert normalize_name("ООО «Ромашка»") == "ромашка"
    assert normalize_name("شركة الاتصالات ش.م.م") == "شركة الاتصالات"  # ش.م.م is a legal form, شركة is a word
    assert normalize_name("삼성전자 주식회사") == "삼성전자"
    assert normalize_name("Acme\u200b\u00a0AB") == "acme"


# ----- 6. invisible characters ----------------------------------------------------------------------

DIRTY_EMAIL = "\u200bola.nordmann@acme.se\u00a0"
DIRTY_DOMAIN = "\ufeffacme\u200d.se\u200e"


def _assert_clean(bench: Bench, item_id: int, email: str) -> None:
    item = bench.item(item_id)
    assert item.contact_email == email
    customer = customer_of(bench, item_id)
    assert customer.domain == "acme.se"
    for value in (item.contact_email, item.business_builder_email, item.sender_email, customer.domain):
        assert not any(invisible(ch) for ch in value or ""), repr(value)
    bench.deliver()
    assert not any(ch in card_text(bench, item_id) for ch in "\u200b\u200d\u200e\ufeff")


def test_invisible_characters_leave_identifiers_through_the_api(bench: Bench) -> None:
    plain = hand_over(bench, customer="ACME AB", contact_email="kari.holm@acme.se")
    dirty = hand_over(
        bench,
        customer="Acme",
        contact_email=DIRTY_EMAIL,
        customer_domain=DIRTY_DOMAIN,
        sender_email="\u202bkim.stand@example.com\u202c",
    )
    _assert_clean(bench, dirty, "ola.nordmann@acme.se")
    assert bench.item(dirty).sender_email == "kim.stand@example.com"
    assert customer_of(bench, dirty).id == customer_of(bench, plain).id


def test_invisible_characters_leave_identifiers_through_the_capture_modal(bench: Bench) -> None:
    plain = hand_over(bench, customer="ACME AB", contact_email="kari.holm@acme.se")
    bb = bench.add_user("bb.stand@example.com")
    bench.agent.command(user=bb, command="/handover", text="new", channel="C0STAND")
    view = bench.fake.views_opened_by(bb)[-1]
    assert view.callback_id == CallbackId.NEW_ITEM
    r = bench.agent.submit_view(
        user=bb,
        view=view,
        values={
            "customer": "Acme",
            "contact_email": "ola.nordmann\u200b@acme.se\u2060",
            "customer_domain": DIRTY_DOMAIN,
            "description": "Routers.",
        },
    )
    assert r.status_code == 200 and (not r.content or r.json().get("response_action") != "errors"), r.text
    dirty = max(i.id for i in bench.items())
    _assert_clean(bench, dirty, "ola.nordmann@acme.se")
    assert customer_of(bench, dirty).id == customer_of(bench, plain).id


def test_invisible_characters_leave_identifiers_through_the_import(bench: Bench, cli, tmp_path: Path) -> None:
    plain = hand_over(bench, customer="ACME AB", contact_email="kari.holm@acme.se")
    export = DATA / "invisible_identifiers.csv"
    out = cli("import", str(export), "--event", "Expo", "--no-deliver")
    assert "2 created" in out.output, out.output
    ola, per = sorted((i for i in bench.items() if i.id != plain), key=lambda i: i.id)
    _assert_clean(bench, ola.id, "ola.nordmann@acme.se")
    _assert_clean(bench, per.id, "per.strand@acme.se")
    assert bench.item(ola.id).business_builder_email == "kim.stand@example.com"
    assert customer_of(bench, ola.id).id == customer_of(bench, per.id).id == customer_of(bench, plain).id


# ----- 11. intake never changes who may see a customer -------------------------------------------------


def _attack(bench: Bench, cli, tmp_path: Path, way: str) -> int:
    """The attacker hands over an item on Nordic Fibre AB naming their own region and themself as
    account owner; returns the item's id."""
    attacker = bench.user(ATTACKER)
    if way == "modal":
        bench.agent.command(user=attacker, command="/handover", text="new", channel="C0STAND")
        view = bench.fake.views_opened_by(attacker)[-1]
        r = bench.agent.submit_view(
            user=attacker,
            view=view,
            values={
                "customer": "Nordic Fibre AB",
                "customer_domain": "nordicfibre.example",
                "region": "uk",
                "contact_email": "cto@nordicfibre.example",
                "description": "Pulling this account into my view.",
            },
        )
        assert r.status_code == 200 and (not r.content or r.json().get("response_action") != "errors"), r.text
    elif way == "api":
        hand_over(
            bench,
            customer="Nordic Fibre AB",
            contact_email="cto@nordicfibre.example",
            region="uk",
            account_owner_email=ATTACKER,
            sender_email=ATTACKER,
            category="customer_intelligence",
        )
    else:
        export = write(
            tmp_path,
            "Company;E-mail;Region;Account owner;Sender;Category;Notes\n"
            f"Nordic Fibre AB;cto@nordicfibre.example;uk;{ATTACKER};{ATTACKER};"
            "Customer Intelligence;Pulling this account into my view.\n",
        )
        cli("import", str(export), "--event", "Expo", "--no-deliver")
    bench.deliver()
    return max(i.id for i in bench.items())


@pytest.mark.parametrize("way", ["modal", "api", "import"])
def test_a_member_cannot_pull_another_regions_customer_into_view(bench: Bench, cli, tmp_path: Path, way: str) -> None:
    # confidential intelligence on a customer with no region and no account owner yet (the state in
    # which an item's region or account owner used to be copied onto the customer)
    secret = [
        hand_over(
            bench,
            customer="Nordic Fibre AB",
            contact_email=f"c{n}@nordicfibre.example",
            region=None,
            category="customer_intelligence",
            description=f"Confidential {n}",
        )
        for n in range(2)
    ]
    before = customer_of(bench, secret[0])
    assert (before.region, before.account_owner_email) == (None, None)
    mine = _attack(bench, cli, tmp_path, way)
    assert bench.item(mine).customer_id == before.id
    after = customer_of(bench, mine)
    assert (after.region, after.account_owner_email, after.domain) == (None, None, "nordicfibre.example")
    item = bench.item(mine)
    assert item.region == "uk"  # the item's own values stay on the item
    if way != "modal":
        assert item.account_owner_email == ATTACKER
    for viewer in (ATTACKER, UK_LEAD):
        shown = command(bench, viewer, "customer Nordic Fibre")
        assert not set(secret) & set(item_ids(shown.blocks)), (viewer, text_of(shown.blocks))
        assert "2 items on Nordic Fibre AB are withheld" in text_of(shown.blocks)
    assert mine in item_ids(command(bench, ATTACKER, "customer Nordic Fibre").blocks)  # they still see their own


def test_an_admin_set_region_and_account_owner_survive_every_way_in(bench: Bench, cli, tmp_path: Path) -> None:
    secret = hand_over(
        bench,
        customer="Nordic Fibre AB",
        contact_email="c@nordicfibre.example",
        region=None,
        category="customer_intelligence",
    )
    set_customer(bench, "nordicfibre.example", region="nordics", account_owner="anna.berg@example.com")
    for way in ("modal", "api", "import"):
        _attack(bench, cli, tmp_path, way)
        c = customer_of(bench, secret)
        assert (c.region, c.account_owner_email) == ("nordics", "anna.berg@example.com"), way
    assert secret not in item_ids(command(bench, ATTACKER, "customer Nordic Fibre").blocks)
    assert secret in item_ids(command(bench, "anna.berg@example.com", "customer Nordic Fibre").blocks)


# ----- 13. correcting customer records ------------------------------------------------------------------


def _events(bench: Bench, customer_id: int) -> list[CustomerEvent]:
    with bench.db() as s:
        return list(
            s.exec(select(CustomerEvent).where(CustomerEvent.customer_id == customer_id).order_by(CustomerEvent.id))
        )


def test_set_region_and_account_owner_by_the_admin_command(bench: Bench, cli) -> None:
    secret = hand_over(
        bench, customer="Сбербанк", contact_email="a@sberbank.example", region=None, category="customer_intelligence"
    )
    owner = "anna.berg@example.com"
    assert secret not in item_ids(command(bench, owner, "customer Сбербанк").blocks)
    out = cli("customers", "set", "Сбербанк", "--region", "Nordics", "--account-owner", owner, "--by", ADMIN)
    assert "account_owner_email: (none) → anna.berg@example.com" in out.output
    c = customer_of(bench, secret)
    assert (c.region, c.account_owner_email) == ("nordics", owner)
    assert secret in item_ids(command(bench, owner, "customer Сбербанк").blocks)
    assert secret in item_ids(command(bench, "johan.ek@example.com", "customer Сбербанк").blocks)  # Nordics region
    [event] = _events(bench, c.id)
    assert (event.kind, event.actor) == ("customer_set", ADMIN)
    assert event.detail["changes"]["region"] == [None, "nordics"]
    assert [e.kind for e in bench.trail(secret)][-1] == "customer_set"
    # clearing it closes the account again; a bad e-mail is refused with a reason, nothing changed
    cli("customers", "set", f"#{c.id}", "--account-owner", "", "--region", "")
    assert secret not in item_ids(command(bench, owner, "customer Сбербанк").blocks)
    bad = cli("customers", "set", "sberbank.example", "--account-owner", "nobody", code=1)
    assert "not an e-mail address" in bad.output
    assert len(_events(bench, c.id)) == 2


def test_merge_moves_the_items_and_is_audited(bench: Bench, cli) -> None:
    a = hand_over(
        bench,
        customer="Harbour Logistics Ltd",
        contact_email="emma@harbourlogistics.co.uk",
        region=None,
        category="customer_intelligence",
    )
    b = hand_over(
        bench,
        customer="Harbour Group UK",
        contact_email="ops@harbour-group.example",
        region=None,
        category="customer_intelligence",
    )
    keep, other = customer_of(bench, a), customer_of(bench, b)
    assert keep.id != other.id
    set_customer(bench, "harbour-group.example", region="uk")
    out = cli("customers", "merge", "harbourlogistics.co.uk", "Harbour Group UK", "--by", ADMIN)
    assert (
        f"Merged #{other.id} Harbour Group UK into #{keep.id} Harbour Logistics Ltd: 1 item(s) moved"
        in out.output.replace("\n", " ")
    )
    assert bench.item(b).customer_id == keep.id
    assert [c.id for c in customers(bench)] == [keep.id]
    assert customer_of(bench, a).region == "uk"  # the kept record had none: it took the other's
    trail = bench.trail(b)[-1]
    assert (trail.kind, trail.actor, trail.detail["from_customer"]) == ("customer_merged", ADMIN, other.id)
    assert [e.kind for e in _events(bench, keep.id)] == ["customer_merged"]
    assert [e.kind for e in _events(bench, other.id)] == ["customer_set", "customer_merged"]
    # one look-up finds both items now; the next item about the merged-away company lands on the kept record
    assert set(item_ids(command(bench, ADMIN, "customer harbourlogistics.co.uk").blocks)) == {a, b}
    # the merged-away company's domain and name, as people still know it, find the kept record
    for query in ("harbour-group.example", "Harbour Group UK", "someone@harbour-group.example"):
        assert set(item_ids(command(bench, ADMIN, f"customer {query}").blocks)) == {a, b}, query
    later = hand_over(
        bench,
        customer="Harbour Group UK",
        contact_email="new@harbour-group.example",
        region=None,
        category="customer_intelligence",
    )
    assert bench.item(later).customer_id == keep.id
    assert f"#{keep.id} Harbour Logistics Ltd" in cli("customers", "show", "harbour-group.example").output
    # a merge that would change who sees the items is refused until an admin decides
    c = hand_over(
        bench,
        customer="Thames Water Tech",
        contact_email="o@thameswatertech.co.uk",
        region=None,
        category="customer_intelligence",
    )
    set_customer(bench, "thameswatertech.co.uk", region="nordics")
    refused = cli("customers", "merge", f"#{keep.id}", "thameswatertech.co.uk", code=1)
    assert "different regions" in refused.output
    assert bench.item(c).customer_id != keep.id


def test_split_by_domain_repairs_companies_merged_under_a_public_suffix(bench: Bench, cli) -> None:
    ids = {
        d: hand_over(bench, customer=name, contact_email=f"x@{d}", region=None, category="customer_intelligence")
        for name, d in (
            ("Harbour Logistics Ltd", "harbourlogistics.co.uk"),
            ("Thames Water Tech", "thameswatertech.co.uk"),
            ("Riverside Retail", "riversideretail.co.uk"),
        )
    }
    # the old state: everything at *.co.uk on the first company (made here by two merges)
    cli("customers", "merge", "harbourlogistics.co.uk", "thameswatertech.co.uk")
    cli("customers", "merge", "harbourlogistics.co.uk", "Riverside Retail")
    harbour = customer_of(bench, ids["harbourlogistics.co.uk"])
    assert {bench.item(i).customer_id for i in ids.values()} == {harbour.id}
    out = cli("customers", "split", "Harbour Logistics", "--by-domain", "--by", ADMIN).output
    assert out.count("moved from") == 2
    for domain, item_id in ids.items():
        assert customer_of(bench, item_id).domain == domain
    assert len(customers(bench)) == 3
    thames = customer_of(bench, ids["thameswatertech.co.uk"])
    assert [(e.kind, e.actor) for e in _events(bench, thames.id)][-1] == ("customer_split", ADMIN)
    assert bench.trail(ids["thameswatertech.co.uk"])[-1].detail == {
        "from_customer": harbour.id,
        "to_customer": thames.id,
    }
    cli("customers", "set", "thameswatertech.co.uk", "--name", "Thames Water Tech")
    later = hand_over(
        bench,
        customer="Thames Water Tech",
        contact_email="y@thameswatertech.co.uk",
        region=None,
        category="customer_intelligence",
    )
    assert bench.item(later).customer_id == thames.id  # the split sticks for the next items
    assert set(item_ids(command(bench, ADMIN, "customer Thames Water").blocks)) == {ids["thameswatertech.co.uk"], later}


def test_split_named_items_off_a_shared_domain(bench: Bench, cli) -> None:
    # a reseller's domain: two brands' contacts, one record
    a = hand_over(bench, customer="Reseller AB", contact_email="a@reseller.example", region=None, category="prospect")
    b = hand_over(bench, customer="Brand B", contact_email="b@reseller.example", region=None, category="prospect")
    assert customer_of(bench, a).id == customer_of(bench, b).id
    source = customer_of(bench, a)
    out = cli("customers", "split", "reseller.example", "--item", str(b), "--name", "Brand B Oy", "--by", ADMIN)
    assert "to new customer" in out.output
    brand = customer_of(bench, b)
    assert brand.id != source.id and (brand.name, brand.domain, brand.region) == ("Brand B Oy", None, None)
    assert bench.item(a).customer_id == source.id
    assert bench.trail(b)[-1].kind == "customer_split"
    assert [e.kind for e in _events(bench, source.id)] == ["customer_split"]
    # an item not filed there, or no target, is refused with a reason and nothing moves
    refused = cli("customers", "split", "reseller.example", "--item", str(b), "--name", "X", code=1)
    assert "not filed under" in refused.output
    assert "Say where" in cli("customers", "split", "reseller.example", "--item", str(a), code=1).output
    show = cli("customers", "show", f"#{brand.id}").output
    assert "Brand B Oy" in show and f"item #{b}" in show and "customer_split" in show


def test_an_ambiguous_name_is_refused_with_the_numbers(bench: Bench, cli) -> None:
    hand_over(bench, customer="Nordic Data AB", contact_email="a@nordicdata.se", region=None, category="prospect")
    hand_over(bench, customer="Nordic Data Oy", contact_email="a@nordicdata.fi", region=None, category="prospect")
    out = cli("customers", "set", "Nordic Data", "--region", "nordics", code=1)
    ids = [c.id for c in customers(bench)]
    assert "names 2 customers" in out.output and all(f"#{i}" in out.output for i in ids)
    assert all(c.region is None for c in customers(bench))


# ----- the migration -------------------------------------------------------------------------------------


def test_the_migration_recomputes_names_and_domains(tmp_path: Path) -> None:
    import sqlalchemy as sa

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate.upgrade(engine, "0003")
    with engine.begin() as conn:
        for name, norm, domain in (
            ("株式会社さくら", "", None),
            ("Сбербанк", "", None),
            ("Harbour Logistics Ltd", "harbour logistics", "co.uk"),
            ("Gmail Person", "gmail person", "gmail.com"),
            ("ACME AB", "acme", "acme.se"),
        ):
            conn.execute(
                sa.text(
                    "INSERT INTO customer (name, normalized_name, domain, created_at) "
                    "VALUES (:n, :m, :d, '2026-01-01 00:00:00')"
                ),
                {"n": name, "m": norm, "d": domain},
            )
    migrate.upgrade(engine)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT normalized_name, domain FROM customer ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [
        ("さくら", None),
        ("сбербанк", None),
        ("harbour logistics", None),
        ("gmail person", None),
        ("acme", "acme.se"),
    ]
    engine.dispose()
