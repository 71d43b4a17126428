"""The whole pipeline on the local cluster, the way users run it: the Spark Operator from its
official chart, ``helm upgrade --install`` of the umbrella chart with ``--wait``, ``helm test``,
data in with ``medallion k8s load``, each layer by ``kubectl create job --from=cronjob/...``,
silver through a real SparkApplication with ``silver.replicas`` executor pods, and gold marts equal,
row for row, to the embedded stack's over the same generated data.

The cluster is ``medallion cluster up`` (reused when it runs); the images are those ``make images``
built, imported into the node.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from tests.charts import Helm
from tests.cluster.kube import Kube, connect_script, pod
from tests.conftest import StackHandle

from medallion import ledger
from medallion.artifacts import layout
from medallion.cluster import lifecycle
from medallion.cluster.build import bin_dir
from medallion.cluster.config import ClusterConfig
from medallion.images import IMAGES
from medallion.k8s import operator
from medallion.k8s.access import Release, forwarded_env
from medallion.paths import project_dir
from medallion.trino_client import QueryError, query

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

NS = "medallion"
RELEASE = "medallion"
REPLICAS = 2
CHART = project_dir() / "charts" / "medallion"
VALUES = CHART / "ci" / "cluster-values.yaml"
SEED, SCALE, DAYS = 11, "0.01", "2"


def helm_cmd(cluster: ClusterConfig, *args: str, timeout: float = 1800) -> str:
    argv = [str(layout().helm), f"--kubeconfig={cluster.host_kubeconfig}", *args]
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=timeout)
    assert result.returncode == 0, f"helm {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def cli(cluster: ClusterConfig, *args: str) -> str:
    env = {
        **os.environ,
        "KUBECONFIG": str(cluster.host_kubeconfig),
        "PATH": f"{bin_dir()}:{os.environ['PATH']}",
        "COLUMNS": "200",
    }
    result = subprocess.run(
        [sys.executable, "-m", "medallion", *args], env=env, capture_output=True, text=True,
        check=False, cwd=project_dir(),
    )  # fmt: skip
    assert result.returncode == 0, f"medallion {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("olist")
    subprocess.run(
        [sys.executable, "-m", "medallion", "generate", "--out", str(out), "--scale", SCALE,
         "--days", DAYS, "--seed", str(SEED), "--defects", "0.01"],
        check=True, capture_output=True,
    )  # fmt: skip
    return out


def upgrade(cluster: ClusterConfig, *sets: str) -> None:
    args = [f"--set={s}" for s in (f"silver.replicas={REPLICAS}", *sets)]
    helm_cmd(
        cluster, "upgrade", "--install", RELEASE, str(CHART), "--namespace", NS, "-f", str(VALUES),
        *args, "--wait", "--timeout", "15m",
    )  # fmt: skip


@pytest.fixture(scope="module")
def deployed(cluster: ClusterConfig, kube: Kube, load: Any) -> ClusterConfig:
    """Images in the node, the operator and the chart installed, ``helm test`` passed."""
    load(*(image.ref for image in IMAGES.values()))
    kube.run("apply", "-f", str(project_dir() / "manifests" / "namespace.yaml"))
    operator.install(
        layout().helm,
        bin_dir() / "kubectl",
        cluster.host_kubeconfig,
        values=project_dir() / "manifests" / "values" / "spark-operator.yaml",
    )
    Helm(layout().helm).build_dependencies()
    upgrade(cluster)
    helm_cmd(cluster, "test", RELEASE, "--namespace", NS, "--timeout", "10m")
    return cluster


def test_every_pod_of_the_release_is_admitted_under_restricted(deployed: Any, kube: Kube) -> None:
    namespace = kube.get("namespace", NS)
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    pods = kube.get("pods", "-n", NS, "-l", f"app.kubernetes.io/instance={RELEASE}")["items"]
    assert len(pods) >= 4
    assert all(p["status"]["phase"] in ("Running", "Succeeded") for p in pods)
    events = kube.run("-n", NS, "get", "events", "--field-selector", "reason=FailedCreate")
    assert "violates PodSecurity" not in events


def trigger(kube: Kube, layer: str, timeout: int = 2400) -> str:
    """Exactly the documented trigger: kubectl create job --from=cronjob/<release>-<layer>."""
    job = f"{layer}-e2e-{int(time.time())}"
    kube.run("-n", NS, "create", "job", f"--from=cronjob/{RELEASE}-{layer}", job)
    done = kube.attempt(
        "-n", NS, "wait", f"job/{job}", "--for=condition=Complete", f"--timeout={timeout}s"
    )
    if done.returncode != 0:
        logs = kube.run("-n", NS, "logs", f"job/{job}", "--all-containers", check=False)
        raise AssertionError(f"{layer} did not complete:\n{logs[-6000:]}")
    return job


@pytest.fixture(scope="module")
def landed(deployed: ClusterConfig, data: Path) -> ClusterConfig:
    out = cli(
        deployed, "k8s", "load", str(data), "--namespace", NS, "--release", RELEASE,
        "--skip-loaded",
    )  # fmt: skip
    # a cluster kept from an earlier run already holds these batches (same seed, same files)
    assert "loaded batch" in out or "every batch is already loaded" in out, out
    return deployed


class PodWatch:
    """``kubectl get pods --watch`` in the background: every pod name seen until :meth:`stop`."""

    def __init__(self, cluster: ClusterConfig, selector: str) -> None:
        argv = [
            str(bin_dir() / "kubectl"), f"--kubeconfig={cluster.host_kubeconfig}", "-n", NS,
            "get", "pods", "-l", selector, "--watch", "-o", "name",
        ]  # fmt: skip
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)

    def stop(self) -> set[str]:
        self.proc.terminate()
        out, _ = self.proc.communicate(timeout=10)
        return {line.strip() for line in out.splitlines() if line.strip()}


@pytest.fixture(scope="module")
def layers_ran(landed: ClusterConfig, kube: Kube) -> dict[str, Any]:
    """bronze, silver and gold triggered one after the other; the silver executor pods seen."""
    jobs: dict[str, Any] = {"bronze": trigger(kube, "bronze")}
    watch = PodWatch(landed, "spark-role=executor,medallion.io/app=silver")
    try:
        jobs["silver"] = trigger(kube, "silver")
    finally:
        jobs["executor_pods"] = watch.stop()
    jobs["gold"] = trigger(kube, "gold")
    return jobs


def test_silver_runs_as_a_spark_application_with_replicas_executors(
    layers_ran: dict[str, Any], kube: Kube
) -> None:
    apps = kube.get("sparkapplications", "-n", NS, "-l", "medallion.io/app=silver")["items"]
    states = [a.get("status", {}).get("applicationState", {}).get("state") for a in apps]
    assert "COMPLETED" in states, states
    drivers = kube.get("pods", "-n", NS, "-l", "spark-role=driver,medallion.io/app=silver")
    assert drivers["items"], "no silver driver pod"
    # the application's own executors: the watch saw them while the job ran
    assert len(layers_ran["executor_pods"]) == REPLICAS, layers_ran["executor_pods"]


def _marts(env: dict[str, str]) -> dict[str, list[tuple[Any, ...]]]:
    conninfo = (
        f"host={env['SERVING_DB_HOST']} port={env['SERVING_DB_PORT']} "
        f"dbname={env['SERVING_DB_NAME']} user={env['SERVING_DB_USER']} "
        f"password={env['SERVING_DB_PASSWORD']}"
    )
    marts: dict[str, list[tuple[Any, ...]]] = {}
    with psycopg.connect(conninfo) as conn:
        tables = conn.execute(
            "select table_name from information_schema.tables where table_schema = 'gold' "
            "order by table_name"
        ).fetchall()
        for (table,) in tables:
            rows = conn.execute(f'select * from gold."{table}"').fetchall()
            marts[table] = sorted(tuple(_normal(v) for v in row) for row in rows)
    return marts


def _normal(value: Any) -> Any:
    """Doubles summed in another order differ in the last bits: compare them to 9 digits."""
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, Decimal):
        return value.normalize()
    return "" if value is None else value


@pytest.fixture(scope="module")
def stack_marts(stack: StackHandle, data: Path) -> dict[str, list[tuple[Any, ...]]]:
    """The embedded stack's marts over the same generated data."""
    stack.cli("load", str(data))
    stack.cli("run", "all")
    return _marts(stack.env)


