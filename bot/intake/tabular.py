"""Reading an event export (CSV or XLSX) into items, row by row, with line-numbered errors.

- Encodings: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252 (with a warning).
- Streamed: the file is read row by row, never whole; more than MAX_ROWS rows is a whole-file error.
- CSV delimiters are sniffed (comma, semicolon, tab, pipe): Excel in much of Europe writes ';'.
- Spreadsheet formulas are data, never executed: an XLSX formula cell is read as its text and
  a CSV cell starting with '=' stays text (and is escaped whenever Handover writes a file).
- Whole-file problems (no header, no customer column, duplicated headers, unreadable file) raise
  :class:`TabularError`; a bad row becomes a :class:`RowError` and its neighbours go on.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.intake import columns
from bot.intake.schema import ItemIn

SNIFF_BYTES = 64 * 1024
CHUNK_BYTES = 1 << 20
MAX_CELL = 10_000
MAX_ROWS = 100_000  # an event export has thousands; a million rows is a wrong file (and a million DMs)
MAX_UNPACKED_BYTES = 512 * 2**20
csv.field_size_limit(1_000_000)


class TabularError(Exception):
    """The file as a whole can't be read; the message says why."""


@dataclass(frozen=True)
class ImportRow:
    line: int
    item: ItemIn
    key: str  # stable: "id:<the file's id>" or "sha:<content hash>"


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


def _csv_rows(path: Path, warnings: list[str]) -> Iterator[tuple[int, list[str]]]:
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


