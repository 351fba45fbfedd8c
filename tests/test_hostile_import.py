"""Hostile files through ``handover import``, end to end (the command, the database, the report), on
SQLite and PostgreSQL. tests/test_import.py covers how the reader takes each oddity apart; here a
person runs the command on it and we look at what they see and what was stored:

- encodings (Windows-1252, Latin-1, UTF-8 with BOM, UTF-16) and Excel's semicolons arrive intact,
  with a warning that names the line;
- formulas (= + - @) are stored as the text they are, an XLSX formula is read as typed (never a
  cached result), and the CSV report written back escapes them with a leading apostrophe;
- a file that is refused (empty, duplicated headers, a broken line near the end, more rows than the
  limit, a zip bomb) says why with a line number and writes nothing — not even the rows before the
  problem; a header-only file says it has no rows;
- cell text is never terminal markup (a company called "[/]" used to crash the report);
- slow (``pytest -m slow``): a 50 MB file imported whole, and a 1,000,000-row file refused at once,
  both streamed in bounded memory; each prints its rows/s and peak RSS.
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import app
from bot.config import load_config
from bot.flows.importing import import_file
from bot.intake import tabular
from bot.intake.tabular import TabularError, iter_rows
from tests.harness import Bench

EVENT = "Global Event 2026"


@pytest.fixture
def cli(bench: Bench, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``handover …`` against the bench's database (SQLite or PostgreSQL)."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("DATABASE_URL", bench.ctx.settings.database_url)
    monkeypatch.delenv("HANDOVER_CONFIG", raising=False)
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, ["import", *args, "--event", EVENT, "--no-deliver"], catch_exceptions=False)

    return run


def write(tmp_path: Path, text: str, name: str = "export.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def customers(bench: Bench) -> dict[str, str]:
    """contact e-mail -> the customer's name, as stored."""
    from bot.models import Customer

    with bench.db() as s:
        names = {c.id: c.name for c in s.exec(select(Customer))}
    return {i.contact_email: names[i.customer_id] for i in bench.items()}


def nothing_written(bench: Bench) -> bool:
    return bench.items() == [] and bench.outbox() == []


# ----- encodings and delimiters --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "encoding, warned", [("cp1252", True), ("latin-1", True), ("utf-8-sig", False), ("utf-16", False), ("utf-8", False)]
)
def test_an_export_in_any_excel_encoding_with_semicolons_arrives_intact(
    bench: Bench, cli, tmp_path: Path, encoding: str, warned: bool
) -> None:
    notes = "Grüße, 5 ½ sites; «quoted» " + ("€" if encoding != "latin-1" else "")  # no € in Latin-1
    text = f'Company;E-mail;Notes\r\nACME AB;ola@acme.se;plain\r\nMalmö Energi AB;anna@malmo.se;"{notes}"\r\n'
    result = cli(str(write(tmp_path, text, encoding=encoding)))
    assert result.exit_code == 0, result.output
    assert "2 created" in result.output
    items = {i.contact_email: i for i in bench.items()}
    assert items["anna@malmo.se"].description == notes.strip()
    assert customers(bench)["anna@malmo.se"] == "Malmö Energi AB"
    assert ("line 3" in result.output and "Windows-1252" in result.output) is warned, result.output


# ----- formulas --------------------------------------------------------------------------------------------

FORMULAS = [
    '=HYPERLINK("http://evil.example","click")',
    "=1+1",
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "=cmd|' /C calc'!A0",
    "\t=1+1",
]


def test_formulas_are_stored_as_text_and_escaped_in_the_report(bench: Bench, cli, tmp_path: Path) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["Customer", "E-mail", "Notes", "Painpoint"])
    for n, formula in enumerate(FORMULAS):
        writer.writerow([f"{formula}", f"p{n}@evil{n}.example", formula, "yes"])
    writer.writerow(["Bad Row AB", "x@y.example", "fine", "=1+1"])  # a formula where yes/no belongs
    report = tmp_path / "report.csv"
    result = cli(str(write(tmp_path, buf.getvalue())), "--report", str(report))
    assert result.exit_code == 1, result.output  # the last row is rejected
    stored = {i.contact_email: i for i in bench.items()}
    names = customers(bench)
    for n, formula in enumerate(FORMULAS):
        email = f"p{n}@evil{n}.example"
        assert names[email] == formula.strip() and stored[email].description == formula.strip()  # text, not a value
    with report.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["line", "status", "customer", "category", "receiver", "why", "item"]
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), f"unescaped formula in the report: {row}"
    written = [row[2] for row in rows[1:] if row[1] == "created"]
    assert written == ["'" + f.strip() for f in FORMULAS]
    [rejected] = [row for row in rows[1:] if row[1] == "rejected"]
    assert rejected[0] == str(len(FORMULAS) + 2) and "Painpoint" in rejected[5] and "=1+1" in rejected[5]


