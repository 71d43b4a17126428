"""The ``medallion`` command: set up, run and inspect the lakehouse."""

from __future__ import annotations

import logging
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from medallion import load_cli, runs_cli
from medallion.cluster.cli import app as cluster_app
from medallion.console import console, emit, err, render_rows
from medallion.images_cli import app as images_app
from medallion.k8s.cli import app as k8s_app

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
stack_app = typer.Typer(no_args_is_help=True, help="The embedded stack of local engines.")
app.add_typer(stack_app, name="stack")
app.add_typer(k8s_app, name="k8s")
app.add_typer(images_app, name="images")
app.add_typer(cluster_app, name="cluster")


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(code)


@app.command()
def setup(
    update_lock: Annotated[
        bool, typer.Option(help="Record the checksums of what was fetched (maintainers).")
    ] = False,
) -> None:
    """Fetch and verify the engines into the cache (idempotent; a warm run only re-checks)."""
    from medallion import artifacts
    from medallion.jdk import JdkNotFoundError, java17, java25
    from medallion.stack.engines import setup_steps

    lay = artifacts.layout()
    lay.root.mkdir(parents=True, exist_ok=True)
    verifier = artifacts.Verifier(lay.root, update=update_lock)
    began = time.monotonic()
    # Maven downloads run one after the other; the Go builds (the slow part of a cold setup) run
    # beside them.
    lanes: dict[str, list[artifacts.SetupStep]] = {}
    for one in setup_steps():
        lanes.setdefault(one.lane, []).append(one)
    with (
        Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
        ) as progress,
        ThreadPoolExecutor(max_workers=len(lanes)) as pool,
    ):
        tasks = {
            one.name: progress.add_task(one.name, total=1, start=False)
            for lane in lanes.values()
            for one in lane
        }

        def run_lane(lane: list[artifacts.SetupStep]) -> None:
            for one in lane:
                progress.start_task(tasks[one.name])
                one.run(lay, verifier)
                progress.update(tasks[one.name], completed=1, description=f"{one.name} [green]ok")

        futures = {pool.submit(run_lane, lane): lane for lane in lanes.values()}
        for future in as_completed(futures):
            try:
                future.result()
            except artifacts.SetupError as exc:
                verifier.save()
                raise fail(f"{exc}\n(full log: {lay.log})") from exc
    verifier.save()
    try:
        jdks = {"metastore, spark": java17(), "trino": java25()}
    except JdkNotFoundError as exc:
        raise fail(str(exc)) from exc
    for role, jdk in jdks.items():
        console.print(f"JDK {jdk.major} for {role}: {jdk.home}")
    size = artifacts.download_size(lay) / 2**20
    console.print(
        f"setup done in {time.monotonic() - began:.1f}s; cache {lay.root} ({size:,.0f} MiB fetched)"
    )


@stack_app.command("up")
def stack_up() -> None:
    """Start the stack (a no-op when it already runs)."""
    from medallion.stack import Stack, StackError

    stack = Stack()
    began = time.monotonic()
    with console.status("starting the stack") as status:

        def step(name: str, what: str) -> None:
            status.update(f"{name}: {what}")
            if what.startswith("ready"):
                console.print(f"  {name} {what}")

        try:
            started = stack.up(on_step=step)
        except StackError as exc:
            raise fail(str(exc)) from exc
    if started:
        console.print(f"stack up in {time.monotonic() - began:.1f}s (home {stack.cfg.home})")
    else:
        console.print(f"stack already running (home {stack.cfg.home})")


@stack_app.command("down")
def stack_down() -> None:
    """Stop every process that ``up`` started."""
    from medallion.stack import Stack

    stopped = Stack().down(on_step=lambda n, w: console.print(f"  {n} {w}"))
    console.print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))


@stack_app.command("status")
def stack_status(
    fmt: Annotated[Format, typer.Option("--format", help="table, csv or json")] = Format.table,
) -> None:
    """Show each component; exits 1 when any is down."""
    from medallion.stack import Stack

    statuses = Stack().status()
    rows = [
        (s.name, s.pid or "", s.port, "ready" if s.ready else ("starting" if s.running else "down"))
        for s in statuses
    ]
    console.print(render_rows(["component", "pid", "port", "state"], rows, fmt.value))
    if not all(s.ready for s in statuses):
        raise typer.Exit(1)


