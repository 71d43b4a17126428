"""The landing zone: put Olist CSV batches on S3 and register them as external Hive tables.

A batch folder ``DIR/batch=<id>/`` (or a flat folder of the real Olist files, which loads as one
batch) lands byte for byte as ``s3://<bucket>/landing/olist/<table>/batch_id=<id>/<file>.csv``.
Beside it goes the file's records, cut by ``medallion.records`` (a quoted field may span lines, a
stray quote spoils only its own line), one JSON object per record under
``landing/olist/_records/<table>/batch_id=<id>/<file>.jsonl``: that copy is the partition of
``landing.olist.<table>``, so no engine ever reads the CSV line by line. The landing tables hold
the table's columns (``medallion.generate.HEADERS``, the one list of the Olist files), plus
``_extra_fields`` (what a record holds beyond the header), ``_line`` (the physical line a record
starts on) and ``_raw_line`` (a malformed record's raw line). A marker
``landing/olist/_loads/<id>.json`` records each loaded batch, so loading the same batch twice is
refused unless ``replace`` is set.

Every batch is checked whole before anything is written (``check_batch``: local files only, no
service is asked), and the records of all its files are cut before the first upload, so a batch
is refused with a ``LoadError`` that names the file, and where it helps the line, column and
byte offset, or it lands in full. Bad input, case by case:

====================================  =========================================================
input                                 outcome
====================================  =========================================================
batch id with ``/``, ``..``, quotes   refused first, before any file is read: an id is letters,
                                      digits, ``-``, ``_``, ``.``, starting with a letter or digit
a file that is no Olist file          refused, naming it and listing the nine known file names
batch over ``MAX_BATCH_BYTES``        refused before any file is read, naming the size, the
                                      limit and the variable that raises it
                                      (``MEDALLION_MAX_BATCH_BYTES``, in bytes)
empty file (0 bytes, or blank lines)  refused: a header line is needed
binary garbage, invalid UTF-8         refused at the first bad byte: its byte offset, line and
                                      column; a UTF-16 file (its byte-order mark) is named so
a NUL byte                            refused at its byte offset, line and column (no text
                                      file holds one, and PostgreSQL could never serve it)
header with missing or repeated       refused, naming the missing and repeated columns and
columns                               the expected ones
header with a column after the        lands (schema evolution): the landing table gains the
table's own                           column (varchar); earlier batches read null there
a file without a column an earlier    refused before any table changes, naming the file and the
file added                            column
header in another column order        lands: records are stored by column name
header only                           lands as zero records
a line longer than                    lands as one malformed record (its fields unread, its raw
``records.MAX_LINE_CHARS`` (1 MiB)    text cut to the limit; the original keeps it whole):
                                      bronze flags it, silver quarantines it as malformed_row
====================================  =========================================================

When several batches load together (``load_dir``), every one is checked before the first is
written.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from medallion import accounting, landed
from medallion.generate import FILES, HEADERS
from medallion.landing import CATALOG, PREFIX, RECORDS, SCHEMA
from medallion.lock import LayerBusyError
from medallion.records import Record, as_row, records
from medallion.s3 import s3_client
from medallion.trino_client import QueryError, query

#: What every landing table holds beyond the header's columns (before the partition column).
RECORD_COLUMNS = ("_extra_fields", "_line", "_raw_line")
#: The landing tables' partition column.
PARTITION = "batch_id"
#: The columns beyond the header of a landing table made before records were parsed.
_LINE_TABLE_COLUMNS = ["_extra_fields", "batch_id"]
#: The most bytes one batch may hold unless ``MAX_BATCH_ENV`` says otherwise. Loading holds one
#: file's lines in memory and a batch's records on local disk; 1 GiB is 8 times the whole real
#: Olist download, so a bigger batch is most likely a mistake (or wants splitting into days).
MAX_BATCH_BYTES = 1 << 30
#: The environment variable that overrides ``MAX_BATCH_BYTES`` (a whole number of bytes).
MAX_BATCH_ENV = "MEDALLION_MAX_BATCH_BYTES"
_BATCH_DIR = re.compile(r"^batch=(.+)$")
_BATCH_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
_BLOCK = 1 << 20


class LoadError(RuntimeError):
    """The batch cannot be loaded; the message says why."""


def table_of(filename: str) -> str:
    """``olist_order_items_dataset.csv`` -> ``order_items``; the translation keeps its name."""
    stem = filename.removesuffix(".csv")
    return stem.removeprefix("olist_").removesuffix("_dataset")


@dataclass(frozen=True)
class LoadedFile:
    """One landed file: ``rows`` records (what bronze receives), ``malformed`` of them with a
    wrong field count or broken quoting, ``lines`` physical data lines."""

    table: str
    file: str
    rows: int
    bytes: int
    sha256: str
    malformed: int = 0
    lines: int = 0


@dataclass(frozen=True)
class LoadedBatch:
    batch_id: str
    files: list[LoadedFile] = field(default_factory=list)
    replaced: bool = False

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)


def check_batch_id(batch_id: str) -> None:
    """A batch id becomes an S3 key and a SQL literal: plain characters only."""
    if not _BATCH_ID.match(batch_id):
        raise LoadError(
            f"batch id {batch_id!r} must be letters, digits, '-', '_' or '.', "
            "starting with a letter or digit"
        )


def find_batches(src: Path) -> list[tuple[str, Path]]:
    """(batch id, folder) in batch order; a flat folder of CSV files is one batch."""
    if not src.is_dir():
        raise LoadError(f"{src} is not a folder")
    batches = sorted(
        (m.group(1), p) for p in src.iterdir() if p.is_dir() and (m := _BATCH_DIR.match(p.name))
    )
    if batches:
        return batches
    if any(src.glob("*.csv")):
        return [(dt.datetime.now(dt.UTC).date().isoformat(), src)]
    raise LoadError(f"{src} holds neither batch=<id>/ folders nor CSV files")


def choose_batches(src: Path, batch: str | None = None) -> list[tuple[str, Path]]:
    """The batches of ``src`` to load (only ``batch`` when given; a flat folder takes that id),
    every id checked."""
    batches = find_batches(src)
    if batch is not None:
        chosen = [b for b in batches if b[0] == batch]
        if not chosen and len(batches) == 1 and not _BATCH_DIR.match(batches[0][1].name):
            chosen = [(batch, batches[0][1])]
        if not chosen:
            raise LoadError(f"no batch {batch!r} in {src} (has {[b[0] for b in batches]})")
        batches = chosen
    for batch_id, _ in batches:
        check_batch_id(batch_id)
    return batches


def batch_limit(environ: Mapping[str, str]) -> int:
    """The most bytes a batch may hold: ``MEDALLION_MAX_BATCH_BYTES`` or ``MAX_BATCH_BYTES``."""
    value = environ.get(MAX_BATCH_ENV, "").strip()
    if not value:
        return MAX_BATCH_BYTES
    if not value.isdigit() or int(value) <= 0:
        raise LoadError(f"{MAX_BATCH_ENV} must be a whole number of bytes above 0, got {value!r}")
    return int(value)


def read_header(path: Path) -> list[str]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), None)
    except (csv.Error, UnicodeDecodeError) as exc:
        raise LoadError(f"{path}: the header line cannot be read: {exc}") from exc
    if not header:
        raise LoadError(f"{path} is empty: a header line is needed")
    columns = [c.strip().lower() for c in header]
    for col in columns:
        if not _IDENT.match(col):
            raise LoadError(f"{path}: header column {col!r} is not a plain column name")
    return columns


def _where(block: bytes, index: int, line: int, column: int) -> str:
    """Line and column (1-based, in bytes) of ``block[index]``, the block starting at ``line``
    and ``column``."""
    index = max(index, 0)
    newlines = block.count(b"\n", 0, index)
    if newlines:
        column = index - block.rfind(b"\n", 0, index)
        return f"line {line + newlines}, column {column}"
    return f"line {line}, column {column + index}"


def _scan(path: Path, *, text: bool = False) -> tuple[int, int, str]:
    """Data lines (physical lines after the header), bytes and SHA-256 of a file; with ``text``,
    refuse a file that is not UTF-8 text without NUL bytes, naming the first bad byte."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = 0
    size = 0
    column = 1  # of the next byte, in bytes
    last = b"\n"
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            if text:
                if not size and block.startswith((b"\xff\xfe", b"\xfe\xff")):
                    raise LoadError(
                        f"{path}: UTF-16 text (it starts with a UTF-16 byte-order mark); "
                        "save it as UTF-8"
                    )
                nul = block.find(b"\0")
                bad: tuple[int, str] | None = (nul, "a NUL byte") if nul >= 0 else None
                pending = len(decoder.getstate()[0])
                try:
                    decoder.decode(block)
                except UnicodeDecodeError as exc:
                    at = exc.start - pending
                    if bad is None or at < bad[0]:
                        byte = exc.object[exc.start]
                        bad = (at, f"not UTF-8: byte 0x{byte:02x} ({exc.reason})")
                if bad is not None:
                    at, what = bad
                    raise LoadError(
                        f"{path}: {what} at byte offset {size + at:,} "
                        f"({_where(block, at, lines + 1, column)}); a batch file must be UTF-8 "
                        "text (a binary file, or a file saved in another encoding?)"
                    )
            digest.update(block)
            newlines = block.count(b"\n")
            lines += newlines
            column = len(block) - block.rfind(b"\n") if newlines else column + len(block)
            size += len(block)
            last = block[-1:]
    if text:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise LoadError(
                f"{path}: not UTF-8: the file ends inside a character (byte offset "
                f"{size - len(exc.object) + exc.start:,}); a batch file must be UTF-8 text"
            ) from exc
    if size and last != b"\n":
        lines += 1  # a last line without a line end is still a line
    return max(lines - 1, 0), size, digest.hexdigest()


