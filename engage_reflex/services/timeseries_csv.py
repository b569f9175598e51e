"""Read planners' timeseries CSVs (Excel exports, European locales) into clean, regular UTC series.

Two steps, both called from the upload job: `inspect_csv` sniffs the layout and describes the columns;
`clean_csv` turns the chosen columns into regular series or refuses with every problem it found.

The file is never held in memory as text. A streaming pass with the `csv` module decides the structure
(which record is the header, which records are data rows, on which line each starts, field counts);
pandas then reads only the needed columns in chunks. Both tokenise records the same way, so row i of
pandas is record i of the structure pass and every problem can name the line a text editor shows.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zoneinfo
from array import array
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from engage_reflex.services.errors import EngageError

MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_SERIES_PER_UPLOAD = 100
MAX_LISTED_PROBLEMS = 50
CHUNK_ROWS = 50_000  # rows per pandas chunk: bounds the job's memory beyond the kept numbers

_MB = 1024 * 1024
_SAMPLE_BYTES = 64 * 1024
_SAMPLE_RECORDS = 400
_KIND_SAMPLE = 200
_MAX_UNITS_ROWS = 3
_COLLECT_ROWS = 10_000  # samples and kinds come from the first rows; a column empty there is "empty"
_NA_TOKENS = frozenset({"na", "n/a", "nan", "-", "null", "#n/a"})
_NS_PER_MIN = 60 * 1_000_000_000
_NAT = np.iinfo(np.int64).min
_EXCEL_EPOCH_NS = pd.Timestamp("1899-12-30").value
_EARLIEST, _LATEST = pd.Timestamp("1900-01-01"), pd.Timestamp("2200-01-01")
_READ_ERRORS = (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeError, ValueError,
                OverflowError, csv.Error, MemoryError, IndexError, KeyError)

_BINARY_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BINARY_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?$")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+$")
_DECIMAL_DOT = re.compile(r"^[+-]?\d*\.\d+$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:([.,])\d{3})+(?!\1)[.,]\d+$|^[+-]?\d{1,3}(?:[., ]\d{3}){2,}$")
_SEPARATED_DIGITS = re.compile(r"^[+-]?\d[\d.,]*$")
_DATE_LIKE = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}")
_TZ_OFFSET = r"\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$"


# ---------------------------------------------------------------------------------------------- API types
@dataclass(frozen=True)
class CsvProblem:
    row: int | None  # line number as a text editor shows it; None = the whole file
    column: str | None
    message: str
    refused: bool


class CsvRefused(EngageError):
    """The file (or the chosen columns) cannot be used; `problems` lists every reason (capped)."""

    def __init__(self, message: str, problems: Sequence[CsvProblem] = ()):
        super().__init__(message)
        self.problems = tuple(problems)


@dataclass(frozen=True)
class CsvLayout:
    encoding: str  # "utf-8" or "cp1252"
    delimiter: str  # "," ";" or "\t"
    decimal: str  # "." or ","
    header_row: int  # 1-based line of the column names; 0 = the file has no header line
    bom: bool = False


@dataclass(frozen=True)
class CsvColumn:
    name: str
    kind: str  # "timestamp" | "number" | "text" | "empty"
    samples: tuple[str, ...]


@dataclass(frozen=True)
class CsvInspection:
    layout: CsvLayout
    columns: tuple[CsvColumn, ...]
    data_rows: int
    preview: tuple[tuple[str, ...], ...]
    timestamp_column: str | None
    date_format: str | None
    # Notes (refused=False) and what clean_csv would refuse with this layout (refused=True).
    problems: tuple[CsvProblem, ...]


@dataclass(frozen=True)
class SeriesChoice:
    column: str
    name: str


@dataclass(frozen=True)
class CleanSeries:
    name: str
    column: str
    timestamps: np.ndarray  # datetime64[ns], naive UTC, strictly increasing, regular
    values: np.ndarray  # float64, finite


@dataclass(frozen=True)
class CleanResult:
    series: tuple[CleanSeries, ...]
    step_minutes: int
    problems: tuple[CsvProblem, ...]


# ------------------------------------------------------------------------------------------ small helpers
def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _lines_text(first: int, last: int) -> str:
    return f"Line {first}" if first == last else f"Lines {first}–{last}"


def _clock(ns: int) -> str:
    return pd.Timestamp(ns).strftime("%Y-%m-%d %H:%M")


def _is_blank(text: str) -> bool:
    return text.strip() == ""


def _is_na(text: str) -> bool:
    stripped = text.strip()
    return stripped == "" or stripped.lower() in _NA_TOKENS


def _data_like(text: str) -> bool:
    stripped = text.strip()
    return bool(_NUMBER.match(stripped) or _DATE_LIKE.match(stripped))


def _texty(fields: Sequence[str]) -> bool:
    """Mostly names: more non-empty fields that are not numbers/dates than ones that are."""
    filled = [f for f in fields if not _is_na(f)]
    data = sum(_data_like(f) for f in filled)
    return len(filled) - data > data


def _has_data(fields: Sequence[str]) -> bool:
    return any(_data_like(f) for f in fields)


def _refuse(problems: Sequence[CsvProblem], total: int | None = None) -> CsvRefused:
    total = len(problems) if total is None else total
    listed = list(problems[:MAX_LISTED_PROBLEMS])
    if total > len(listed):
        listed.append(CsvProblem(None, None, f"… and {total - len(listed)} more problems like these.", True))
    if total == 1:
        message = listed[0].message
    else:
        message = f"{total} problems were found, so nothing was stored. The first: {listed[0].message}"
    return CsvRefused(message, listed)


def _refuse_one(message: str, row: int | None = None, column: str | None = None) -> CsvRefused:
    return CsvRefused(message, [CsvProblem(row, column, message, True)])


class _Progress:
    """Maps the progress of one phase onto a slice of 0..1 and never goes backwards."""

    def __init__(self, callback: Callable[[float], None] | None):
        self.callback = callback
        self.done = 0.0

    def report(self, start: float, end: float, fraction: float) -> None:
        value = min(1.0, max(self.done, start + (end - start) * min(1.0, max(0.0, fraction))))
        if self.callback is not None and value > self.done:
            self.callback(value)
        self.done = value


def _py_encoding(layout: CsvLayout) -> str:
    if layout.encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        return "utf-8-sig" if layout.bom else "utf-8"
    return layout.encoding


# --------------------------------------------------------------------------------- file-level checks
def _check_file(path: Path) -> tuple[bytes, int]:
    size = path.stat().st_size
    if size == 0:
        raise _refuse_one("This file is empty.")
    if size > MAX_FILE_BYTES:
        shown = max(MAX_FILE_BYTES // _MB + 1, round(size / _MB))
        raise _refuse_one(f"The file is {shown} MB; the limit is {MAX_FILE_BYTES // _MB} MB per file.")
    with path.open("rb") as handle:
        head = handle.read(_SAMPLE_BYTES)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _refuse_one("This file is saved as UTF-16 ('Unicode text'). Save it from the spreadsheet "
                          "as 'CSV UTF-8' or plain 'CSV' and upload it again.")
    _check_binary_bytes(head)
    return head, size


def _check_binary_bytes(head: bytes) -> None:
    found = _BINARY_BYTES.search(head)
    if found:
        before = head[: found.start()]
        line = 1 + before.count(b"\n") + before.count(b"\r") - before.count(b"\r\n")
        raise _refuse_one(f"This does not look like a text CSV file (it has binary bytes at line {line}).", line)


def _guess_encoding(head: bytes, size: int) -> tuple[str, bool]:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8", True
    if len(head) < size:  # a multi-byte character may be cut at the end of the sample
        head = head[: max(head.rfind(b"\n"), 0)]
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "cp1252", False
    return "utf-8", False


def _sample_records(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """(start line, fields) of the non-blank records in the sample."""
    lines = _LineCounter(io.StringIO(text, newline=""))
    reader = csv.reader(lines, delimiter=delimiter, quotechar='"', strict=False)
    records = []
    try:
        while len(records) < _SAMPLE_RECORDS:
            start = lines.count + 1
            fields = next(reader)
            if fields and not (lines.count == start and _is_blank(lines.last)):
                records.append((start, fields))
    except (StopIteration, csv.Error):
        pass
    return records


def _sample_text(head: bytes, size: int, encoding: str, bom: bool) -> str:
    if len(head) < size:
        head = head[: head.rfind(b"\n") + 1] or head
    text = head.decode("utf-8-sig" if bom else encoding, errors="replace")
    return text


# ---------------------------------------------------------------------------------------- sniffing
def _fits(fields: list[str], width: int) -> bool:
    """The record has the table's width, give or take a delimiter at the end of the lines.

    A negative width means the data lines end with a delimiter, which the header line may lack.
    """
    count, trailing, width = len(fields), width < 0, abs(width)
    return (count == width or (trailing and count == width - 1)
            or (count == width + 1 and _is_blank(fields[-1])))


def _units_like(fields: list[str]) -> bool:
    filled = [f.strip() for f in fields if f.strip()]
    return bool(filled) and all(len(f) <= 8 and not any(c.isalpha() and c.islower() for c in f[1:3])
                                for f in filled) and len(filled) < len(fields)


def _find_header(records: list[tuple[int, list[str]]], width: int) -> tuple[int, int] | None:
    """(index into records, line) of the header for this width, or None when data come first."""
    block: list[int] = []
    for index, (_, fields) in enumerate(records):
        if not _fits(fields, width):
            continue
        if _texty(fields):
            block.append(index)
        elif _has_data(fields):
            break
    if not block:
        return None
    named = [i for i in block if not _units_like(records[i][1])] or block
    best = max(named, key=lambda i: (sum(1 for f in records[i][1] if f.strip()), -i))
    return best, records[best][0]


def _common_width(records: list[tuple[int, list[str]]]) -> int:
    """The most common field count; negative when most such lines end with a delimiter."""
    widths = Counter(len(f) for _, f in records)
    width = max(widths, key=lambda w: (widths[w], w)) if widths else 1
    ending = sum(1 for _, f in records if len(f) == width and _is_blank(f[-1]))
    return -width if width > 1 and ending > widths[width] / 2 else width


def _delimiter_score(records: list[tuple[int, list[str]]]) -> tuple[int, float]:
    width = _common_width(records)
    header = _find_header(records, width)
    first = header[0] if header else next((i for i, (_, f) in enumerate(records) if _fits(f, width)), 0)
    rest = records[first:]
    fitting = sum(1 for _, f in rest if _fits(f, width))
    return width, fitting / max(1, len(rest))


def _sniff_delimiter(text: str) -> str:
    ranked = []
    for preference, delimiter in enumerate([";", "\t", ","]):
        records = _sample_records(text, delimiter)
        width, score = _delimiter_score(records)
        has_header = _find_header(records, width) is not None
        if abs(width) >= 2:
            ranked.append(((has_header, score >= 0.9, score, -preference), delimiter))
    single = next((d for d in [",", ";", "\t"] if d not in text), ";")
    best = max(ranked, default=None)
    if best is not None and best[0][0]:
        return best[1]  # column names split by this delimiter: a table, even with some bad rows
    single_has_header = _find_header(_sample_records(text, single), 1) is not None
    if best is None or single_has_header or not best[0][1]:
        return single
    return best[1]


def _sniff_decimal(records: list[tuple[int, list[str]]], delimiter: str) -> str:
    if delimiter == ",":
        return "."
    commas = dots = 0
    for _, fields in records:
        for value in fields:
            value = value.strip()
            commas += bool(_DECIMAL_COMMA.match(value))
            dots += bool(_DECIMAL_DOT.match(value))
    return "," if commas > dots else "."


def _sniff_layout(head: bytes, size: int, encoding: str | None = None) -> CsvLayout:
    guessed, bom = _guess_encoding(head, size)
    encoding = encoding or guessed
    text = _sample_text(head, size, encoding, bom)
    delimiter = _sniff_delimiter(text)
    records = _sample_records(text, delimiter)
    width = _common_width(records)
    header = _find_header(records, width)
    header_row = header[1] if header else 0
    data = records[header[0] + 1:] if header else records
    return CsvLayout(encoding, delimiter, _sniff_decimal(data, delimiter), header_row, bom)


# ----------------------------------------------------------------------------------- structure pass
class _LineCounter:
    """Feeds lines to csv.reader while counting them and keeping the last one."""

    def __init__(self, text: Iterator[str]):
        self.text = text
        self.count = 0
        self.last = ""

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = next(self.text)
        self.count += 1
        self.last = line
        return line


@dataclass
class _Table:
    """What the structure pass learnt; pandas row i (after `skiprows`) is record `skiprows + i`.

    pandas starts at the first data record, so its first chunk starts with a full-width row (pandas refuses
    `usecols` when the first rows it sees are narrower than `names`) and its numbers are not mixed with names.
    """

    header_line: int
    n_fields: int
    names: list[str]  # one per used column (a blank, empty trailing column is dropped)
    skiprows: int
    records_after_skip: int
    data_index: np.ndarray  # pandas row of each data row
    data_lines: np.ndarray  # line of each data row
    notes: list[CsvProblem] = field(default_factory=list)
    refused: list[CsvProblem] = field(default_factory=list)
    refused_total: int = 0
    preview: list[tuple[str, ...]] = field(default_factory=list)
    samples: list[list[str]] = field(default_factory=list)
    kind_values: list[list[str]] = field(default_factory=list)
    filled: list[bool] = field(default_factory=list)

    def position(self, name: str) -> int:
        return self.names.index(name)


class _StructurePass:
    def __init__(self, layout: CsvLayout, size: int, progress: _Progress, span: tuple[float, float]):
        self.layout = layout
        self.size = size
        self.progress = progress
        self.span = span
        self.header: tuple[int, int, list[str]] | None = None  # record, line, fields
        self.n_fields = 0
        self.trailing_blank = False
        self.units: list[tuple[int, int, list[str]]] = []
        self.units_done = False
        self.pending: list[tuple[int, int, list[str], bool]] = []  # empty rows that may be trailing
        self.index = array("q")
        self.lines = array("q")
        self.blank_skipped: list[int] = []
        self.notes: list[CsvProblem] = []
        self.refused: list[CsvProblem] = []
        self.refused_total = 0
        self.preview: list[tuple[str, ...]] = []
        self.samples: list[list[str]] = []
        self.kind_values: list[list[str]] = []
        self.unfilled: set[int] = set()
        self.first_data_record: int | None = None

    # -- driving
    def run(self, path: Path, strict: bool) -> _Table:
        errors = "strict" if strict else "replace"
        with path.open("rb") as raw:
            text = io.TextIOWrapper(raw, encoding=_py_encoding(self.layout), errors=errors, newline="")
            lines = _LineCounter(text)
            reader = csv.reader(lines, delimiter=self.layout.delimiter, quotechar='"', strict=False)
            record, last_start, unclosed = 0, 1, False
            while True:
                start = lines.count + 1
                try:
                    fields = next(reader)
                except StopIteration:
                    break
                except csv.Error as error:
                    raise _refuse_one(f"Line {start} could not be read as CSV ({error}). Check the quotes "
                                      "on that line.", start) from None
                blank = not fields or (lines.count == start and _is_blank(lines.last)
                                       and self.layout.delimiter not in lines.last)
                if _BINARY_CHARS.search(lines.last):
                    raise _refuse_one("This does not look like a text CSV file (it has binary bytes at "
                                      f"line {lines.count}).", lines.count)
                self._take(record, start, fields, blank)
                last_start = start
                unclosed = lines.count > start and fields and fields[-1].endswith(("\n", "\r"))
                record += 1
                if record % 20_000 == 0:
                    self.progress.report(*self.span, raw.tell() / self.size)
        if unclosed:  # the last record ran to the end of the file inside quotes
            raise _refuse_one(f"Line {last_start}: a quote character (\") opens a cell that is never closed.",
                              last_start)
        return self._finish(record)

    def _take(self, record: int, line: int, fields: list[str], blank: bool) -> None:
        if self.header is None:
            self._before_header(record, line, fields, blank)
        elif not self.units_done:
            self._after_header(record, line, fields, blank)
        else:
            self._data(record, line, fields, blank)

    def _before_header(self, record: int, line: int, fields: list[str], blank: bool) -> None:
        wanted = self.layout.header_row
        if wanted == 0:
            if blank:
                return
            self._set_header(record, line, [f"column_{i + 1}" for i in range(len(fields))], real=False)
            self.units_done = True
            self._data(record, line, fields, blank)
        elif line >= wanted:
            if blank:
                raise _refuse_one(f"Line {wanted} is empty; choose the line that holds the column names.",
                                  wanted)
            self._set_header(record, line, fields, real=True)

    def _set_header(self, record: int, line: int, fields: list[str], real: bool) -> None:
        self.header = (record, line, fields)
        self.n_fields = len(fields)
        self.trailing_blank = real and len(fields) > 1 and _is_blank(fields[-1])
        self.samples = [[] for _ in fields]
        self.kind_values = [[] for _ in fields]
        self.unfilled = set(range(len(fields)))

    def _after_header(self, record: int, line: int, fields: list[str], blank: bool) -> None:
        if blank:
            self.pending.append((record, line, fields, True))
            return
        if _texty(fields) and len(self.units) < _MAX_UNITS_ROWS:
            self.units.append((record, line, fields))
            return
        self.units_done = True
        held, self.units = self.units, []
        if held and _has_data(fields):
            first, last = held[0][1], held[-1][1]
            self.notes.append(CsvProblem(first, None, f"{_lines_text(first, last)} (below the column names) "
                                         "held no data, only units or descriptions; skipped.", False))
            self.pending = [p for p in self.pending if p[1] > last]
        else:
            replay = sorted([(r, ln, f, False) for r, ln, f in held] + self.pending)
            self.pending = []
            for r, ln, f, b in replay:
                self._data(r, ln, f, b)
        self._data(record, line, fields, blank)

    def _data(self, record: int, line: int, fields: list[str], blank: bool) -> None:
        if blank or not "".join(fields).strip():
            self.pending.append((record, line, fields, blank))
            return
        for held in self.pending:
            if held[3] and self.n_fields > 1:
                self.blank_skipped.append(held[1])
            else:
                self._row(*held[:3])
        self.pending = []
        self._row(record, line, fields)

    def _row(self, record: int, line: int, fields: list[str]) -> None:
        if self.first_data_record is None:
            self.first_data_record = record
        self._check_width(line, fields)
        self.index.append(record)
        self.lines.append(line)
        if len(self.preview) < 10:
            self.preview.append(tuple((fields + [""] * self.n_fields)[: self.n_fields]))
        if self.unfilled and len(self.lines) <= _COLLECT_ROWS:
            self._collect(fields)
        elif self.trailing_blank and len(fields) == self.n_fields and not _is_blank(fields[-1]):
            self.samples[-1] = self.samples[-1] or [fields[-1]]

    def _check_width(self, line: int, fields: list[str]) -> None:
        count, width = len(fields), self.n_fields
        if count == width or (width == 1 and count == 0) or (count == width + 1 and _is_blank(fields[-1])):
            return
        if self.trailing_blank and count == width - 1:
            return
        self.refused_total += 1
        if len(self.refused) < MAX_LISTED_PROBLEMS:
            header = self.header
            where = (f"the column names (line {header[1]}) have {width}" if self.layout.header_row
                     else f"the first data line (line {header[1]}) has {width}")
            self.refused.append(CsvProblem(line, None, f"Line {line} has {_plural(count, 'field')}; "
                                           f"{where}.", True))

    def _collect(self, fields: list[str]) -> None:
        for position in list(self.unfilled):
            if position >= len(fields):
                continue
            value = fields[position]
            if _is_blank(value):
                continue
            if len(self.samples[position]) < 5:
                self.samples[position].append(value)
            if not _is_na(value):
                self.kind_values[position].append(value.strip())
            if len(self.samples[position]) >= 5 and len(self.kind_values[position]) >= _KIND_SAMPLE:
                self.unfilled.discard(position)

    # -- result
    def _finish(self, records: int) -> _Table:
        if self.units:  # text rows up to the end: they are the data, not units
            held, self.units = self.units, []
            for r, ln, f in held:
                self._row(r, ln, f)
        if self.header is None:
            if self.layout.header_row:
                raise _refuse_one(f"The file has no line {self.layout.header_row} to take the column names "
                                  "from.")
            raise _refuse_one("This file is empty.")
        header_record, header_line, header_fields = self.header
        if not self.index:
            raise _refuse_one(f"This file has only a header (line {header_line}) and no data rows.")
        for first, last in _runs(self.blank_skipped):
            self.notes.append(CsvProblem(first, None, f"{_lines_text(first, last)} empty; skipped.", False))
        filled = [bool(s) for s in self.samples]
        names = self._names(header_fields, filled)
        real = bool(self.layout.header_row)
        skiprows = self.first_data_record
        return _Table(
            header_line=header_line if real else 0, n_fields=self.n_fields, names=names, skiprows=skiprows,
            records_after_skip=records - skiprows,
            data_index=np.frombuffer(self.index, dtype=np.int64) - skiprows,
            data_lines=np.frombuffer(self.lines, dtype=np.int64), notes=self.notes, refused=self.refused,
            refused_total=self.refused_total, preview=[p[: len(names)] for p in self.preview],
            samples=self.samples, kind_values=self.kind_values, filled=filled[: len(names)])

    def _names(self, header: list[str], filled: list[bool]) -> list[str]:
        names = [h.strip() for h in header]
        if self.trailing_blank and not filled[-1]:
            names.pop()  # a delimiter at the end of every line, not a column
        seen: dict[str, int] = {}
        for position, name in enumerate(names):
            if not name:
                name = f"column_{position + 1}"
                if self.layout.header_row:
                    self.notes.append(CsvProblem(self.header[1], name, f"Column {position + 1} has no name; "
                                                 f"it is shown as '{name}'.", False))
            if name in seen:
                first = seen[name]
                suffix = 2
                while f"{name}_{suffix}" in seen or f"{name}_{suffix}" in names:
                    suffix += 1
                renamed = f"{name}_{suffix}"
                self.notes.append(CsvProblem(self.header[1], renamed, f"Column {position + 1} has the same name "
                                             f"'{name}' as column {first + 1}; it is shown as '{renamed}'.",
                                             False))
                name = renamed
            seen[name] = position
            names[position] = name
        return names


def _runs(values: Sequence[int]) -> list[tuple[int, int]]:
    """Consecutive runs of increasing integers as (first, last)."""
    runs: list[tuple[int, int]] = []
    for value in values:
        if runs and value == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], value)
        else:
            runs.append((value, value))
    return runs


def _structure(path: Path, layout: CsvLayout, size: int, progress: _Progress, span: tuple[float, float],
               strict: bool = False) -> _Table:
    return _StructurePass(layout, size, progress, span).run(path, strict)


# ------------------------------------------------------------------------------------ column reading
_NA_VALUES = sorted({v for t in _NA_TOKENS for v in (t, t.upper(), t.title())} | {"", "NaN"})


def _read_columns(path: Path, layout: CsvLayout, table: _Table, text: Sequence[int], numbers: Sequence[int],
                  size: int, progress: _Progress, span: tuple[float, float]) -> Iterator[dict[int, pd.Series]]:
    """The data rows of the given columns, chunk by chunk: `text` columns as stripped str ("" = no value),
    `numbers` columns as pandas converted them (float, or str for the chunks where some cell is no number)."""
    try:
        yield from _read_chunks(path, layout, table, sorted(set(text)), sorted(set(numbers)), size, progress, span)
    except pd.errors.ParserError:
        raise _refuse_one("This file could not be read as a CSV table; check for a quote character (\") that "
                          "opens a cell and is never closed.") from None


def _read_chunks(path: Path, layout: CsvLayout, table: _Table, text: list[int], numbers: list[int], size: int,
                 progress: _Progress, span: tuple[float, float]) -> Iterator[dict[int, pd.Series]]:
    positions = sorted(set(text) | set(numbers))
    rows_seen = 0
    with path.open("rb") as handle:
        reader = pd.read_csv(
            handle, sep=layout.delimiter, decimal=layout.decimal, header=None, names=list(range(positions[-1] + 1)),
            usecols=positions, dtype={p: str for p in text}, keep_default_na=False, na_values=_NA_VALUES,
            index_col=False, skip_blank_lines=False, skiprows=table.skiprows, chunksize=CHUNK_ROWS,
            encoding=_py_encoding(layout), encoding_errors="replace", quotechar='"', engine="c")
        with reader:
            for chunk in reader:
                lo, hi = np.searchsorted(table.data_index, [rows_seen, rows_seen + len(chunk)])
                rows = chunk.iloc[table.data_index[lo:hi] - rows_seen].reset_index(drop=True)
                rows_seen += len(chunk)
                out = {p: rows[p] for p in numbers}
                out.update({p: rows[p].fillna("").astype(str).str.strip() for p in text})
                yield out
                progress.report(*span, handle.tell() / size)
    if rows_seen != table.records_after_skip:
        raise _refuse_one("This file could not be read consistently as a CSV table; check for unbalanced "
                          "quote characters (\").")


# --------------------------------------------------------------------------------------- timestamps
@dataclass(frozen=True)
class _Family:
    key: str
    words: str
    formats: tuple[str, ...]
    shape: re.Pattern = re.compile("")  # what its values start with; cheap test before parsing


def _with_times(date: str) -> tuple[str, ...]:
    return (f"{date} %H:%M", f"{date} %H:%M:%S", f"{date} %H:%M:%S.%f", date)


_ISO_WORDS = "ISO 8601"
_DAY_WORDS = "day first (31/12/2024 23:00)"
_MONTH_WORDS = "month first (12/31/2024 11:00 PM)"
_EXCEL_WORDS = "Excel serial days"
_FAMILIES = (
    _Family("iso", _ISO_WORDS, ("ISO8601",) + _with_times("%Y-%m-%d"), re.compile(r"\d{4}-")),
    _Family("day/", _DAY_WORDS, _with_times("%d/%m/%Y") + _with_times("%d/%m/%y"), re.compile(r"\d{1,2}/")),
    _Family("month/", _MONTH_WORDS, _with_times("%m/%d/%Y") + ("%m/%d/%Y %I:%M %p", "%m/%d/%Y %I:%M:%S %p")
            + _with_times("%m/%d/%y") + ("%m/%d/%y %I:%M %p",), re.compile(r"\d{1,2}/")),
    _Family("day.", _DAY_WORDS, _with_times("%d.%m.%Y") + _with_times("%d.%m.%y"), re.compile(r"\d{1,2}\.")),
    _Family("day-", _DAY_WORDS, _with_times("%d-%m-%Y"), re.compile(r"\d{1,2}-")),
    _Family("year/", "year first (2024/12/31 23:00)", _with_times("%Y/%m/%d"), re.compile(r"\d{4}/")),
)
_EXCEL = _Family("excel", _EXCEL_WORDS, ())


def _parse_formats(values: pd.Series, formats: Sequence[str]) -> np.ndarray:
    """int64 ns per value (wall time as written; UTC for text with an offset); _NAT where no format fits."""
    out = np.full(len(values), _NAT, dtype=np.int64)
    todo = np.array(values != "", dtype=bool)
    for fmt in formats:
        if not todo.any():
            break
        where = np.flatnonzero(todo)
        # utc=True always: naive text keeps its wall time, and stray offsets cannot mix time zones
        parsed = pd.to_datetime(values.iloc[where], format=fmt, errors="coerce", utc=True).dt.tz_convert(None)
        ok = (parsed.notna() & (parsed >= _EARLIEST) & (parsed < _LATEST)).to_numpy(dtype=bool)
        out[where[ok]] = parsed[ok].to_numpy().astype("datetime64[ns]").view(np.int64)
        todo[where[ok]] = False
    return out


def _to_float(values: pd.Series, decimal: str) -> np.ndarray:
    text = values.str.replace(",", ".", regex=False) if decimal == "," else values
    return np.array(pd.to_numeric(text.where(values.str.len() > 0), errors="coerce"), dtype=np.float64)


def _parse_excel(values: pd.Series, decimal: str) -> np.ndarray:
    days = _to_float(values, decimal)
    ok = (days >= 20000) & (days <= 80000)
    out = np.full(len(values), _NAT, dtype=np.int64)
    out[ok] = _EXCEL_EPOCH_NS + np.round(days[ok] * 86400).astype(np.int64) * 1_000_000_000
    return out


def _parse_family(family: _Family, values: pd.Series, decimal: str) -> np.ndarray:
    if family is _EXCEL:
        return _parse_excel(values, decimal)
    return _parse_formats(values, family.formats)


def _time_candidates(values: list[str], decimal: str, strict: bool = True) -> list[_Family]:
    """Families that read the most sample values; both day and month first when both do.

    `strict` (guessing the kind of a column) wants 80% of the values read; a column the planner named as
    the times only needs one, the rows that do not fit are then refused by line.
    """
    if not values:
        return []
    share = 0.8 if strict else 1e-9
    series = pd.Series(values, dtype=str)
    dated = sum(bool(_DATE_LIKE.match(v)) for v in values)
    if dated >= share * len(values):
        naive = series.str.replace(r"\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$", "", regex=True)
        counts = [(int((_parse_family(f, naive, decimal) != _NAT).sum()), f) for f in _FAMILIES
                  if any(f.shape.match(v) for v in values)]
        best = max((c for c, _ in counts), default=0)
        if best >= max(1, share * len(values)):
            return [f for c, f in counts if c == best]
        return []
    excel = _parse_excel(series, decimal)
    ok = excel != _NAT
    if ok.sum() >= max(1, share * len(values)) and (not strict or (len(values) >= 2 and bool(np.all(
            np.diff(excel[ok]) > 0)))):
        return [_EXCEL]
    return []


class _TimeReader:
    """Parses one column chunk by chunk with every candidate family, then picks the one that fits best."""

    def __init__(self, column: str, candidates: list[_Family], decimal: str):
        self.column = column
        self.candidates = candidates
        self.decimal = decimal
        self.parsed: dict[str, list[np.ndarray]] = {f.key: [] for f in candidates}
        self.aware: bool | None = None
        self.mixed: list[np.ndarray] = []
        self.empty: list[np.ndarray] = []
        self.rows = 0
        # the text of the first failing rows per family, for the messages (not the whole column)
        self.failed_text: dict[str, dict[int, str]] = {f.key: {} for f in candidates}

    def feed(self, values: pd.Series) -> None:
        has_offset = values.str.contains(_TZ_OFFSET, regex=True).to_numpy(dtype=bool)
        filled = (values != "").to_numpy(dtype=bool) & ~values.str.lower().isin(_NA_TOKENS).to_numpy(dtype=bool)
        if self.aware is None and filled.any():
            self.aware = bool(has_offset[np.argmax(filled)])
        aware = bool(self.aware)
        self.mixed.append(filled & (has_offset != aware))
        self.empty.append(~filled)
        usable = values.where(filled & (has_offset == aware), "")
        for family in self.candidates:
            ns = _parse_family(family, usable, self.decimal)
            self.parsed[family.key].append(ns)
            texts = self.failed_text[family.key]
            for row in np.flatnonzero(ns == _NAT)[: max(0, MAX_LISTED_PROBLEMS - len(texts))]:
                texts[self.rows + int(row)] = values.iloc[row]
        self.rows += len(values)

    def finish(self, lines: np.ndarray) -> tuple[np.ndarray, _Family, list[CsvProblem], list[CsvProblem]]:
        """(wall times or UTC ns, family, notes, refused)."""
        scored = []
        for order, family in enumerate(self.candidates):
            ns = np.concatenate(self.parsed[family.key]) if self.parsed[family.key] else np.zeros(0, np.int64)
            ok = ns != _NAT
            steps = np.diff(ns[ok])
            backwards = int((steps < 0).sum())
            scored.append(((int((~ok).sum()), backwards, _irregular(steps), order), family, ns))
        scored.sort(key=lambda s: s[0])
        score, family, ns = scored[0]
        notes = self._ambiguity_note(scored)
        return ns, family, notes, self._failures(ns, lines, self.failed_text[family.key])

    def _ambiguity_note(self, scored) -> list[CsvProblem]:
        keys = {s[1].key for s in scored}
        if {"day/", "month/"} <= keys and scored[0][0][:3] == scored[1][0][:3]:
            return [CsvProblem(None, self.column, f"The dates in column '{self.column}' read correctly both day "
                               "first and month first; they were read day first (01/02/2024 = 1 February "
                               "2024).", False)]
        return []

    def _failures(self, ns: np.ndarray, lines: np.ndarray, texts: dict[int, str]) -> list[CsvProblem]:
        empty = np.concatenate(self.empty) if self.empty else np.zeros(0, bool)
        mixed = np.concatenate(self.mixed) if self.mixed else np.zeros(0, bool)
        bad = np.flatnonzero(ns == _NAT)
        if len(bad) == 0:
            return []
        problems = []
        for row in bad[:MAX_LISTED_PROBLEMS]:
            line, raw = int(lines[row]), texts.get(int(row), "")
            if empty[row]:
                message = f"Line {line}: the time in column '{self.column}' is empty."
            elif mixed[row]:
                message = (f"Line {line}: the time '{raw}' in column '{self.column}' "
                           f"{'has no' if self.aware else 'has a'} UTC offset, unlike the first row.")
            else:
                message = f"Line {line}: '{raw}' in column '{self.column}' is not a date and time we can read."
            problems.append(CsvProblem(line, self.column, message, True))
        return problems + [CsvProblem(None, self.column, "", True)] * (len(bad) - len(problems))


def _irregular(steps: np.ndarray) -> int:
    """How many steps are not a multiple of the most common one (a wrong day/month reading has many)."""
    steps = steps[steps > 0]
    if len(steps) == 0:
        return 0
    kinds, counts = np.unique(steps, return_counts=True)
    return int((steps % kinds[np.argmax(counts)] != 0).sum())


def _localize(wall: np.ndarray, lines: np.ndarray, time_zone: str, column: str
              ) -> tuple[np.ndarray, list[CsvProblem], list[CsvProblem]]:
    """Wall-clock ns in `time_zone` -> UTC ns. The repeated autumn hour is read in order."""
    index = pd.DatetimeIndex(wall.view("datetime64[ns]"))
    summer = index.tz_localize(time_zone, ambiguous=np.ones(len(wall), bool), nonexistent="NaT")
    winter = index.tz_localize(time_zone, ambiguous=np.zeros(len(wall), bool), nonexistent="NaT")
    missing = np.asarray(summer.isna())
    refused = [CsvProblem(int(lines[i]), column, f"Line {int(lines[i])}: {_clock(wall[i])} does not exist in "
                          f"{time_zone} (the clocks jump forward at that time).", True)
               for i in np.flatnonzero(missing)]
    summer_ns = summer.tz_convert("UTC").tz_localize(None).to_numpy().view(np.int64).copy()
    winter_ns = winter.tz_convert("UTC").tz_localize(None).to_numpy().view(np.int64)
    twice = np.flatnonzero(~missing & (summer_ns != winter_ns))
    notes = []
    if len(twice):
        later = pd.Series(wall[twice]).groupby(wall[twice]).cumcount().to_numpy() > 0
        summer_ns[twice[later]] = winter_ns[twice[later]]
        for first, last in _runs(twice.tolist()):
            span = _lines_text(int(lines[first]), int(lines[last]))
            notes.append(CsvProblem(int(lines[first]), column, f"{span}: in the hour that repeats when the clocks "
                                    f"go back in {time_zone}; read in order, first as summer time, then as "
                                    "winter time.", False))
    return summer_ns, notes, refused


def _check_zone(time_zone: str) -> None:
    try:
        zoneinfo.ZoneInfo(time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise _refuse_one(f"'{time_zone}' is not a time zone we know; use a name like 'Europe/Berlin' or "
                          "'UTC'.") from None


# ------------------------------------------------------------------------------------------- values
class _ValueReader:
    def __init__(self, column: str, decimal: str):
        self.column = column
        self.decimal = decimal
        self.chunks: list[np.ndarray] = []
        self.bad: list[tuple[int, str, str]] = []  # (row, text, why)
        self.bad_total = 0
        self.rows = 0

    def feed(self, values: pd.Series) -> None:
        if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
            self._feed_numbers(values.to_numpy(dtype=np.float64, na_value=np.nan))
        else:
            self._feed_text(values.fillna("").astype(str).str.strip())

    def _feed_numbers(self, numbers: np.ndarray) -> None:
        numbers = numbers.copy()
        infinite = np.isinf(numbers)
        for row in np.flatnonzero(infinite):
            self._bad(int(row), str(numbers[row]), "inf")
        numbers[infinite] = np.nan
        self.chunks.append(numbers)
        self.rows += len(numbers)

    def _bad(self, row: int, text: str, why: str) -> None:
        self.bad_total += 1
        if len(self.bad) < MAX_LISTED_PROBLEMS:
            self.bad.append((self.rows + row, text, why))

    def _feed_text(self, values: pd.Series) -> None:
        lowered = values.str.lower()
        missing = ((values == "") | lowered.isin(_NA_TOKENS)).to_numpy(dtype=bool)
        numbers = _to_float(values.where(~missing, ""), self.decimal)
        other = "." if self.decimal == "," else ","
        wrong_mark = values.str.contains(other, regex=False).to_numpy(dtype=bool) & ~missing
        bad = ~missing & (np.isnan(numbers) | wrong_mark)
        infinite = ~missing & ~bad & np.isinf(numbers)
        for row in np.flatnonzero(bad | infinite):
            self._bad(int(row), values.iloc[row], "inf" if infinite[row] else "text")
        numbers[bad | infinite] = np.nan
        self.chunks.append(numbers)
        self.rows += len(values)

    def values(self) -> np.ndarray:
        if len(self.chunks) > 1:  # once, and the pieces go: never both in memory for long
            self.chunks = [np.concatenate(self.chunks)]
        return self.chunks[0] if self.chunks else np.zeros(0)

    def problems(self, lines: np.ndarray) -> list[CsvProblem]:
        out = []
        for row, text, why in self.bad:
            line = int(lines[row])
            if why == "inf":
                message = f"Line {line}, column '{self.column}': '{text}' is not a finite number."
            elif _SEPARATED_DIGITS.match(text):
                message = (f"Line {line}, column '{self.column}': '{text}' is not a number with the decimal "
                           f"separator '{self.decimal}' (thousands separators are not supported).")
            else:
                message = f"Line {line}, column '{self.column}': '{text}' is not a number."
            out.append(CsvProblem(line, self.column, message, True))
        return out + [CsvProblem(None, self.column, "", True)] * (self.bad_total - len(out))


# ------------------------------------------------------------------------------------- public: inspect
def inspect_csv(path: Path, *, layout: CsvLayout | None = None,
                progress: Callable[[float], None] | None = None) -> CsvInspection:
    """Sniff the layout (unless given) and describe the columns; raises CsvRefused for unusable files."""
    try:
        return _inspect(Path(path), layout, _Progress(progress))
    except CsvRefused:
        raise
    except _READ_ERRORS as error:
        raise _unreadable(error) from error


def _unreadable(error: Exception) -> CsvRefused:
    if isinstance(error, MemoryError):
        return _refuse_one("This file is too large to read; split it into smaller files.")
    return _refuse_one("This file could not be read as a CSV table. Save it from the spreadsheet as 'CSV "
                       "UTF-8' and upload it again.")


def _inspect(path: Path, layout: CsvLayout | None, progress: _Progress) -> CsvInspection:
    head, size = _check_file(path)
    table = None
    if layout is None:
        layout = _sniff_layout(head, size)
        try:
            table = _structure(path, layout, size, progress, (0.0, 0.6), strict=True)
        except UnicodeDecodeError:  # valid UTF-8 at the start only: a Windows (ANSI) file after all
            layout = _sniff_layout(head, size, encoding="cp1252")
    if table is None:
        table = _structure(path, layout, size, progress, (0.0, 0.6))
    columns = [_describe(name, table, position, layout.decimal) for position, name in enumerate(table.names)]
    problems = list(table.notes) + _thousands_notes(table, layout)
    timestamp_column = next((c.name for c in columns if c.kind == "timestamp"), None)
    date_format = None
    if timestamp_column is not None and table.refused_total:  # rows of odd widths: judge by the sample only
        sample = table.kind_values[table.position(timestamp_column)]
        date_format = _time_candidates(sample, layout.decimal)[0].words
    elif timestamp_column is not None:
        date_format, notes = _inspect_times(path, layout, table, timestamp_column, size, progress)
        problems += notes
    problems += table.refused
    progress.report(0.0, 1.0, 1.0)
    return CsvInspection(layout, tuple(columns), len(table.data_lines), tuple(table.preview), timestamp_column,
                         date_format, tuple(problems))


def _describe(name: str, table: _Table, position: int, decimal: str) -> CsvColumn:
    values = table.kind_values[position]
    samples = tuple(table.samples[position][:5])
    if not values:
        return CsvColumn(name, "empty", samples)
    if _time_candidates(values, decimal):
        return CsvColumn(name, "timestamp", samples)
    numbers = _to_float(pd.Series(values, dtype=str), decimal)
    if np.isfinite(numbers).sum() >= 0.8 * len(values):
        return CsvColumn(name, "number", samples)
    return CsvColumn(name, "text", samples)


def _thousands_notes(table: _Table, layout: CsvLayout) -> list[CsvProblem]:
    for position, values in enumerate(table.kind_values):
        for value in values:
            if _THOUSANDS.match(value) and (("," in value) == ("." in value)):
                column = table.names[position] if position < len(table.names) else None
                return [CsvProblem(None, column, f"Numbers such as '{value}' use a thousands separator, which is "
                                   "not supported; save the numbers without thousands separators.", False)]
    return []


def _inspect_times(path: Path, layout: CsvLayout, table: _Table, column: str, size: int, progress: _Progress
                   ) -> tuple[str, list[CsvProblem]]:
    position = table.position(column)
    reader = _TimeReader(column, _time_candidates(table.kind_values[position], layout.decimal), layout.decimal)
    for chunk in _read_columns(path, layout, table, [position], [], size, progress, (0.6, 1.0)):
        reader.feed(chunk[position])
    _, family, notes, refused = reader.finish(table.data_lines)
    return family.words, notes + [p for p in refused if p.message]


# --------------------------------------------------------------------------------------- public: clean
def clean_csv(path: Path, *, layout: CsvLayout, series: Sequence[SeriesChoice], time_zone: str,
              timestamp_column: str | None = None, start: datetime | None = None, step_minutes: int = 60,
              progress: Callable[[float], None] | None = None) -> CleanResult:
    """Regular UTC series for the chosen columns, or CsvRefused listing every problem.

    Times come from `timestamp_column` (wall time in `time_zone` unless written with an offset) or, without
    one, from `start` (wall time in `time_zone`) plus `step_minutes` per data row. Missing values are
    filled by straight-line interpolation; missing values at the start or end take the nearest value.
    """
    try:
        return _clean(Path(path), layout, list(series), time_zone, timestamp_column, start, step_minutes,
                      _Progress(progress))
    except CsvRefused:
        raise
    except _READ_ERRORS as error:
        raise _unreadable(error) from error


def _clean(path: Path, layout: CsvLayout, series: list[SeriesChoice], time_zone: str,
           timestamp_column: str | None, start: datetime | None, step_minutes: int, progress: _Progress
           ) -> CleanResult:
    _check_request(series, timestamp_column, start, step_minutes)
    _check_zone(time_zone)
    _, size = _check_file(path)
    table = _structure(path, layout, size, progress, (0.0, 0.4))
    if table.refused_total:
        raise _refuse(table.refused, table.refused_total)
    positions = _positions(table, series, timestamp_column)
    values = {p: _ValueReader(table.names[p], layout.decimal) for p in set(positions.values())}
    times = None
    if timestamp_column:
        tpos = table.position(timestamp_column)
        candidates = _time_candidates(table.kind_values[tpos], layout.decimal, strict=False)
        if not candidates:
            example = table.samples[tpos][0] if table.samples[tpos] else ""
            raise _refuse_one(f"Column '{timestamp_column}' does not hold dates and times we can read (for "
                              f"example '{example}').", None, timestamp_column)
        times = _TimeReader(timestamp_column, candidates, layout.decimal)
    text = [tpos] if timestamp_column else []
    for chunk in _read_columns(path, layout, table, text, list(values), size, progress, (0.4, 0.9)):
        if times is not None:
            times.feed(chunk[tpos])
        for p, reader in values.items():
            reader.feed(chunk[p])
    lines = table.data_lines
    refused: list[CsvProblem] = []
    notes: list[CsvProblem] = list(table.notes)
    for reader in values.values():
        refused += reader.problems(lines)
    if times is not None:
        utc, step, grid, time_notes, time_refused = _regular_times(times, lines, time_zone)
    else:
        utc, step, grid, time_notes, time_refused = _start_times(start, step_minutes, len(lines), time_zone)
    notes += time_notes
    refused = time_refused + refused + _empty_columns(series, positions, values)
    if refused:
        listed = [p for p in refused if p.message]
        raise _refuse(listed, len(refused))
    series_values, value_notes = _fill_values(series, positions, values, lines, grid)
    progress.report(0.0, 1.0, 1.0)
    stamps = utc.view("datetime64[ns]")
    stamps.flags.writeable = False  # shared by every series of the upload
    cleaned = tuple(CleanSeries(choice.name, choice.column, stamps, series_values[choice.column])
                    for choice in series)
    return CleanResult(cleaned, step // _NS_PER_MIN, tuple(notes + value_notes))


def _check_request(series: list[SeriesChoice], timestamp_column: str | None, start: datetime | None,
                   step_minutes: int) -> None:
    if not series:
        raise _refuse_one("Choose at least one column to upload as a series.")
    if len(series) > MAX_SERIES_PER_UPLOAD:
        raise _refuse_one(f"You chose {len(series)} columns; the limit is {MAX_SERIES_PER_UPLOAD} series per "
                          "upload.")
    if timestamp_column is None and start is None:
        raise _refuse_one("Choose the column that holds the times, or give a start date and time step.")
    if timestamp_column is None and (not isinstance(step_minutes, int) or step_minutes <= 0):
        raise _refuse_one("The time step must be a whole number of minutes above zero.")


def _positions(table: _Table, series: list[SeriesChoice], timestamp_column: str | None) -> dict[str, int]:
    problems = []
    for name in [c.column for c in series] + ([timestamp_column] if timestamp_column else []):
        if name not in table.names:
            problems.append(CsvProblem(None, name, f"There is no column '{name}' in this file.", True))
    if timestamp_column and any(c.column == timestamp_column for c in series):
        problems.append(CsvProblem(None, timestamp_column, f"Column '{timestamp_column}' holds the times; it "
                                   "cannot also be a series.", True))
    if problems:
        raise _refuse(problems)
    return {c.column: table.position(c.column) for c in series}


def _start_times(start: datetime, step_minutes: int, rows: int, time_zone: str):
    stamp = pd.Timestamp(start)
    if stamp.tzinfo is not None:
        first = stamp.tz_convert("UTC").tz_localize(None).value
        refused: list[CsvProblem] = []
    else:
        wall = np.array([stamp.as_unit("ns").value], dtype=np.int64)
        utc, _, refused = _localize(wall, np.array([0]), time_zone, None)
        refused = [CsvProblem(None, None, f"The start {_clock(wall[0])} does not exist in {time_zone} (the "
                              "clocks jump forward at that time).", True)] if refused else []
        first = int(utc[0])
    step = step_minutes * _NS_PER_MIN
    utc = first + np.arange(rows, dtype=np.int64) * step
    return utc, step, np.arange(rows), [], refused


def _regular_times(times: _TimeReader, lines: np.ndarray, time_zone: str):
    """(UTC ns on the regular grid, step ns, grid position of each data row, notes, refused)."""
    wall, family, notes, refused = times.finish(lines)
    nothing = (np.zeros(0, np.int64), _NS_PER_MIN, np.zeros(len(lines), np.int64))
    if refused:
        return (*nothing, notes, refused)
    if times.aware:
        utc = wall
    else:
        utc, dst_notes, dst_refused = _localize(wall, lines, time_zone, times.column)
        notes += dst_notes
        if dst_refused:
            return (*nothing, notes, dst_refused)
    order_refused = _order_problems(utc, wall, lines, times.column)
    if order_refused:
        return (*nothing, notes, order_refused)
    return _grid(utc, lines, times.column, notes)


def _order_problems(utc: np.ndarray, wall: np.ndarray, lines: np.ndarray, column: str) -> list[CsvProblem]:
    steps = np.diff(utc)
    problems = [CsvProblem(int(lines[i + 1]), column, f"Line {int(lines[i + 1])} has the same time as line "
                           f"{int(lines[i])} ({_clock(wall[i + 1])}); each time may appear only once.", True)
                for i in np.flatnonzero(steps == 0)]
    back = np.flatnonzero(steps < 0)
    if len(back):
        i = int(back[0])
        problems.append(CsvProblem(int(lines[i + 1]), column, f"Line {int(lines[i + 1])} ({_clock(wall[i + 1])})"
                                   f" is earlier than line {int(lines[i])} ({_clock(wall[i])}); the rows must be"
                                   " in time order.", True))
    return problems


def _grid(utc: np.ndarray, lines: np.ndarray, column: str, notes: list[CsvProblem]):
    if len(utc) < 2:
        return utc, 60 * _NS_PER_MIN, np.zeros(len(utc), np.int64), notes, []
    steps = np.diff(utc)
    kinds, counts = np.unique(steps, return_counts=True)
    step = int(kinds[np.argmax(counts)])
    if step % _NS_PER_MIN:
        return utc, _NS_PER_MIN, np.zeros(len(utc), np.int64), notes, [CsvProblem(
            None, column, f"The rows are {step / 1e9:g} seconds apart; the time step must be whole minutes.",
            True)]
    refused = []
    for i in np.flatnonzero(steps % step != 0):
        refused.append(CsvProblem(int(lines[i + 1]), column, f"Line {int(lines[i + 1])} is "
                                  f"{_duration(int(steps[i]))} after line {int(lines[i])}; the rows are "
                                  f"{_duration(step)} apart, so this does not fit.", True))
    grid = (utc - utc[0]) // step
    filled = int(grid[-1] + 1 - len(utc))
    if not refused and filled > max(len(utc), 10_000):
        refused.append(CsvProblem(None, column, f"{filled} time steps are missing between the rows; that is "
                                  "too many to fill in.", True))
    if refused:
        return utc, step, grid, notes, refused
    gaps = np.flatnonzero(steps > step)
    for i in gaps[:MAX_LISTED_PROBLEMS]:
        missing = int(steps[i] // step - 1)
        notes.append(CsvProblem(int(lines[i]), column, f"Lines {int(lines[i])} and {int(lines[i + 1])}: "
                                f"{_plural(missing, 'missing time step')} between them filled by straight-line "
                                "interpolation.", False))
    if len(gaps) > MAX_LISTED_PROBLEMS:
        notes.append(CsvProblem(None, column, f"… and {len(gaps) - MAX_LISTED_PROBLEMS} more gaps in the times "
                                "were filled the same way.", False))
    full = utc[0] + np.arange(int(grid[-1]) + 1, dtype=np.int64) * step
    return full, step, grid, notes, []


def _duration(ns: int) -> str:
    minutes = ns / _NS_PER_MIN
    return _plural(int(minutes), "minute") if minutes == int(minutes) else f"{ns / 1e9:g} seconds"


def _empty_columns(series: list[SeriesChoice], positions: dict[str, int], readers: dict[int, _ValueReader]
                   ) -> list[CsvProblem]:
    return [CsvProblem(None, column, f"Column '{column}' has no values; there is nothing to upload.", True)
            for column in dict.fromkeys(c.column for c in series)
            if readers[positions[column]].bad_total == 0 and np.isnan(readers[positions[column]].values()).all()]


def _fill_values(series: list[SeriesChoice], positions: dict[str, int], readers: dict[int, _ValueReader],
                 lines: np.ndarray, grid: np.ndarray) -> tuple[dict[str, np.ndarray], list[CsvProblem]]:
    out: dict[str, np.ndarray] = {}
    notes: list[CsvProblem] = []
    length = int(grid[-1]) + 1
    for column in dict.fromkeys(c.column for c in series):
        reader = readers[positions[column]]
        raw = reader.values()
        known = ~np.isnan(raw)
        if len(raw) == length and known.all():  # no gap, nothing missing: the numbers as read, no copy
            out[column] = raw
        else:
            notes += _missing_notes(column, np.flatnonzero(~known), known, lines)
            full = np.full(length, np.nan)
            full[grid[known]] = raw[known]
            have = np.flatnonzero(~np.isnan(full))
            out[column] = np.interp(np.arange(length), have, full[have])  # ends take the nearest value
        reader.chunks = []  # the reader's copy goes as soon as the series has its own
    return out, notes


def _missing_notes(column: str, missing: np.ndarray, known: np.ndarray, lines: np.ndarray) -> list[CsvProblem]:
    notes = []
    first_known, last_known = np.argmax(known), len(known) - 1 - np.argmax(known[::-1])
    for first, last in _runs(missing.tolist()):
        span = _lines_text(int(lines[first]), int(lines[last]))
        if first < first_known:
            how = f"at the start of the file; filled with the first value (line {int(lines[first_known])})"
        elif last > last_known:
            how = f"at the end of the file; filled with the last value (line {int(lines[last_known])})"
        else:
            how = (f"filled by straight-line interpolation between lines {int(lines[first - 1])} and "
                   f"{int(lines[last + 1])}")
        notes.append(CsvProblem(int(lines[first]), column, f"{span}, column '{column}': no value; {how}.", False))
    if len(notes) > MAX_LISTED_PROBLEMS:
        extra = len(notes) - MAX_LISTED_PROBLEMS
        notes = notes[:MAX_LISTED_PROBLEMS] + [CsvProblem(None, column, f"… and {extra} more places in column "
                                                          f"'{column}' were filled the same way.", False)]
    return notes
