"""Silver: build the Spark session from the shared Spark conf and run silver's dbt models in it.

The same file runs as the SparkApplication's main file on Kubernetes (executors from the
application's ``executor.instances``) and under ``spark-submit --master local[N]`` on the
embedded stack (``medallion run silver``). dbt-spark's ``method: session`` calls
``SparkSession.builder.getOrCreate()``, so the models run in the session built here, with the
Iceberg catalog on the Hive Metastore and S3.

Inputs come from the environment (the chart's pod template and ``medallion.run.silver`` set them)
and may be overridden by flags:

- ``MEDALLION_SPARK_CONF``: the shared spark-defaults.conf (``${env:NAME}`` placeholders);
- ``MEDALLION_DBT_PROJECT_DIR``: the dbt project (``/opt/medallion/dbt`` in the image);
- ``DBT_PROFILES_DIR``, ``DBT_TARGET`` (default ``spark``), ``DBT_TARGET_PATH``,
  ``DBT_LOG_PATH``: read by dbt itself;
- ``MEDALLION_SILVER_SUMMARY``: where to write a JSON summary of the run (optional).

Exit codes: 0 every model and test passed, 1 a model or test failed (each is printed),
2 dbt could not run at all (bad project, no connection, ...).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from medallion import sparkconf
from medallion.selection import SelectionError, check_extra_args

DEFAULT_CONF = "/opt/medallion/conf/spark-defaults.conf"
DEFAULT_PROJECT = "/opt/medallion/dbt"
DEFAULT_SELECTOR = "silver"  # dbt/selectors.yml, shared with the CLI and the CronJobs
FAILED = ("error", "fail", "runtime error")
CATALOG = "iceberg"


def parse_args(argv: Sequence[str], env: Mapping[str, str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="silver", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conf", default=env.get("MEDALLION_SPARK_CONF", DEFAULT_CONF))
    parser.add_argument(
        "--project-dir", default=env.get("MEDALLION_DBT_PROJECT_DIR", DEFAULT_PROJECT)
    )
    parser.add_argument("--profiles-dir", default=env.get("DBT_PROFILES_DIR"))
    parser.add_argument("--target", default=env.get("DBT_TARGET", "spark"))
    parser.add_argument("--target-path", default=env.get("DBT_TARGET_PATH"))
    parser.add_argument("--log-path", default=env.get("DBT_LOG_PATH"))
    parser.add_argument(
        "--selector", default=DEFAULT_SELECTOR, help="a selector of dbt/selectors.yml"
    )
    parser.add_argument("--summary", default=env.get("MEDALLION_SILVER_SUMMARY"))
    parser.add_argument(
        "dbt_args", nargs="*", help="extra dbt build arguments (after --), e.g. --vars '{...}'"
    )
    return parser.parse_args(list(argv))


def dbt_command(args: argparse.Namespace) -> list[str]:
    """``dbt build`` of silver's models and tests: the only dbt command silver runs."""
    cmd = ["build", "--project-dir", args.project_dir, "--target", args.target]
    for flag, value in (
        ("--profiles-dir", args.profiles_dir),
        ("--target-path", args.target_path),
        ("--log-path", args.log_path),
    ):
        if value:
            cmd += [flag, value]
    # the selector is cautious: a test that also reads gold (e.g. gold's reconciliation with
    # silver) is gold's
    check_extra_args("silver", args.dbt_args)
    return [*cmd, "--selector", args.selector, *args.dbt_args]


def node_summaries(results: Sequence[Any]) -> list[dict[str, Any]]:
    """Plain dicts of dbt's per-node results (JSON-serialisable)."""
    nodes = []
    for r in results:
        response = r.adapter_response or {}
        rows = response.get("rows_affected") if isinstance(response, Mapping) else None
        nodes.append(
            {
                "name": r.node.name,
                "unique_id": r.node.unique_id,
                "kind": str(r.node.resource_type),
                "status": str(r.status),
                "seconds": float(r.execution_time or 0.0),
                "rows": rows if isinstance(rows, int) and rows >= 0 else None,
                "relation": getattr(r.node, "relation_name", None),
                "failures": r.failures,
                "message": r.message,
            }
        )
    return nodes


