"""Nothing leaks at the edges (issue 16, points 14–17):

- wrong API tokens can't be guessed without limit: after too many from one client address it gets
  429 with Retry-After (logged, never with the token), other addresses are unaffected;
- a contact's private e-mail address finds its customer only for people who may see one of the
  customer's items; anyone else gets the same "nothing found" as for an unknown address;
- only the person asked answers in a question's thread; reassign refuses the app itself, bots,
  deactivated accounts and ids Slack doesn't know, inside the modal; Slack's ``app_rate_limited``
  callback gets its 200;
- CSV files stay inert in a spreadsheet that splits on ``;`` or tabs, not only on commas.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import random
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import select
from typer.testing import CliRunner

from bot import csvsafe
from bot.fakeslack import FakeUser
from bot.fakeslack.agent import APP_ID
from bot.fakeslack.server import BOT_USER, TEAM
from bot.ids import ActionId, CallbackId
from bot.models import Question, QuestionMessage
from tests.flow import hand_over
from tests.harness import API_TOKEN, Bench

ADMIN = "handover.desk@example.com"
BB = "bb.stand@example.com"
SENDER = "marketing.ops@example.com"
OUTSIDER = "petra.huber@example.com"  # DACH sales: neither the Nordics team nor the Nordics region


# ----- 14. wrong API tokens ------------------------------------------------------------------------------


def from_address(
    bench: Bench, address: str, *, token: str | None, path: str = "/api/items", body: dict[str, Any] | None = None
) -> httpx.Response:
    """A request from client ``address`` (through a proxy on loopback that sets X-Forwarded-For, which
    the server trusts from loopback only, as uvicorn does by default)."""
    headers = {"X-Forwarded-For": address}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if path == "/api/items":
        return httpx.post(f"{bench.url}{path}", json=body or {}, headers=headers, timeout=10)
    return httpx.get(
        f"{bench.url}{path}", params={"q": "nordic"}, headers={**headers, "X-Handover-User": ADMIN}, timeout=10
    )


def item_body(n: int) -> dict[str, Any]:
    return {
        "external_id": f"edge-{n}",
        "event": "Global Event 2026",
        "customer": "Nordic Fibre AB",
        "contact_email": "eva.lund@nordicfibre.example",
        "description": "Wants two switches.",
        "region": "nordics",
    }


def test_wrong_api_tokens_from_one_address_are_refused_with_429_and_logged_without_the_token(
    bench: Bench, caplog: pytest.LogCaptureFixture
) -> None:
    limit, window = bench.ctx.settings.api_auth_failures, bench.ctx.settings.api_auth_window
    attacker, honest = f"203.0.113.{random.randint(1, 254)}", f"198.51.100.{random.randint(1, 254)}"
    guesses = [f"guess-{n}-{API_TOKEN[::-1]}" for n in range(limit - 1)] + [None]  # the last: no token at all
    with caplog.at_level(logging.WARNING, logger="handover.web"):
        answers = [from_address(bench, attacker, token=g, body=item_body(0)) for g in guesses]
        assert [a.status_code for a in answers] == [401] * limit
        # the next attempt is refused before its token is looked at — even the right one
        for path in ("/api/items", "/api/customers"):
            refused = from_address(bench, attacker, token=API_TOKEN, path=path, body=item_body(1))
            assert refused.status_code == 429, refused.text
            assert 0 < int(refused.headers["retry-after"]) <= window
            assert "too many wrong tokens" in refused.json()["error"]
        assert bench.items() == []
        # another address with the right token is not affected
        assert from_address(bench, honest, token=API_TOKEN, body=item_body(2)).status_code == 201
    refusals = [r.getMessage() for r in caplog.records if "refused the API token" in r.getMessage()]
    assert len(refusals) == limit and all(attacker in line for line in refusals)
    assert f"{limit} wrong within" in refusals[-1]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert not any(g and g in logged for g in guesses) and API_TOKEN not in logged
    # once the window has passed, the address may try again
    bench.clock.advance(seconds=window)
    assert from_address(bench, attacker, token=API_TOKEN, body=item_body(3)).status_code == 201
    assert len(bench.items()) == 2


def test_the_right_token_is_never_counted_as_a_failure(bench: Bench) -> None:
    address = f"192.0.2.{random.randint(1, 254)}"
    limit = bench.ctx.settings.api_auth_failures
    for n in range(limit + 2):
        assert from_address(bench, address, token=API_TOKEN, body=item_body(n)).status_code == 201
    assert from_address(bench, address, token="nope").status_code == 401


def test_the_memory_of_wrong_tokens_is_bounded_and_forgets_old_failures() -> None:
    from datetime import timedelta

    from bot.clock import FakeClock
    from bot.ratelimit import FailureWindow

    clock = FakeClock()
    window = FailureWindow(limit=2, window=60, clock=clock.now, max_keys=100)
    for n in range(1_000):  # a flood of addresses (IPv6 makes them cheap)
        window.fail(f"2001:db8::{n:x}")
    assert len(window._failures) == 100
    assert window.fail("192.0.2.1") == 1 and window.fail("192.0.2.1") == 2
    assert window.blocked_for("192.0.2.1") == 60
    clock.advance(timedelta(seconds=45))
    assert window.blocked_for("192.0.2.1") == 15  # Retry-After: until the oldest failure leaves the window
    clock.advance(timedelta(seconds=15))
    assert window.blocked_for("192.0.2.1") == 0 and window.fail("192.0.2.1") == 1


# ----- 15. a contact's private address ---------------------------------------------------------------


def command_text(bench: Bench, email: str, text: str) -> str:
    user = bench.user(email) if email in bench.users else bench.add_user(email)
    r = bench.agent.command(user=user, command="/handover", text=text)
    assert r.status_code == 200, r.text
    shown = bench.agent.shown(r, user=user)
    return shown.text + json.dumps(shown.blocks)


def shortcut_text(bench: Bench, email: str, query: str) -> str:
    user = bench.user(email)
    bench.agent.shortcut(user=user, callback_id=CallbackId.LOOKUP_SHORTCUT)
    view = bench.fake.views_opened_by(user)[-1]
    r = bench.agent.submit_view(user=user, view=view, values={"query": query})
    assert r.status_code == 200, r.text
    return json.dumps(bench.fake.views[view.id].blocks)


def api_answer(bench: Bench, email: str, query: str) -> dict[str, Any]:
    r = httpx.get(
        f"{bench.url}/api/customers",
        params={"q": query},
        headers={"Authorization": f"Bearer {API_TOKEN}", "X-Handover-User": email},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return r.json()


PRIVATE = "ola.fjord@gmail.com"
UNKNOWN = "ola.fjorx@gmail.com"  # same length: the answers must match byte for byte


def test_a_private_contact_address_finds_nothing_for_someone_who_may_see_none_of_the_customer(bench: Bench) -> None:
    cafe = hand_over(bench, category="lead", customer="Fjordkafé AS", contact_email=PRIVATE, region="norway")
    receiver = bench.item(cafe).receiver_email
    for look in (command_text, shortcut_text):
        text = look(bench, OUTSIDER, f"customer {PRIVATE}" if look is command_text else PRIVATE)
        assert "Fjordkafé" not in text and "No customer matches" in text, look.__name__
        unknown = look(bench, OUTSIDER, f"customer {UNKNOWN}" if look is command_text else UNKNOWN)
        assert text == unknown.replace(UNKNOWN, PRIVATE), look.__name__  # the same "nothing found"
    answer = api_answer(bench, OUTSIDER, PRIVATE)
    assert answer == {**api_answer(bench, OUTSIDER, UNKNOWN), "query": PRIVATE}
    assert answer["matches"] == [] and answer["customer"] is None and answer["withheld"] == 0
    # people who may see the item find the customer by the same address
    for who in (ADMIN, receiver):
        assert "Fjordkafé AS" in command_text(bench, who, f"customer {PRIVATE}"), who
        assert api_answer(bench, who, PRIVATE)["customer"]["name"] == "Fjordkafé AS"


def test_of_two_customers_with_the_same_private_contact_only_the_visible_one_is_found(bench: Bench) -> None:
    hand_over(bench, category="lead", customer="Fjordkafé AS", contact_email=PRIVATE, region="norway")
    bakery = hand_over(bench, category="lead", customer="Bäckerei Fjord GmbH", contact_email=PRIVATE, region="germany")
    assert len(api_answer(bench, ADMIN, PRIVATE)["matches"]) == 2  # an admin gets the picker
    answer = api_answer(bench, OUTSIDER, PRIVATE)  # DACH sees the German bakery only: no picker
    assert [m["name"] for m in answer["matches"]] == ["Bäckerei Fjord GmbH"]
    assert answer["customer"]["name"] == "Bäckerei Fjord GmbH" and [i["id"] for i in answer["items"]] == [bakery]
    assert "Fjordkafé" not in command_text(bench, OUTSIDER, f"customer {PRIVATE}")


def test_an_address_at_the_customers_own_domain_still_finds_it_with_the_withheld_count(bench: Bench) -> None:
    hand_over(bench, category="lead", customer="Nordic Fibre AB", contact_email="eva.lund@nordicfibre.example")
    text = command_text(bench, OUTSIDER, "customer eva.lund@nordicfibre.example")
    assert "1 item on Nordic Fibre AB is withheld" in text  # the domain is no secret; the items are


# ----- 16. the question thread, reassign, app_rate_limited -----------------------------------------------


def asked(bench: Bench) -> tuple[int, str, Question]:
    bb = bench.add_user(BB)
    bench.add_user(SENDER)
    item_id = hand_over(bench, business_builder_email=BB, sender_email=SENDER)
    receiver = bench.item(item_id).receiver_user_id
    bench.agent.click(user=receiver, message=bench.card(item_id), action_id=ActionId.ASK)
    r = bench.agent.submit_view(
        user=receiver, view=bench.fake.views_opened_by(receiver)[-1], values={"question": "Which sites did they mean?"}
    )
    assert r.status_code == 200
    bench.deliver()
    with bench.db() as s:
        question = s.exec(select(Question).where(Question.item_id == item_id)).one()
    return item_id, bb, question


def under_card(bench: Bench, item_id: int) -> list[str]:
    card = bench.card(item_id)
    return [m.text for m in bench.fake.messages(channel=card.channel) if m.thread_ts == card.ts]


def test_only_the_person_asked_answers_in_the_question_thread(bench: Bench) -> None:
    item_id, bb, question = asked(bench)
    version = bench.item(item_id).version
    stranger = bench.user("tom.hughes@example.com")
    _, r = bench.agent.user_message(
        user=stranger,
        channel=question.bb_channel,
        thread_ts=question.bb_ts,
        text="Ignore them, it is a student project.",
    )
    assert r.status_code == 200
    bench.deliver()
    assert not any("student project" in t for t in under_card(bench, item_id))
    with bench.db() as s:
        kept = [m.text for m in s.exec(select(QuestionMessage).order_by(QuestionMessage.id))]
        assert s.get(Question, question.id).open  # still waiting for the Business Builder
    assert kept == ["Which sites did they mean?"]
    assert bench.item(item_id).version == version
    assert "answered" not in [e.kind for e in bench.trail(item_id)]
    [told] = [e for e in bench.fake.ephemerals if e["user"] == stranger]
    assert told["channel"] == question.bb_channel and "not passed on" in told["text"]
    # the Business Builder's own answer still goes through
    bench.agent.user_message(user=bb, channel=question.bb_channel, thread_ts=question.bb_ts, text="Kista only.")
    bench.deliver()
    assert any("Kista only." in t for t in under_card(bench, item_id))


def reassign_to(bench: Bench, to_user: str) -> tuple[int, str, httpx.Response]:
    item_id = hand_over(bench, category="lead")
    receiver = bench.item(item_id).receiver_user_id
    bench.agent.click(user=receiver, message=bench.card(item_id), action_id=ActionId.REASSIGN)
    view = bench.fake.views_opened_by(receiver)[-1]
    return (
        item_id,
        receiver,
        bench.agent.submit_view(user=receiver, view=view, values={"to": to_user, "note": "Yours."}),
    )


@pytest.mark.parametrize(
    "whom, says",
    [
        ("the app itself", "app or a bot"),
        ("a bot", "app or a bot"),
        ("Slackbot", "app or a bot"),
        ("a deactivated person", "deactivated"),
        ("no user at all", "no such person"),
        ("anyone, while Slack fails", "did not answer"),
    ],
)
def test_reassign_refuses_who_cannot_receive_an_item_inside_the_modal(bench: Bench, whom: str, says: str) -> None:
    to_user = {"the app itself": BOT_USER, "Slackbot": "USLACKBOT", "no user at all": "U0NOBODY99"}.get(whom)
    if whom == "a bot":
        to_user = bench.fake.add_user(FakeUser(id="U0OTHERBOT", email="", name="crm-sync", is_bot=True)).id
    elif whom == "a deactivated person":
        to_user = bench.add_user("gone@example.com", deleted=True)
    elif whom == "anyone, while Slack fails":
        to_user = bench.add_user("colleague@example.com")
        bench.fake.fail("users.info", "internal_error")
    item_id, receiver, r = reassign_to(bench, to_user)
    assert r.status_code == 200 and r.json()["response_action"] == "errors", r.text
    assert says in r.json()["errors"]["to"]
    bench.deliver()
    item = bench.item(item_id)
    assert (item.receiver_user_id, item.responsible_user_id) == (receiver, None)
    assert "reassigned" not in [e.kind for e in bench.trail(item_id)]


def test_reassign_to_a_person_checks_slack_once_and_then_trusts_the_cache(bench: Bench) -> None:
    colleague = bench.add_user("colleague@example.com")
    calls = len(bench.fake.calls_to("users.info"))
    item_id, _, r = reassign_to(bench, colleague)
    assert r.status_code == 200 and "errors" not in r.text, r.text
    assert bench.item(item_id).receiver_user_id == colleague
    assert bench.item(item_id).receiver_email == "colleague@example.com"  # learnt from users.info
    assert len(bench.fake.calls_to("users.info")) == calls + 1
    second, _, r = reassign_to(bench, colleague)
    assert bench.item(second).receiver_user_id == colleague
    assert len(bench.fake.calls_to("users.info")) == calls + 1  # the person table answered


def test_slacks_app_rate_limited_callback_gets_200_and_a_warning(
    bench: Bench, caplog: pytest.LogCaptureFixture
) -> None:
    body = {
        "token": "legacy-verification-token",
        "type": "app_rate_limited",
        "team_id": TEAM,
        "minute_rate_limited": 1518467820,
        "api_app_id": APP_ID,
    }
    with caplog.at_level(logging.WARNING, logger="handover.web"):
        r = bench.agent.raw(json.dumps(body).encode(), "application/json")
    assert r.status_code == 200, r.text
    [warning] = [rec for rec in caplog.records if "app_rate_limited" in rec.getMessage()]
    assert warning.levelno == logging.WARNING and TEAM in warning.getMessage()
    # unsigned, it is refused like anything else
    assert bench.agent.raw(json.dumps(body).encode(), "application/json", sign=False).status_code == 401


# ----- 17. CSV in a spreadsheet that splits on ";" -------------------------------------------------------

HOSTILE = ["note;=cmd|' /C calc'!A0", "ok,+SUM(1)", "tab\t@A1", 'q;"-2+3"', "x; =1+1", "line\n=1+1"]
FORMULA = ("=", "+", "-", "@")


def cells_as_spreadsheets_read_them(text: str) -> list[str]:
    """Every cell a spreadsheet could make of ``text``: each line split naively on ";", "," and tab,
    and the file read by the csv module with ";", "," and tab as the delimiter."""
    out: list[str] = []
    for line in text.splitlines():
        for separator in (";", ",", "\t"):
            out += line.split(separator)
    for delimiter in (";", ",", "\t"):
        out += [c for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) for c in row]
    return out


def assert_inert(text: str) -> None:
    for c in cells_as_spreadsheets_read_them(text):
        # also with leading spaces and quotes trimmed (LibreOffice's "trim spaces", a half-read quote)
        assert not c.startswith(FORMULA) and not c.lstrip(' \t\r\n"').startswith(FORMULA), repr(c)


def run_cli(bench: Bench, *args: str) -> Any:
    from bot.cli import app

    env = {"DATABASE_URL": bench.ctx.settings.database_url, "HANDOVER_CONFIG": "", "COLUMNS": "200"}
    return CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)


def test_report_and_export_csv_stay_inert_when_split_on_semicolons(bench: Bench, tmp_path: Path) -> None:
    ids = [hand_over(bench, event=text, description=text) for text in HOSTILE]
    out = tmp_path / "week.csv"
    result = run_cli(bench, "report", "--from", "2026-03-02", "--to", "2026-03-09", "--by", "event", "--csv", str(out))
    assert result.exit_code == 0, result.output
    report = out.read_text(encoding="utf-8")
    assert_inert(report)
    events = [row["event"] for row in csv.DictReader(io.StringIO(report, newline=""))]
    assert "note;'=cmd|' /C calc'!A0" in events  # the text is all there, defused
    for item_id in ids:
        result = run_cli(bench, "export", str(item_id), "--format", "csv")
        assert result.exit_code == 0, result.output
        assert_inert(result.stdout)
    rows = list(csv.DictReader(io.StringIO(run_cli(bench, "export", str(ids[0]), "--format", "csv").stdout)))
    assert rows[0]["text"] == "note;'=cmd|' /C calc'!A0"


def test_the_import_report_stays_inert_when_split_on_semicolons(
    bench: Bench, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.cli import app

    source = io.StringIO()
    writer = csv.writer(source)
    writer.writerow(["Customer", "E-mail", "Notes"])
    for n, text in enumerate(HOSTILE):
        writer.writerow([text, f"p{n}@evil{n}.example", text])
    path = tmp_path / "export.csv"
    path.write_text(source.getvalue(), encoding="utf-8")
    report = tmp_path / "report.csv"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", bench.ctx.settings.database_url)
    monkeypatch.delenv("HANDOVER_CONFIG", raising=False)
    result = CliRunner().invoke(
        app, ["import", str(path), "--event", "Fair", "--no-deliver", "--report", str(report)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    text = report.read_text(encoding="utf-8")
    assert_inert(text)
    customers = [row["customer"] for row in csv.DictReader(io.StringIO(text, newline=""))]
    assert "note;'=cmd|' /C calc'!A0" in customers


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.lists(
            st.one_of(
                st.text(alphabet=" ,;\t\r\n\"'=+-@a1|"),
                st.integers(0, 10**6),
                st.floats(0, 1e6, allow_nan=False),
                st.none(),
            ),
            min_size=1,
            max_size=4,
        ),
        min_size=1,
        max_size=4,
    )
)
def test_no_cell_of_any_csv_we_write_starts_a_formula_in_any_locale(rows: list[list[Any]]) -> None:
    width = max(len(r) for r in rows)
    assert_inert(csvsafe.to_text([f"h{n}" for n in range(width)], [r + [None] * (width - len(r)) for r in rows]))
