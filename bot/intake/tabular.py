"""Reading an event export (CSV or XLSX) into items, row by row, with line-numbered errors.

- Encodings: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252 (with a warning).
- Streamed: the file is read row by row, never whole; more than MAX_ROWS rows is a whole-file error.
- CSV delimiters are sniffed (comma, semicolon, tab, pipe): Excel in much of Europe writes ';'.
- Spreadsheet formulas are data, never executed: an XLSX formula cell is read as its text and
  a CSV cell starting with '=' stays text (and is escaped whenever Handover writes a file).
- Whole-file problems (no header, no customer column, duplicated headers, unreadable file) raise
  :class:`TabularError`; a bad row becomes a :class:`RowError` and its neighbours go on. A row's
  errors name the file's own column header ("E-Mail-Adresse") and quote the bad value.
- Nothing is dropped without a word: an XLSX header merged over several columns takes the cells of
  all of them (joined); a column without a header that holds data is named (by its letter) in a
  warning; a text cell over its field's limit is kept up to the limit, with a warning.
- A row's import identity (:attr:`ImportRow.key`) is its content, normalized (NFKC, case folded,
  invisible characters and repeated spaces dropped): the file's name and the exact spelling of the
  event do not matter. With an id column, the id (within the row's event) is the identity.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.intake import columns
from bot.intake.schema import ItemIn

SNIFF_BYTES = 64 * 1024
CHUNK_BYTES = 1 << 20
MAX_CELL = 10_000
# How much of an over-long cell is kept (the rest is cut, with a warning naming the line and column);
# the item's own limits (bot/intake/schema.py). Identifiers (e-mails, domain, id, category, region,
# product area) are never cut: a cut identifier would be a wrong one, so the row is rejected instead.
KEEP_UP_TO: dict[str, int] = {
    "description": MAX_CELL,
    "customer_request": MAX_CELL,
    "customer": 500,
    "contact_name": 500,
    "first_name": 250,
    "last_name": 250,
    "contact_title": 500,
    "contact_phone": 500,
    "event": 500,
}
LIMIT = 500  # every other field
SWALLOWED_ROWS = 3  # an over-long CSV cell with this many lines that look like rows is an unclosed quote
JOIN_WITH = {"description": "\n", "customer_request": "\n"}  # cells of a merged header; others: a space
MAX_ROWS = 100_000  # an event export has thousands; a million rows is a wrong file (and a million DMs)
MAX_UNPACKED_BYTES = 512 * 2**20
csv.field_size_limit(1_000_000)


class TabularError(Exception):
    """The file as a whole can't be read; the message says why."""


@dataclass(frozen=True)
class ImportRow:
    line: int
    item: ItemIn
    key: str  # the row's identity: "id:<hash of event + the file's id>" or "row:<hash of the content>"
    legacy_key: str = ""  # the key an import before identities were content-based gave it (see importing.py)
    warnings: list[str] = field(default_factory=list)  # e.g. a note cut to the limit


@dataclass(frozen=True)
class RowError:
    line: int
    reasons: list[str]


@dataclass
class Report:
    rows: list[ImportRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _encoding(path: Path, warnings: list[str]) -> str:
    """The codec to read ``path`` with, found by streaming through it once (never all in memory):
    a BOM decides; else UTF-8 if every byte is; else Windows-1252, with a warning naming the line."""
    with path.open("rb") as f:
        head = f.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE):
            return "utf-16"
        f.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        line = 1
        for chunk in iter(lambda: f.read(CHUNK_BYTES), b""):
            buffered = decoder.getstate()[0]  # a character cut by the last chunk: exc.start counts it
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                line += chunk[: max(exc.start - len(buffered), 0)].count(b"\n")
                break
            line += chunk.count(b"\n")
        else:
            try:
                decoder.decode(b"", final=True)
                return "utf-8"
            except UnicodeDecodeError:
                pass
    warnings.append(f"the file is not UTF-8 (first odd byte on line {line}); read it as Windows-1252")
    return "cp1252"


@dataclass
class _Found:
    """What reading the file found out besides its rows (filled before the first row is yielded)."""

    merged: list[tuple[int, int, int, int]] = field(default_factory=list)  # XLSX merged ranges
    delimiter: str | None = None  # CSV