@stack_app.command("logs")
def stack_logs(
    component: Annotated[
        str | None, typer.Argument(help="a component, as `medallion stack status` names it")
    ] = None,
    lines: Annotated[int, typer.Option("-n", help="lines from the end")] = 40,
) -> None:
    """Print the end of a component's log (all components when none is named)."""
    from medallion.stack import Stack
    from medallion.stack.process import tail

    stack = Stack()
    names = [component] if component else [c.name for c in stack.components]
    for name in names:
        try:
            comp = stack.component(name)
        except KeyError as exc:
            known = ", ".join(c.name for c in stack.components)
            raise fail(f"unknown component {name!r} (the stack runs {known})") from exc
        console.rule(f"{name} ({comp.log})")
        console.print(tail(comp.log, lines), markup=False, highlight=False)


@stack_app.command("reset")
def stack_reset(
    yes: Annotated[bool, typer.Option("--yes", help="really delete the stack's data")] = False,
) -> None:
    """Stop the stack and delete its data (engines and caches stay)."""
    from medallion.stack import Stack

    if not yes:
        raise fail("reset deletes all of the stack's data; pass --yes to confirm", code=2)
    stack = Stack()
    stack.reset()
    console.print(f"deleted {stack.cfg.home}")


@app.command("env")
def env_cmd() -> None:
    """Print the stack's connection settings as shell exports (``eval $(medallion env)``)."""
    import shlex

    from medallion.stack import StackConfig

    for key, value in StackConfig.load().env().items():
        print(f"export {key}={shlex.quote(value)}")


@app.command()
def sql(
    statement: Annotated[str, typer.Argument(help="one SQL statement for Trino")],
    fmt: Annotated[Format, typer.Option("--format", help="table, csv or json")] = Format.table,
    user: Annotated[
        str | None,
        typer.Option(
            "--user",
            help="the Trino user (data_engineer, analyst or admin; default: the pipeline's), "
            "logged in with its password from the stack's credentials",
        ),
    ] = None,
) -> None:
    """Run one statement on the stack's Trino and print the rows."""
    from medallion.stack import StackConfig
    from medallion.trino_client import QueryError, query

    cfg = StackConfig.load()
    env = cfg.env()
    if user is not None:
        passwords = cfg.credentials().trino_passwords
        if user not in passwords:
            raise fail(f"no Trino user {user!r} on this stack; its users: {', '.join(passwords)}")
        env |= {"TRINO_USER": user, "TRINO_PASSWORD": passwords[user]}
    try:
        result = query(env, statement)
    except QueryError as exc:
        raise fail(str(exc)) from exc
    except OSError as exc:
        raise fail(f"cannot reach Trino: {exc} (is the stack up? medallion stack status)") from exc
    emit(render_rows(result.columns, result.rows, fmt.value))


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", help="output folder (batch=YYYY-MM-DD/ inside)")],
    scale: Annotated[float, typer.Option(help="1 = the real Olist row counts")] = 0.1,
    days: Annotated[int, typer.Option(help="number of daily batches")] = 3,
    seed: Annotated[int, typer.Option(help="random seed: same arguments, same bytes")] = 42,
    defects: Annotated[float, typer.Option(help="share of rows with a known defect")] = 0.0,
    multiline: Annotated[
        float, typer.Option(help="share of reviews whose quoted comment spans lines (real: 0.01)")
    ] = 0.0,
) -> None:
    """Write deterministic synthetic data in the Olist format, split into daily batches."""
    from medallion.generate import generate as run_generate

    began = time.monotonic()
    with console.status("generating") as status:
        summary = run_generate(
            out,
            scale=scale,
            days=days,
            seed=seed,
            defects=defects,
            multiline=multiline,
            progress=lambda table, rows: status.update(f"{table}: {rows:,} rows"),
        )
    rows = [(table, f"{n:,}") for table, n in summary.rows.items()]
    console.print(render_rows(["file", "rows"], rows, "table"))
    console.print(
        f"{len(summary.batches)} batches, {summary.defects:,} defects, "
        f"{summary.bytes / 2**20:,.1f} MiB in {time.monotonic() - began:.1f}s -> {out}"
    )


