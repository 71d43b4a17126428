"""The floor of ``make bench``: silver's rules and the five gold marts in DuckDB, in one process.

It reads the same batch folders of CSV files the pipeline loads and computes what a full refresh
of silver and gold would hold, with the SQL of ``bench/floor.sql``; its vocabularies and column
types come from the vars of ``dbt/dbt_project.yml``, the category seed from ``dbt/seeds``, as the
dbt project reads them. What one engine in one process needs for the pipeline's work is the
yardstick the pipeline's times are divided by.

Usage::

    .venv/bin/python scripts/bench_floor.py DATA_DIR [--batches A,B,...] [--out FILE.duckdb]

prints the seconds per phase (bronze: read and type the files; silver; gold) and the size of each
table as JSON; ``--out`` keeps the marts and the quarantine's counts in a DuckDB file.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import yaml

from medallion import vocabulary
from medallion.load import table_of
from medallion.paths import project_dir

FLOOR_SQL = Path(__file__).resolve().parents[1] / "bench" / "floor.sql"
#: The marts as BI tools see them (gold's published names), in dbt/models/gold's columns.
MARTS = (
    "sales_by_category_month",
    "daily_orders",
    "seller_performance",
    "delivery_by_state",
    "payment_mix_month",
)
SILVER = (
    "fct_orders",
    "fct_order_items",
    "fct_payments",
    "fct_reviews",
    "dim_customers",
    "dim_sellers",
    "dim_products",
    "dim_product_categories",
    "dim_geolocation",
    "quarantine",
)
#: The lines of one table's files, numbered (the header is line 1), for csv_records.
LINES = """
create or replace temp table landing_lines as
with texts as (select filename, string_split(content, chr(10)) as lines from read_text($files))
select
    regexp_extract(filename, 'batch=([^/]+)/[^/]*$', 1) as _batch_id,
    filename,
    unnest(lines) as line,
    generate_subscripts(lines, 1) as n
from texts
"""
_PHASE = re.compile(r"^-- phase: (\w+)$", re.MULTILINE)
_PARSE = {
    "varchar": "{v}",
    "timestamp": "parse_timestamp({v})",
    "decimal": "parse_decimal({v})",
    "integer": "parse_integer({v})",
    "integer_lenient": "parse_integer_lenient({v})",
    "double": "parse_double({v})",
}


def phases(sql: str) -> list[tuple[str, list[str]]]:
    """The statements of ``sql`` per phase, in order."""
    parts = _PHASE.split(sql)
    out = []
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        statements = [s.strip() for s in re.split(r"^;$", body, flags=re.MULTILINE)]
        out.append((name, [s for s in statements if s and not _only_comments(s)]))
    return out


def _only_comments(statement: str) -> bool:
    return all(
        not line.strip() or line.lstrip().startswith("--") for line in statement.splitlines()
    )


def landing_columns() -> dict[str, list[tuple[str, str]]]:
    """Each landing table's declared columns and bronze types (the ``landing_columns`` var)."""
    project = yaml.safe_load((project_dir() / "dbt" / "dbt_project.yml").read_text())
    return {
        table: [(str(name), str(kind)) for name, kind in columns]
        for table, columns in project["vars"]["landing_columns"].items()
    }


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def bronze_sql(table: str, columns: list[tuple[str, str]]) -> str:
    """brz_<table>: every record of landing_lines (csv_records), typed as bronze_parse does,
    with its raw fields in ``_raw``, what lies beyond the header in ``_extra_fields`` and the
    flags."""
    width = len(columns)
    names = [name for name, _ in columns]
    typed = ",\n        ".join(
        f"{_PARSE[kind].format(v=f'f[{i}]')} as {name}" for i, (name, kind) in enumerate(columns, 1)
    )
    raw = ", ".join(f"{name} := f[{i}]" for i, name in enumerate(names, 1))
    errors = ", ".join(
        f"case when nullif(trim(f[{i}]), '') is not null and "
        f"{_PARSE[kind].format(v=f'f[{i}]')} is null then '{name}' end"
        for i, (name, kind) in enumerate(columns, 1)
        if kind != "varchar"
    )
    return f"""
create table brz_{table} as
with parsed as (
    select _batch_id, fields as strict_fields, string_split(line, ',') as loose_fields
    from csv_records({width})
),

records as (
    select
        _batch_id,
        coalesce(strict_fields, loose_fields) as f,
        strict_fields is null or len(strict_fields) <> {width} as _malformed
    from parsed
)

select
        {typed},
        _batch_id,
        struct_pack({raw}) as _raw,
        case when len(f) > {width} then array_to_string(f[{width + 1}:], ',') end
            as _extra_fields,
        _malformed,
        list_filter([{errors or "null"}], lambda x: x is not null) as _parse_errors
from records
"""


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    """The vocabularies and the seed, as silver reads them through var() and ref()."""
    vocab = vocabulary.load()
    con.execute(
        "create table order_statuses as select unnest($s::varchar[]) as order_status",
        {"s": list(vocab.order_statuses)},
    )
    con.execute(
        "create table payment_types as select unnest($t::varchar[]) as payment_type",
        {"t": list(vocab.payment_types)},
    )
    con.execute(
        "create table review_score as select $lo::integer as score_min, $hi::integer as score_max",
        {"lo": vocab.review_score_min, "hi": vocab.review_score_max},
    )
    con.execute(LINES, {"files": []})  # csv_records reads it; each table's files replace it
    seed = project_dir() / "dbt" / "seeds" / "seed_category_translation.csv"
    con.execute(
        "create table seed_category_translation as select * from read_csv($p, header = true, "
        "columns = {'product_category_name': 'varchar', 'product_category_name_english': "
        "'varchar'})",
        {"p": str(seed)},
    )