def test_gold_marts_equal_the_embedded_stacks(
    layers_ran: dict[str, Any],
    deployed: ClusterConfig,
    stack_marts: dict[str, list[tuple[Any, ...]]],
) -> None:
    release = Release(NS, RELEASE, str(deployed.host_kubeconfig), binary=str(bin_dir() / "kubectl"))
    with forwarded_env(release) as env:
        cluster_marts = _marts(env)
    assert set(cluster_marts) == set(stack_marts)
    assert len(stack_marts) == 5
    for table, rows in stack_marts.items():
        assert rows, f"{table} is empty on the embedded stack"
        assert cluster_marts[table] == rows, f"{table} differs"


def _ledger(cluster: ClusterConfig) -> list[dict[str, Any]]:
    release = Release(NS, RELEASE, str(cluster.host_kubeconfig), binary=str(bin_dir() / "kubectl"))
    with forwarded_env(release) as env:
        result = query(
            env,
            "select pipeline_id, layer, status, rows_written, models, error, code_version "
            f"from {ledger.TABLE} order by started_at",
        )
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


def test_every_layer_job_writes_its_ledger_row(
    layers_ran: dict[str, Any], deployed: ClusterConfig
) -> None:
    """Each Job from a layer's CronJob wrote one row, as ``medallion run`` does: its pipeline
    id is the Job's name, and silver's rows are what its SparkApplication committed."""
    rows = _ledger(deployed)
    for layer in ("bronze", "silver", "gold"):
        (row,) = [r for r in rows if r["pipeline_id"] == layers_ran[layer]]
        assert row["layer"] == layer
        assert row["status"] == "success", row
        assert row["models"] > 0 and row["rows_written"] > 0, row
        assert row["error"] is None
        assert IMAGES["dbt"].ref in row["code_version"], row


