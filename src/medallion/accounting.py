"""Every input record accounted for, per landed file: ``serving.audit.batch_files``.

For each file of a batch (one file per landing table and batch) the ledger keeps:

- ``records``: the CSV records ``medallion load`` cut from the file (the rows of its JSON-lines
  copy, which is the landing table's partition);
- ``bronze_rows``: the rows bronze holds for that table and batch;
- ``accepted``: bronze rows silver has processed and not quarantined (identical lines, which
  silver merges into one row, each count here; so do rows a later batch superseded);
- ``quarantined`` and ``reasons``: bronze rows silver quarantined, by reason code (JSON object);
- ``orphans``: rows quarantined as ``orphan``, waiting for their parent, which a later batch may
  still bring: waiting, not lost;
- ``unprocessed``: records not yet through bronze and silver (landed after their last run).

``records = accepted + quarantined + orphans + unprocessed`` is the reconciliation; a file where
it does not hold is shown as unbalanced. A bronze row counts as processed when silver's
reconciliation (``silver.silver_reconciliation``) has its table and batch and bronze wrote it no
later than the watermark silver recorded.

``refresh`` recomputes the rows of the batches whose accounts may have changed (``open_batches``)
or of the batches it is given; ``medallion load`` and every bronze and silver run call it, so the
ledger follows each record from landing to silver. A file's records change only when
its batch is landed again, so a refresh takes the records of the files the ledger already lists
from the ledger and reads the landing tables only for the files it does not list yet; a load
that lands a batch the ledger lists first forgets that batch's rows (``relanding``), under the
same lease. And a batch's accounts change only with its bronze rows, silver's reconciliation row
or its quarantine rows, so each stored row keeps a digest of those (``states``, read from Iceberg's
partition metadata and the two small silver tables) and a refresh recomputes only the batches
whose digest changed: a day's run costs its own batches, not every batch still holding an orphan.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from medallion import lock
from medallion.landing import CATALOG as LANDING
from medallion.landing import SCHEMA
from medallion.trino_client import query, table_exists

TABLE = "serving.audit.batch_files"
COLUMNS = (
    "batch_id varchar, table_name varchar, file varchar, records bigint, bronze_rows bigint, "
    "accepted bigint, quarantined bigint, orphans bigint, unprocessed bigint, reasons varchar, "
    "measured_at timestamp(6), state varchar"
)
#: Columns added since the table was first made, added to an older table by ``ensure``.
ADDED_COLUMNS = ("state varchar",)
#: The lease (``medallion.lock``) under which the accounts are replaced.
LEASE = "accounting"
#: At most this many landed records are counted by one query (``chunks``). The count groups
#: bronze by row, and Trino holds a group per distinct row: the 30 days of scale 10 (16 million
#: records) in one query went past Trino's 1 GB per query at about 64 bytes a group, so the
#: accounts of a large base were never brought up to date. 2 million rows is about 130 MB.
RECORDS_PER_COUNT = 2_000_000
ORPHAN = "orphan"
ACCEPTED = "accepted"
UNPROCESSED = "unprocessed"
BRONZE = "iceberg.bronze"
RECONCILIATION = "iceberg.silver.silver_reconciliation"
QUARANTINE = "iceberg.silver.quarantine"


@dataclass(frozen=True)
class FileAccount:
    batch_id: str
    table_name: str
    file: str
    records: int
    bronze_rows: int = 0
    accepted: int = 0
    reasons: Mapping[str, int] = field(default_factory=dict)
    orphans: int = 0
    unprocessed: int = 0
    #: The digest of what the account was computed from (``states``); None when not known.
    state: str | None = None

    @property
    def quarantined(self) -> int:
        return sum(self.reasons.values())

    @property
    def waiting(self) -> int:
        return self.orphans + self.unprocessed

    @property
    def balanced(self) -> bool:
        return self.records == self.accepted + self.quarantined + self.waiting

    def as_row(self) -> tuple[Any, ...]:
        """Identity and counts in the ledger's column order, the reasons as a JSON object."""
        return (
            self.batch_id,
            self.table_name,
            self.file,
            self.records,
            self.bronze_rows,
            self.accepted,
            self.quarantined,
            self.orphans,
            self.unprocessed,
            json.dumps(dict(self.reasons), sort_keys=True),
        )