def _csv_rows(path: Path, warnings: list[str], found: _Found) -> Iterator[tuple[int, list[str]]]:
    encoding = _encoding(path, warnings)
    # Only the delimiter is sniffed, from the header (the first non-blank line): the rest of a sniffed
    # dialect is guessed from that one line too, and a header without quotes makes the Sniffer turn off
    # doublequote, which would mangle every '""' escape in the data rows.
    with path.open(encoding=encoding, errors="replace", newline="") as f:
        head = f.read(SNIFF_BYTES)
    header = next((line for line in head.splitlines() if line.strip()), "")
    try:
        delimiter = csv.Sniffer().sniff(header, delimiters=",;\t|").delimiter if header else ","
    except csv.Error:
        delimiter = ","
    found.delimiter = delimiter
    dialect: Any = type("Sniffed", (csv.excel,), {"delimiter": delimiter})
    with path.open(encoding=encoding, errors="replace", newline="") as f:  # streamed, row by row
        reader = csv.reader(f, dialect)
        last = 0
        try:
            for row in reader:
                yield last + 1, row
                last = reader.line_num
        except csv.Error as exc:
            raise TabularError(f"line {last + 1}: the file is not valid CSV ({exc})") from None


def _cell_text(value: Any) -> str:
    """An XLSX cell as the text a person sees: a date cell is ``2026-03-16`` (not ``2026-03-16
    00:00:00``), a date and time ``2026-03-16 14:30``, a whole number without ``.0``."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds" if value.second else "minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat(timespec="seconds" if value.second else "minutes")
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _merged_ranges(sheet: Any) -> list[tuple[int, int, int, int]]:
    """The sheet's merged ranges as (min_row, min_col, max_row, max_col). openpyxl's read-only mode
    does not offer them, and they come after the cells in the sheet's XML: one streamed pass that
    keeps only the <mergeCell ref="B1:C1"/> elements."""
    from openpyxl.utils.cell import range_boundaries
    from openpyxl.xml.functions import iterparse

    ranges: list[tuple[int, int, int, int]] = []
    with sheet._get_source() as source:  # openpyxl's read-only sheet: its XML, streamed
        for _, element in iterparse(source):
            if element.tag.endswith("}mergeCell") and element.get("ref"):
                try:
                    min_col, min_row, max_col, max_row = range_boundaries(element.get("ref"))
                except (TypeError, ValueError):
                    continue
                ranges.append((min_row, min_col, max_row, max_col))
            element.clear()
    return ranges


def _xlsx_rows(path: Path, warnings: list[str], found: _Found) -> Iterator[tuple[int, list[str]]]:
    import zipfile

    from openpyxl import load_workbook

    try:
        unpacked = sum(member.file_size for member in zipfile.ZipFile(path).infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise TabularError(f"not a readable .xlsx workbook ({type(exc).__name__})") from None
    if unpacked > MAX_UNPACKED_BYTES:  # a zip bomb, or a workbook far beyond any event export
        raise TabularError(
            f"the workbook unpacks to {unpacked // 2**20:,} MB (more than "
            f"{MAX_UNPACKED_BYTES // 2**20:,} MB); export the sheet as CSV"
        )
    try:
        # openpyxl has no formula engine: nothing is ever computed. data_only=False gives a formula
        # cell's text as typed ("=HYPERLINK(...)"), not the cached result the file's author stored
        book = load_workbook(path, read_only=True, data_only=False)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise TabularError(f"not a readable .xlsx workbook ({type(exc).__name__})") from None
    try:
        sheet = book.worksheets[0]
        # the declared dimension is the file's word, not a fact: with it, openpyxl pads every row to
        # the declared width (16,384 columns of nothing, a million times, in a hostile file)
        sheet.reset_dimensions()
        if len(book.worksheets) > 1:
            warnings.append(
                f"the workbook has {len(book.worksheets)} sheets; only the first, {sheet.title!r}, was read"
            )
        try:
            found.merged.extend(_merged_ranges(sheet))
        except Exception as exc:  # noqa: BLE001  (a broken XML shows up as such in the real read)
            raise TabularError(f"not a readable .xlsx workbook ({type(exc).__name__})") from None
        for n, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield n, [_cell_text(v) for v in row]
    finally:
        book.close()


def _rows(path: Path, warnings: list[str], found: _Found) -> Iterator[tuple[int, list[str]]]:
    if not path.exists():
        raise TabularError("no such file")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx_rows(path, warnings, found)
    if suffix in (".csv", ".txt", ".tsv"):
        return _csv_rows(path, warnings, found)
    raise TabularError(f"unsupported file type {suffix or '(none)'}; use .csv or .xlsx")


# every format character (Unicode category Cf): zero-width space and joiners, BOM, direction marks, soft hyphen
_INVISIBLE = {cp: None for cp in range(0x110000) if unicodedata.category(chr(cp)) == "Cf"}


def fold(text: str | None) -> str:
    """Text as a person reads it, for comparing: NFKC (full-width letters, ligatures and NBSP become
    plain ones), invisible format characters dropped (zero-width space, BOM, direction marks, soft
    hyphen), case folded, every run of white space one space."""
    text = unicodedata.normalize("NFKC", text or "").translate(_INVISIBLE)
    return " ".join(text.casefold().split())


IDENTITY_FIELDS = ("event", "customer", "contact_email", "contact_name", "description", "customer_request")


def identity_key(item: ItemIn) -> str:
    """The row's import identity, from its content: the same row comes back in ``leads (1).csv``,
    with the event as ``GLOBAL EVENT 2026``, with a stray space or a trailing zero-width space, and
    is still the same row. A file with an id column (Scan ID, Lead ID, …) keeps its ids: the id
    within the row's event (normalized the same way) is the identity."""
    if item.external_id:
        prefix, parts = "id", [fold(item.event), fold(item.external_id)]
    else:
        prefix, parts = "row", [fold(getattr(item, name)) for name in IDENTITY_FIELDS]
    return f"{prefix}:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def _legacy_key(values: dict[str, Any], item: ItemIn) -> str:
    """The row key before identities were content-based (kept to recognize items imported then)."""
    if item.external_id:
        return f"id:{item.external_id}"
    parts = [
        str(values.get(k) or "").strip().lower()
        for k in ("customer", "contact_email", "contact_name", "description", "customer_request", "event")
    ]
    return "sha:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:20]