def test_the_analyst_reads_gold_and_nothing_else(
    layers_ran: dict[str, Any], deployed: ClusterConfig
) -> None:
    """Trino's file-based access control on the cluster (charts/trino/files/access-control): the
    analyst, logged in with its password from the auth Secret, selects from a gold mart but may
    neither write one nor read silver's quarantine."""
    release = Release(NS, RELEASE, str(deployed.host_kubeconfig), binary=str(bin_dir() / "kubectl"))
    password = release.secret(f"{RELEASE}-trino-auth", "analyst")
    with forwarded_env(release) as env:
        analyst = {**env, "TRINO_USER": "analyst", "TRINO_PASSWORD": password}
        tables = query(
            analyst,
            "select table_name from serving.information_schema.tables "
            "where table_schema = 'gold' order by table_name",
        )
        assert tables.rows, "the analyst sees no gold table"
        mart = f"serving.gold.{tables.rows[0][0]}"
        (count,) = query(analyst, f"select count(*) from {mart}").rows
        assert count[0] > 0, mart
        with pytest.raises(QueryError, match="Access Denied"):
            query(analyst, f"insert into {mart} select * from {mart} where false")
        with pytest.raises(QueryError, match="Access Denied"):
            query(analyst, "select count(*) from iceberg.silver.quarantine")


def test_every_record_of_every_landed_file_is_accounted_for(
    layers_ran: dict[str, Any], deployed: ClusterConfig, data: Path
) -> None:
    """After bronze and silver ran in their Jobs, each batch's files (a header-only one
    included) are in the ledger with every record accepted, quarantined or waiting as an orphan
    (none unprocessed), as ``medallion k8s runs --batch`` shows them."""
    for folder in sorted(data.glob("batch=*")):
        batch = folder.name.removeprefix("batch=")
        shown = cli(
            deployed, "k8s", "runs", "--namespace", NS, "--release", RELEASE, "--batch", batch,
            "--format", "json",
        )  # fmt: skip
        rows = [json.loads(line) for line in shown.splitlines()]
        assert sorted(r["file"] for r in rows) == sorted(p.name for p in folder.glob("*.csv"))
        for row in rows:  # a later day's translation file is a header only: 0 records
            assert row["balanced"] and row["unprocessed"] == 0, row
            assert row["records"] == row["bronze_rows"], row
        assert sum(r["accepted"] for r in rows) > 0