def _xlsx_with_cached_value(path: Path, formula: str, cached: str) -> None:
    """An XLSX whose formula cell also stores a (lying) cached result, as any tool can write."""
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.append(["Customer", "Notes", "E-mail"])
    ws.append(["ACME AB", "placeholder", "ola@acme.se"])
    ws["B2"] = formula
    book.save(path)
    with zipfile.ZipFile(path) as z:
        parts = {name: z.read(name) for name in z.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    body = formula.removeprefix("=").replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    start = sheet.index('<c r="B2"')
    end = sheet.index("</c>", start) + len("</c>")
    sheet = sheet[:start] + f'<c r="B2" t="str"><f>{body}</f><v>{cached}</v></c>' + sheet[end:]
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)


def test_an_xlsx_formula_is_read_as_typed_never_as_its_cached_result(bench: Bench, cli, tmp_path: Path) -> None:
    path = tmp_path / "export.xlsx"
    _xlsx_with_cached_value(path, '=HYPERLINK("http://evil.example","click me")', "Totally harmless")
    result = cli(str(path), "--report", str(tmp_path / "r.csv"))
    assert result.exit_code == 0, result.output
    [item] = bench.items()
    assert item.description == '=HYPERLINK("http://evil.example","click me")'
    assert "Totally harmless" not in (tmp_path / "r.csv").read_text()


