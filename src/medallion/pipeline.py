"""Run the layers on the embedded stack in order, each only after the previous one succeeded."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

from medallion import ledger, lock
from medallion.console import console, err, render_rows
from medallion.run.dbt import LayerResult, run_layer
from medallion.stack import StackConfig
from medallion.trino_client import QueryError

ORDER = ("bronze", "silver", "gold")
#: Under a stack's home: ledger rows of runs that ended while the ledger was unreachable.
SPOOL = "ledger-spool"


def run_one(
    env: Mapping[str, str], layer: str, dbt_vars: str | None, freshness: bool = True
) -> LayerResult:
    extra = ["--vars", dbt_vars] if dbt_vars else []
    if layer == "silver":
        from medallion.run.silver import run_silver  # type: ignore[import-not-found,unused-ignore]

        result: LayerResult = run_silver(env, extra_dbt_args=extra).layer_result()
        return result
    with console.status(f"{layer}: starting dbt") as status:
        return run_layer(
            env,
            layer,
            extra,
            on_event=lambda e: status.update(f"{layer}: {e}"),
            freshness=freshness,
        )


def summarise(result: LayerResult) -> None:
    rows = [
        (n.kind, n.name, n.status, "" if n.rows is None else f"{n.rows:,}", f"{n.seconds:.1f}s")
        for n in result.nodes
    ]
    console.print(render_rows(["kind", "node", "status", "rows", "time"], rows, "table"))
    state = "[green]ok" if result.success else "[red]FAILED"
    console.print(
        f"{result.layer}: {state}[/] - {len(result.models)} models, "
        f"{result.rows_written:,} rows written, {result.seconds:.1f}s"
    )


def run_and_record(
    env: Mapping[str, str],
    layer: str,
    pipeline_id: str,
    dbt_vars: str | None,
    freshness: bool = True,
    spool: Path | None = None,
) -> LayerResult:
    """Run one layer and write its row to the ledger, whatever the outcome (``spool``: see
    ``medallion.ledger.recorded``)."""
    return ledger.recorded(
        env,
        layer,
        pipeline_id,
        lambda: run_one(env, layer, dbt_vars, freshness),
        spool=spool,
    )


def run_pipeline(
    layer: str,
    dbt_vars: str | None = None,
    env: Mapping[str, str] | None = None,
    freshness: bool = True,
    home: Path | None = None,
) -> list[LayerResult]:
    """Run ``layer`` (or ``all``: bronze, silver, gold, each after the previous succeeded).

    Prints a summary per layer and returns the results; the last one failed if any did.
    ``freshness`` false skips bronze's check of the landing files' age. ``env`` defaults to
    the embedded stack's, ``home`` to its home, where a run that cannot write its ledger row
    keeps it for the next run.
    """
    if env is None:
        cfg = StackConfig.load()
        env, home = cfg.env(), home or cfg.home
    spool = home / SPOOL if home is not None else None
    layers = ORDER if layer == "all" else (layer,)
    pipeline_id = ledger.new_id()
    began = time.monotonic()
    results = []
    for name in layers:
        try:
            result = run_and_record(env, name, pipeline_id, dbt_vars, freshness, spool)
        except lock.LayerBusyError as exc:
            err.print(f"[bold red]error:[/] refused: {exc}", highlight=False)
            results.append(LayerResult(name, False, 0.0, error=f"refused: {exc}"))
            return results
        except QueryError as exc:  # the lease or the ledger: Trino itself failed
            err.print(f"[bold red]error:[/] {name} could not run: {exc}", highlight=False)
            results.append(LayerResult(name, False, 0.0, error=str(exc)))
            return results
        results.append(result)
        summarise(result)
        if not result.success:
            err.print(f"[bold red]error:[/] {name} failed: {result.error}", highlight=False)
            return results
    if len(layers) > 1:
        console.print(f"pipeline done in {time.monotonic() - began:.1f}s")
    return results