def test_pipeline_cronjob_runs_every_layer_in_order(
    layers_ran: dict[str, Any], kube: Kube, deployed: ClusterConfig
) -> None:
    job = trigger(kube, "pipeline")
    pods = kube.get("pods", "-n", NS, "-l", f"job-name={job}")["items"]
    assert pods
    statuses = pods[0]["status"]["initContainerStatuses"] + pods[0]["status"]["containerStatuses"]
    order = [s["name"] for s in statuses]
    assert order.index("bronze") < order.index("silver") < order.index("gold"), order
    assert all(s["state"]["terminated"]["exitCode"] == 0 for s in statuses), statuses
    # one pipeline id, three rows, in the order they ran
    rows = [r for r in _ledger(deployed) if r["pipeline_id"] == job]
    assert [(r["layer"], r["status"]) for r in rows] == [
        ("bronze", "success"), ("silver", "success"), ("gold", "success"),
    ]  # fmt: skip


def test_cli_triggers_and_status_work_against_the_cluster(
    layers_ran: dict[str, Any], deployed: ClusterConfig
) -> None:
    out = cli(deployed, "k8s", "trigger", "gold", "--wait", "--namespace", NS, "--timeout", "1200")
    assert "succeeded" in out
    status = cli(deployed, "k8s", "status", "--namespace", NS)
    assert f"{RELEASE}-silver" in status and f"{RELEASE}-gold" in status
    ledger_rows = cli(deployed, "k8s", "runs", "--namespace", NS, "--limit", "50")
    assert "silver" in ledger_rows and "success" in ledger_rows, ledger_rows


def test_two_runs_of_a_layer_never_interleave(layers_ran: dict[str, Any], kube: Kube) -> None:
    """Two Jobs from the gold CronJob at once (``kubectl create job --from`` bypasses the
    CronJob's Forbid): one runs, the other is refused by the layer's lease and fails at once,
    without retries, saying which run holds gold."""
    stamp = int(time.time())
    names = [f"gold-twin-{i}-{stamp}" for i in (1, 2)]
    for name in names:
        kube.run("-n", NS, "create", "job", f"--from=cronjob/{RELEASE}-gold", name)
    outcomes: dict[str, str] = {}
    deadline = time.monotonic() + 1200
    while len(outcomes) < len(names) and time.monotonic() < deadline:
        for name in names:
            status = kube.get("job", name, "-n", NS).get("status", {})
            done = {c["type"]: c for c in status.get("conditions", []) if c["status"] == "True"}
            if "Complete" in done:
                outcomes[name] = "Complete"
            elif "Failed" in done:
                outcomes[name] = done["Failed"].get("reason", "Failed")
        time.sleep(3)
    assert sorted(outcomes.values()) == ["Complete", "PodFailurePolicy"], outcomes
    (refused,) = [name for name, outcome in outcomes.items() if outcome != "Complete"]
    logs = kube.run("-n", NS, "logs", f"job/{refused}", check=False)
    assert "refused" in logs and "gold is being run by run" in logs, logs


def _can_connect(kube: Kube, name: str, host: str, port: int, labels: dict[str, str]) -> bool:
    script = connect_script(host, port)
    kube.run("-n", NS, "delete", "pod", name, "--ignore-not-found", "--wait")
    kube.apply(pod(name, IMAGES["dbt"].ref, ["python3", "-c", script], namespace=NS, labels=labels))
    return kube.wait_pod_done(NS, name) == "Succeeded"


def test_network_policies_are_enforced(layers_ran: dict[str, Any], kube: Kube) -> None:
    """A pod of the release without the layer labels cannot reach the data services; a pod
    labelled as a dbt job can reach Trino's HTTPS port, where clients log in, but not its HTTP
    port, which only Trino's own nodes use (the layer jobs themselves ran above)."""
    stranger = {"app.kubernetes.io/instance": RELEASE, "app.kubernetes.io/component": "intruder"}
    closed = (("postgres", 5432), ("trino", 8443), ("trino", 8080), ("hive-metastore", 9083))
    for service, port in closed:
        host = f"{RELEASE}-{service}.{NS}.svc.cluster.local"
        assert not _can_connect(kube, f"probe-{service}-{port}", host, port, stranger), service
    dbt_job = kube.get("cronjob", "-n", NS, f"{RELEASE}-gold")["spec"]["jobTemplate"]["spec"][
        "template"
    ]["metadata"]["labels"]
    host = f"{RELEASE}-trino.{NS}.svc.cluster.local"
    assert _can_connect(kube, "probe-dbt-8443", host, 8443, dbt_job)
    assert not _can_connect(kube, "probe-dbt-8080", host, 8080, dbt_job)
    probes = [f"probe-{service}-{port}" for service, port in closed]
    probes += ["probe-dbt-8443", "probe-dbt-8080"]
    kube.run("-n", NS, "delete", "pod", *probes, "--ignore-not-found")