def count_written_rows(spark: Any, nodes: list[dict[str, Any]], since: dt.datetime) -> None:
    """Fill each built model's ``rows`` from its Iceberg snapshots committed since ``since``.

    Spark reports no affected rows for a merge or a create-as-select; the snapshots' summaries
    (``added-records``) say what each commit wrote. All the tables are read in one query (a
    query each cost a run about a second more); if that fails, each table is read alone, and a
    table that cannot be read keeps None.
    """
    stamp = since.strftime("%Y-%m-%d %H:%M:%S.%f")
    built = [
        node
        for node in nodes
        if node["kind"] == "model" and node["status"] == "success" and node.get("relation")
    ]

    def name(node: dict[str, Any]) -> str:
        return str(node["relation"]).replace("`", "")

    def written(node: dict[str, Any]) -> str:
        relation = name(node)
        return (
            f"select '{relation}' as relation, "
            "coalesce(sum(cast(summary['added-records'] as bigint)), 0) as n "
            f"from {CATALOG}.{relation}.snapshots where committed_at >= timestamp '{stamp}'"
        )

    if not built:
        return
    try:
        counts = {
            row["relation"]: int(row["n"])
            for row in spark.sql(" union all ".join(written(n) for n in built)).collect()
        }
    except Exception:  # a count is a nicety, never a reason to fail the run
        counts = {}
        for node in built:
            try:
                row = spark.sql(written(node)).collect()[0]
            except Exception:
                continue
            counts[row["relation"]] = int(row["n"])
    for node in built:
        if name(node) in counts:
            node["rows"] = counts[name(node)]


def run_dbt(cmd: list[str]) -> tuple[int, list[dict[str, Any]], str | None]:
    """Run dbt in this process (and so in this Spark session); (exit code, nodes, error)."""
    from dbt.cli.main import dbtRunner

    res = dbtRunner().invoke(cmd)
    results = getattr(res.result, "results", None) or []
    nodes = node_summaries(results)
    if res.success:
        return 0, nodes, None
    failed = [n for n in nodes if n["status"] in FAILED]
    if failed:
        return 1, nodes, "; ".join(f"{n['kind']} {n['name']}: {n['status']}" for n in failed)
    return 2, nodes, str(res.exception) if res.exception else "dbt failed"


def main(argv: Sequence[str] | None = None) -> int:
    env = dict(os.environ)
    args = parse_args(sys.argv[1:] if argv is None else argv, env)
    began = time.monotonic()
    try:
        cmd = dbt_command(args)
    except SelectionError as exc:
        print(f"silver: {exc}", file=sys.stderr)
        return 2
    spark = sparkconf.build_session(Path(args.conf), env, "medallion-silver", hive=True)
    # snapshot times are read in the session time zone (UTC in the shared conf)
    since = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    try:
        code, nodes, error = run_dbt(cmd)
        count_written_rows(spark, nodes, since)
    finally:
        spark.stop()
    for node in nodes:
        if node["status"] in FAILED:
            print(
                f"silver: {node['kind']} {node['name']} {node['status']}: {node['message']}",
                file=sys.stderr,
            )
    if error:
        print(f"silver: FAILED ({error})", file=sys.stderr)
    sparkconf.write_summary(
        args.summary,
        {
            "exit_code": code,
            "seconds": time.monotonic() - began,
            "dbt_command": cmd,
            "error": error,
            "nodes": nodes,
            # kilobytes on Linux: the Python driver process (the JVM is measured by the caller)
            "python_peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        },
    )
    return code


if __name__ == "__main__":
    sys.exit(main())