def batch_folders(data: Path, batches: Sequence[str] | None) -> list[Path]:
    folders = sorted(p for p in data.glob("batch=*") if p.is_dir())
    if batches is not None:
        wanted = set(batches)
        folders = [p for p in folders if p.name.removeprefix("batch=") in wanted]
        missing = wanted - {p.name.removeprefix("batch=") for p in folders}
        if missing:
            raise SystemExit(f"no batch folder for {sorted(missing)} in {data}")
    if not folders:
        raise SystemExit(f"{data} holds no batch=<id> folders")
    return folders


def compute(
    data: Path, batches: Sequence[str] | None = None, out: Path | None = None
) -> dict[str, Any]:
    """Run the floor over ``batches`` of ``data`` (all by default); seconds per phase and the
    rows of every silver table and mart. ``out`` keeps the marts (and the quarantine's counts)."""
    folders = batch_folders(data, batches)
    columns = landing_columns()
    files: dict[str, list[Path]] = {}
    for folder in folders:
        for path in sorted(folder.glob("*.csv")):
            files.setdefault(table_of(path.name), []).append(path)
    con = duckdb.connect()
    prepare(con)
    seconds: dict[str, float] = {}
    began = time.perf_counter()
    for phase, statements in phases(FLOOR_SQL.read_text()):
        start = time.perf_counter()
        for statement in statements:
            con.execute(statement)
        if phase == "bronze":
            for table, paths in files.items():
                con.execute(LINES, {"files": [str(p) for p in paths]})
                con.execute(bronze_sql(table, columns[table]))
        seconds[phase] = time.perf_counter() - start
    seconds["total"] = time.perf_counter() - began
    rows = {
        name: int(con.execute(f"select count(*) from {name}").fetchone()[0])  # type: ignore[index]
        for name in (*SILVER, *MARTS)
    }
    if out is not None:
        out.unlink(missing_ok=True)
        con.execute(f"attach {_quoted(str(out))} as kept")
        for mart in MARTS:
            con.execute(f"create table kept.{mart} as select * from {mart}")
        con.execute(
            "create table kept.quarantine_counts as select table_name, reason, count(*) as rows "
            "from quarantine group by all"
        )
        con.execute("detach kept")
    con.close()
    return {"seconds": seconds, "rows": rows, "batches": len(folders)}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="a folder of batch=<id>/ folders of CSV files")
    parser.add_argument("--batches", help="comma-separated batch ids (default: every batch)")
    parser.add_argument("--out", type=Path, help="a DuckDB file to keep the marts in")
    args = parser.parse_args(argv)
    batches = args.batches.split(",") if args.batches else None
    json.dump(compute(args.data, batches, args.out), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
