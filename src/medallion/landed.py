"""When each file was landed: ``serving.audit.landed_files``, one row per file a load landed.

``medallion load`` writes a row (batch, landing table, file, records, ``landed_at``) after each
file's records are uploaded and its partition registered; a batch landed again adds rows, so the
newest ``landed_at`` of a table and batch is when its current files arrived. ``landed_at`` is
Trino's clock, the clock bronze stamps ``_ingested_at`` with, so bronze takes a batch when it has
never seen it or when its newest landing is no older than what bronze holds of it
(``bronze_pending_batches``), and the landing sources' freshness is the newest ``landed_at`` of
each table (dbt source ``audit.landed_files``). Neither reads a landed record: the landing
tables' per-row ``$file_modified_time`` made each of them read every record of every batch.

A stack whose batches were landed before this table existed gets their rows once, when the table
is made (``ensure``): each landed file's modification time, read from the landing tables.
"""

from __future__ import annotations

from collections.abc import Mapping

from medallion import accounting
from medallion.landing import CATALOG as LANDING
from medallion.landing import SCHEMA
from medallion.trino_client import query, table_exists

TABLE = "serving.audit.landed_files"
COLUMNS = (
    "batch_id varchar, table_name varchar, file varchar, records bigint, landed_at timestamp(6)"
)
#: Trino's clock as bronze stamps it (``_ingested_at``): UTC, microseconds, no zone.
NOW = "cast(current_timestamp at time zone 'UTC' as timestamp(6))"


def ensure(env: Mapping[str, str]) -> None:
    """Make the table if it is missing, with a row for each file landed before it existed."""
    if table_exists(env, TABLE):
        return
    catalog, schema, _ = TABLE.split(".")
    query(env, f"create schema if not exists {catalog}.{schema}")
    query(env, f"create table if not exists {TABLE} ({COLUMNS})")
    for name in accounting.landing_tables(env):
        query(
            env,
            f"insert into {TABLE} "
            f"select batch_id, '{name}', "
            "regexp_replace(regexp_extract(\"$path\", '[^/]+$'), '\\.jsonl$', '.csv'), count(*), "
            "max(cast(\"$file_modified_time\" at time zone 'UTC' as timestamp(6))) "
            f'from {LANDING}.{SCHEMA}.{name} group by batch_id, "$path"',
        )


def record(env: Mapping[str, str], batch_id: str, table: str, file: str, records: int) -> None:
    """The row of one file just landed, stamped with Trino's clock."""
    query(
        env,
        f"insert into {TABLE} (batch_id, table_name, file, records, landed_at) "
        f"values (?, ?, ?, ?, {NOW})",
        [batch_id, table, file, records],
    )