def account(
    loaded: Sequence[tuple[str, str, str, int]],
    bronze: Mapping[tuple[str, str], int],
    outcomes: Iterable[tuple[str, str, str, int]],
) -> list[FileAccount]:
    """Combine what was landed (``batch, table, file, records``), what bronze holds
    (``{(batch, table): rows}``) and what silver made of bronze's rows (``batch, table, outcome,
    rows`` with outcome ``accepted``, ``unprocessed`` or a quarantine reason) into one account
    per file. Records bronze has not taken in yet are unprocessed."""
    split: dict[tuple[str, str], dict[str, int]] = {}
    for batch, table, outcome, rows in outcomes:
        counts = split.setdefault((batch, table), {})
        counts[outcome] = counts.get(outcome, 0) + int(rows)
    out = []
    for batch, table, file, records in loaded:
        counts = dict(split.get((batch, table), {}))
        in_bronze = bronze.get((batch, table), 0)
        accepted = counts.pop(ACCEPTED, 0)
        orphans = counts.pop(ORPHAN, 0)
        unprocessed = counts.pop(UNPROCESSED, 0) + max(records - in_bronze, 0)
        out.append(
            FileAccount(
                batch,
                table,
                file,
                records,
                in_bronze,
                accepted,
                dict(sorted(counts.items())),
                orphans,
                unprocessed,
            )
        )
    return sorted(out, key=lambda a: (a.batch_id, a.table_name))


def _exists(env: Mapping[str, str], schema: str, tables: Iterable[str]) -> set[str]:
    names = ", ".join(f"'{t}'" for t in tables)
    if not names:
        return set()
    rows = query(
        env,
        f"select table_name from iceberg.information_schema.tables "
        f"where table_schema = '{schema}' and table_name in ({names})",
    ).rows
    return {str(r[0]) for r in rows}


