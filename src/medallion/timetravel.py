"""Time travel on the Iceberg tables: list snapshots, roll a table back to one."""

from __future__ import annotations

import re
from collections.abc import Mapping

from medallion.trino_client import Result, query

_NAME = re.compile(r"^(?:iceberg\.)?([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)$")


def split(table: str) -> tuple[str, str]:
    match = _NAME.match(table.strip().lower())
    if not match:
        raise ValueError(f"{table!r} is not schema.table (e.g. silver.fct_orders)")
    return match.group(1), match.group(2)


def snapshots(env: Mapping[str, str], table: str) -> Result:
    schema, name = split(table)
    return query(
        env,
        # element_at: a snapshot that added nothing (a delete of whole files) has no added-records
        "select snapshot_id, parent_id, committed_at, operation, "
        "element_at(summary, 'total-records') as total_records, "
        "element_at(summary, 'added-records') as added_records "
        f'from iceberg.{schema}."{name}$snapshots" order by committed_at',
    )


def rollback(env: Mapping[str, str], table: str, snapshot_id: int) -> int:
    """Make ``snapshot_id`` the table's current snapshot; returns the table's row count then."""
    schema, name = split(table)
    known = {r[0] for r in snapshots(env, table).rows}
    if snapshot_id not in known:
        raise ValueError(f"{schema}.{name} has no snapshot {snapshot_id}")
    query(
        env,
        f"alter table iceberg.{schema}.{name} execute rollback_to_snapshot({int(snapshot_id)})",
    )
    count: int = query(env, f"select count(*) from iceberg.{schema}.{name}").rows[0][0]
    return count