def count_rows(path: Path) -> tuple[int, int, str]:
    """Data lines (physical lines after the header), bytes and SHA-256 of a file."""
    return _scan(path)


@dataclass(frozen=True)
class CheckedFile:
    """A batch file that passed ``check_file``: its table, the table's columns (in the
    table's order; the file may order them otherwise), data lines, bytes and SHA-256."""

    path: Path
    table: str
    columns: tuple[str, ...]
    lines: int
    bytes: int
    sha256: str


@dataclass(frozen=True)
class CheckedBatch:
    batch_id: str
    folder: Path
    files: list[CheckedFile]


def _known_stem(path: Path) -> str:
    stem = path.name.removesuffix(".csv")
    if stem not in HEADERS:
        raise LoadError(
            f"{path}: {path.name} is not an Olist file; a batch holds only these files: "
            + ", ".join(FILES)
        )
    return stem


def check_file(path: Path) -> CheckedFile:
    """Refuse, with a ``LoadError`` naming the file, what cannot land: a file of an unknown
    table, an empty file, binary or non-UTF-8 content, a NUL byte, a header whose columns are
    not the table's (any order is fine: records are stored by column name)."""
    stem = _known_stem(path)
    if not path.is_file():
        raise LoadError(f"{path} is not a regular file")
    try:
        lines, size, digest = _scan(path, text=True)
    except OSError as exc:
        raise LoadError(f"{path} cannot be read: {exc}") from exc
    if not size:
        raise LoadError(f"{path} is empty (0 bytes): a header line is needed")
    columns = read_header(path)
    expected = HEADERS[stem]
    table = table_of(path.name)
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    missing = [c for c in expected if c not in columns]
    reserved = [c for c in columns if c in (*RECORD_COLUMNS, PARTITION)]
    if repeated or missing or reserved:
        problems = [
            f"{what} {', '.join(cols)}"
            for what, cols in (
                ("missing", missing),
                ("repeated", repeated),
                ("reserved (the loader's own)", reserved),
            )
            if cols
        ]
        raise LoadError(
            f"{path}: the header does not match the {table} table: {'; '.join(problems)} "
            f"(expected, in any order: {', '.join(expected)}; a file may add columns after "
            "them, never drop one)"
        )
    added = tuple(c for c in columns if c not in expected)
    return CheckedFile(path, table, (*expected, *added), lines, size, digest)


