"""Whole layers of the stack's lakehouse as rows, for tests that compare what two runs left."""

from __future__ import annotations

from typing import Any

from tests.conftest import StackHandle

#: Columns a run stamps on what it writes, which differ between any two runs by design.
RUN_COLUMNS = ("_ingested_at", "_loaded_at", "_invocation_id", "_source_modified_at")


def contents(stack: StackHandle, schema: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of ``iceberg.<schema>``, without the run-stamp columns. Silver's
    ``int_*_checked`` tables are left out: each holds the candidates its last run checked (the
    new batches and the orphans still waiting; all of bronze when reprocessing), a run's working
    set rather than silver's contents, so no two different runs leave them equal."""
    out = {}
    for (table,) in stack.sql(f"show tables from iceberg.{schema}").rows:
        if str(table).startswith("int_"):
            continue
        columns = [
            c
            for (c,) in stack.sql(
                "select column_name from iceberg.information_schema.columns "
                f"where table_schema = '{schema}' and table_name = '{table}' "
                "order by ordinal_position"
            ).rows
            if c not in RUN_COLUMNS
        ]
        rows = stack.sql(f"select {', '.join(columns)} from iceberg.{schema}.{table}").rows
        out[str(table)] = sorted(rows, key=repr)
    return out
