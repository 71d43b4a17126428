"""Table maintenance for every Iceberg table of the lakehouse: compact small data files, expire
old snapshots, remove files no snapshot references.

Runs as the maintenance ScheduledSparkApplication (arguments from the chart's
``maintenance.arguments``) and under ``spark-submit --master local[N]`` on the embedded stack
(``medallion maintain``). The session is built from the shared Spark conf
(``MEDALLION_SPARK_CONF``), like silver's.

For each table of each namespace, in order:

1. ``rewrite_data_files`` (bin-pack; ``--min-input-files`` files of a partition are enough to
   rewrite them, so the many small files that merges leave behind are joined);
2. ``expire_snapshots`` older than ``--retention-days`` (the current snapshot always stays, and
   ``--retain-last`` snapshots at least);
3. ``remove_orphan_files`` older than the same retention, but never younger than a day: Iceberg
   refuses shorter intervals, because files of in-flight writes look like orphans.

A table that fails is reported and the others go on; the exit code is 1 if any table failed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from medallion import sparkconf

DEFAULT_CONF = "/opt/medallion/conf/spark-defaults.conf"
CATALOG = "iceberg"


def parse_args(argv: Sequence[str], env: Mapping[str, str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="maintenance",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--conf", default=env.get("MEDALLION_SPARK_CONF", DEFAULT_CONF))
    parser.add_argument(
        "--namespaces",
        default=env.get("MEDALLION_MAINTENANCE_NAMESPACES", "bronze,silver"),
        help="comma-separated namespaces of the iceberg catalog",
    )
    parser.add_argument(
        "--retention-days",
        type=float,
        default=float(env.get("MEDALLION_SNAPSHOT_RETENTION_DAYS", "7")),
        help="expire snapshots and remove orphan files older than this",
    )
    parser.add_argument("--retain-last", type=int, default=1)
    parser.add_argument("--min-input-files", type=int, default=2)
    parser.add_argument("--summary", default=env.get("MEDALLION_MAINTENANCE_SUMMARY"))
    args = parser.parse_args(list(argv))
    if args.retention_days < 0:
        parser.error("--retention-days must not be negative")
    return args


def list_tables(spark: Any, namespace: str) -> list[str]:
    if not spark.sql(f"show namespaces in {CATALOG} like '{namespace}'").collect():
        return []
    rows = spark.sql(f"show tables in {CATALOG}.{namespace}").collect()
    return sorted(f"{namespace}.{r['tableName']}" for r in rows if not r["isTemporary"])


def data_files(spark: Any, table: str) -> int:
    count: int = spark.sql(f"select count(*) from {CATALOG}.{table}.files").collect()[0][0]
    return count


ORPHAN_MIN_AGE = dt.timedelta(days=1)


def maintain(spark: Any, table: str, now: dt.datetime, args: argparse.Namespace) -> dict[str, Any]:
    """The three procedures on one table; what each did."""
    retention = dt.timedelta(days=args.retention_days)
    stamp = (now - retention).strftime("%Y-%m-%d %H:%M:%S.%f")
    orphan_stamp = (now - max(retention, ORPHAN_MIN_AGE)).strftime("%Y-%m-%d %H:%M:%S.%f")
    before = data_files(spark, table)
    rewrite = spark.sql(
        f"call {CATALOG}.system.rewrite_data_files(table => '{table}', "
        f"options => map('min-input-files', '{args.min_input_files}'))"
    ).collect()[0]
    expire = spark.sql(
        f"call {CATALOG}.system.expire_snapshots(table => '{table}', "
        f"older_than => timestamp '{stamp}', retain_last => {args.retain_last})"
    ).collect()[0]
    orphans = spark.sql(
        f"call {CATALOG}.system.remove_orphan_files(table => '{table}', "
        f"older_than => timestamp '{orphan_stamp}', "
        # list through the table's FileIO (S3FileIO), not a Hadoop file system: Spark's
        # image has no hadoop-aws; s3:// and s3a:// name the same objects
        "prefix_listing => true, equal_schemes => map('s3a,s3n', 's3'))"
    ).collect()
    return {
        "table": table,
        "data_files_before": before,
        "data_files_after": data_files(spark, table),
        "rewritten_data_files": rewrite["rewritten_data_files_count"],
        "added_data_files": rewrite["added_data_files_count"],
        "expired_data_files": expire["deleted_data_files_count"],
        "expired_manifest_files": expire["deleted_manifest_files_count"],
        "removed_orphan_files": len(orphans),
    }


def main(argv: Sequence[str] | None = None) -> int:
    env = dict(os.environ)
    args = parse_args(sys.argv[1:] if argv is None else argv, env)
    began = time.monotonic()
    spark = sparkconf.build_session(Path(args.conf), env, "medallion-maintenance", hive=False)
    # older_than is read in the session time zone (UTC in the shared conf)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    results: list[dict[str, Any]] = []
    failed: list[str] = []
    try:
        for namespace in [n.strip() for n in args.namespaces.split(",") if n.strip()]:
            for table in list_tables(spark, namespace):
                try:
                    result = maintain(spark, table, now, args)
                except Exception as exc:  # report the table, go on with the others
                    failed.append(table)
                    result = {"table": table, "error": str(exc).splitlines()[0]}
                    print(f"maintenance: {table} FAILED: {result['error']}", file=sys.stderr)
                else:
                    print(
                        f"maintenance: {table}: data files {result['data_files_before']} -> "
                        f"{result['data_files_after']}, expired {result['expired_data_files']}"
                        f" data files, removed {result['removed_orphan_files']} orphan files"
                    )
                results.append(result)
    finally:
        spark.stop()
    code = 1 if failed else 0
    sparkconf.write_summary(
        args.summary,
        {
            "exit_code": code,
            "seconds": time.monotonic() - began,
            "retention_days": args.retention_days,
            "now": now.isoformat(),
            "failed": failed,
            "error": f"maintenance failed on {', '.join(failed)}" if failed else None,
            "tables": results,
        },
    )
    return code


if __name__ == "__main__":
    sys.exit(main())