def test_submitter_may_create_applications_but_not_read_secrets(
    layers_ran: dict[str, Any], kube: Kube
) -> None:
    sa = f"system:serviceaccount:{NS}:{RELEASE}-submitter"
    can = kube.attempt("auth", "can-i", "create", "sparkapplications", "-n", NS, f"--as={sa}")
    cannot = kube.attempt("auth", "can-i", "get", "secrets", "-n", NS, f"--as={sa}")
    assert can.stdout.strip() == "yes"
    assert cannot.stdout.strip() == "no"


def test_a_cronjob_fires_on_its_schedule_and_upgrade_rolls_only_what_changed(
    layers_ran: dict[str, Any], deployed: ClusterConfig, kube: Kube
) -> None:
    """A second ``helm upgrade`` that sets gold to a one-minute schedule: no Deployment or
    StatefulSet pod is replaced, the CronJob fires on its own, and the tables are kept."""
    selector = f"app.kubernetes.io/instance={RELEASE}"
    before = {
        p["metadata"]["uid"]
        for p in kube.get("pods", "-n", NS, "-l", selector)["items"]
        if p["metadata"].get("ownerReferences", [{}])[0].get("kind")
        in ("ReplicaSet", "StatefulSet")
    }
    upgrade(deployed, "gold.schedule=* * * * *", "gold.suspend=false")
    deadline = time.monotonic() + 240
    scheduled: list[str] = []
    while time.monotonic() < deadline and not scheduled:
        jobs = kube.get("jobs", "-n", NS)["items"]
        scheduled = [
            j["metadata"]["name"]
            for j in jobs
            if j["metadata"]["name"].startswith(f"{RELEASE}-gold-")
            and "cronjob.kubernetes.io/instantiate" not in j["metadata"].get("annotations", {})
        ]
        time.sleep(5)
    assert scheduled, "the one-minute schedule never fired"
    kube.run("-n", NS, "wait", f"job/{scheduled[0]}", "--for=condition=Complete", "--timeout=900s")
    upgrade(deployed)  # back to the suspended schedule
    after = {
        p["metadata"]["uid"]
        for p in kube.get("pods", "-n", NS, "-l", selector)["items"]
        if p["metadata"].get("ownerReferences", [{}])[0].get("kind")
        in ("ReplicaSet", "StatefulSet")
    }
    assert before and after == before


def test_skaffold_run_local_builds_and_deploys_to_the_cluster(
    layers_ran: dict[str, Any], deployed: ClusterConfig, kube: Kube
) -> None:
    """``skaffold run -p local``: the project's builder makes the images, the cluster gets them,
    the release is upgraded to them, and a layer Job runs on the image skaffold built."""
    env = {
        **os.environ,
        **lifecycle.env(deployed),
        "PATH": f"{bin_dir()}:{layout().helm.parent}:{os.environ['PATH']}",
        "MEDALLION": str(Path(sys.executable).with_name("medallion")),
    }
    # skaffold's artifact cache would skip the builder, and with it the import into this node
    argv = [str(bin_dir() / "skaffold"), "run", "-p", "local", "--update-check=false",
            "--interactive=false", "--status-check=true", "--cache-artifacts=false"]  # fmt: skip
    result = subprocess.run(
        argv, cwd=project_dir(), env=env, capture_output=True, text=True, timeout=2400, check=False
    )
    assert result.returncode == 0, f"{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
    cronjob = kube.get("cronjob", f"{RELEASE}-gold", "-n", NS)
    pod_spec = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    # skaffold deploys an image it did not push under its ID
    assert re.fullmatch(r"medallion/dbt:[0-9a-f]{64}", pod_spec["containers"][0]["image"])
    job = trigger(kube, "gold")
    (row,) = [r for r in _ledger(deployed) if r["pipeline_id"] == job]
    assert row["status"] == "success", row