def _in_list(values: Iterable[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in sorted(set(values)))


def _outcomes_sql(tables: Sequence[str], batches: Sequence[str], silver: bool) -> str:
    """Per batch, landing table and outcome, the number of bronze rows (one scan of each
    bronze table, restricted to ``batches``)."""
    wanted = _in_list(batches)
    parts = [
        f"select '{t}' as landing_table, _batch_id, _row_hash, count(*) as lines, "
        f"max(_ingested_at) as ingested_at from {BRONZE}.brz_{t} "
        f"where _batch_id in ({wanted}) group by _batch_id, _row_hash"
        for t in tables
    ]
    bronze = " union all ".join(parts)
    if not silver:
        return (
            f"select _batch_id, landing_table, '{UNPROCESSED}', sum(lines) "
            f"from ({bronze}) group by 1, 2"
        )
    return f"""
        with b as ({bronze}),
        r as (
            select table_name, source_table, _batch_id, bronze_ingested_at
            from {RECONCILIATION} where _batch_id in ({wanted})
        ),
        q as (
            select table_name, _batch_id, _row_hash, min(reason) as reason
            from {QUARANTINE} where _batch_id in ({wanted})
            group by table_name, _batch_id, _row_hash
        )
        select
            b._batch_id,
            b.landing_table,
            case
                when r.table_name is null or b.ingested_at > r.bronze_ingested_at
                    then '{UNPROCESSED}'
                when q.reason is null then '{ACCEPTED}'
                else q.reason
            end as outcome,
            sum(b.lines)
        from b
        left join r on r.source_table = 'brz_' || b.landing_table and r._batch_id = b._batch_id
        left join q
            on q.table_name = r.table_name and q._batch_id = b._batch_id
            and q._row_hash = b._row_hash
        group by 1, 2, 3
    """


def landing_tables(env: Mapping[str, str]) -> list[str]:
    rows = query(
        env,
        f"select table_name from {LANDING}.information_schema.tables "
        f"where table_schema = '{SCHEMA}' order by table_name",
    ).rows
    return [str(r[0]) for r in rows]


def loaded_batches(env: Mapping[str, str], tables: Sequence[str]) -> list[str]:
    """Every batch with a partition in a landing table."""
    if not tables:
        return []
    parts = " union ".join(
        f'select batch_id from {LANDING}.{SCHEMA}."{t}$partitions"' for t in tables
    )
    return sorted(str(r[0]) for r in query(env, parts).rows)


def landed_partitions(
    env: Mapping[str, str], tables: Sequence[str], batches: Sequence[str]
) -> list[tuple[str, str]]:
    """``batch, table`` of each landing partition of the batches (the metastore's list: no
    record is read)."""
    if not tables or not batches:
        return []
    wanted = _in_list(batches)
    parts = " union all ".join(
        f"select batch_id, '{t}' from {LANDING}.{SCHEMA}.\"{t}$partitions\" "
        f"where batch_id in ({wanted})"
        for t in tables
    )
    return sorted((str(b), str(t)) for b, t in query(env, parts).rows)


def landed_files(
    env: Mapping[str, str], partitions: Sequence[tuple[str, str]]
) -> list[tuple[str, str, str, int]]:
    """``batch, table, file, records`` of each landed file of the ``batch, table`` partitions:
    the records of its JSON-lines copy (one per CSV record, malformed ones included), read
    through Trino."""
    by_table: dict[str, list[str]] = {}
    for batch, table in partitions:
        by_table.setdefault(table, []).append(batch)
    if not by_table:
        return []
    parts = " union all ".join(
        f"select batch_id, '{t}', \"$path\", count(*) from {LANDING}.{SCHEMA}.{t} "
        f"where batch_id in ({_in_list(batches)}) group by 1, 2, 3"
        for t, batches in sorted(by_table.items())
    )
    return [
        (str(b), str(t), str(path).rsplit("/", 1)[-1].removesuffix(".jsonl") + ".csv", int(n))
        for b, t, path, n in query(env, parts).rows
    ]


def stored_files(env: Mapping[str, str], batches: Sequence[str]) -> list[tuple[str, str, str, int]]:
    """``batch, table, file, records`` of the files the ledger already lists for ``batches``."""
    if not batches or not table_exists(env, TABLE):
        return []
    rows = query(
        env,
        f"select batch_id, table_name, file, records from {TABLE} "
        f"where batch_id in ({_in_list(batches)})",
    ).rows
    return [(str(b), str(t), str(f), int(n)) for b, t, f, n in rows]


def states(env: Mapping[str, str], batches: Sequence[str] | None = None) -> dict[str, str]:
    """Per batch (``batches``, or every batch bronze or silver holds), a digest of what its
    accounts are computed from besides its landed files (which only a load changes, and a load
    forgets the batch's rows first): each bronze table's partition of the batch (its rows,
    files, bytes and newest ingestion, from Iceberg's partition metadata), silver's
    reconciliation rows of the batch (the bronze load silver processed) and its quarantine rows
    (per table and reason, how many and a checksum of their row hashes). No bronze data is
    read."""
    if batches is not None and not batches:
        return {}
    tables = landing_tables(env)
    present = _exists(env, "bronze", [f"brz_{t}" for t in tables])
    parts = [
        f"select partition._batch_id as batch_id, 'b:{name}=' || cast(record_count as varchar) "
        "|| '/' || cast(file_count as varchar) || '/' || cast(total_size as varchar) "
        f"|| '@' || coalesce(cast(data._ingested_at.max as varchar), '') as part "
        f'from {BRONZE}."{name}$partitions"'
        for name in sorted(present)
    ]
    silver = _exists(env, "silver", ["silver_reconciliation", "quarantine"])
    if "silver_reconciliation" in silver:
        parts.append(
            "select _batch_id, 'r:' || table_name || '=' || "
            f"coalesce(cast(bronze_ingested_at as varchar), '') from {RECONCILIATION}"
        )
    if "quarantine" in silver:
        parts.append(
            "select _batch_id, 'q:' || table_name || ':' || coalesce(reason, '') || '=' || "
            "cast(count(*) as varchar) || '#' || to_hex(checksum(_row_hash)) "
            f"from {QUARANTINE} group by _batch_id, table_name, reason"
        )
    if not parts:
        return {}
    where = f"where batch_id in ({_in_list(batches)})" if batches is not None else ""
    rows = query(
        env,
        "select batch_id, to_hex(sha256(to_utf8(array_join(array_sort(array_agg(part)), ';')))) "
        f"from ({' union all '.join(parts)}) as parts {where} group by batch_id",
    ).rows
    return {str(b): str(d) for b, d in rows}


def file_list(env: Mapping[str, str], batches: Sequence[str]) -> list[tuple[str, str, str, int]]:
    """The files of ``batches`` with their records: the ledger's for the files it lists (a
    file's records change only when its batch is landed again, and that load forgets the
    batch's rows first: ``relanding``), counted in the landing tables for the partitions it does
    not list yet. A file without records (a header only) has no row in its landing table, so
    only the list the load stored with the batch's first accounts has it."""
    stored = stored_files(env, batches)
    listed = {(b, t) for b, t, _, _ in stored}
    partitions = landed_partitions(env, landing_tables(env), batches)
    return stored + landed_files(env, [p for p in partitions if p not in listed])


def compute(
    env: Mapping[str, str],
    batches: Sequence[str],
    files: Sequence[tuple[str, str, str, int]] | None = None,
    state: Mapping[str, str] | None = None,
) -> list[FileAccount]:
    """The accounts of every file of ``batches`` (loaded batches), from the tables as they are.
    ``files`` (``batch, table, file, records``) is what the load just landed; without it the
    file list is ``file_list``'s. ``state`` is ``states`` read before this call (read here
    otherwise): taken before the counts, a change made while they are counted shows at the
    next refresh."""
    if not batches:
        return []
    if state is None:
        state = states(env, batches)
    return [
        dataclasses.replace(a, state=state.get(a.batch_id, ""))
        for a in _counted(env, batches, files)
    ]


def chunks(
    batches: Sequence[str], loaded: Sequence[tuple[str, str, str, int]], limit: int
) -> list[list[str]]:
    """``batches`` in order, cut into runs of at most ``limit`` landed records each (from
    ``loaded``: ``batch, table, file, records``); a batch larger than ``limit`` is a run of its
    own. One run is counted by one query."""
    records: dict[str, int] = {}
    for batch, _, _, n in loaded:
        records[batch] = records.get(batch, 0) + int(n)
    out: list[list[str]] = []
    size = 0
    for batch in sorted(set(batches)):
        n = records.get(batch, 0)
        if not out or size + n > limit:
            out.append([])
            size = 0
        out[-1].append(batch)
        size += n
    return out


def _counted(
    env: Mapping[str, str],
    batches: Sequence[str],
    files: Sequence[tuple[str, str, str, int]] | None,
) -> list[FileAccount]:
    loaded = list(files) if files is not None else file_list(env, batches)
    tables = sorted({t for _, t, _, _ in loaded})
    present = _exists(env, "bronze", [f"brz_{t}" for t in tables])
    in_bronze = [t for t in tables if f"brz_{t}" in present]
    outcomes: list[tuple[str, str, str, int]] = []
    bronze: dict[tuple[str, str], int] = {}
    if in_bronze:
        silver = _exists(env, "silver", ["silver_reconciliation", "quarantine"]) == {
            "silver_reconciliation",
            "quarantine",
        }
        for chunk in chunks(batches, loaded, RECORDS_PER_COUNT):
            rows = query(env, _outcomes_sql(in_bronze, chunk, silver)).rows
            outcomes += [(str(b), str(t), str(o), int(n)) for b, t, o, n in rows]
        for b, t, _, n in outcomes:
            bronze[(b, t)] = bronze.get((b, t), 0) + n
    return account(loaded, bronze, outcomes)


def ensure(env: Mapping[str, str]) -> None:
    query(env, "create schema if not exists serving.audit")
    query(env, f"create table if not exists {TABLE} ({COLUMNS})")
    for column in ADDED_COLUMNS:
        query(env, f"alter table {TABLE} add column if not exists {column}")


def store(env: Mapping[str, str], accounts: Sequence[FileAccount]) -> None:
    """Replace the stored rows of the accounts' batches with these."""
    if not accounts:
        return
    ensure(env)
    batches = _in_list(a.batch_id for a in accounts)
    query(env, f"delete from {TABLE} where batch_id in ({batches})")
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    marks = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(accounts))
    params: list[Any] = []
    for a in accounts:
        params += [*a.as_row(), now, a.state]
    columns = ", ".join(c.split()[0] for c in COLUMNS.split(", "))
    query(env, f"insert into {TABLE} ({columns}) values {marks}", params)