def check_batch(batch_id: str, folder: Path, *, max_bytes: int | None = None) -> CheckedBatch:
    """Everything that can be known about a batch without a service, checked before anything
    is written: its id, that its files are Olist files, its size against ``max_bytes`` (by
    default ``batch_limit`` of the environment), then each file (``check_file``)."""
    check_batch_id(batch_id)
    limit = batch_limit(os.environ) if max_bytes is None else max_bytes
    files = sorted(folder.glob("*.csv"))
    if not files:
        raise LoadError(f"{folder} holds no CSV files")
    for path in files:
        _known_stem(path)
    try:
        sizes = {path: path.stat().st_size for path in files}
    except OSError as exc:
        raise LoadError(f"{folder}: {exc}") from exc
    total = sum(sizes.values())
    if total > limit:
        largest = max(sizes, key=lambda path: sizes[path])
        raise LoadError(
            f"batch {batch_id} ({folder}) holds {total:,} bytes ({total / 2**20:,.1f} MiB) in "
            f"{len(files)} files (the largest, {largest.name}, {sizes[largest]:,} bytes), over "
            f"the limit of {limit:,} bytes per batch: split it into smaller batches (one "
            "batch=<id>/ folder per day), or raise the limit with the environment variable "
            f"{MAX_BATCH_ENV} (in bytes)"
        )
    return CheckedBatch(batch_id, folder, [check_file(path) for path in files])