@app.command()
def load(
    src: load_cli.Source,
    batch: load_cli.Batch = None,
    replace: load_cli.Replace = False,
    skip_loaded: load_cli.SkipLoaded = False,
) -> None:
    """Upload batches to s3://warehouse/landing/olist/ and register their partitions; then each
    file's records (serving.audit.batch_files; `medallion runs --batch ID` shows them later)."""
    from medallion import accounting
    from medallion.load import LoadError, load_dir
    from medallion.stack import StackConfig
    from medallion.trino_client import QueryError

    env = StackConfig.load().env()
    try:
        with console.status("loading"):
            batches = load_dir(env, src, batch, replace=replace, skip_loaded=skip_loaded)
        with console.status("accounting"):
            accounts = (
                accounting.refresh(
                    env, [b.batch_id for b in batches], files=load_cli.landed(batches)
                )
                if batches
                else []
            )
    except (LoadError, QueryError) as exc:
        raise fail(str(exc)) from exc
    load_cli.report(batches)
    if accounts:
        runs_cli.show_accounts(accounts)


class Layer(StrEnum):
    bronze = "bronze"
    silver = "silver"
    gold = "gold"
    all = "all"


@app.command()
def run(
    layer: Annotated[Layer, typer.Argument(help="bronze, silver, gold or all")],
    dbt_vars: Annotated[
        str | None, typer.Option("--vars", help="dbt vars as YAML, e.g. '{batch: 2018-01-02}'")
    ] = None,
    skip_freshness: Annotated[
        bool,
        typer.Option(
            "--skip-freshness", help="run bronze even when a landing source is past error_after"
        ),
    ] = False,
) -> None:
    """Run a layer (or all, in order) on the embedded stack, with progress and a summary."""
    from medallion.pipeline import run_pipeline

    results = run_pipeline(layer.value, dbt_vars=dbt_vars, freshness=not skip_freshness)
    if not results[-1].success:
        raise typer.Exit(1)


#: ``medallion maintain``'s columns and the key of spark-apps/maintenance's summary each shows
MAINTENANCE_COLUMNS = {
    "table": "table",
    "files_before": "data_files_before",
    "files_after": "data_files_after",
    "rewritten": "rewritten_data_files",
    "expired": "expired_data_files",
    "orphans": "removed_orphan_files",
    "error": "error",
}


@app.command()
def maintain(
    retention_days: Annotated[
        float,
        typer.Option(
            "--retention-days",
            min=0,
            help="expire snapshots and remove orphan files older than this (the current "
            "snapshot always stays; orphan files younger than a day are kept)",
        ),
    ] = 7.0,
    namespaces: Annotated[
        str, typer.Option(help="comma-separated namespaces of the iceberg catalog")
    ] = "bronze,silver",
    fmt: Annotated[Format, typer.Option("--format", help="table, csv or json")] = Format.table,
) -> None:
    """Compact small data files, expire old snapshots and remove orphan files of every Iceberg
    table (spark-apps/maintenance, which the chart's ScheduledSparkApplication runs)."""
    from medallion.run.silver import run_maintenance
    from medallion.stack import StackConfig

    chosen = [n.strip() for n in namespaces.split(",") if n.strip()]
    with err.status(f"maintaining the tables of {', '.join(chosen)}"):
        result = run_maintenance(StackConfig.load().env(), retention_days, chosen, echo=None)
    rows = [[t.get(key) for key in MAINTENANCE_COLUMNS.values()] for t in result.tables]
    emit(render_rows(list(MAINTENANCE_COLUMNS), rows, fmt.value))
    if not result.success:
        raise fail(result.error or "maintenance failed")