def open_batches(env: Mapping[str, str], state: Mapping[str, str]) -> list[str]:
    """Loaded batches whose accounts may be out of date: never stored, or stored from another
    state of their bronze, reconciliation or quarantine rows than ``state`` (``states``, read by
    the caller before it counts). A batch whose orphans wait for an order that never comes is not
    counted again until something about it changes."""
    loaded = loaded_batches(env, landing_tables(env))
    ensure(env)
    kept = {
        str(b): str(s)
        for b, s in query(
            env,
            f"select batch_id, max(coalesce(state, '')) from {TABLE} group by batch_id "
            "having count(distinct coalesce(state, '')) = 1 and count(state) = count(*)",
        ).rows
    }
    return [b for b in loaded if b not in kept or kept[b] != state.get(b, "")]


def refresh(
    env: Mapping[str, str],
    batches: Sequence[str] | None = None,
    *,
    files: Sequence[tuple[str, str, str, int]] | None = None,
    wait: float = 60.0,
) -> list[FileAccount] | None:
    """Recompute and store the accounts of ``batches`` (default: the batches not final yet),
    under the ``accounting`` lease, so that a bronze and a silver run ending together do not
    both replace the same rows. ``files`` is a load's own list of what it landed (``compute``).
    Waits up to ``wait`` seconds for the lease; then gives up and returns None: the batches
    stay open and the next run brings them up to date."""
    try:
        with _lease(env, wait):
            state = states(env, batches)
            chosen = list(batches) if batches is not None else open_batches(env, state)
            accounts = compute(env, chosen, files, state)
            store(env, accounts)
            return accounts
    except lock.LayerBusyError:
        return None