def test_an_xlsx_that_declares_a_huge_sheet_is_read_by_its_real_rows(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.append(["Customer", "E-mail"])
    ws.append(["ACME AB", "ola@acme.se"])
    ws.append(["Last AB", "last@acme.se"])
    path = tmp_path / "wide.xlsx"
    book.save(path)
    with zipfile.ZipFile(path) as z:
        parts = {name: z.read(name) for name in z.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    # the sheet claims 16,384 columns by 1,048,576 rows, and its last row sits at the very bottom
    sheet = re.sub(r'<dimension ref="[^"]+"\s*/>', '<dimension ref="A1:XFD1048576"/>', sheet)
    sheet = (
        sheet.replace('<row r="3">', '<row r="1048576">')
        .replace('r="A3"', 'r="A1048576"')
        .replace('r="B3"', 'r="B1048576"')
    )
    assert "XFD1048576" in sheet and 'r="1048576"' in sheet
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    # read by the rows the sheet really has, not 16,384 empty cells for each of a million rows
    rows = list(iter_rows(path, checklist_keys={}))
    assert [(r.line, r.item.customer) for r in rows] == [(2, "ACME AB"), (1048576, "Last AB")]


def test_a_zip_bomb_posing_as_xlsx_is_refused_before_it_is_unpacked(
    bench: Bench, cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tabular, "MAX_UNPACKED_BYTES", 4 * 2**20)
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/sharedStrings.xml", b"\0" * (8 * 2**20))  # 8 MB of nothing, a few KB packed
    assert path.stat().st_size < 100_000
    result = cli(str(path))
    assert result.exit_code == 2 and "unpacks to 8 MB" in result.output, result.output
    assert nothing_written(bench)


# ----- refused files write nothing ---------------------------------------------------------------------------

GOOD_ROWS = "".join(f"Company {n} AB,person{n}@example.com,Notes {n}\n" for n in range(300))


@pytest.mark.parametrize(
    "name, text, args, says",
    [
        ("empty", "", [], "the file is empty"),
        ("blank lines only", "\n \r\n\t\n", [], "the file is empty"),
        ("duplicated headers", "Customer,E-mail,customer \nACME,ola@acme.se,Other\n", [], "line 1: columns 1"),
        ("two columns for one field", "Company,Account name\nACME,ACME Group\n", [], "both mean customer"),
        (
            "a cell over the CSV field limit after 300 good rows",
            "Customer,E-mail,Notes\n" + GOOD_ROWS + 'Big AB,big@example.com,"' + "x" * 1_100_000 + '"\n',
            [],
            "line 302: the file is not valid CSV",
        ),
        (
            "more rows than --max-rows",
            "Customer,E-mail,Notes\n" + GOOD_ROWS,
            ["--max-rows", "200"],
            "line 202: the file has more than 200 rows",
        ),
    ],
)
def test_a_refused_file_says_why_by_line_and_writes_nothing(
    bench: Bench, cli, tmp_path: Path, name: str, text: str, args: list[str], says: str
) -> None:
    result = cli(str(write(tmp_path, text)), *args)
    assert result.exit_code == 2, result.output
    output = " ".join(result.output.split())
    assert says in output and "Nothing was imported" in output, output
    assert nothing_written(bench)  # not even the good rows before the problem


def test_a_nul_byte_rejects_only_its_row(bench: Bench, cli, tmp_path: Path) -> None:
    result = cli(str(write(tmp_path, "Customer,E-mail,Notes\n" + GOOD_ROWS + "Late AB,late@example.com,a\0b\n")))
    assert result.exit_code == 1
    assert "line 302: Notes: 'a\\x00b' contains characters that are not text" in " ".join(result.output.split())
    assert len(bench.items()) == 300


def test_the_late_problem_writes_nothing_through_the_api_of_the_flow_too(bench: Bench, tmp_path: Path) -> None:
    path = write(
        tmp_path, "Customer,E-mail,Notes\n" + GOOD_ROWS + 'Late AB,late@example.com,"' + "x" * 1_100_000 + '"\n'
    )
    with pytest.raises(TabularError, match="line 302"):
        import_file(bench.ctx, path, event=EVENT)
    assert nothing_written(bench)


def test_a_header_only_file_says_it_has_no_rows(bench: Bench, cli, tmp_path: Path) -> None:
    result = cli(str(write(tmp_path, "Customer;E-mail;Notes\r\n")))
    assert result.exit_code == 0, result.output
    assert "no rows" in result.output and "0 created, 0 already imported, 0 rejected" in result.output
    assert nothing_written(bench)


def test_an_unclosed_quote_rejects_its_line_and_names_it(bench: Bench, cli, tmp_path: Path) -> None:
    text = 'Customer,E-mail,Notes\nACME AB,ola@acme.se,fine\nKeller GmbH,jonas@keller.de,"never closed\n' + "".join(
        f"Row {n},r{n}@example.com,x\n" for n in range(3000)
    )
    result = cli(str(write(tmp_path, text)))
    assert result.exit_code == 1, result.output
    assert "line 3:" in result.output and "longer than" in result.output  # the swallowed rest, named
    assert list(customers(bench).values()) == ["ACME AB"]


def test_cell_text_is_never_terminal_markup(bench: Bench, cli, tmp_path: Path) -> None:
    text = (
        "Customer,E-mail,Painpoint,[bold red]Column[/]\n"
        "[/],a@example.com,yes,x\n"
        "[link=http://evil.example]ACME[/link],b@example.com,[/],x\n"
    )
    result = cli(str(write(tmp_path, text)))
    assert result.exit_code == 1, result.output  # line 3's checklist cell is not yes/no
    assert "[/]" in result.output and "[bold red]Column[/]" in result.output
    assert "line 3:" in result.output
    assert list(customers(bench).values()) == ["[/]"]


def test_a_long_import_is_summed_up_and_the_report_has_every_line(bench: Bench, cli, tmp_path: Path) -> None:
    report = tmp_path / "all.csv"
    text = "Customer,E-mail\n" + "".join(f"Company {n},p{n}@example.com\n" for n in range(250)) + ",missing@x.se\n"
    result = cli(str(write(tmp_path, text)), "--report", str(report))
    assert result.exit_code == 1
    assert "and 50 more rows" in result.output and "line 252:" in result.output
    with report.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))[1:]
    assert [int(r[0]) for r in rows] == list(range(2, 253))
    assert rows[-1][1] == "rejected" and rows[-1][5] == "Customer: is required"


# ----- big files (slow) --------------------------------------------------------------------------------------

PEAK = """
import atexit, resource, sys
def peak():
    try:  # this process's own high-water mark (getrusage would include the parent's size at fork)
        kb = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    except (OSError, StopIteration):
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sys.stderr.write(f"\\n[peak-rss-kb] {kb}\\n")
atexit.register(peak)
"""


def _run_measured(
    args: list[str], env: dict[str, str], cwd: Path, *, code: str | None = None
) -> tuple[int, str, float, float]:
    """Run ``handover …`` (or ``code``) in a child process: (exit code, output, seconds, peak RSS in MB)."""
    launcher = PEAK + (
        code or "import runpy\nsys.argv[0] = 'handover'\nrunpy.run_module('bot.cli', run_name='__main__')\n"
    )
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", launcher, *args], cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    output = done.stdout + done.stderr
    peak = int(re.findall(r"\[peak-rss-kb\] (\d+)", output)[-1]) / 1024
    return done.returncode, output, seconds, peak