@app.command()
def runs(
    limit: runs_cli.Limit = 20,
    fmt: runs_cli.Format = runs_cli.RunsFormat.table,
    wide: runs_cli.Wide = False,
    batch: runs_cli.BatchOpt = None,
) -> None:
    """List recent layer runs from the ledger (serving.audit.pipeline_runs), or with --batch
    the batch's per-file accounts (serving.audit.batch_files)."""
    from medallion.accounting import for_batch
    from medallion.ledger import recent
    from medallion.stack import StackConfig

    env = StackConfig.load().env()
    if batch is not None:
        accounts = for_batch(env, batch)
        if not accounts:
            raise fail(f"no batch {batch!r} has been loaded")
        runs_cli.show_accounts(accounts, fmt.value)
        return
    runs_cli.show(recent(env, limit), fmt.value, wide=wide)


@app.command()
def history(
    table: Annotated[
        str, typer.Argument(help="an Iceberg table: schema.table, e.g. silver.fct_orders")
    ],
) -> None:
    """List an Iceberg table's snapshots (time travel)."""
    from medallion.stack import StackConfig
    from medallion.timetravel import snapshots
    from medallion.trino_client import QueryError

    try:
        result = snapshots(StackConfig.load().env(), table)
    except (QueryError, ValueError) as exc:
        raise fail(str(exc)) from exc
    console.print(render_rows(result.columns, result.rows, "table"))


@app.command()
def rollback(
    table: Annotated[str, typer.Argument(help="an Iceberg table: schema.table")],
    to: Annotated[int, typer.Option("--to", help="the snapshot id to restore")],
) -> None:
    """Restore an Iceberg table to one of its snapshots."""
    from medallion.stack import StackConfig
    from medallion.timetravel import rollback as do_rollback
    from medallion.trino_client import QueryError

    try:
        rows = do_rollback(StackConfig.load().env(), table, to)
    except (QueryError, ValueError) as exc:
        raise fail(str(exc)) from exc
    console.print(f"{table} rolled back to snapshot {to} ({rows:,} rows)")


@app.command()
def demo(
    data: Annotated[Path, typer.Option(help="where the generated batches go (reused if there)")],
    scale: Annotated[float, typer.Option(help="1 = the real Olist row counts")] = 0.1,
    days: Annotated[int, typer.Option(help="number of daily batches")] = 3,
    seed: Annotated[int, typer.Option(help="random seed")] = 42,
    report: Annotated[Path | None, typer.Option(help="HTML report path")] = None,
) -> None:
    """What `make run` does: start the stack, generate and load data, run all layers, report."""
    import json as jsonlib

    from medallion.generate import generate as run_generate
    from medallion.load import load_dir
    from medallion.paths import project_dir
    from medallion.pipeline import run_pipeline
    from medallion.report import build, kpis
    from medallion.stack import Stack, StackError

    began = time.monotonic()
    stack = Stack()
    try:
        with console.status("starting the stack"):
            stack.up()
    except StackError as exc:
        raise fail(str(exc)) from exc
    env = stack.cfg.env()
    wanted = {"scale": scale, "days": days, "seed": seed}
    stamp = data / "defects.json"
    have = jsonlib.loads(stamp.read_text()) if stamp.exists() else {}
    if {k: have.get(k) for k in wanted} != wanted:
        with console.status(f"generating scale {scale} over {days} days"):
            run_generate(data, scale=scale, days=days, seed=seed, defects=0.01)
        console.print(f"generated {data}")
    else:
        console.print(f"reusing {data}")
    with console.status("loading batches"):
        loaded = load_dir(env, data, skip_loaded=True)
    console.print(
        f"loaded {len(loaded)} new batches" if loaded else "every batch is already loaded"
    )
    results = run_pipeline("all", env=env, home=stack.cfg.home)
    if not results[-1].success:
        raise typer.Exit(1)
    console.print(render_rows(["KPI", "value"], kpis(env), "table"))
    out = build(env, report or project_dir() / "reports" / "report.html")
    console.print(f"report: {out}")
    console.print(f"make run done in {time.monotonic() - began:.1f}s")


def quiet_trino_client() -> None:
    """The trino client sets its modules' loggers to INFO on import; its keyring notice is noise."""
    import trino.auth  # noqa: F401  (so its loggers exist before they are quieted)

    for name in list(logging.root.manager.loggerDict):
        if name == "trino" or name.startswith("trino."):
            logging.getLogger(name).setLevel(logging.WARNING)


def main() -> None:
    """Entry point of the ``medallion`` console script."""
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    quiet_trino_client()
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