@dataclass(frozen=True)
class ParsedFile:
    columns: list[str]
    records: int
    malformed: int


def parse_file(path: Path, out: Path) -> ParsedFile:
    """Write the records of the CSV file ``path`` to ``out`` as JSON lines (the header's columns
    must be plain names); the header is not a record."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            return _parse(path, records(handle), out)
    except UnicodeDecodeError as exc:
        raise LoadError(f"{path}: not UTF-8 ({exc}); a batch file must be UTF-8 text") from exc


def _parse(path: Path, found: Iterator[Record], out: Path) -> ParsedFile:
    head = next(found, None)
    if head is None:
        raise LoadError(f"{path} is empty: a header line is needed")
    columns = [c.strip().lower() for c in head.fields]
    if not columns:
        raise LoadError(f"{path}: the header line cannot be read (line {head.line})")
    for col in columns:
        if not _IDENT.match(col):
            raise LoadError(f"{path}: header column {col!r} is not a plain column name")
    n = bad = 0
    with out.open("w", encoding="utf-8", newline="\n") as sink:
        for record in found:
            sink.write(json.dumps(as_row(record, columns), ensure_ascii=False))
            sink.write("\n")
            n += 1
            bad += record.malformed
    return ParsedFile(columns, n, bad)


def records_key(table: str, batch_id: str, filename: str) -> str:
    return f"{RECORDS}/{table}/batch_id={batch_id}/{filename.removesuffix('.csv')}.jsonl"


class Landing:
    """Uploads and registrations, through the S3 API and Trino's Hive connector."""

    def __init__(self, env: Mapping[str, str], s3: Any) -> None:
        self.env = env
        self.s3 = s3
        self.bucket = env["S3_BUCKET"]

    def sql(self, statement: str) -> list[tuple[Any, ...]]:
        return query(self.env, statement).rows

    def marker_key(self, batch_id: str) -> str:
        return f"{PREFIX}/_loads/{batch_id}.json"

    def loaded(self, batch_id: str) -> bool:
        try:
            self.s3.head_object(Bucket=self.bucket, Key=self.marker_key(batch_id))
        except self.s3.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def loaded_batches(self) -> list[str]:
        keys = self._keys(f"{PREFIX}/_loads/")
        return sorted(k.rsplit("/", 1)[1].removesuffix(".json") for k in keys)

    def _keys(self, prefix: str) -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return [obj["Key"] for page in pages for obj in page.get("Contents", [])]

    def ensure_schema(self) -> None:
        location = f"s3://{self.bucket}/{PREFIX}/"
        self.sql(f"create schema if not exists {CATALOG}.{SCHEMA} with (location = '{location}')")

    def table_columns(self, table: str) -> list[str]:
        """The landing table's columns in order (the partition column last); none if absent."""
        return [
            str(r[0])
            for r in self.sql(
                f"select column_name from {CATALOG}.information_schema.columns "
                f"where table_schema = '{SCHEMA}' and table_name = '{table}' "
                "order by ordinal_position"
            )
        ]

    def added_columns(self, path: Path, table: str, columns: Sequence[str]) -> list[str]:
        """Schema evolution: the columns of a file (``columns``) the landing table does not
        have yet, which ``ensure_table`` adds. A file without a column the table has (one an
        earlier file added) is refused, naming the file and the column; nothing is changed."""
        have = self.table_columns(table)
        if not have or have[-len(_LINE_TABLE_COLUMNS) :] == _LINE_TABLE_COLUMNS:
            return []  # made by ensure_table, or remade over its records
        known = [c for c in have if c not in (*RECORD_COLUMNS, PARTITION)]
        dropped = [c for c in known if c not in columns]
        if dropped:
            raise LoadError(
                f"{path}: the file has no column {', '.join(dropped)}, which the landing table "
                f"{CATALOG}.{SCHEMA}.{table} has (an earlier file added it); a file may add "
                "columns, never drop one: nothing was loaded"
            )
        return [c for c in columns if c not in known]

    def ensure_table(self, table: str, columns: list[str]) -> None:
        existing = self.table_columns(table)
        wanted = [*columns, *RECORD_COLUMNS, PARTITION]
        if existing:
            have = existing
            if have == [*columns, *_LINE_TABLE_COLUMNS]:
                self._migrate(table, columns)
                return
            known = [c for c in have if c not in (*RECORD_COLUMNS, PARTITION)]
            for column in [c for c in columns if c not in known]:
                self.sql(f"alter table {CATALOG}.{SCHEMA}.{table} add column {column} varchar")
            return
        cols = ", ".join(f"{c} varchar" for c in wanted)
        location = f"s3://{self.bucket}/{RECORDS}/{table}/"
        self.sql(
            f"create table {CATALOG}.{SCHEMA}.{table} ({cols}) with (format = 'JSON', "
            f"partitioned_by = array['batch_id'], external_location = '{location}')"
        )

    def _migrate(self, table: str, columns: list[str]) -> None:
        """A landing table from before records were parsed read the CSV files line by line:
        drop it (an external table: the files stay), make the records table and cut the
        records of every original already landed."""
        self.sql(f"drop table {CATALOG}.{SCHEMA}.{table}")
        self.ensure_table(table, columns)
        for key in self._keys(f"{PREFIX}/{table}/batch_id="):
            batch_id = key.split("/batch_id=", 1)[1].split("/", 1)[0]
            with tempfile.TemporaryDirectory() as tmp:
                original = Path(tmp) / key.rsplit("/", 1)[1]
                self.s3.download_file(self.bucket, key, str(original))
                parsed = self._put_records(table, batch_id, original, Path(tmp) / "records.jsonl")
            self.register_partition(table, batch_id)
            landed.record(self.env, batch_id, table, original.name, parsed.records)

    def _put_records(self, table: str, batch_id: str, original: Path, out: Path) -> ParsedFile:
        parsed = parse_file(original, out)
        self.s3.upload_file(str(out), self.bucket, records_key(table, batch_id, original.name))
        return parsed

    def register_partition(self, table: str, batch_id: str) -> None:
        have = self.sql(
            f"select 1 from {CATALOG}.{SCHEMA}.\"{table}$partitions\" where batch_id = '{batch_id}'"
        )
        if have:
            return
        try:
            self.sql(
                f"call {CATALOG}.system.register_partition('{SCHEMA}', '{table}', "
                f"array['batch_id'], array['{batch_id}'])"
            )
        except QueryError as exc:
            if "already exists" not in str(exc):
                raise

    def load_batch(
        self,
        batch_id: str,
        folder: Path,
        *,
        replace: bool = False,
        on_file: Callable[[LoadedFile], None] | None = None,
        max_bytes: int | None = None,
    ) -> LoadedBatch:
        """Check the batch (``check_batch``), then land it."""
        checked = check_batch(batch_id, folder, max_bytes=max_bytes)
        return self.land(checked, replace=replace, on_file=on_file)

    def land(
        self,
        batch: CheckedBatch,
        *,
        replace: bool = False,
        on_file: Callable[[LoadedFile], None] | None = None,
    ) -> LoadedBatch:
        """Land a checked batch: its records are cut (locally) before the first write."""
        batch_id = batch.batch_id
        already = self.loaded(batch_id)
        if already and not replace:
            raise LoadError(f"batch {batch_id} is already loaded; pass --replace to replace it")
        # The ledger keeps a listed file's records: a batch it lists (replaced, or a load that
        # stopped part-way) is forgotten there first, under the accounts' lease.
        again = already or accounting.listed(self.env, batch_id)
        try:
            with accounting.relanding(self.env, batch_id) if again else contextlib.nullcontext():
                loaded = self._land_all(batch, on_file)
        except LayerBusyError as exc:
            raise LoadError(
                f"batch {batch_id} was not landed: the batches' accounts stayed busy ({exc}); "
                "nothing changed, load it again"
            ) from exc
        record = {
            "batch_id": batch_id,
            "loaded_at": dt.datetime.now(dt.UTC).isoformat(),
            "files": [asdict(f) for f in loaded],
        }
        self.s3.put_object(
            Bucket=self.bucket,
            Key=self.marker_key(batch_id),
            Body=json.dumps(record, indent=1).encode(),
        )
        return LoadedBatch(batch_id, loaded, replaced=already)

    def _land_all(
        self, batch: CheckedBatch, on_file: Callable[[LoadedFile], None] | None
    ) -> list[LoadedFile]:
        """Cut every file's records, then change the tables and upload, file by file."""
        batch_id = batch.batch_id
        with tempfile.TemporaryDirectory() as tmp:
            cut = [Path(tmp) / f"{i}.jsonl" for i in range(len(batch.files))]
            parsed = [parse_file(f.path, out) for f, out in zip(batch.files, cut, strict=True)]
            self.ensure_schema()
            landed.ensure(self.env)
            for checked in batch.files:  # every file's columns checked before any table changes
                self.added_columns(checked.path, checked.table, checked.columns)
            for checked in batch.files:
                self.ensure_table(checked.table, list(checked.columns))
            loaded: list[LoadedFile] = []
            for checked, records_file, out in zip(batch.files, parsed, cut, strict=True):
                loaded.append(self._land_file(batch_id, checked, records_file, out))
                if on_file:
                    on_file(loaded[-1])
        return loaded

    def _land_file(
        self, batch_id: str, checked: CheckedFile, parsed: ParsedFile, cut: Path
    ) -> LoadedFile:
        """Replace what an earlier load of this batch left for the file's table, upload the
        original and its records, register the partition."""
        table, name = checked.table, checked.path.name
        prefix = f"{PREFIX}/{table}/batch_id={batch_id}/"
        for key in [*self._keys(prefix), *self._keys(f"{RECORDS}/{table}/batch_id={batch_id}/")]:
            self.s3.delete_object(Bucket=self.bucket, Key=key)
        self.s3.upload_file(str(checked.path), self.bucket, prefix + name)
        self.s3.upload_file(str(cut), self.bucket, records_key(table, batch_id, name))
        self.register_partition(table, batch_id)
        landed.record(self.env, batch_id, table, name, parsed.records)
        return LoadedFile(
            table, name, parsed.records, checked.bytes, checked.sha256, parsed.malformed,
            checked.lines,
        )  # fmt: skip