@contextlib.contextmanager
def relanding(env: Mapping[str, str], batch_id: str, wait: float = 60.0) -> Iterator[None]:
    """Hold the ``accounting`` lease while ``batch_id`` is landed again, its stored rows
    forgotten first: a refresh takes a listed file's records from the ledger, so the ledger must
    not list the batch's old files once its new ones land. If the load's own refresh then does
    not happen, the next refresh counts the batch's files in the landing tables. Raises
    ``lock.LayerBusyError`` when the lease stays taken for ``wait`` seconds (nothing changed)."""
    with _lease(env, wait):
        if table_exists(env, TABLE):
            query(env, f"delete from {TABLE} where batch_id = ?", [batch_id])
        yield


@contextlib.contextmanager
def _lease(env: Mapping[str, str], wait: float) -> Iterator[None]:
    """The ``accounting`` lease, waited for up to ``wait`` seconds (then ``LayerBusyError``)."""
    deadline = time.monotonic() + wait
    with contextlib.ExitStack() as held:
        while True:
            try:
                held.enter_context(lock.held(env, LEASE, uuid.uuid4().hex, LEASE))
                break
            except lock.LayerBusyError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(2)
        yield


def listed(env: Mapping[str, str], batch_id: str) -> bool:
    """Whether the ledger lists files of ``batch_id``."""
    return bool(stored_files(env, [batch_id]))


def stored(env: Mapping[str, str], batch_id: str) -> list[FileAccount]:
    ensure(env)
    rows = query(
        env,
        f"select batch_id, table_name, file, records, bronze_rows, accepted, orphans, "
        f"unprocessed, reasons from {TABLE} where batch_id = ? order by table_name",
        [batch_id],
    ).rows
    return [
        FileAccount(
            str(b),
            str(t),
            str(f),
            int(n),
            int(br),
            int(a),
            json.loads(str(r or "{}")),
            int(o),
            int(u),
        )
        for b, t, f, n, br, a, o, u, r in rows
    ]


def for_batch(env: Mapping[str, str], batch_id: str) -> list[FileAccount]:
    """The batch's stored accounts, else (never stored) computed now; empty for a batch that
    was never loaded."""
    return stored(env, batch_id) or compute(env, [batch_id])