def _quote(value: object, width: int = 60) -> str:
    text = str(value)
    return repr(text if len(text) <= width else text[: width - 1] + "…")


def column_letter(index: int) -> str:
    """0 -> 'A', 26 -> 'AA' (as a spreadsheet names its columns)."""
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


OPTION_NAMES = {"event": "--event", "business_builder_email": "--business-builder", "sender_email": "--sender"}


@dataclass
class _Layout:
    """What the header row says: which column is which field, and how the file names each field."""

    headers: list[str]
    fields: dict[int, str]
    checks: dict[int, str]
    joined: dict[int, list[int]]  # first column of a merged header -> all the columns it spans
    unnamed: set[int]  # columns with no header (and no merged header over them)
    names: dict[str, str]  # field or checklist key -> the file's own header for it
    sheet: bool  # an XLSX sheet (cells right of the header are unnamed columns, not stray delimiters)
    delimiter: str | None  # a CSV file's
    stray: dict[int, list[int]] = field(default_factory=dict)  # unnamed column -> lines where it holds data


def _reasons(exc: ValidationError, name_of: Any, shown: dict[str, str]) -> list[str]:
    out = []
    for e in exc.errors():
        loc = e.get("loc", ())
        where = str(loc[0]) if loc else ""
        name = name_of(where) if where else "row"
        message = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        value = shown.get(where, e.get("input"))
        if e.get("type") in ("missing", "string_too_short"):
            out.append(f"{name}: is required")
            continue
        if e.get("type") == "enum":
            message = "is not one of prospect, lead, opportunity_intelligence, customer_intelligence"
        quoted = _quote(value) if isinstance(value, str) else ""
        if quoted and message.startswith(("is ", "contains ")):
            out.append(f"{name}: {quoted} {message}")
        elif quoted:
            out.append(f"{name}: {quoted}: {message}")
        else:
            out.append(f"{name}: {message}")
    return out