def _child_env(bench: Bench) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "HANDOVER_"))}
    env.update(DATABASE_URL=bench.ctx.settings.database_url, COLUMNS="200")
    return env


@pytest.mark.slow
def test_a_50_mb_file_is_imported_whole_in_bounded_memory(bench: Bench, tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    words = [
        "router",
        "switch",
        "firewall",
        "budget",
        "timeline",
        "site",
        "upgrade",
        "quote",
        "meeting",
        "Malmö",
        "Grüße",
        "€",
        "",
    ]
    rows = 5_200
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("ID,Company,E-mail,Contact,Notes,Region,Painpoint,Budget\n")
        for n in range(rows):
            notes = " ".join(words[(n + k) % len(words)] for k in range(1_700))[:9_990]
            f.write(f'big-{n},Company {n} AB,p{n}@company{n}.example,Person {n},"{notes}",nordics,yes,no\n')
    size_mb = path.stat().st_size / 2**20
    assert size_mb >= 50
    code, output, seconds, peak = _run_measured(
        ["import", str(path), "--event", EVENT, "--no-deliver"], _child_env(bench), tmp_path
    )
    assert code == 0, output[-2000:]
    assert f"{rows} created" in output.replace(",", "")
    assert len(bench.items()) == rows
    print(
        f"\n[figure] 50 MB import ({bench.ctx.engine.dialect.name}): {size_mb:.0f} MB, {rows:,} rows in "
        f"{seconds:.1f} s = {rows / seconds:,.0f} rows/s, peak RSS {peak:.0f} MB"
    )
    assert peak < 400, f"peak RSS {peak:.0f} MB: the file is not streamed"


@pytest.mark.slow
def test_a_million_rows_are_refused_at_once_in_bounded_memory(bench: Bench, tmp_path: Path) -> None:
    path = tmp_path / "million.csv"
    rows = 1_000_000
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("Company,E-mail,Contact,Notes,Region,Painpoint\n")
        for n in range(rows):
            f.write(f"Company {n} AB,person{n}@company{n}.example,Person {n},Wants routers for site {n},nordics,yes\n")
    size_mb = path.stat().st_size / 2**20
    code, output, seconds, peak = _run_measured(
        ["import", str(path), "--event", EVENT, "--no-deliver"], _child_env(bench), tmp_path
    )
    assert code == 2, output[-2000:]
    flat = " ".join(output.split())
    assert "line 100002: the file has more than 100,000 rows" in flat and "Nothing was imported" in flat, flat
    assert bench.items() == []
    print(
        f"\n[figure] 1,000,000-row file ({size_mb:.0f} MB) refused by `handover import` in {seconds:.1f} s, "
        f"peak RSS {peak:.0f} MB"
    )
    assert peak < 200
    # and the reader itself streams all of it (what a run with the limit lifted would parse and validate)
    script = (
        "from pathlib import Path\nfrom bot.intake.tabular import iter_rows\n"
        "from bot.config import load_config\nimport time\nlabels = load_config(None).checklist.labels\n"
        "t = time.perf_counter()\nn = sum(1 for _ in iter_rows(Path(sys.argv[1]), checklist_keys=labels,"
        " defaults={'event': 'E'}, max_rows=None))\nprint('[read]', n, time.perf_counter() - t)\n"
    )
    code, output, seconds, read_peak = _run_measured([str(path)], _child_env(bench), tmp_path, code=script)
    assert code == 0, output[-2000:]
    counted, parse_seconds = re.findall(r"\[read\] (\d+) ([\d.]+)", output)[0]
    assert int(counted) == rows
    print(
        f"[figure] 1,000,000 rows read and validated in {float(parse_seconds):.1f} s = "
        f"{rows / float(parse_seconds):,.0f} rows/s, peak RSS {read_peak:.0f} MB"
    )
    assert read_peak < 150, f"peak RSS {read_peak:.0f} MB: the reader is not streaming"


def test_the_reader_is_streamed_not_loaded(tmp_path: Path) -> None:
    """A quick guard for the slow figures: reading a 20 MB file keeps well under 20 MB of text."""
    import tracemalloc

    path = tmp_path / "mid.csv"
    with path.open("w", encoding="utf-8") as f:
        f.write("Company,Notes\n")
        for n in range(20_000):
            f.write(f"Company {n},{'x' * 1000}\n")
    labels = load_config(None).checklist.labels
    tracemalloc.start()
    try:
        count = sum(1 for _ in iter_rows(path, checklist_keys=labels))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 20_000
    assert peak < 5 * 2**20, f"{peak / 2**20:.0f} MB held while reading a 20 MB file"