def _release_secret_values(kube: Kube) -> dict[str, str]:
    """The release's credentials as the cluster holds them: every value of its Opaque Secrets,
    base64-decoded, by ``<secret>/<key>``. User names are left out (they are names, not secrets,
    and the pipeline's Trino user is set in plain sight in every dbt job); Trino's passwords sit
    under their users' names (``<release>-trino-auth/analyst``) and are kept."""
    secrets = kube.get("secrets", "-n", NS, "-l", f"app.kubernetes.io/instance={RELEASE}")
    found: dict[str, str] = {}
    for secret in secrets["items"]:
        if secret.get("type") != "Opaque":
            continue
        for key, encoded in (secret.get("data") or {}).items():
            if "user" in key.lower():
                continue
            value = base64.b64decode(encoded).decode(errors="replace")
            if len(value) >= 8:  # a generated credential is 32 characters long
                found[f"{secret['metadata']['name']}/{key}"] = value
    return found


def _leaks(text: str, secrets: dict[str, str]) -> list[str]:
    return [where for where, value in secrets.items() if value in text]


def test_no_secret_value_in_configmaps_pod_specs_or_layer_logs(
    layers_ran: dict[str, Any], kube: Kube
) -> None:
    """After the pipeline ran: none of the release's actual credentials appears in a ConfigMap of
    the namespace, in a pod's command, args or literal env values (a secretKeyRef is the way in),
    or in the logs of the layer Jobs and the silver driver. Before the uninstall test, which
    removes the ConfigMaps and pods this reads."""
    secrets = _release_secret_values(kube)
    assert secrets, "the release holds no Opaque Secret with a credential"
    failures: list[str] = []
    for configmap in kube.get("configmaps", "-n", NS)["items"]:
        text = json.dumps(configmap.get("data") or {}) + json.dumps(
            configmap.get("binaryData") or {}
        )
        for where in _leaks(text, secrets):
            failures.append(f"ConfigMap {configmap['metadata']['name']}: {where}")
    for item in kube.get("pods", "-n", NS)["items"]:
        spec = item["spec"]
        for c in [*(spec.get("initContainers") or []), *spec["containers"]]:
            literal = [*(c.get("command") or []), *(c.get("args") or [])]
            literal += [e["value"] for e in c.get("env") or [] if "value" in e]
            for where in _leaks("\n".join(literal), secrets):
                failures.append(f"pod {item['metadata']['name']} {c['name']}: {where}")
    jobs = kube.get("jobs", "-n", NS, "-l", f"app.kubernetes.io/instance={RELEASE}")["items"]
    # every layer Job still kept (the CronJobs' history limits may have removed the oldest gold
    # runs of this module by now), by name: each layer ran at least once
    layer_jobs = {
        j["metadata"]["name"]: j["metadata"]["labels"]["medallion.io/layer"]
        for j in jobs
        if "medallion.io/layer" in j["metadata"].get("labels", {})
    }
    assert {"bronze", "silver", "gold"} <= set(layer_jobs.values()), layer_jobs
    for job in sorted(layer_jobs):
        logs = kube.run("-n", NS, "logs", f"job/{job}", "--all-containers", check=False)
        for where in _leaks(logs, secrets):
            failures.append(f"logs of job/{job}: {where}")
    drivers = kube.get("pods", "-n", NS, "-l", "spark-role=driver,medallion.io/app=silver")
    for driver in drivers["items"]:
        name = driver["metadata"]["name"]
        for where in _leaks(kube.logs(NS, name), secrets):
            failures.append(f"logs of the silver driver {name}: {where}")
    assert not failures, "credentials leaked:\n" + "\n".join(failures)


def test_uninstall_keeps_the_data_volumes(
    layers_ran: dict[str, Any], deployed: ClusterConfig, kube: Kube
) -> None:
    """Last: ``helm uninstall`` removes the release but leaves its PersistentVolumeClaims."""
    claims = {c["metadata"]["name"] for c in kube.get("pvc", "-n", NS)["items"]}
    assert {f"data-{RELEASE}-minio-0", f"data-{RELEASE}-postgres-0"} <= claims
    helm_cmd(deployed, "uninstall", RELEASE, "--namespace", NS, "--wait")
    # what the chart made is gone (Spark pods of finished applications go with their TTL)
    made = kube.get(
        "deploy,sts,svc,cronjob", "-n", NS, "-l", f"app.kubernetes.io/instance={RELEASE}"
    )
    assert not made["items"], [i["metadata"]["name"] for i in made["items"]]
    assert {c["metadata"]["name"] for c in kube.get("pvc", "-n", NS)["items"]} == claims