def iter_rows(
    path: Path,
    *,
    checklist_keys: dict[str, str],
    defaults: dict[str, str] | None = None,
    warnings: list[str] | None = None,
    max_rows: int | None = MAX_ROWS,
) -> Iterator[ImportRow | RowError]:
    """Each data row of ``path`` as an :class:`ImportRow` or a :class:`RowError`, in file order,
    streamed (memory does not grow with the file). More than ``max_rows`` data rows is a
    whole-file error, raised when the row after the limit is reached. Warnings about the file as a
    whole (an encoding guessed, columns ignored, a column without a header that holds data) go to
    ``warnings``; a row's own (a cell cut to the limit) are on its :class:`ImportRow`."""
    warnings = warnings if warnings is not None else []
    defaults = defaults or {}
    path = Path(path)
    found = _Found()
    rows = _rows(path, warnings, found)
    header_line, headers = next(((n, r) for n, r in rows if any(c.strip() for c in r)), (0, []))
    if not headers:
        raise TabularError("the file is empty: no header row")
    headers = list(headers)
    # a header merged over several columns (XLSX): its text is in the first, the cells below it in all
    joined: dict[int, list[int]] = {}
    for min_row, min_col, max_row, max_col in found.merged:
        first = min_col - 1
        if min_row <= header_line <= max_row and max_col > min_col and first < len(headers) and headers[first].strip():
            headers += [""] * (max_col - len(headers))
            joined[first] = list(range(first, max_col))
    covered = {n for span in joined.values() for n in span}
    seen: dict[str, int] = {}
    for n, h in enumerate(headers):
        norm = columns.normalize(h)
        if norm and norm in seen:
            m = seen[norm]
            raise TabularError(
                f"line {header_line}: columns {m + 1} ({headers[m].strip()!r}) and {n + 1} "
                f"({h.strip()!r}) have the same name; rename one"
            )
        seen[norm] = n
    fields, checks, unused = columns.match(headers, checklist_keys)
    # two columns meaning the same field ("Company" and "Account name"): one would silently win
    taken: dict[str, int] = {}
    for n, name in sorted([*fields.items(), *((n, "checklist " + k) for n, k in checks.items())]):
        if name in taken:
            m = taken[name]
            raise TabularError(
                f"line {header_line}: columns {m + 1} ({headers[m].strip()!r}) and {n + 1} "
                f"({headers[n].strip()!r}) both mean {name}; remove or rename one"
            )
        taken[name] = n
    if "customer" not in fields.values():
        raise TabularError(
            f"line {header_line}: no customer column (expected one of: Customer, Company, "
            f"Account); the columns are {', '.join(h for h in headers if h.strip())}"
        )
    if unused:
        warnings.append("ignored columns (not a field Handover knows): " + ", ".join(unused))
    names = {name: headers[n].strip() for n, name in [*fields.items(), *checks.items()]}
    if "contact_name" not in names and ("first_name" in names or "last_name" in names):
        names["contact_name"] = " + ".join(names[k] for k in ("first_name", "last_name") if k in names)
    layout = _Layout(
        headers=headers,
        fields=fields,
        checks=checks,
        joined=joined,
        names=names,
        unnamed={n for n, h in enumerate(headers) if not h.strip() and n not in covered},
        sheet=path.suffix.lower() in (".xlsx", ".xlsm"),
        delimiter=found.delimiter,
    )
    count = 0
    for line, row in rows:
        if not any(c.strip() for c in row):
            continue
        count += 1
        if max_rows is not None and count > max_rows:
            raise TabularError(
                f"line {line}: the file has more than {max_rows:,} rows; that is not one event's "
                f"export (split it, or raise the limit with --max-rows)"
            )
        yield _row(line, row, layout, defaults)
    if count == 0:
        warnings.append("the file has a header but no rows")
    for n, lines in sorted(layout.stray.items()):
        shown = ", ".join(map(str, lines[:5])) + (", …" if len(lines) > 5 else "")
        warnings.append(
            f"column {column_letter(n)} has no header, so its {len(lines):,} filled cell(s) were not "
            f"imported (line(s) {shown}); give the column a header (see the import format "
            f"reference) and import the file again to add them"
        )


def _swallowed_rows(text: str, layout: _Layout) -> bool:
    """An over-long CSV cell whose lines are mostly rows of the file (each with the header's number of
    delimiters): a quote was left open and the rest of the file was read into it."""
    if layout.sheet or not layout.delimiter or len(layout.headers) < 2:
        return False
    lines = [ln for ln in text.split("\n") if ln.strip()]
    rowlike = sum(1 for ln in lines if ln.count(layout.delimiter) >= len(layout.headers) - 1)
    return rowlike >= SWALLOWED_ROWS and rowlike * 2 >= len(lines)