def _xlsx_rows(path: Path, warnings: list[str]) -> Iterator[tuple[int, list[str]]]:
    import zipfile

    from openpyxl import load_workbook
    try:
        unpacked = sum(member.file_size for member in zipfile.ZipFile(path).infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise TabularError(f"not a readable .xlsx workbook ({type(exc).__name__})") from None
    if unpacked > MAX_UNPACKED_BYTES:  # a zip bomb, or a workbook far beyond any event export
        raise TabularError(f"the workbook unpacks to {unpacked // 2**20:,} MB (more than "
                           f"{MAX_UNPACKED_BYTES // 2**20:,} MB); export the sheet as CSV")
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
            warnings.append(f"the workbook has {len(book.worksheets)} sheets; only the first, "
                            f"{sheet.title!r}, was read")
        for n, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield n, ["" if v is None else str(v) for v in row]
    finally:
        book.close()


def _rows(path: Path, warnings: list[str]) -> Iterator[tuple[int, list[str]]]:
    if not path.exists():
        raise TabularError("no such file")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx_rows(path, warnings)
    if suffix in (".csv", ".txt", ".tsv"):
        return _csv_rows(path, warnings)
    raise TabularError(f"unsupported file type {suffix or '(none)'}; use .csv or .xlsx")


def _content_key(values: dict[str, Any]) -> str:
    parts = [str(values.get(k) or "").strip().lower() for k in
             ("customer", "contact_email", "contact_name", "description", "customer_request", "event")]
    return "sha:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:20]


def _reasons(exc: ValidationError) -> list[str]:
    out = []
    for e in exc.errors():
        where = ".".join(str(p) for p in e.get("loc", ())) or "row"
        message = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        if e.get("type") in ("missing", "string_too_short"):
            message = "is required"
        elif e.get("type") == "enum":
            message = "is not one of prospect, lead, opportunity_intelligence, customer_intelligence"
        out.append(f"{where}: {message}")
    return out


def iter_rows(path: Path, *, checklist_keys: dict[str, str], defaults: dict[str, str] | None = None,
              warnings: list[str] | None = None, max_rows: int | None = MAX_ROWS) -> Iterator[ImportRow | RowError]:
    """Each data row of ``path`` as an :class:`ImportRow` or a :class:`RowError`, in file order,
    streamed (memory does not grow with the file). More than ``max_rows`` data rows is a
    whole-file error, raised when the row after the limit is reached."""
    warnings = warnings if warnings is not None else []
    defaults = defaults or {}
    rows = _rows(Path(path), warnings)
    header_line, headers = next(((n, r) for n, r in rows if any(c.strip() for c in r)), (0, []))
    if not headers:
        raise TabularError("the file is empty: no header row")
    seen: dict[str, int] = {}
    for n, h in enumerate(headers):
        norm = columns.normalize(h)
        if norm and norm in seen:
            m = seen[norm]
            raise TabularError(f"line {header_line}: columns {m + 1} ({headers[m].strip()!r}) and {n + 1} "
                               f"({h.strip()!r}) have the same name; rename one")
        seen[norm] = n
    fields, checks, unused = columns.match(headers, checklist_keys)
    # two columns meaning the same field ("Company" and "Account name"): one would silently win
    taken: dict[str, int] = {}
    for n, name in sorted([*fields.items(), *((n, "checklist " + k) for n, k in checks.items())]):
        if name in taken:
            m = taken[name]
            raise TabularError(f"line {header_line}: columns {m + 1} ({headers[m].strip()!r}) and {n + 1} "
                               f"({headers[n].strip()!r}) both mean {name}; remove or rename one")
        taken[name] = n
    if "customer" not in fields.values():
        raise TabularError(f"line {header_line}: no customer column (expected one of: Customer, Company, "
                           f"Account); the columns are {', '.join(h for h in headers if h.strip())}")
    if unused:
        warnings.append("ignored columns: " + ", ".join(unused))
    count = 0
    for line, row in rows:
        if not any(c.strip() for c in row):
            continue
        count += 1
        if max_rows is not None and count > max_rows:
            raise TabularError(f"line {line}: the file has more than {max_rows:,} rows; that is not one event's "
                               f"export (split it, or raise the limit with --max-rows)")
        yield _row(line, row, fields, checks, defaults, len(headers))
    any_data = count > 0
    if not any_data:
        warnings.append("the file has a header but no rows")


def _row(line: int, row: list[str], fields: dict[int, str], checks: dict[int, str], defaults: dict[str, str],
         width: int) -> ImportRow | RowError:
    reasons: list[str] = []
    if len(row) > width and any(c.strip() for c in row[width:]):
        reasons.append(f"has {len(row)} cells but the header has {width} columns (a stray delimiter?)")
    values: dict[str, Any] = {}
    checklist: dict[str, bool] = {}
    for n, cell in enumerate(row[:width]):
        cell = cell.strip()
        if len(cell) > MAX_CELL:
            reasons.append(f"column {n + 1}: longer than {MAX_CELL} characters")
            continue
        if n in checks:
            flag = columns.truthy(cell)
            if flag is None:
                reasons.append(f"{checks[n]}: {cell[:40]!r} is not yes or no")
            elif flag:
                checklist[checks[n]] = True
        elif n in fields and cell:
            values[fields[n]] = cell
    first, last = values.pop("first_name", None), values.pop("last_name", None)
    if not values.get("contact_name") and (first or last):
        values["contact_name"] = " ".join(p for p in (first, last) if p)
    if values.get("category"):
        values["category"] = columns.category_value(values["category"])
    for k, v in defaults.items():
        values.setdefault(k, v)
    if reasons:
        return RowError(line, reasons)
    try:
        item = ItemIn(**values, checklist=checklist)
    except ValidationError as exc:
        return RowError(line, _reasons(exc))
    key = f"id:{item.external_id}" if item.external_id else _content_key(values)
    return ImportRow(line=line, item=item, key=key)


def read_items(path: Path, *, checklist_keys: dict[str, str], defaults: dict[str, str] | None = None,
               max_rows: int | None = MAX_ROWS) -> Report:
    report = Report()
    for row in iter_rows(path, checklist_keys=checklist_keys, defaults=defaults, warnings=report.warnings,
                         max_rows=max_rows):
        (report.errors if isinstance(row, RowError) else report.rows).append(row)
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
