"""One layer run by a Kubernetes Job (the chart's CronJobs), with its row in the run ledger.

The layer containers of the chart run ``python -m medallion.run.job LAYER``:

- ``bronze`` and ``gold`` run dbt-trino in-process (``medallion.run.dbt.run_layer``, exactly what
  ``medallion run`` does on the embedded stack; bronze checks the landing files' freshness first
  unless ``--skip-freshness``);
- ``silver`` creates the SparkApplication and waits for its end (``medallion.k8s.submitter``); the
  rows it wrote are read back from the Iceberg snapshots that silver committed since it started.

Either way the run goes through ``medallion.ledger.recorded``, the function ``medallion run`` uses,
so every run has its row in ``serving.audit.pipeline_runs``, failures included. The Job's name is
the pipeline id (``MEDALLION_PIPELINE_ID``): the pipeline CronJob's three containers share it.

The exit status is 0 when the layer succeeded, 1 when it failed, and ``REFUSED`` (75, "try again
later") when another run holds the layer: the chart's Jobs fail at once on it, without retries.
Only the dbt image's packages are imported (no rich, no typer).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import sys
import time
from collections.abc import Mapping, Sequence

from medallion import ledger, lock
from medallion.run.dbt import LayerResult, NodeResult, checked, named, run_layer
from medallion.trino_client import QueryError, query

PIPELINE_ID_ENV = "MEDALLION_PIPELINE_ID"
REFUSED = 75  # EX_TEMPFAIL; the chart's podFailurePolicy fails the Job on it
LAYERS = ("bronze", "silver", "gold")
SILVER_SCHEMA = "iceberg.silver"


def committed_since(env: Mapping[str, str], schema: str, since: dt.datetime) -> list[NodeResult]:
    """One node per table of ``schema`` (``catalog.schema``) with an Iceberg commit since
    ``since``: the records those commits added, from the snapshots' summaries."""
    catalog, name = schema.split(".")
    tables = query(
        env,
        f"select table_name from {catalog}.information_schema.tables "
        "where table_schema = ? and table_type = 'BASE TABLE' order by table_name",
        [name],
    ).rows
    if not tables:
        return []
    stamp = since.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    parts = [
        f"select '{t}' as t, count(*) as commits, "
        # a snapshot that added nothing (a delete, a merge that only rewrote) has no such key
        "coalesce(sum(cast(element_at(summary, 'added-records') as bigint)), 0) as added "
        f'from {schema}."{t}$snapshots" '
        f"where committed_at >= from_iso8601_timestamp('{stamp}')"
        for (t,) in tables
    ]
    rows = query(env, " union all ".join(parts)).rows
    return [
        NodeResult(str(t), "model", "success", 0.0, int(added), None)
        for t, commits, added in sorted(rows)
        if commits
    ]


def run_silver(env: Mapping[str, str], submitter_argv: Sequence[str]) -> LayerResult:
    """The SparkApplication of the chart's template, to its end; the rows silver committed.
    A metastore or S3 that Trino cannot reach fails the run before the application is made."""
    from medallion.k8s import submitter

    if (dead := checked(env, "silver")) is not None:
        return dead
    started = dt.datetime.now(dt.UTC)
    began = time.monotonic()
    outcome = submitter.submit(submitter.parse_args(list(submitter_argv)))
    seconds = time.monotonic() - began
    if outcome.code is not submitter.ExitCode.COMPLETED:
        return LayerResult("silver", False, seconds, error=named(outcome.describe(), env))
    return LayerResult("silver", True, seconds, committed_since(env, SILVER_SCHEMA, started))


def print_summary(result: LayerResult) -> None:
    for n in result.nodes:
        rows = "" if n.rows is None else f" {n.rows:,} rows"
        print(f"{result.layer}: {n.kind} {n.name} {n.status}{rows} {n.seconds:.1f}s", flush=True)
    state = "ok" if result.success else "FAILED"
    print(
        f"{result.layer}: {state} - {len(result.models)} models, "
        f"{result.rows_written:,} rows written, {result.seconds:.1f}s",
        flush=True,
    )
    if result.error:
        print(f"error: {result.error}", file=sys.stderr, flush=True)


def parse_args(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(
        prog="python -m medallion.run.job",
        description="Run one layer as a Kubernetes Job and record it in the run ledger; "
        "silver's other arguments go to medallion.k8s.submitter.",
    )
    parser.add_argument("layer", choices=LAYERS)
    parser.add_argument(
        "--skip-freshness", action="store_true", help="bronze: skip the landing freshness check"
    )
    return parser.parse_known_args(list(argv))


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    args, rest = parse_args(sys.argv[1:] if argv is None else argv)
    env = dict(os.environ if env is None else env)
    if rest and args.layer != "silver":
        print(f"error: unexpected arguments for {args.layer}: {' '.join(rest)}", file=sys.stderr)
        return 2
    pipeline_id = env.get(PIPELINE_ID_ENV) or ledger.new_id()
    # A deleted Job's pod gets SIGTERM: unwind, so the layer's lease is given back at once
    # instead of expiring.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    def run() -> LayerResult:
        if args.layer == "silver":
            return run_silver(env, rest)
        return run_layer(env, args.layer, freshness=not args.skip_freshness)

    try:
        result = ledger.recorded(env, args.layer, pipeline_id, run)
    except lock.LayerBusyError as exc:
        print(f"error: refused: {exc}", file=sys.stderr, flush=True)
        return REFUSED
    except QueryError as exc:  # the lease or the ledger: Trino itself failed
        print(f"error: {args.layer} could not run: {exc}", file=sys.stderr, flush=True)
        return 1
    print_summary(result)
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
