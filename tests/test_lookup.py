"""Look-ups: /handover customer (matching, the picker, paging, withheld counts), /handover mine,
/handover sent, the "Look up a customer" shortcut and GET /api/customers — each logged."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlmodel import select

from bot.fakeslack.server import Message
from bot.fakeslack.validate import validate_blocks
from bot.ids import ActionId, CallbackId, LookupRef
from bot.models import LookupLog, Question
from tests.flow import accept, discard, hand_over, set_customer
from tests.harness import API_TOKEN, Bench

ADMIN = "handover.desk@example.com"  # roles.admins of the default configuration
SENDER = "marketing.ops@example.com"
BB = "bb.stand@example.com"


# ----- what a person sees ---------------------------------------------------------------------------


def text_of(blocks: list[dict[str, Any]]) -> str:
    out = []
    for block in blocks:
        if isinstance(block.get("text"), dict):
            out.append(block["text"]["text"])
        out += [
            e.get("text", "") for e in block.get("elements") or [] if isinstance(e, dict) and e.get("type") == "mrkdwn"
        ]
    return "\n".join(out)


def item_ids(blocks: list[dict[str, Any]]) -> list[int]:
    """The items a message shows, in order (each item is one section, block_id "item:<id>")."""
    return [int(b["block_id"].split(":")[1]) for b in blocks if (b.get("block_id") or "").startswith("item:")]


def command(bench: Bench, email: str, text: str) -> Message:
    """``email`` types ``/handover <text>``; the ephemeral answer they see."""
    user = bench.user(email) if email in bench.users else bench.add_user(email)
    r = bench.agent.command(user=user, command="/handover", text=text)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body.get("response_type") == "ephemeral"
    assert validate_blocks(body.get("blocks") or []) == []
    return bench.agent.shown(r, user=user)


def logs(bench: Bench) -> list[LookupLog]:
    with bench.db() as s:
        return list(s.exec(select(LookupLog).order_by(LookupLog.id)))


def api(bench: Bench, *, user: str | None, token: str | None = API_TOKEN, **params: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if user:
        headers["X-Handover-User"] = user
    return httpx.get(f"{bench.url}/api/customers", params=params, headers=headers, timeout=10)


def nordic_fibre(bench: Bench) -> dict[str, int]:
    """Nordic Fibre AB: one Lead accepted (with a follow-up and an open request), one discarded,
    one waiting with a question the Business Builder answered."""
    bench.add_user(SENDER)
    bench.add_user(BB)
    ids = {
        "owned": hand_over(
            bench,
            category="lead",
            sender_email=SENDER,
            business_builder_email=BB,
            customer_request="Send a quote for two switches",
        ),
        "discarded": hand_over(bench, category="lead", sender_email=SENDER, description="A student project."),
        "waiting": hand_over(
            bench,
            category="lead",
            sender_email=SENDER,
            business_builder_email=BB,
            description="Asked about 400G optics.",
        ),
    }
    accept(bench, ids["owned"])
    discard(bench, ids["discarded"])
    receiver = bench.item(ids["waiting"]).receiver_user_id
    bench.agent.click(user=receiver, message=bench.card(ids["waiting"]), action_id=ActionId.ASK)
    bench.agent.submit_view(
        user=receiver, view=bench.fake.views_opened_by(receiver)[-1], values={"question": "Which sites did they mean?"}
    )
    bench.deliver()
    with bench.db() as s:
        q = s.exec(select(Question).where(Question.item_id == ids["waiting"])).one()
    bench.agent.user_message(user=bench.user(BB), channel=q.bb_channel, thread_ts=q.bb_ts, text="Gothenburg and Malmö.")
    owner = bench.item(ids["owned"]).owner_user_id
    bench.agent.click(user=owner, message=bench.card(ids["owned"]), action_id=ActionId.FOLLOW_UP)
    bench.agent.submit_view(
        user=owner,
        view=bench.fake.views_opened_by(owner)[-1],
        values={"kind": "contacted", "note": "Called Eva, meeting next week"},
    )
    bench.deliver()
    return ids


# ----- a customer -------------------------------------------------------------------------------------


def test_the_customer_look_up_shows_open_and_past_items_questions_requests_and_follow_ups(bench: Bench) -> None:
    ids = nordic_fibre(bench)
    shown = command(bench, ADMIN, "customer Nordic Fibre AB")
    text = text_of(shown.blocks)
    assert shown.blocks[0]["type"] == "header" and shown.blocks[0]["text"]["text"] == "Nordic Fibre AB"
    assert "2 open items, 1 past item" in text
    assert set(item_ids(shown.blocks)) == set(ids.values())
    open_part, past_part = text.split("*Past items*")
    assert "Owned by <@" in open_part and "Waiting for <@" in open_part
    assert "Discarded by <@" in past_part and "Not a real customer interest" in past_part
    assert "Customer requests still open" not in text  # the follow-up ended the request
    assert "Which sites did they mean?" in text and "Gothenburg and Malmö." in text
    assert "contacted the customer" in text and "Called Eva, meeting next week" in text
    assert "withheld" not in text
    [log] = logs(bench)
    assert (log.who, log.via, log.query, log.shown, log.withheld) == (
        bench.user(ADMIN),
        "command",
        "Nordic Fibre AB",
        3,
        0,
    )
    assert log.customer_id == bench.item(ids["owned"]).customer_id


def test_an_open_customer_request_stands_out(bench: Bench) -> None:
    item_id = hand_over(bench, category="lead", customer_request="Call me in May")
    text = text_of(command(bench, ADMIN, "customer Nordic Fibre").blocks)
    assert "*Customer requests still open* (1)" in text and f"#{item_id} · Call me in May" in text


def test_fuzzy_domain_and_contact_e_mail_find_the_customer(bench: Bench) -> None:
    fibre = hand_over(bench, customer="Nordic Fibre AB", contact_email="eva.lund@nordicfibre.example")
    cafe = hand_over(bench, customer="Fjordkafé AS", contact_email="ola.fjord@gmail.com", region="norway")
    for query, expected in [
        ("nordic fibre", fibre),  # the normalized name ("AB" is a legal form)
        ("NORDIC FIBRE ab", fibre),
        ("nordik fiber", fibre),  # a typo: difflib
        ("fibre", fibre),  # part of the name
        ("nordicfibre.example", fibre),  # the domain
        ("https://www.nordicfibre.example/contact", fibre),
        ("someone.else@nordicfibre.example", fibre),  # an address at the domain
        ("eva.lund@nordicfibre.example", fibre),  # the contact's address
        ("ola.fjord@gmail.com", cafe),  # a free-mail contact: matched by the address, not the domain
        ("fjordkafe", cafe),  # accents fold
    ]:
        shown = command(bench, ADMIN, f"customer {query}")
        assert item_ids(shown.blocks) == [expected], query
    assert [log.query for log in logs(bench)][-1] == "fjordkafe"
    nothing = command(bench, ADMIN, "customer Zebra Logistics")
    assert "No customer matches _Zebra Logistics_" in nothing.text and item_ids(nothing.blocks) == []
    nobody = command(bench, ADMIN, "customer someone@gmail.com")  # a free-mail address nobody gave
    assert "No customer matches" in nobody.text
    assert logs(bench)[-1].customer_id is None and logs(bench)[-1].shown == 0


def test_an_empty_customer_look_up_explains_itself(bench: Bench) -> None:
    shown = command(bench, ADMIN, "customer")
    assert "/handover customer &lt;name, domain or e-mail&gt;" in shown.text
    assert logs(bench) == []


def test_several_matches_get_a_picker_and_choosing_one_answers_in_place(bench: Bench) -> None:
    fibre = hand_over(bench, customer="Nordic Fibre AB", contact_email="eva@nordicfibre.example")
    data = hand_over(bench, customer="Nordic Data Oy", contact_email="mika@nordicdata.example", region="finland")
    hand_over(bench, customer="Baltic Steel", contact_email="x@balticsteel.example")
    admin = bench.user(ADMIN)
    shown = command(bench, ADMIN, "customer nordic")
    assert "2 customers match _nordic_" in shown.text
    matches = [b for b in shown.blocks if (b.get("block_id") or "").startswith("match:")]
    assert [m["text"]["text"].split("*")[1] for m in matches] == ["Nordic Data Oy", "Nordic Fibre AB"]
    assert item_ids(shown.blocks) == []  # nothing about either customer until one is chosen
    choice = next(m["accessory"]["value"] for m in matches if "Nordic Data Oy" in m["text"]["text"])
    r = bench.agent.click(user=admin, message=shown, action_id=ActionId.LOOKUP_PICK, value=choice)
    assert r.status_code == 200
    [answer] = bench.fake.responses_to(admin)  # the picker was replaced, not answered beside
    assert answer.updated == 1 and item_ids(answer.blocks) == [data] and fibre not in item_ids(answer.blocks)
    assert answer.blocks[0]["text"]["text"] == "Nordic Data Oy"
    first, second = logs(bench)
    assert (first.query, first.customer_id, first.shown) == ("nordic", None, 0)
    assert (second.query, second.customer_id, second.shown) == ("nordic", bench.item(data).customer_id, 1)


def test_an_exact_name_wins_over_names_that_contain_it(bench: Bench) -> None:
    acme = hand_over(bench, customer="Acme AB", contact_email="a@acme.example")
    hand_over(bench, customer="Acme Services GmbH", contact_email="b@acmeservices.example", region="dach")
    assert item_ids(command(bench, ADMIN, "customer ACME").blocks) == [acme]
    assert "2 customers match" in command(bench, ADMIN, "customer acm").text


# ----- paging -----------------------------------------------------------------------------------------


def post(bench: Bench, n: int, **fields: Any) -> list[int]:
    """``n`` items through the intake API (cards are not needed to look them up)."""
    ids = []
    for k in range(n):
        body = {
            "external_id": f"bulk-{k}",
            "customer": "Nordic Fibre AB",
            "contact_email": f"c{k}@nordicfibre.example",
            "region": "nordics",
            "category": "lead",
            "event": "Global Event 2026",
            "description": f"Item {k}: " + "they run two data centres and want to replace the core switches. " * 30,
            **fields,
        }
        r = httpx.post(
            f"{bench.url}/api/items", json=body, headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=10
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return ids


def test_a_long_look_up_is_paged_and_more_shows_the_rest_in_the_message_and_the_modal(bench: Bench) -> None:
    ids = post(bench, 100)
    admin = bench.user(ADMIN)
    shown = command(bench, ADMIN, "customer nordicfibre.example")
    more = next(e for b in shown.blocks if b["type"] == "actions" for e in b["elements"])
    assert more["action_id"] == ActionId.LOOKUP_MORE
    ref = LookupRef.parse(more["value"])
    assert ref is not None and ref.p == 1 and ref.c == bench.item(ids[0]).customer_id
    pages = []
    while True:
        assert len(shown.blocks) <= 50 and f"Page {len(pages) + 1} of 3" in text_of(shown.blocks)
        assert all(len(b["text"]["text"]) <= 3000 for b in shown.blocks if isinstance(b.get("text"), dict))
        assert shown.blocks[0]["text"]["text"] == "Nordic Fibre AB"  # each page says whose items they are
        pages.append(item_ids(shown.blocks))
        if ActionId.LOOKUP_MORE.value not in str(shown.blocks):
            break
        assert bench.agent.click(user=admin, message=shown, action_id=ActionId.LOOKUP_MORE).status_code == 200
        assert bench.fake.responses_to(admin) == [shown]  # replaced in place, no second message
    assert len(pages) == 3 and shown.updated == 2
    everything = [i for page in pages for i in page]
    assert sorted(everything) == sorted(ids) and len(set(everything)) == 100
    assert everything == sorted(ids, reverse=True)  # newest first
    assert [(log.via, log.shown) for log in logs(bench)] == [("command", 100)] * 3

    # the modal holds 100 blocks: two pages, More updates the modal
    bench.agent.shortcut(user=admin, callback_id=CallbackId.LOOKUP_SHORTCUT)
    view = bench.fake.views_opened_by(admin)[-1]
    bench.agent.submit_view(user=admin, view=view, values={"query": "Nordic Fibre"})
    first = bench.fake.views[view.id]
    assert len(first.blocks) <= 100 and "Page 1 of 2" in text_of(first.blocks)
    on_first = item_ids(first.blocks)
    assert bench.agent.click_in_view(user=admin, view=first, action_id=ActionId.LOOKUP_MORE).status_code == 200
    second = bench.fake.views[view.id]
    assert "Page 2 of 2" in text_of(second.blocks) and ActionId.LOOKUP_MORE.value not in str(second.blocks)
    assert sorted(on_first + item_ids(second.blocks)) == sorted(ids)
    assert second.blocks[0]["block_id"] == "query"  # the search stays on top
    assert [(log.via, log.shown) for log in logs(bench)][3:] == [("shortcut", 100)] * 2


# ----- withheld ---------------------------------------------------------------------------------------


def test_withheld_items_are_counted_and_the_account_owner_is_named(bench: Bench) -> None:
    hand_over(bench, category="lead", account_owner_email="olivia.grant@example.com")
    hand_over(bench, category="lead")
    set_customer(bench, "Nordic Fibre AB", account_owner="olivia.grant@example.com")  # an admin names the owner
    dach = "petra.huber@example.com"  # DACH sales: not the Nordics team, not the Nordics region
    shown = command(bench, dach, "customer Nordic Fibre")
    text = text_of(shown.blocks)
    assert item_ids(shown.blocks) == []
    assert "2 items on Nordic Fibre AB are withheld" in text
    assert f"Ask <@{bench.user('olivia.grant@example.com')}>" in text  # the account owner
    assert "nothing on Nordic Fibre AB you may see" in text
    [log] = logs(bench)
    assert (log.who, log.shown, log.withheld) == (bench.user(dach), 0, 2)


def test_without_an_account_owner_the_team_lead_is_named_else_an_admin(bench: Bench) -> None:
    hand_over(bench, category="lead")  # Nordics sales (team lead Lena)
    text = text_of(command(bench, "tom.hughes@example.com", "customer Nordic Fibre").blocks)
    assert "1 item on Nordic Fibre AB is withheld" in text
    assert f"Ask <@{bench.user('lena.lindqvist@example.com')}>" in text
    hand_over(bench, category="lead", customer="Lonely Ltd", contact_email="a@lonely.example", region="mars")
    text = text_of(command(bench, "tom.hughes@example.com", "customer Lonely").blocks)  # the fallback got it
    assert f"Ask <@{bench.user(ADMIN)}>" in text


# ----- mine and sent ----------------------------------------------------------------------------------


def test_mine_lists_what_waits_for_me_what_i_own_and_what_i_asked(bench: Bench) -> None:
    a = hand_over(bench, category="lead", customer="Anna One AB", contact_email="x@one.example", product_area="x")
    receiver = bench.item(a).receiver_user_id
    email = next(e for e, u in bench.users.items() if u == receiver)
    # the round robin gives the next two to colleagues; hand the third to the same person again
    b_ = hand_over(bench, category="lead", customer="Anna Two AB", contact_email="x@two.example")
    c = hand_over(bench, category="lead", customer="Anna Three AB", contact_email="x@three.example")
    d = hand_over(bench, category="lead", customer="Anna Four AB", contact_email="x@four.example")
    assert bench.item(d).receiver_user_id == receiver
    accept(bench, a)
    bench.agent.click(user=receiver, message=bench.card(d), action_id=ActionId.ASK)
    bench.agent.submit_view(
        user=receiver, view=bench.fake.views_opened_by(receiver)[-1], values={"question": "Is the budget approved?"}
    )
    bench.deliver()
    shown = command(bench, email, "mine")
    text = text_of(shown.blocks)
    assert "1 waiting for your decision, 1 you own" in text and "1 question you asked" in text
    decide, rest = text.split("*Yours to follow up*")
    assert "Anna Four AB" in decide and "Anna One AB" in rest and "Is the budget approved?" in rest
    assert (
        set(item_ids(shown.blocks)) == {a, d} and b_ not in item_ids(shown.blocks) and c not in item_ids(shown.blocks)
    )
    [log] = logs(bench)
    assert (log.query, log.via, log.shown, log.withheld) == ("mine", "command", 2, 0)


def test_sent_shows_what_became_of_what_i_handed_over(bench: Bench) -> None:
    bench.add_user(SENDER)
    kept = hand_over(bench, category="lead", sender_email=SENDER, customer="Kept AB", contact_email="a@kept.example")
    gone = hand_over(bench, category="lead", sender_email=SENDER, customer="Gone AB", contact_email="a@gone.example")
    waiting = hand_over(bench, category="lead", sender_email=SENDER, customer="Wait AB", contact_email="a@wait.example")
    hand_over(bench, category="lead", customer="Someone Else AB", contact_email="a@else.example")
    accept(bench, kept)
    discard(bench, gone)
    shown = command(bench, SENDER, "sent")
    text = text_of(shown.blocks)
    assert "3 items — 1 accepted, 1 waiting for a decision, 1 discarded, 0 closed" in text
    assert item_ids(shown.blocks) == [waiting, gone, kept]
    assert "Owned by <@" in text and "Discarded by <@" in text and "Student project" in text
    assert (logs(bench)[-1].query, logs(bench)[-1].shown) == ("sent", 3)
    empty = command(bench, "nina.koch@example.com", "sent")
    assert "You have not handed anything over yet" in text_of(empty.blocks)


def test_the_help_names_the_look_ups(bench: Bench) -> None:
    text = command(bench, ADMIN, "help").text
    assert "/handover customer" in text and "/handover mine" in text and "Look up a customer" in text


# ----- the shortcut and its modal ---------------------------------------------------------------------


def test_the_shortcut_opens_a_search_and_the_answer_replaces_it(bench: Bench) -> None:
    fibre = hand_over(bench, customer="Nordic Fibre AB", contact_email="eva@nordicfibre.example")
    data = hand_over(bench, customer="Nordic Data Oy", contact_email="mika@nordicdata.example", region="finland")
    admin = bench.user(ADMIN)
    assert bench.agent.shortcut(user=admin, callback_id=CallbackId.LOOKUP_SHORTCUT).status_code == 200
    view = bench.fake.views_opened_by(admin)[-1]
    assert view.callback_id == CallbackId.LOOKUP and view.title == "Look up a customer"
    r = bench.agent.submit_view(user=admin, view=view, values={"query": "nordicfibre.example"})
    assert r.status_code == 200 and r.json()["response_action"] == "update"
    updated = bench.fake.views[view.id]
    assert item_ids(updated.blocks) == [fibre] and not updated.closed
    # a second search in the same modal: two matches, pick one
    bench.agent.submit_view(user=admin, view=updated, values={"query": "nordic"})
    picker = bench.fake.views[view.id]
    assert "2 customers match" in text_of(picker.blocks)
    choice = next(
        b["accessory"]["value"] for b in picker.blocks if "Nordic Data Oy" in (b.get("text") or {}).get("text", "")
    )
    assert (
        bench.agent.click_in_view(user=admin, view=picker, action_id=ActionId.LOOKUP_PICK, value=choice).status_code
        == 200
    )
    assert item_ids(bench.fake.views[view.id].blocks) == [data]
    assert [(log.via, log.query, log.shown) for log in logs(bench)] == [
        ("shortcut", "nordicfibre.example", 1),
        ("shortcut", "nordic", 0),
        ("shortcut", "nordic", 1),
    ]


def test_an_empty_search_stays_in_the_modal(bench: Bench) -> None:
    admin = bench.user(ADMIN)
    bench.agent.shortcut(user=admin, callback_id=CallbackId.LOOKUP_SHORTCUT)
    view = bench.fake.views_opened_by(admin)[-1]
    r = bench.agent.submit_view(user=admin, view=view, values={"query": "   "})
    assert r.json()["response_action"] == "errors" and "query" in r.json()["errors"]
    assert logs(bench) == []


# ----- the API ----------------------------------------------------------------------------------------


def test_the_api_looks_up_on_behalf_of_a_named_person(bench: Bench) -> None:
    ids = nordic_fibre(bench)
    r = api(bench, user=ADMIN, q="nordic fibre")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["customer"]["name"] == "Nordic Fibre AB" and body["withheld"] == 0 and body["ask"] == []
    assert {i["id"] for i in body["items"]} == set(ids.values())
    assert body["questions"][0]["text"] == "Which sites did they mean?"
    assert body["questions"][0]["answers"][0]["text"] == "Gothenburg and Malmö."
    assert body["follow_ups"][0]["kind"] == "contacted"
    dach = api(bench, user="PETRA.HUBER@example.com", q="nordicfibre.example").json()
    assert dach["items"] == [] and dach["withheld"] == 3 and dach["ask"] == ["lena.lindqvist@example.com"]
    assert [(log.who, log.via, log.withheld) for log in logs(bench)] == [
        (ADMIN, "api", 0),
        ("petra.huber@example.com", "api", 3),
    ]  # on behalf of: the e-mail


def test_the_api_needs_a_token_and_a_person_and_offers_a_choice(bench: Bench) -> None:
    fibre_item = hand_over(bench, customer="Nordic Fibre AB", contact_email="eva@nordicfibre.example")
    data = hand_over(bench, customer="Nordic Data Oy", contact_email="mika@nordicdata.example", region="finland")
    assert api(bench, user=ADMIN, token=None, q="nordic").status_code == 401
    assert api(bench, user=ADMIN, token="wrong", q="nordic").status_code == 401
    missing = api(bench, user=None, q="nordic")
    assert missing.status_code == 400 and "X-Handover-User" in missing.json()["error"]
    assert api(bench, user="not an address", q="nordic").status_code == 400
    assert "customer_id" in api(bench, user=ADMIN).json()["error"]
    several = api(bench, user=ADMIN, q="nordic").json()
    assert [m["name"] for m in several["matches"]] == ["Nordic Data Oy", "Nordic Fibre AB"] and several[
        "customer"
    ] is None
    chosen = api(bench, user=ADMIN, q="nordic", customer_id=bench.item(data).customer_id).json()
    assert [i["id"] for i in chosen["items"]] == [data]
    assert len(logs(bench)) == 2  # refused calls are not look-ups
    # counting through ids names nobody a search would not have named: an id must be one of the
    # query's matches, or (alone) a customer the person sees an item of
    fibre = bench.item(fibre_item).customer_id
    outsider = "petra.huber@example.com"  # DACH: sees neither customer's items
    for who, params in ((ADMIN, {"q": "fibre"}), (outsider, {})):
        body = api(bench, user=who, customer_id=bench.item(data).customer_id, **params).json()
        assert body["matches"] == [] and body["customer"] is None, (who, params)
    assert api(bench, user=outsider, q="nordic", customer_id=fibre).json()["customer"]["name"] == "Nordic Fibre AB"
    assert api(bench, user=ADMIN, customer_id=fibre).json()["customer"]["name"] == "Nordic Fibre AB"
    owner = bench.item(fibre_item).receiver_email
    assert api(bench, user=owner, customer_id=fibre).json()["customer"]["name"] == "Nordic Fibre AB"
    assert api(bench, user=ADMIN, customer_id=10**6).json()["customer"] is None
    assert "/api/customers" in httpx.get(f"{bench.url}/api/openapi.json", timeout=10).json()["paths"]


def test_look_up_answers_contain_no_unescaped_customer_text(bench: Bench) -> None:
    item = hand_over(
        bench,
        customer="<b>Evil</b> & Co",
        contact_email="x@evil.example",
        description="<!channel> call <@U100> now",
        customer_request="<https://x.example|click>",
    )
    text = text_of(command(bench, ADMIN, "customer evil.example").blocks)
    assert item_ids(command(bench, ADMIN, "customer evil.example").blocks) == [item]
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text and "<https://x.example" not in text
    assert re.search(r"&lt;b&gt;Evil&lt;/b&gt; &amp; Co", text)
