"""``medallion k8s``: trigger and watch layer runs on a cluster where the chart is installed."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from medallion import load_cli, runs_cli
from medallion.console import console, err
from medallion.k8s import runs

app = typer.Typer(no_args_is_help=True, help="Trigger and watch runs on Kubernetes.")


class Layer(StrEnum):
    bronze = "bronze"
    silver = "silver"
    gold = "gold"
    pipeline = "pipeline"


NamespaceOpt = Annotated[
    str | None,
    typer.Option("--namespace", "-n", help="namespace of the release (default: the context's)"),
]
ReleaseNamespaceOpt = Annotated[
    str, typer.Option("--namespace", "-n", help="the release's namespace")
]
ReleaseOpt = Annotated[str, typer.Option("--release", help="the Helm release name")]
KubeconfigOpt = Annotated[str | None, typer.Option("--kubeconfig", help="path to a kubeconfig")]
ContextOpt = Annotated[str | None, typer.Option("--context", help="kubeconfig context to use")]


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


def _connect(kubeconfig: str | None, context: str | None, namespace: str | None) -> Any:
    try:
        return runs.connect(kubeconfig=kubeconfig, context=context, namespace=namespace)
    except runs.ClusterError as exc:
        raise _fail(str(exc)) from exc


@app.command()
def trigger(
    layer: Annotated[Layer, typer.Argument(help="bronze, silver, gold or pipeline")],
    *,
    wait: Annotated[bool, typer.Option("--wait", help="watch the Job until it ends")] = False,
    timeout: Annotated[int, typer.Option(help="seconds --wait waits at most")] = 7200,
    namespace: NamespaceOpt = None,
    release: ReleaseOpt = "medallion",
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
) -> None:
    """Run a layer now: a Job from the CronJob <release>-<layer>, as kubectl create job --from."""
    cluster = _connect(kubeconfig, context, namespace)
    cronjob = f"{release}-{layer.value}"
    try:
        job = runs.trigger(cluster, cronjob)
    except runs.ClusterError as exc:
        raise _fail(str(exc)) from exc
    console.print(f"created job {cluster.namespace}/{job} from cronjob {cronjob}")
    if not wait:
        console.print(f"follow it: kubectl -n {cluster.namespace} logs -f job/{job}")
        return
    with console.status(f"waiting for {job}") as status:
        try:
            outcome = runs.wait_for_job(
                cluster, job, timeout, on_change=lambda s: status.update(f"{job}: {s}")
            )
        except runs.ClusterError as exc:
            raise _fail(str(exc)) from exc
    if outcome == runs.JobOutcome.SUCCEEDED:
        console.print(f"[green]{job} succeeded[/]")
        return
    raise _fail(
        f"{job} {outcome.value}; see: kubectl -n {cluster.namespace} logs job/{job}",
        code=1 if outcome == runs.JobOutcome.FAILED else 2,
    )


@app.command()
def status(
    *,
    namespace: NamespaceOpt = None,
    release: ReleaseOpt = "medallion",
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    limit: Annotated[int, typer.Option(help="recent SparkApplications to show")] = 10,
) -> None:
    """The layers' CronJobs with their last runs, and the recent SparkApplications."""
    cluster = _connect(kubeconfig, context, namespace)
    try:
        layers = runs.layer_status(cluster, release)
        apps = runs.spark_applications(cluster, release, limit)
    except runs.ClusterError as exc:
        raise _fail(str(exc)) from exc
    console.print(runs.layers_table(layers, f"{cluster.namespace}/{release}: layers"))
    console.print(runs.applications_table(apps, "recent SparkApplications"))


@app.command()
def load(
    src: load_cli.Source,
    *,
    batch: load_cli.Batch = None,
    replace: load_cli.Replace = False,
    skip_loaded: load_cli.SkipLoaded = False,
    namespace: ReleaseNamespaceOpt = "medallion",
    release: ReleaseOpt = "medallion",
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
) -> None:
    """`medallion load` into a release's landing zone, through port-forwards to its MinIO and
    Trino (credentials from the release's Secrets)."""
    from medallion import accounting
    from medallion.k8s.access import AccessError, Release, forwarded_env
    from medallion.load import LoadError, load_dir
    from medallion.trino_client import QueryError

    target = Release(namespace, release, kubeconfig, context)
    try:
        with forwarded_env(target) as env, console.status("loading"):
            batches = load_dir(env, src, batch, replace=replace, skip_loaded=skip_loaded)
            loaded = [b.batch_id for b in batches]
            accounts = (
                accounting.refresh(env, loaded, files=load_cli.landed(batches)) if loaded else []
            )
    except (AccessError, LoadError, QueryError) as exc:
        raise _fail(str(exc)) from exc
    load_cli.report(batches, f"{namespace}/{release}")
    if accounts:
        runs_cli.show_accounts(accounts)


