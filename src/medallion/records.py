"""CSV records, not lines: how a landed file is cut into records (pure logic, no IO beyond text).

A record is recognised like this, one physical line at a time (line ends ``\\n``, ``\\r\\n`` or
``\\r``, the last line may lack one; a UTF-8 byte-order mark before the header is dropped):

* a line with an even number of ``"`` is a record by itself;
* a line with an odd number of ``"`` opens a quoted field that may span lines: the candidate
  record runs to the next line with an odd number of ``"`` (the lines between, being inside the
  quotes, hold an even number). The candidate is one record when it parses as strict RFC 4180
  (a closing quote followed only by a comma or the record's end) into exactly the header's
  number of fields;
* otherwise the opening line alone is the record, flagged malformed, and reading resumes at the
  next line, so a stray unbalanced quote never swallows the rows after it;
* a line that parses into a wrong number of fields, or breaks the quoting rules, is a malformed
  record carrying its raw text; an empty line is no record;
* a line longer than ``MAX_LINE_CHARS`` is not read as fields at all: it is a malformed record
  with no fields whose raw text is cut to that length (no Olist field comes near; such a line is
  garbage, and one such line must neither stop the file nor carry megabytes into every layer).

Every physical line belongs to exactly one record (or is empty), so each input line is accounted
for, and a well-formed file gives the same records as Python's ``csv`` module.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

BOM = "\ufeff"
#: The longest line read as fields (1 Mi characters, 8 times Python's csv field limit); a
#: longer line is a malformed record whose raw text is cut to this length.
MAX_LINE_CHARS = 1 << 20


@dataclass(frozen=True)
class Record:
    """One record: its fields, the physical line it starts on (1 = the header) and, when it is
    malformed, the raw text of that line (line end removed)."""

    fields: list[str]
    line: int
    raw: str | None = None

    @property
    def malformed(self) -> bool:
        return self.raw is not None


def _strip_end(line: str) -> str:
    if line.endswith("\r\n"):
        return line[:-2]
    if line.endswith(("\n", "\r")):
        return line[:-1]
    return line


def _strict(text: str) -> list[list[str]] | None:
    """The records of ``text`` under strict RFC 4180 quoting, or None when the quoting breaks."""
    try:
        return list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error:
        return None


def _lenient(line: str) -> list[str]:
    """A broken line's fields as a forgiving reader sees it alone (its key stays readable)."""
    try:
        rows = list(csv.reader([_strip_end(line)]))
    except csv.Error:
        rows = []
    return rows[0] if rows else _strip_end(line).split(",")


def records(lines: Iterable[str], width: int | None = None) -> Iterator[Record]:
    """The records of a CSV text given as physical lines with their line ends kept (a file
    opened with ``newline=""``), the header first. ``width`` is the expected number of fields;
    by default the header's."""
    pending = list(lines)
    if pending and pending[0].startswith(BOM):
        pending[0] = pending[0][len(BOM) :]
    parity = [line.count('"') % 2 for line in pending]
    # next_odd[i]: the first line after i with an odd number of quotes (len(pending) if none).
    next_odd = [len(pending)] * len(pending)
    following = len(pending)
    for i in range(len(pending) - 1, -1, -1):
        next_odd[i] = following
        if parity[i]:
            following = i
    i = 0
    while i < len(pending):
        line = pending[i]
        if not _strip_end(line):
            i += 1
            continue
        if len(line) > MAX_LINE_CHARS and len(_strip_end(line)) > MAX_LINE_CHARS:
            yield Record([], i + 1, _strip_end(line)[:MAX_LINE_CHARS])
            i += 1
            continue
        if parity[i] and next_odd[i] < len(pending):
            end = next_odd[i]
            parsed = _strict("".join(pending[i : end + 1]))
            if parsed is not None and len(parsed) == 1:
                fields = parsed[0]
                if width is None:
                    width = len(fields)
                if len(fields) == width:
                    yield Record(fields, i + 1)
                    i = end + 1
                    continue
        if not parity[i]:
            parsed = _strict(line)
            if parsed is not None and len(parsed) == 1:
                fields = parsed[0]
                if width is None:
                    width = len(fields)
                yield Record(fields, i + 1, None if len(fields) == width else _strip_end(line))
                i += 1
                continue
        fields = _lenient(line)
        if width is None:
            width = len(fields)
        yield Record(fields, i + 1, _strip_end(line))
        i += 1


def as_row(record: Record, columns: list[str]) -> dict[str, str]:
    """A record as the landing table's row: the header's columns (a missing field is absent,
    so it reads as null), ``_extra_fields`` (what lies beyond the header, comma-joined),
    ``_line`` and, for a malformed record, ``_raw_line``."""
    row = dict(zip(columns, record.fields, strict=False))
    if len(record.fields) > len(columns):
        row["_extra_fields"] = ",".join(record.fields[len(columns) :])
    row["_line"] = str(record.line)
    if record.raw is not None:
        row["_raw_line"] = record.raw
    return row
