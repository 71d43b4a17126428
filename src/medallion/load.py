"""The landing zone: put Olist CSV batches on S3 and register them as external Hive tables.

A batch folder ``DIR/batch=<id>/`` (or a flat folder of the real Olist files, which loads as one
batch) lands byte for byte as ``s3://<bucket>/landing/olist/<table>/batch_id=<id>/<file>.csv``.
Beside it goes the file's records, cut by ``medallion.records`` (a quoted field may span lines, a
stray quote spoils only its own line), one JSON object per record under
``landing/olist/_records/<table>/batch_id=<id>/<file>.jsonl``: that copy is the partition of
``landing.olist.<table>``, so no engine ever reads the CSV line by line. The landing tables take
their columns from the files' header, plus ``_extra_fields`` (what a record holds beyond the
header), ``_line`` (the physical line a record starts on) and ``_raw_line`` (a malformed record's
raw line). A marker ``landing/olist/_loads/<id>.json`` records each loaded batch, so loading the
same batch twice is refused unless ``replace`` is set.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from medallion.records import as_row, records
from medallion.s3 import s3_client
from medallion.trino_client import QueryError, query

PREFIX = "landing/olist"
SCHEMA = "olist"
CATALOG = "landing"
RECORDS = f"{PREFIX}/_records"
#: What every landing table holds beyond the header's columns (before the partition column).
RECORD_COLUMNS = ("_extra_fields", "_line", "_raw_line")
#: The columns beyond the header of a landing table made before records were parsed.
_LINE_TABLE_COLUMNS = ["_extra_fields", "batch_id"]
_BATCH_DIR = re.compile(r"^batch=(.+)$")
_BATCH_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


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


def read_header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        header = next(csv.reader(handle), None)
    if not header:
        raise LoadError(f"{path} is empty: a header line is needed")
    columns = [c.strip().lower() for c in header]
    for col in columns:
        if not _IDENT.match(col):
            raise LoadError(f"{path}: header column {col!r} is not a plain column name")
    return columns


def count_rows(path: Path) -> tuple[int, int, str]:
    """Data lines (physical lines after the header), bytes and SHA-256 of a file."""
    digest = hashlib.sha256()
    lines = 0
    size = 0
    last = b"\n"
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            lines += block.count(b"\n")
            size += len(block)
            last = block[-1:]
    if size and last != b"\n":
        lines += 1  # a last line without a line end is still a line
    return max(lines - 1, 0), size, digest.hexdigest()


@dataclass(frozen=True)
class ParsedFile:
    columns: list[str]
    records: int
    malformed: int


def parse_file(path: Path, out: Path) -> ParsedFile:
    """Write the records of the CSV file ``path`` to ``out`` as JSON lines (the header's columns
    must be plain names); the header is not a record."""
    with path.open(newline="", encoding="utf-8") as handle:
        found = records(handle)
        head = next(found, None)
        if head is None:
            raise LoadError(f"{path} is empty: a header line is needed")
        columns = [c.strip().lower() for c in head.fields]
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

    def ensure_table(self, table: str, columns: list[str]) -> None:
        existing = self.sql(
            f"select column_name from {CATALOG}.information_schema.columns "
            f"where table_schema = '{SCHEMA}' and table_name = '{table}' order by ordinal_position"
        )
        wanted = [*columns, *RECORD_COLUMNS, "batch_id"]
        if existing:
            have = [r[0] for r in existing]
            if have == [*columns, *_LINE_TABLE_COLUMNS]:
                self._migrate(table, columns)
                return
            if have != wanted:
                raise LoadError(
                    f"{table}: the file's header {columns} does not match the landing table "
                    f"({have[:-2]}); a changed file layout needs a new landing table"
                )
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
                self._put_records(table, batch_id, original, Path(tmp) / "records.jsonl")
            self.register_partition(table, batch_id)

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
    ) -> LoadedBatch:
        if not _BATCH_ID.match(batch_id):
            raise LoadError(f"batch id {batch_id!r} must be letters, digits, '-', '_' or '.'")
        files = sorted(folder.glob("*.csv"))
        if not files:
            raise LoadError(f"{folder} holds no CSV files")
        already = self.loaded(batch_id)
        if already and not replace:
            raise LoadError(f"batch {batch_id} is already loaded; pass --replace to replace it")
        self.ensure_schema()
        headers = {f: read_header(f) for f in files}
        for path, columns in headers.items():
            self.ensure_table(table_of(path.name), columns)
        loaded: list[LoadedFile] = []
        for path in files:
            table = table_of(path.name)
            prefix = f"{PREFIX}/{table}/batch_id={batch_id}/"
            for key in [
                *self._keys(prefix),
                *self._keys(f"{RECORDS}/{table}/batch_id={batch_id}/"),
            ]:
                self.s3.delete_object(Bucket=self.bucket, Key=key)
            lines, size, digest = count_rows(path)
            self.s3.upload_file(str(path), self.bucket, prefix + path.name)
            with tempfile.TemporaryDirectory() as tmp:
                parsed = self._put_records(table, batch_id, path, Path(tmp) / "records.jsonl")
            self.register_partition(table, batch_id)
            item = LoadedFile(
                table, path.name, parsed.records, size, digest, parsed.malformed, lines
            )
            loaded.append(item)
            if on_file:
                on_file(item)
        batch = LoadedBatch(batch_id, loaded, replaced=already)
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
        return batch


def load_dir(
    env: Mapping[str, str],
    src_dir: Path,
    batch: str | None = None,
    *,
    replace: bool = False,
    on_file: Callable[[LoadedFile], None] | None = None,
    skip_loaded: bool = False,
) -> list[LoadedBatch]:
    """Load one batch (``batch``) or every batch of ``src_dir`` in order.

    ``skip_loaded`` passes over batches that are already loaded instead of refusing them.
    """
    landing = Landing(env, s3_client(env))
    batches = find_batches(src_dir)
    if batch is not None:
        chosen = [b for b in batches if b[0] == batch]
        if not chosen and len(batches) == 1 and not _BATCH_DIR.match(batches[0][1].name):
            chosen = [(batch, batches[0][1])]
        if not chosen:
            raise LoadError(f"no batch {batch!r} in {src_dir} (has {[b[0] for b in batches]})")
        batches = chosen
    if skip_loaded and not replace:
        done = set(landing.loaded_batches())
        batches = [b for b in batches if b[0] not in done]
    return [
        landing.load_batch(b, folder, replace=replace, on_file=on_file) for b, folder in batches
    ]