def load_dir(
    env: Mapping[str, str],
    src_dir: Path,
    batch: str | None = None,
    *,
    replace: bool = False,
    on_file: Callable[[LoadedFile], None] | None = None,
    skip_loaded: bool = False,
    max_batch_bytes: int | None = None,
) -> list[LoadedBatch]:
    """Load one batch (``batch``) or every batch of ``src_dir`` in order.

    Every batch is checked (``check_batch``) before the first is written; nothing but the
    markers of loaded batches is read from the store before that. ``skip_loaded`` passes over
    batches that are already loaded instead of refusing them. ``max_batch_bytes`` defaults to
    ``batch_limit`` of the process environment and ``env``.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    limit = batch_limit({**os.environ, **env}) if max_batch_bytes is None else max_batch_bytes
    batches = choose_batches(src_dir, batch)
    landing = Landing(env, s3_client(env))
    try:
        if skip_loaded and not replace:
            done = set(landing.loaded_batches())
            batches = [b for b in batches if b[0] not in done]
        checked = [check_batch(b, folder, max_bytes=limit) for b, folder in batches]
        return [landing.land(c, replace=replace, on_file=on_file) for c in checked]
    except (BotoCoreError, ClientError) as exc:
        raise LoadError(f"the object store at {env['S3_ENDPOINT']} failed: {exc}") from exc
