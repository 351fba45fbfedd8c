"""Real event exports keep their meaning (issue 11, intake): the messy files in tests/data/ (see its
README) go through the real ``handover import`` — in-process through typer's CliRunner, or as a
child process where what matters is what a person sees in the terminal (log lines, time taken) — on
SQLite and PostgreSQL, and the cards arrive in the Slack fake. The API's corrections go through
``/api/items`` over HTTP, and the receiver sees them on the card.
"""

from __future__ import annotations

import csv
import os
import shutil
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import app
from bot.flows.importing import import_file
from bot.ids import ActionId, ItemStatus
from bot.models import Customer, Item, ItemEvent, Outbox
from bot.samples import sample_path
from tests.harness import API_TOKEN, BOT_TOKEN, Bench
from tests.pg import database_url

DATA = Path(__file__).resolve().parent / "data"
ROOT = Path(__file__).resolve().parent.parent
SAMPLE = sample_path("global_event_2026.csv")
EVENT = "Global Event 2026"


# ----- helpers ---------------------------------------------------------------------------------------


def env_for(bench: Bench, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "HANDOVER_", "DATABASE_URL"))}
    env.update(
        DATABASE_URL=bench.ctx.settings.database_url,
        SLACK_API_URL=bench.fake.api_url,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


@pytest.fixture
def cli(bench: Bench, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``handover …`` in-process against the bench's database and Slack fake."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    for key, value in env_for(bench).items():
        if key.startswith(("SLACK_", "DATABASE_URL")):
            monkeypatch.setenv(key, value)
    monkeypatch.delenv("HANDOVER_CONFIG", raising=False)
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, list(args), catch_exceptions=False)

    return run


def handover(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 120) -> tuple[int, str, str, float]:
    """``handover ARGS`` as a child process: (exit code, stdout, stderr, seconds)."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        check=False,
        text=True,
        timeout=timeout,
    )
    return done.returncode, done.stdout, done.stderr, time.monotonic() - started


def flat(text: str) -> str:
    return " ".join(text.split())


def customer_names(bench: Bench) -> dict[str, str]:
    """contact e-mail -> the customer's name, as stored."""
    with bench.db() as s:
        names = {c.id: c.name for c in s.exec(select(Customer))}
    return {i.contact_email: names[i.customer_id] for i in bench.items()}


def deliver_now(bench: Bench) -> None:
    """The dispatcher of a running server, now: the child process queued on the wall clock."""
    bench.clock.set(datetime.now(UTC) + timedelta(seconds=5))
    bench.deliver()


def cards(bench: Bench) -> list[Outbox]:
    return [o for o in bench.outbox() if o.kind == "item_card"]


# ----- 2. a re-import is recognized by the rows' content --------------------------------------------------


def test_the_same_rows_in_a_renamed_file_with_the_event_in_capitals_are_already_imported(
    bench: Bench, cli, tmp_path: Path
) -> None:
    first = cli("import", str(DATA / "leads.csv"), "--no-deliver")
    assert first.exit_code == 0, first.output
    assert "12 created, 0 already imported, 0 rejected" in flat(first.output)
    ids = {i.contact_email: i.id for i in bench.items()}
    queued = len(bench.outbox())
    # the same twelve rows re-exported: renamed, comma-separated, reordered, event in capitals with
    # spaces, e-mails in capitals, doubled spaces, an NBSP and a zero-width space — and one new row
    report = tmp_path / "again.csv"
    again = cli("import", str(DATA / "leads (1).csv"), "--no-deliver", "--report", str(report))
    assert again.exit_code == 0, again.output
    assert "1 created, 12 already imported, 0 rejected" in flat(again.output)
    items = bench.items()
    assert len(items) == 13 and len(bench.outbox()) == queued + 1
    assert {i.contact_email for i in items} - set(ids) == {"eva.lund@polardata.se"}
    # line by line: every line but the new one (line 5) is "already imported", as the same item
    with report.open(newline="", encoding="utf-8") as f:
        lines = {int(r[0]): r for r in list(csv.reader(f))[1:]}
    assert sorted(lines) == list(range(2, 15))
    assert [n for n, r in lines.items() if r[1] == "already imported"] == [n for n in range(2, 15) if n != 5]
    assert lines[5][1] == "created"
    assert {int(r[6]) for n, r in lines.items() if n != 5} == set(ids.values())


def test_a_file_with_an_id_column_renamed_and_with_the_event_spelled_otherwise_creates_nothing(
    bench: Bench, cli, tmp_path: Path
) -> None:
    first = cli("import", str(SAMPLE), "--event", EVENT, "--no-deliver")
    assert "12 created" in flat(first.output)
    copy = tmp_path / "global_event_2026 (1).csv"
    shutil.copy(SAMPLE, copy)
    again = cli("import", str(copy), "--event", "  global EVENT 2026 ", "--no-deliver")
    assert "0 created, 12 already imported, 2 rejected" in flat(again.output), again.output
    assert len(bench.items()) == 12
    # the same ids at another event are other items
    other = cli("import", str(copy), "--event", "Nordic Summit 2026", "--no-deliver")
    assert "12 created" in flat(other.output) and len(bench.items()) == 24


def test_items_imported_before_keys_were_content_based_are_still_recognized(bench: Bench) -> None:
    import_file(bench.ctx, SAMPLE, event=EVENT)
    scan_ids = {}
    for line in SAMPLE.read_text(encoding="utf-8").splitlines()[1:]:
        cells = line.split(";")
        scan_ids[cells[4]] = cells[0]
    items = bench.items()
    with bench.ctx.engine.begin() as conn:  # the database as the previous version left it
        for item in items:
            conn.execute(
                sa.update(Item.__table__)
                .where(Item.__table__.c.id == item.id)
                .values(external_key=f"import:{EVENT}:id:{scan_ids[item.contact_email]}")
            )
    again = import_file(bench.ctx, SAMPLE, event=EVENT)
    assert again.created == 0 and again.existing == 12
    assert len(bench.items()) == 12


# ----- 5, 7. foreign yes/no words, the file's own headers in errors, encodings --------------------------


def test_yes_no_words_of_eleven_languages_and_check_marks_fill_the_checklist(bench: Bench, cli) -> None:
    result = cli("import", str(DATA / "leads.csv"), "--no-deliver")
    assert result.exit_code == 0, result.output
    got = {i.contact_email: i.checklist for i in bench.items()}
    assert got["jana.wolff@nordlicht-energie.de"] == {"painpoint": True, "budget": True, "decision_maker": True}
    assert got["camille.roux@lumiere.fr"] == {"painpoint": True, "decision_maker": True}  # oui/non/Non/OUI
    both = {"painpoint": True, "timeframe": True}  # yes, no, yes, no in the row's language
    for email in (
        "lucia@bodegasanchez.es",
        "marco@trattoriabianchi.it",
        "sanne.vandijk@vandijklogistiek.nl",
        "lars.berg@kirunagruv.se",
        "ingrid.dahl@fjordkraftnett.no",
        "mette@hyggehospital.dk",
        "mikko@saunasystems.fi",
        "joao.silva@vinhosdoporto.pt",
        "ann.lee@graniteworks.com",
        "tom@binaryflags.com",
    ):
        assert got[email] == both, email
    assert customer_names(bench)["lucia@bodegasanchez.es"] == "Bodega Sánchez SL"  # UTF-8 with BOM, ';'


def test_a_german_windows_1252_export_names_its_own_columns_in_the_errors(bench: Bench, cli) -> None:
    result = cli("import", str(DATA / "de_export_cp1252.csv"), "--no-deliver")
    assert result.exit_code == 1, result.output
    out = flat(result.output)
    assert "line 3: E-Mail-Adresse: 'anna.schaefer@baeckerei-schaefer' is not a valid e-mail address" in out
    assert "line 4: Budget: 'vielleicht' is not a yes/no word" in out
    assert "Windows-1252" in out and "ignored columns" in out and "Entscheider, Lead-Status" in out
    assert "2 created, 0 already imported, 2 rejected" in out
    items = {i.contact_email: i for i in bench.items()}
    mueller = items["j.mueller@mueller-praezision.de"]
    assert mueller.description == (
        "Möchte die Fertigungshalle vernetzen; Budget für 2026 genehmigt. Grüße an Frau Weiß – „dringend“."
    )
    assert mueller.customer_request == "Angebot bis März" and mueller.contact_name == "Jürgen Müller"
    assert mueller.contact_phone == "+49 711 123456" and mueller.contact_title == "Geschäftsführer"
    assert mueller.event_name == EVENT and mueller.checklist == {"budget": True}  # Ja
    assert items["s.lindner@oekohof-lindner.de"].checklist == {}  # Nein
    assert customer_names(bench)["s.lindner@oekohof-lindner.de"] == "Öko-Hof Lindner KG"


def test_a_long_note_is_kept_to_the_limit_with_a_warning_and_the_card_arrives(bench: Bench, cli) -> None:
    result = cli("import", str(DATA / "long_notes.csv"), "--event", EVENT)
    assert result.exit_code == 1, result.output  # the over-long website is an identifier: that row is rejected
    out = flat(result.output)
    assert "line 2: Notes: 12,914 characters, more than the 10,000 kept" in out
    assert "line 152: Website: 'weird-domain.de/xxx" in out and "an identifier can't be cut" in out
    assert "2 created, 0 already imported, 1 rejected" in out
    items = {i.contact_email: i for i in bench.items()}
    note = items["m.evans@tidewater-ports.co.uk"].description
    assert len(note) == 10_000 and note.endswith("…") and note.startswith("[1] From: Mark Evans")
    assert items["m.evans@tidewater-ports.co.uk"].customer_request == "Send references and a price"
    [cut] = [e for e in bench.trail(items["m.evans@tidewater-ports.co.uk"].id) if e.kind == "import_warning"]
    assert cut.text.startswith("line 2 of the imported file: Notes: 12,914 characters")  # on the item too
    assert "2 cards delivered in Slack." in out
    card = bench.card(items["m.evans@tidewater-ports.co.uk"].id)
    assert "Tidewater Ports Ltd" in str(card.blocks)


# ----- 3. XLSX: merged and empty headers, dates ---------------------------------------------------------


def test_xlsx_merged_header_cells_are_joined_empty_headers_warned_and_dates_read_as_dates(bench: Bench, cli) -> None:
    result = cli("import", str(DATA / "merged_headers.xlsx"), "--event", EVENT, "--no-deliver")
    assert result.exit_code == 0, result.output
    out = flat(result.output)
    assert "column F has no header, so its 2 filled cell(s) were not imported (line(s) 2, 4)" in out
    assert "column H has no header, so its 1 filled cell(s) were not imported (line(s) 3)" in out
    items = {i.contact_email: i for i in bench.items()}
    harbour = items["emma.clarke@harbourlogistics.co.uk"]
    assert harbour.description == "Evaluating SD-WAN for 12 depots.\nDecision in autumn; two competitors."
    assert harbour.customer_request == "2026-03-16" and harbour.checklist == {"painpoint": True}
    kiruna = items["lars.svensson@kirunamining.se"]
    assert kiruna.description == "2026-03-17 14:30\nPilot budget exists." and kiruna.checklist == {}
    assert items["james.moore@riversideretail.co.uk"].checklist == {"painpoint": True}  # ✓
    assert len(cards(bench)) == 3


# ----- 8. intake never waits for Slack ----------------------------------------------------------------------


def _blackhole() -> socket.socket:
    """A port that accepts connections and never answers (a firewall that drops, a hung proxy)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(200)
    return sock


def _slack_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if "slack" in line.lower()]


def test_import_with_slack_unreachable_saves_queues_and_says_so_in_one_line(bench: Bench, tmp_path: Path) -> None:
    hole = _blackhole()
    try:
        url = f"http://127.0.0.1:{hole.getsockname()[1]}/api/"
        code, out, err, seconds = handover(
            ["import", str(DATA / "leads.csv")], env_for(bench, SLACK_API_URL=url), tmp_path
        )
    finally:
        hole.close()
    assert code == 0, out + err
    assert seconds < 30, seconds  # one bounded attempt (a 3 s call), not minutes of retries
    assert "12 created" in flat(out)
    assert "12 cards queued: Slack could not be reached (" in flat(out)
    assert len(_slack_lines(out + err)) == 1, out + err  # one line of Slack trouble
    assert "Traceback" not in out + err and len(err.strip().splitlines()) <= 2, err
    assert len(bench.items()) == 12 and len(cards(bench)) == 12
    assert all(o.status == "pending" for o in cards(bench))
    deliver_now(bench)  # the running server's dispatcher, once Slack answers: nothing was lost
    assert all(o.status == "sent" for o in cards(bench))
    assert len(bench.fake.calls_to("chat.postMessage")) == 12


def test_import_with_a_wrong_token_says_the_cards_are_queued_and_why(bench: Bench, tmp_path: Path) -> None:
    code, out, err, _ = handover(
        ["import", str(DATA / "leads.csv")], env_for(bench, SLACK_BOT_TOKEN="xoxb-wrong"), tmp_path
    )
    assert code == 0, out + err
    assert "12 cards queued: Slack answered invalid_auth — run `handover doctor`" in flat(out)
    assert len(_slack_lines(out + err)) == 1 and "Traceback" not in out + err
    assert bench.fake.calls_to("chat.postMessage") == []
    assert [c.method for c in bench.fake.calls_to("auth.test")] == ["auth.test"]  # one call, then it stopped
    deliver_now(bench)
    assert len(bench.fake.calls_to("chat.postMessage")) == 12


def test_import_with_slack_answering_delivers_and_says_so(bench: Bench, tmp_path: Path) -> None:
    code, out, err, _ = handover(["import", str(DATA / "leads.csv")], env_for(bench), tmp_path)
    assert code == 0, out + err
    assert "12 cards delivered in Slack." in flat(out)
    assert all(o.status == "sent" for o in cards(bench))
    for item in bench.items():
        card = bench.card(item.id)
        assert item.contact_name in str(card.blocks)


def test_import_with_no_deliver_says_the_cards_are_queued(bench: Bench, cli) -> None:
    result = cli("import", str(DATA / "leads.csv"), "--no-deliver")
    assert "12 cards queued; a running `handover serve` (or `handover dispatch`) sends them." in flat(result.output)
    assert bench.fake.calls_to("chat.postMessage") == []


# ----- 9. a database without the schema ---------------------------------------------------------------------


@pytest.mark.parametrize("empty_file", [False, True])
def test_commands_on_a_database_without_the_schema_say_to_run_db_upgrade(
    backend: str, pg_cluster, tmp_path: Path, empty_file: bool
) -> None:
    if backend == "postgresql" and not empty_file:
        pytest.skip("a PostgreSQL database always exists once it is named")
    import uuid

    url = database_url(backend, tmp_path, pg_cluster, f"noschema_{uuid.uuid4().hex[:8]}")
    db_file = tmp_path / url.rsplit("/", 1)[-1] if backend == "sqlite" else None
    if db_file is not None and empty_file:
        db_file.touch()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "HANDOVER_", "DATABASE_URL"))}
    env.update(DATABASE_URL=url, PYTHONPATH=str(ROOT))
    for args in (["import", str(DATA / "leads.csv")], ["export", "--all"], ["report"], ["serve"]):
        code, out, err, _ = handover(args, env, tmp_path)
        said = (out + err).strip()
        assert code == 2, (args, said)
        assert len(said.splitlines()) == 1 and "run `handover db upgrade`" in said, (args, said)
        assert "Traceback" not in said
    if db_file is not None and not empty_file:
        assert not db_file.exists()  # nothing was created on the way


def test_doctor_without_settings_creates_no_database_file(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "HANDOVER_", "DATABASE_URL"))}
    env["PYTHONPATH"] = str(ROOT)
    code, out, err, _ = handover(["doctor"], env, tmp_path)
    assert code == 1
    assert "no database file at handover.db" in flat(out + err)
    assert list(tmp_path.iterdir()) == []


# ----- 12. a corrected item through the API -----------------------------------------------------------------

GOOD = {
    "external_id": "crm-2001",
    "event": EVENT,
    "customer": "Nordic Fibre AB",
    "contact_name": "Eva Lund",
    "contact_email": "eva.lund@nordicfibre.example",
    "description": "Wants to replace two switches.",
    "region": "nordics",
    "checklist": {"painpoint": True},
}


def post(bench: Bench, body: dict) -> httpx.Response:
    return httpx.post(f"{bench.url}/api/items", json=body, headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=10)


def test_a_correction_is_applied_audited_shown_on_the_card_and_told_in_its_thread(bench: Bench) -> None:
    first = post(bench, GOOD)
    assert first.status_code == 201, first.text
    bench.deliver()
    [item] = bench.items()
    corrected = {
        **GOOD,
        "description": "Wants to replace FOUR switches before the summer.",
        "contact_phone": "+46 8 123 45",
        "checklist": {"painpoint": True, "budget": True},
    }
    r = post(bench, corrected)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == item.id and r.json()["created"] is False
    assert r.json()["corrected"] == ["description", "contact_phone", "checklist"]
    stored = bench.item(item.id)
    assert stored.description == corrected["description"] and stored.contact_phone == "+46 8 123 45"
    assert stored.checklist == {"painpoint": True, "budget": True}
    [event] = [e for e in bench.trail(item.id) if e.kind == "corrected"]
    assert event.detail["fields"] == ["description", "contact_phone", "checklist"]
    assert event.detail["before"]["description"] == GOOD["description"]
    bench.deliver()
    card = bench.card(item.id)
    assert card.updated >= 1 and "FOUR switches" in str(card.blocks)
    [told] = [m for m in bench.fake.messages(channel=card.channel) if m.thread_ts == card.ts]
    assert "corrected item" in told.text and "notes, contact phone, checklist" in told.text
    # the same body again is a retry: 200, the same item, nothing changes, nothing is sent
    before = len(bench.outbox())
    again = post(bench, corrected)
    assert again.status_code == 200 and again.json()["id"] == item.id and again.json()["corrected"] == []
    assert len(bench.outbox()) == before
    with bench.db() as s:
        assert len(list(s.exec(select(ItemEvent).where(ItemEvent.kind == "corrected")))) == 1
    # the corrected card's buttons still work: the receiver accepts it (a signed click, as Slack sends)
    receiver = bench.item(item.id).receiver_user_id
    assert bench.agent.click(user=receiver, message=bench.card(item.id), action_id=ActionId.ACCEPT).status_code == 200
    assert bench.item(item.id).status == ItemStatus.ACCEPTED and bench.item(item.id).owner_user_id == receiver


def test_a_correction_before_the_card_went_out_shows_on_the_card_without_a_thread_note(bench: Bench) -> None:
    assert post(bench, GOOD).status_code == 201
    r = post(bench, {**GOOD, "customer_request": "Call me in May"})
    assert r.status_code == 200 and r.json()["corrected"] == ["customer_request"]
    bench.deliver()
    [item] = bench.items()
    assert item.customer_request_open
    card = bench.card(item.id)
    assert "Call me in May" in str(card.blocks)
    assert [m for m in bench.fake.messages(channel=card.channel) if m.thread_ts] == []


@pytest.mark.parametrize(
    "change, named",
    [
        ({"region": "dach"}, "region"),
        ({"customer": "Someone Else GmbH", "contact_email": "x@else.example"}, "customer"),
        ({"category": "customer_intelligence"}, "category"),
        ({"sender_email": "other.sender@example.com"}, "sender_email"),
    ],
)
def test_a_re_send_that_would_move_the_item_is_refused_with_the_reason(bench: Bench, change: dict, named: str) -> None:
    assert post(bench, GOOD).status_code == 201
    [item] = bench.items()
    queued = len(bench.outbox())
    r = post(bench, {**GOOD, **change, "description": "changed too"})
    assert r.status_code == 409, r.text
    assert named in r.json()["error"] and "crm-2001" in r.json()["error"]
    stored = bench.item(item.id)
    assert stored.description == GOOD["description"] and stored.region == "nordics"
    assert len(bench.outbox()) == queued and len(bench.items()) == 1


# ----- the README's import format reference stays in step with the code --------------------------------------


def test_the_readme_lists_every_header_synonym_and_yes_no_word() -> None:
    from bot.intake.columns import ALIASES, NO_WORDS, YES_WORDS

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    reference = readme[readme.index("## Import format reference") : readme.index("## The intake API")]
    for name, aliases in ALIASES.items():
        [row] = [line for line in reference.splitlines() if line.startswith(f"| `{name}` |")]
        assert all(f"`{alias}`" in row for alias in aliases), name
    for words in (*YES_WORDS.values(), *NO_WORDS.values()):
        assert all((f"`{w}`" if w else "(empty)") in reference for w in words), words


def test_the_demo_keeps_showing_the_line_numbered_rejections(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "HANDOVER_", "DATABASE_URL"))}
    env["PYTHONPATH"] = str(ROOT)
    code, out, err, _ = handover(["demo"], env, tmp_path)
    assert code == 0, out + err
    text = flat(out)
    assert "line 12: Company: is required" in text
    assert "line 13: E-mail: 'hannah.wright@oxfordclinics' is not a valid e-mail address" in text
    assert "12 created, 0 already imported, 2 rejected." in text and "0 created, 12 already imported." in text


def test_a_csv_column_without_a_header_that_holds_data_is_warned_by_its_letter(tmp_path: Path) -> None:
    from bot.config import load_config
    from bot.intake.tabular import read_items

    path = tmp_path / "export.csv"
    path.write_text(
        "Company,,E-mail\nACME AB,met at the bar,ola@acme.se\nKeller GmbH,,jonas@keller.de\n", encoding="utf-8"
    )
    report = read_items(path, checklist_keys=load_config(None).checklist.labels)
    assert [r.item.customer for r in report.rows] == ["ACME AB", "Keller GmbH"]
    assert any(
        w.startswith("column B has no header, so its 1 filled cell(s) were not imported (line(s) 2)")
        for w in report.warnings
    ), report.warnings


@pytest.mark.slow
def test_import_with_a_slow_slack_stops_at_the_deadline_and_queues_the_rest(bench: Bench, tmp_path: Path) -> None:
    bench.fake.delay("chat.postMessage", 2.0, times=100)  # answers, but slowly: 12 cards would take 24 s
    code, out, err, seconds = handover(["import", str(DATA / "leads.csv")], env_for(bench), tmp_path)
    assert code == 0, out + err
    assert seconds < 25, seconds
    sent = [o for o in cards(bench) if o.status == "sent"]
    assert 0 < len(sent) < 12
    assert (
        f"{len(sent)} cards delivered, {12 - len(sent)} cards queued (the delivery attempt's time ran out); "
        "a running `handover serve`"
    ) in flat(out)
    assert "Traceback" not in out + err and len(_slack_lines(out + err)) == 0
    deliver_now(bench)
    assert all(o.status == "sent" for o in cards(bench))
    assert len([m for m in bench.fake.messages() if m.thread_ts is None]) == 12  # each card once