def _row(line: int, row: list[str], layout: _Layout, defaults: dict[str, str]) -> ImportRow | RowError:
    reasons: list[str] = []
    warnings: list[str] = []
    width = len(layout.headers)
    if len(row) > width and any(c.strip() for c in row[width:]):
        if layout.sheet:  # cells right of the last header: columns without a header
            for n in range(width, len(row)):
                if row[n].strip():
                    layout.stray.setdefault(n, []).append(line)
        else:
            reasons.append(f"has {len(row)} cells but the header has {width} columns (a stray delimiter?)")
    cells = [c.strip() for c in row[:width]] + [""] * max(width - len(row), 0)
    for n in layout.unnamed:
        if cells[n]:
            layout.stray.setdefault(n, []).append(line)
    values: dict[str, Any] = {}
    shown: dict[str, str] = {}  # the cell as written, for the error message
    for n, name in layout.fields.items():
        parts = [cells[c] for c in layout.joined.get(n, [n]) if cells[c]]
        if not parts:
            continue
        text = JOIN_WITH.get(name, " ").join(parts)
        keep = KEEP_UP_TO.get(name)
        if keep is not None and len(text) > keep and _swallowed_rows(text, layout):
            # not a long note: a quote left open, and the rows after it read as this one cell
            reasons.append(
                f"{layout.names[name]}: a quoted cell of {len(text):,} characters over "
                f"{text.count(chr(10)) + 1:,} lines, starting {_quote(text, 40)}, is longer than "
                f"{keep:,} characters, and its lines look like rows (a quote never closed?); "
                f"the row is rejected"
            )
            continue
        if keep is not None and len(text) > keep:
            warnings.append(
                f"{layout.names[name]}: {len(text):,} characters, more than the {keep:,} kept; "
                f"the rest was cut (the kept text ends with '…')"
            )
            text = text[: keep - 1].rstrip() + "…"
        elif keep is None and len(text) > LIMIT:
            reasons.append(
                f"{layout.names[name]}: {_quote(text)} is longer than {LIMIT} characters "
                f"({len(text):,}); an identifier can't be cut"
            )
            continue
        values[name] = shown[name] = text
    checklist: dict[str, bool] = {}
    for n, key in layout.checks.items():
        for cell in (cells[c] for c in layout.joined.get(n, [n])):
            flag = columns.truthy(cell)
            if flag is None:
                reasons.append(
                    f"{layout.names[key]}: {_quote(cell, 40)} is not a yes/no word "
                    f"(yes/no, ja/nein, oui/non, sí/no, ✓/✗, 1/0, … see the import format reference)"
                )
            elif flag:
                checklist[key] = True
    first, last = values.pop("first_name", None), values.pop("last_name", None)
    if not values.get("contact_name") and (first or last):
        values["contact_name"] = shown["contact_name"] = " ".join(p for p in (first, last) if p)
    if values.get("category"):
        values["category"] = columns.category_value(values["category"])
    from_option = {k for k in defaults if k not in values}
    for k in from_option:
        values[k] = defaults[k]

    def name_of(where: str) -> str:
        if where in from_option:
            return OPTION_NAMES.get(where, where)
        return layout.names.get(where, where)

    if reasons:
        return RowError(line, reasons)
    try:
        item = ItemIn(**values, checklist=checklist)
    except ValidationError as exc:
        return RowError(line, _reasons(exc, name_of, shown))
    return ImportRow(
        line=line, item=item, key=identity_key(item), legacy_key=_legacy_key(values, item), warnings=warnings
    )


def read_items(
    path: Path,
    *,
    checklist_keys: dict[str, str],
    defaults: dict[str, str] | None = None,
    max_rows: int | None = MAX_ROWS,
) -> Report:
    report = Report()
    for row in iter_rows(
        path, checklist_keys=checklist_keys, defaults=defaults, warnings=report.warnings, max_rows=max_rows
    ):
        if isinstance(row, RowError):
            report.errors.append(row)
        else:
            report.rows.append(row)
    return report


def count_rows(path: Path) -> int:
    """About how many data rows the file has (for the progress bar)."""
    path = Path(path)
    if not path.exists():
        raise TabularError("no such file")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        try:
            book = load_workbook(path, read_only=True)
            total = max((book.worksheets[0].max_row or 1) - 1, 0)
            book.close()
            return total
        except Exception:  # noqa: BLE001  (the real read reports it properly)
            return 0
    with path.open("rb") as f:
        return max(sum(1 for _ in f) - 1, 0)