@app.command("runs")
def runs_(
    limit: runs_cli.Limit = 20,
    *,
    fmt: runs_cli.Format = runs_cli.RunsFormat.table,
    wide: runs_cli.Wide = False,
    batch: runs_cli.BatchOpt = None,
    namespace: ReleaseNamespaceOpt = "medallion",
    release: ReleaseOpt = "medallion",
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
) -> None:
    """`medallion runs` on a release: the ledger rows its layer Jobs wrote (or with --batch a
    batch's per-file accounts), read through a port-forward to its Trino."""
    from medallion.accounting import for_batch
    from medallion.k8s.access import AccessError, Release, forwarded_env
    from medallion.ledger import recent
    from medallion.trino_client import QueryError

    target = Release(namespace, release, kubeconfig, context)
    try:
        with forwarded_env(target) as env:
            if batch is not None:
                accounts = for_batch(env, batch)
            else:
                result = recent(env, limit)
    except (AccessError, QueryError) as exc:
        raise _fail(str(exc)) from exc
    if batch is None:
        runs_cli.show(result, fmt.value, wide=wide)
    elif not accounts:
        raise _fail(f"no batch {batch!r} has been loaded into {namespace}/{release}")
    else:
        runs_cli.show_accounts(accounts, fmt.value)


@app.command("install-operator")
def install_operator(
    values: Annotated[Path, typer.Option(help="values for the operator's chart")] = Path(
        "manifests/values/spark-operator.yaml"
    ),
    kubeconfig: KubeconfigOpt = None,
) -> None:
    """The Spark Operator from its official chart in the pinned Go module (the vendored CRDs
    applied first)."""
    import os
    import shutil
    import subprocess

    from medallion.k8s import operator
    from medallion.k8s.charts import helm_binary

    helm, kubectl = helm_binary(), shutil.which("kubectl")
    if helm is None or kubectl is None:
        raise _fail("helm and kubectl must be on PATH (make setup builds helm)")
    config = kubeconfig or os.environ.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")
    try:
        with console.status(f"installing the Spark Operator {operator.VERSION}"):
            operator.install(helm, Path(kubectl), Path(config), values=values)
    except (operator.OperatorModuleError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        raise _fail(f"installing the Spark Operator failed: {detail}") from exc
    console.print(f"Spark Operator {operator.VERSION} installed")


@app.command("vendor-crds")
def vendor_crds(
    check: Annotated[
        bool, typer.Option("--check", help="only compare the vendored CRDs with the module's")
    ] = False,
) -> None:
    """Copy the Spark Operator's CRDs from its pinned Go module into manifests/crds (run after
    changing spark_operator in versions.toml); --check reports differences instead."""
    from medallion.k8s import operator
    from medallion.paths import project_dir

    try:
        if check:
            problems = operator.vendored_problems() + operator.module_differences()
            if problems:
                raise _fail("\n".join(problems))
            console.print(f"the vendored CRDs are {operator.MODULE}@{operator.VERSION}'s")
            return
        copied = operator.vendor_crds()
    except operator.OperatorModuleError as exc:
        raise _fail(str(exc)) from exc
    where = operator.crds_dir().relative_to(project_dir())
    console.print(f"{len(copied)} CRDs of {operator.MODULE}@{operator.VERSION} written to {where}")


@app.command("tools")
def tools() -> None:
    """Build the chart tools (kubeconform, helm-docs, helm-unittest, ct, at the versions
    versions.toml pins) from the Go module proxy into the cache (a no-op when built)."""
    from medallion.artifacts import SetupError
    from medallion.cluster import build

    log = build.bin_dir().parent / "build.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with console.status("building the chart tools (first time: several minutes)"):
        try:
            binaries = build.build_chart_tools(log)
        except SetupError as exc:
            raise _fail(f"{exc}\n(full log: {log})") from exc
    console.print(f"{', '.join(b.name for b in binaries)} in {build.bin_dir()}")


@app.command("charts-docs")
def charts_docs() -> None:
    """Copy the shared global values and schema (charts/common/global-values.*) into every
    chart, generate the env helpers from the env contract (charts/common/env.yaml), then
    regenerate the charts' README.md from README.md.gotmpl and the `# --` comments in their
    values.yaml (helm-docs)."""
    from medallion.k8s import charts

    binary = charts.cached_tool("helm-docs")
    if binary is None:
        raise _fail("helm-docs not found: run `make k8s-tools`")
    for path in charts.sync_globals(write=True):
        console.print(f"{path.relative_to(charts.charts_dir())}: global block updated")
    for path in charts.sync_env_helpers(write=True):
        console.print(f"{path.relative_to(charts.charts_dir())}: regenerated")
    for chart in charts.DOCUMENTED_CHARTS:
        charts.helm_docs(binary, chart)
    console.print(f"README.md of {', '.join(charts.DOCUMENTED_CHARTS)} written")
