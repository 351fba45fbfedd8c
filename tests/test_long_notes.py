"""Long notes: an item's description is stored whole, the card shows the first part and says how
much is left out, and its *Show full notes* button opens a modal with the whole text, in order,
escaped, paged when long (over signed HTTP, against the Slack fake that checks Block Kit limits)."""

from __future__ import annotations

import re

from bot.ids import ActionId
from tests.flow import hand_over
from tests.harness import Bench

MORE = re.compile(r"… ([\d,]+) more characters?: \*Show full notes\*")


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def a_note(length: int, words: list[str]) -> str:
    """``length`` characters of numbered sentences (so order can be checked), ending in a word."""
    parts, n = [], 0
    while sum(map(len, parts)) < length:
        parts.append(f"{n:05d} {words[n % len(words)]}{chr(10) if n % 7 == 6 else ' '}")
        n += 1
    return "".join(parts)[: length - 1] + "."


def said(bench: Bench, item_id: int) -> dict:
    return next(b for b in bench.card(item_id).blocks if b.get("block_id") == "said")


def notes_sections(view) -> list[str]:
    return [b["text"]["text"] for b in view.blocks if str(b.get("block_id", "")).startswith("notes:")]


def open_full_notes(bench: Bench, item_id: int, user: str):
    before = len(bench.fake.calls_to("views.open"))
    r = bench.agent.click(user=user, message=bench.card(item_id), action_id=ActionId.SHOW_NOTES)
    assert r.status_code == 200
    opened = bench.fake.calls_to("views.open")[before:]
    return opened, (bench.fake.views_opened_by(user) or [None])[-1]


def test_a_ten_thousand_character_note_is_kept_whole_and_the_card_offers_all_of_it(bench: Bench) -> None:
    note = a_note(
        10_000,
        ["replace", "the <!here> switches", "budget & timeline", "<https://evil.example|bank>", "*fast*", "`code`"],
    )
    assert len(note) == 10_000
    item_id = hand_over(bench, description=note)
    assert bench.item(item_id).description == note  # stored whole

    block = said(bench, item_id)
    text = block["text"]["text"]
    found = MORE.search(text)
    assert found, text[-300:]
    more = int(found.group(1).replace(",", ""))
    body = text.split("\n", 1)[1]  # after the heading
    shown = unescape(body[: body.index("\n\n_… ")])
    assert note.startswith(shown) and 2_000 < len(shown) < 3_000
    assert more == len(note) - len(shown) or note[len(shown) : len(note) - more].strip() == ""
    assert "<!here>" not in text and "<https://evil" not in text  # escaped on the card too
    assert block["accessory"]["action_id"] == ActionId.SHOW_NOTES

    receiver = bench.item(item_id).receiver_user_id
    opened, view = open_full_notes(bench, item_id, receiver)
    assert [c.ok for c in opened] == [True]  # the fake validated it: Slack would show it
    sections = notes_sections(view)
    assert all(len(s) <= 3000 for s in sections) and len(view.blocks) <= 100
    assert all("<" not in s and ">" not in s for s in sections)  # every piece escaped
    assert unescape("".join(sections)) == note  # the whole text, in order
    assert "10,000 characters" in view.blocks[0]["elements"][0]["text"]


def test_notes_too_long_for_one_modal_are_paged_with_next_and_previous(bench: Bench) -> None:
    note = a_note(10_000, ["<&>" * 40])  # escaped, five times as long: more than one modal page
    item_id = hand_over(bench, description=note)
    receiver = bench.item(item_id).receiver_user_id
    _, view = open_full_notes(bench, item_id, receiver)
    pages = [notes_sections(view)]
    while True:
        current = bench.fake.views[view.id]
        buttons = [
            e
            for b in current.blocks
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == ActionId.NOTES_PAGE and e["text"]["text"] == "Next page"
        ]
        if not buttons:
            break
        updates = len(bench.fake.calls_to("views.update"))
        r = bench.agent.click_in_view(
            user=receiver, view=current, action_id=ActionId.NOTES_PAGE, value=buttons[0]["value"]
        )
        assert r.status_code == 200
        assert [c.ok for c in bench.fake.calls_to("views.update")[updates:]] == [True]
        pages.append(notes_sections(bench.fake.views[view.id]))
        assert len(pages) < 10
    assert len(pages) >= 2
    assert "page 2 of" in bench.fake.views[view.id].blocks[0]["elements"][0]["text"]
    assert unescape("".join(s for page in pages for s in page)) == note


def test_a_short_note_has_no_button_and_nobody_else_may_open_the_notes(bench: Bench) -> None:
    short = hand_over(bench, description="Wants a quote for 40 routers.")
    assert "accessory" not in said(bench, short) and not MORE.search(said(bench, short)["text"]["text"])

    item_id = hand_over(bench, description=a_note(5_000, ["confidential roadmap"]))
    outsider = bench.add_user("outsider@elsewhere.example")
    opened, view = open_full_notes(bench, item_id, outsider)
    assert opened == [] and view is None  # no modal for someone the item is withheld from
    bench.deliver()
    told = [e["text"] for e in bench.fake.ephemerals if e["user"] == outsider] + [m.text for m in bench.dm(outsider)]
    assert any("may not read the notes" in t for t in told), told
