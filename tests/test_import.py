"""The event-file import: a badge-scanner or event-tool export (CSV or XLSX) becomes items.

What a person running ``handover import`` notices: how many items were created, which lines were
rejected and why, that a second run creates nothing new, that ``--dry-run`` changes nothing, and
that odd files (Excel's encodings and delimiters, formulas, stray quotes) neither crash the import
nor get executed.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from bot.cli import app
from bot.config import load_config
from bot.flows.importing import import_file
from bot.intake.tabular import ImportRow, RowError, TabularError, count_rows, read_items
from bot.samples import sample_path
from tests.harness import Bench

SAMPLE = sample_path("global_event_2026.csv")
EVENT = "Global Event 2026"
LABELS = load_config(None).checklist.labels


def write(tmp_path: Path, text: str, name: str = "export.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def read(path: Path):
    return read_items(path, checklist_keys=LABELS)


def errors_by_line(errors: list[RowError]) -> dict[int, list[str]]:
    return {e.line: e.reasons for e in errors}


# ----- the bundled sample, through the database ---------------------------------------------------


def test_sample_imports_twelve_items_and_names_the_two_bad_lines(bench: Bench) -> None:
    summary = import_file(bench.ctx, SAMPLE, event=EVENT)
    assert summary.created == 12
    assert len(bench.items()) == 12
    bad = errors_by_line(summary.errors)
    assert sorted(bad) == [12, 13]
    assert bad[12] == ["Company: is required"]  # the file's own column header, not the field's name
    assert bad[13] == ["E-mail: 'hannah.wright@oxfordclinics' is not a valid e-mail address"]
    assert [o.line for o in summary.outcomes] == [n for n in range(2, 16) if n not in (12, 13)]
    by_customer = {i.contact_email: i for i in bench.items()}
    acme = by_customer["ola.nordmann@acme.se"]
    assert acme.event_name == EVENT and acme.contact_name == "Ola Nordmann"
    assert acme.customer_request == "Send a quote for 40 routers" and acme.customer_request_open
    assert (
        acme.checklist.get("painpoint")
        and acme.checklist.get("decision_maker")
        and not acme.checklist.get("infrastructure")
    )
    for o in summary.outcomes:
        assert o.receiver and o.routing and o.item_id is not None
        assert bench.trail(o.item_id), f"line {o.line}: no audit trail"
    assert len(bench.outbox()) == 12  # one card per created item, waiting to be sent


def test_the_imported_items_reach_their_receivers(bench: Bench) -> None:
    summary = import_file(bench.ctx, SAMPLE, event=EVENT)
    bench.deliver()
    assert bench.outbox() and all(o.status == "sent" for o in bench.outbox())
    for o in summary.outcomes:
        item = bench.item(o.item_id)
        card = bench.card(o.item_id)  # the card the receiver sees
        assert item.contact_name in str(card.blocks), f"line {o.line}: the card does not name the contact"
        if o.receiver in bench.users:
            assert card.channel == bench.fake.dm_channel_for(bench.user(o.receiver))


def test_reimporting_the_sample_creates_nothing_new(bench: Bench) -> None:
    first = import_file(bench.ctx, SAMPLE, event=EVENT)
    ids = sorted(i.id for i in bench.items())
    outbox = len(bench.outbox())
    second = import_file(bench.ctx, SAMPLE, event=EVENT)
    assert second.created == 0 and second.existing == 12
    assert {o.status for o in second.outcomes} == {"already imported"}
    assert sorted(i.id for i in bench.items()) == ids
    assert len(bench.outbox()) == outbox
    assert [(o.line, o.item_id) for o in second.outcomes] == [(o.line, o.item_id) for o in first.outcomes]
    assert sorted(e.line for e in second.errors) == [12, 13]


def test_without_an_id_column_the_content_decides_what_is_already_imported(bench: Bench, tmp_path: Path) -> None:
    path = write(
        tmp_path, "Company,E-mail,Notes\nACME AB,ola@acme.se,Wants routers\nKeller GmbH,jonas@keller.de,Wants Wi-Fi\n"
    )
    assert import_file(bench.ctx, path, event=EVENT).created == 2
    # the same rows again, reordered and with different case/whitespace in an exported copy
    again = write(
        tmp_path,
        "Company,E-mail,Notes\n"
        "Keller GmbH,JONAS@keller.de,Wants Wi-Fi\n"
        " ACME AB ,ola@acme.se,Wants routers\n"
        "Fjord AS,ingrid@fjord.no,New row\n",
        name="export-again.csv",
    )
    summary = import_file(bench.ctx, again, event=EVENT)
    assert [o.status for o in summary.outcomes] == ["already imported", "already imported", "created"]
    assert len(bench.items()) == 3


def test_the_same_file_for_another_event_is_a_new_import(bench: Bench) -> None:
    import_file(bench.ctx, SAMPLE, event=EVENT)
    summary = import_file(bench.ctx, SAMPLE, event="Another Event 2027")
    assert summary.created == 12 and len(bench.items()) == 24


def test_dry_run_writes_nothing_and_shows_the_routing(bench: Bench) -> None:
    summary = import_file(bench.ctx, SAMPLE, event=EVENT, dry_run=True)
    assert bench.items() == [] and bench.outbox() == []
    assert len(summary.outcomes) == 12 and summary.created == 0
    assert {o.status for o in summary.outcomes} == {"would create"}
    for o in summary.outcomes:
        assert o.receiver and "@" in o.receiver, o
        assert o.routing.strip(), o
        assert o.item_id is None
    assert sorted(e.line for e in summary.errors) == [12, 13]
    # what the dry run announced is what the real run does
    real = import_file(bench.ctx, SAMPLE, event=EVENT)
    assert [(o.line, o.category, o.receiver, o.routing) for o in real.outcomes] == [
        (o.line, o.category, o.receiver, o.routing) for o in summary.outcomes
    ]


def test_dry_run_after_an_import_says_already_imported(bench: Bench) -> None:
    import_file(bench.ctx, SAMPLE, event=EVENT)
    before = len(bench.outbox())
    summary = import_file(bench.ctx, SAMPLE, event=EVENT, dry_run=True)
    assert {o.status for o in summary.outcomes} == {"already imported"}
    assert len(bench.items()) == 12 and len(bench.outbox()) == before


def test_a_whole_file_problem_creates_nothing(bench: Bench, tmp_path: Path) -> None:
    with pytest.raises(TabularError):
        import_file(bench.ctx, write(tmp_path, "Name,E-mail\nOla,ola@acme.se\n"), event=EVENT)
    assert bench.items() == []


# ----- hostile files, no database -------------------------------------------------------------------


def test_utf8_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "Customer,City\nMalmö Energi AB,Malmö\n".encode())
    report = read(path)
    assert [r.item.customer for r in report.rows] == ["Malmö Energi AB"]
    assert not any("Windows-1252" in w for w in report.warnings)


def test_utf16_with_bom(tmp_path: Path) -> None:
    path = write(tmp_path, "Customer\tNotes\nMalmö Energi AB\tUTF-16 from Excel\n", encoding="utf-16")
    report = read(path)
    assert [(r.item.customer, r.item.description) for r in report.rows] == [("Malmö Energi AB", "UTF-16 from Excel")]


def test_cp1252_is_read_with_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path, "Customer;Notes\nACME AB;fine\nMalmö Energi AB;Grüße, 5 €\n", encoding="cp1252")
    report = read(path)
    assert [r.item.customer for r in report.rows] == ["ACME AB", "Malmö Energi AB"]
    assert report.rows[1].item.description == "Grüße, 5 €"
    [warning] = [w for w in report.warnings if "Windows-1252" in w]
    assert "line 3" in warning


@pytest.mark.parametrize("delimiter", [";", "\t", "|", ","])
def test_the_delimiter_is_sniffed(tmp_path: Path, delimiter: str) -> None:
    rows = [
        ["Company", "E-mail", "Notes"],
        ["ACME AB", "ola@acme.se", "Routers, switches; and more"],
        ["Keller GmbH", "jonas@keller.de", "Wi-Fi"],
    ]
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter).writerows(rows)
    report = read(write(tmp_path, buf.getvalue()))
    assert report.errors == []
    assert [(r.item.customer, r.item.contact_email, r.item.description) for r in report.rows] == [
        ("ACME AB", "ola@acme.se", "Routers, switches; and more"),
        ("Keller GmbH", "jonas@keller.de", "Wi-Fi"),
    ]


def test_leading_blank_lines_do_not_confuse_the_delimiter(tmp_path: Path) -> None:
    report = read(write(tmp_path, "\n\nCompany;E-mail\nACME AB;ola@acme.se\n"))
    assert [(r.line, r.item.customer, r.item.contact_email) for r in report.rows] == [(4, "ACME AB", "ola@acme.se")]


def test_doubled_quotes_inside_a_cell_survive(tmp_path: Path) -> None:
    # the header has no quotes at all: the data rows' "" escapes must still be read as one quote
    text = 'Company;Notes\nACME AB;"He said ""call me""; twice"\nKeller;plain\n'
    report = read(write(tmp_path, text))
    assert [r.item.description for r in report.rows] == ['He said "call me"; twice', "plain"]


@pytest.mark.parametrize("formula", ['=HYPERLINK("http://evil.example","click")', "=1+1", "+1+1", "@SUM(A1)", "-2+3"])
def test_a_csv_formula_stays_literal_text(tmp_path: Path, formula: str) -> None:
    buf = io.StringIO()
    csv.writer(buf).writerows([["Customer", "Notes"], [formula, formula]])
    report = read(write(tmp_path, buf.getvalue()))
    [row] = report.rows
    assert row.item.customer == formula and row.item.description == formula


def test_an_xlsx_formula_is_read_as_its_text_never_computed(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.append(["Customer", "Notes", "E-mail", "Painpoint"])
    ws.append(["ACME AB", "placeholder", "ola@acme.se", "yes"])
    ws["B2"] = "=1+1"
    ws.append(["Evil Ltd", '=HYPERLINK("http://evil.example","click")', "", "x"])
    path = tmp_path / "export.xlsx"
    book.save(path)
    report = read(path)
    assert report.errors == []
    assert [(r.line, r.item.customer, r.item.description) for r in report.rows] == [
        (2, "ACME AB", "=1+1"),
        (3, "Evil Ltd", '=HYPERLINK("http://evil.example","click")'),
    ]
    assert report.rows[0].item.checklist == {"painpoint": True}
    assert count_rows(path) == 2


def test_an_xlsx_with_rows_not_starting_at_a1_keeps_true_line_numbers(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws["A3"], ws["B3"] = "Customer", "E-mail"
    ws["A4"], ws["B4"] = "ACME AB", "ola@acme.se"
    ws["A6"], ws["B6"] = "Keller", "not-an-email"
    path = tmp_path / "offset.xlsx"
    book.save(path)
    report = read(path)
    assert [r.line for r in report.rows] == [4]
    assert [e.line for e in report.errors] == [6]


def test_a_broken_xlsx_is_a_whole_file_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"this is not a zip file")
    with pytest.raises(TabularError):
        read(path)


def test_an_empty_file_is_a_whole_file_error(tmp_path: Path) -> None:
    with pytest.raises(TabularError, match="empty"):
        read(write(tmp_path, ""))
    with pytest.raises(TabularError, match="empty"):
        read(write(tmp_path, "\n\n  \n", name="blank.csv"))


def test_a_header_only_file_has_no_rows_and_a_warning(tmp_path: Path) -> None:
    report = read(write(tmp_path, "Customer;E-mail;Notes\n"))
    assert report.rows == [] and report.errors == []
    assert any("no rows" in w for w in report.warnings)


def test_duplicated_headers_are_a_whole_file_error_naming_both_columns(tmp_path: Path) -> None:
    with pytest.raises(TabularError) as caught:
        read(write(tmp_path, "Customer,E-mail,customer \nACME,ola@acme.se,Other\n"))
    message = str(caught.value)
    assert "1" in message and "3" in message and "Customer" in message and "customer" in message


def test_two_columns_meaning_the_same_field_are_a_whole_file_error(tmp_path: Path) -> None:
    # "Company" and "Account name" both mean the customer: silently keeping one would lose data
    with pytest.raises(TabularError) as caught:
        read(write(tmp_path, "Company,Account name,E-mail\nACME,ACME Group,ola@acme.se\n"))
    assert "Company" in str(caught.value) and "Account name" in str(caught.value)


def test_no_customer_column_is_a_whole_file_error(tmp_path: Path) -> None:
    with pytest.raises(TabularError, match="no customer column"):
        read(write(tmp_path, "Name,E-mail\nOla,ola@acme.se\n"))


def test_an_unsupported_file_type_is_a_whole_file_error(tmp_path: Path) -> None:
    with pytest.raises(TabularError, match="unsupported"):
        read(write(tmp_path, "Customer\nACME\n", name="export.json"))


def test_a_checklist_cell_that_is_neither_yes_nor_no_rejects_only_its_row(tmp_path: Path) -> None:
    report = read(write(tmp_path, "Customer,Painpoint,Budget\nACME AB,yes,x\nKeller GmbH,maybe,no\nFjord AS,0,1\n"))
    assert [(r.line, r.item.customer, r.item.checklist) for r in report.rows] == [
        (2, "ACME AB", {"painpoint": True, "budget": True}),
        (4, "Fjord AS", {"budget": True}),
    ]
    [error] = report.errors
    assert error.line == 3 and error.reasons[0].startswith("Painpoint: 'maybe' is not a yes/no word")


def test_checklist_columns_match_by_label(tmp_path: Path) -> None:
    buf = io.StringIO()  # some labels contain commas: "Company fit (revenue, employees, offices)"
    csv.writer(buf).writerows([["Customer", *LABELS.values()], ["ACME AB"] + ["yes"] * len(LABELS)])
    report = read(write(tmp_path, buf.getvalue()))
    [row] = report.rows
    assert row.item.checklist == {k: True for k in LABELS}
    assert not any("ignored columns" in w for w in report.warnings)


def test_a_quoted_multiline_cell_keeps_the_next_rows_line_number(tmp_path: Path) -> None:
    text = (
        "Customer,Notes,E-mail\n"
        'ACME AB,"first line\nsecond line\nthird line",ola@acme.se\n'
        "Keller GmbH,single,not-an-email\n"
        "Fjord AS,ok,ingrid@fjord.no\n"
    )
    report = read(write(tmp_path, text))
    assert [(r.line, r.item.customer) for r in report.rows] == [(2, "ACME AB"), (6, "Fjord AS")]
    assert report.rows[0].item.description == "first line\nsecond line\nthird line"
    [error] = report.errors
    assert error.line == 5 and error.reasons[0].startswith("E-mail: 'not-an-email'")


def test_crlf_line_endings_keep_line_numbers(tmp_path: Path) -> None:
    text = 'Customer,Notes\r\nACME AB,"two\r\nlines"\r\n,missing customer\r\n'
    report = read(write(tmp_path, text))
    assert [r.line for r in report.rows] == [2]
    assert [e.line for e in report.errors] == [4]


def test_a_stray_delimiter_rejects_the_row(tmp_path: Path) -> None:
    report = read(write(tmp_path, "Customer;E-mail\nACME AB;ola@acme.se;extra\nKeller;j@keller.de\n"))
    assert [e.line for e in report.errors] == [2]
    assert [r.item.customer for r in report.rows] == ["Keller"]


def test_unknown_columns_are_reported_as_ignored(tmp_path: Path) -> None:
    report = read(write(tmp_path, "Customer,Shoe size\nACME AB,44\n"))
    assert len(report.rows) == 1
    assert any("Shoe size" in w for w in report.warnings)


# ----- property: any csv-module output is either a row or a row error, never a crash --------------

CELL = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30) | st.sampled_from(
    [
        "",
        " ",
        ";",
        ",",
        "\t",
        "|",
        '"',
        '""',
        "\n",
        "\r\n",
        "=1+1",
        "yes",
        "maybe",
        "ola@acme.se",
        "x@y",
        "\ufeff",
        "\u202e",
        "\x00",
        "Ωmega",
        "🦆",
    ]
)


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    rows=st.lists(st.lists(CELL, min_size=4, max_size=4), max_size=6),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    painpoint=st.lists(st.sampled_from(["yes", "no", "", "x", "maybe"]), min_size=6, max_size=6),
)
def test_any_csv_reads_as_rows_or_row_errors(
    tmp_path: Path, rows: list[list[str]], delimiter: str, painpoint: list[str]
) -> None:
    header = ["Customer", "E-mail", "Notes", "Region", "Painpoint"]
    data = [row + [p] for row, p in zip(rows, painpoint)]
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, delimiter=delimiter)  # "\r\n", as Excel writes: a bare "\r" in a cell gets quoted
    writer.writerow(header)
    writer.writerows(data)
    path = tmp_path / "prop.csv"
    path.write_bytes(buf.getvalue().encode("utf-8"))
    try:
        report = read(path)
    except TabularError:
        return
    expected = [row for row in data if any(c.strip() for c in row)]
    got = sorted([*report.rows, *report.errors], key=lambda r: r.line)
    assert len(got) == len(expected)
    assert [r.line for r in got] == sorted({r.line for r in got})  # one result per line, in order
    for result, row in zip(got, expected):
        if isinstance(result, ImportRow):
            assert result.item.customer == row[0].strip()
        else:
            assert result.reasons


# ----- the command line -----------------------------------------------------------------------------


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)  # no stray .env from the working directory
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.delenv("HANDOVER_CONFIG", raising=False)
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, list(args), catch_exceptions=False)

    result = run("db", "upgrade")
    assert result.exit_code == 0, result.output
    return run


def test_cli_import_reports_bad_lines_and_is_idempotent(cli) -> None:
    first = cli("import", str(SAMPLE), "--event", EVENT, "--no-deliver")
    assert first.exit_code == 1, first.output
    assert "line 12" in first.output and "line 13" in first.output
    assert "12 created" in first.output
    second = cli("import", str(SAMPLE), "--event", EVENT, "--no-deliver")
    assert second.exit_code == 1, second.output
    assert "0 created, 12 already imported" in second.output


def test_cli_dry_run_says_would_create(cli) -> None:
    result = cli("import", str(SAMPLE), "--event", EVENT, "--dry-run")
    assert result.exit_code == 1, result.output
    assert "would create" in result.output and "12 would create" in result.output
    after = cli("import", str(SAMPLE), "--event", EVENT, "--no-deliver")
    assert "12 created" in after.output  # the dry run stored nothing


def test_cli_a_whole_file_error_exits_2(cli, tmp_path: Path) -> None:
    path = write(tmp_path, "Name,E-mail\nOla,ola@acme.se\n")
    result = cli("import", str(path), "--event", EVENT, "--no-deliver")
    assert result.exit_code == 2


def test_cli_a_clean_file_exits_0(cli, tmp_path: Path) -> None:
    path = write(tmp_path, "Company;E-mail\nACME AB;ola@acme.se\n")
    result = cli("import", str(path), "--event", EVENT, "--no-deliver")
    assert result.exit_code == 0, result.output
    assert "1 created" in result.output
