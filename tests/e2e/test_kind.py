"""End to end on kind: build and load the images, install the Spark Operator and the chart, land a
small batch, run bronze, silver and gold with kubectl exactly as an operator would, and find gold
rows in PostgreSQL.

Needs a Docker engine (and kind and kubectl, which pytest-kind downloads when they are not on
PATH). Without an engine it skips before pytest-kind fetches anything. Keep the cluster for
debugging with MEDALLION_KEEP_CLUSTER=1.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.charts import Helm

from medallion.k8s import operator
from medallion.k8s.charts import charts_dir, helm_binary
from medallion.k8s.operator import crds_dir
from medallion.paths import project_dir

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CLUSTER = "medallion-e2e"
NAMESPACE = "medallion"
RELEASE = "medallion"
TAG = "e2e"
IMAGES = ("dbt", "spark", "hive-metastore")
SPARK_OPERATOR_REPO = "https://kubeflow.github.io/spark-operator"
# the chart of the operator version versions.toml pins (the image tag follows it)
SPARK_OPERATOR_VERSION = operator.VERSION.removeprefix("v")


def docker_problem() -> str | None:
    """Why there is no usable Docker engine, or None when ``docker info`` works."""
    docker = shutil.which("docker")
    if docker is None:
        return "the docker command is not installed"
    try:
        result = subprocess.run(
            [docker, "info"], capture_output=True, text=True, timeout=30, check=False
        )
    except subprocess.TimeoutExpired:
        return "docker info did not answer within 30 s"
    if result.returncode != 0:
        return (result.stderr.strip().splitlines() or ["docker info failed"])[-1]
    return None


def run(*cmd: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        list(cmd), cwd=cwd, capture_output=True, text=True, check=False,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    assert result.returncode == 0, f"{' '.join(cmd)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A kind cluster; skipped (before anything is downloaded) when there is no Docker engine."""
    problem = docker_problem()
    if problem:
        pytest.skip(f"no Docker engine ({problem}): the kind end-to-end test needs one")
    from pytest_kind import KindCluster

    kind, kubectl = shutil.which("kind"), shutil.which("kubectl")
    kind_cluster = KindCluster(
        CLUSTER,
        kind_path=Path(kind) if kind else None,
        kubectl_path=Path(kubectl) if kubectl else None,
    )
    kind_cluster.create(config_file=project_dir() / "manifests" / "kind-cluster.yaml")
    yield kind_cluster
    if not os.environ.get("MEDALLION_KEEP_CLUSTER"):
        kind_cluster.delete()


@pytest.fixture(scope="module")
def helm() -> Helm:
    binary = helm_binary()
    if binary is None:
        pytest.skip("helm not found: run `medallion setup` or put helm on PATH")
    return Helm(binary)


@pytest.fixture(scope="module")
def installed(cluster: Any, helm: Helm) -> Any:
    """Images built and loaded, CRDs, the operator and the chart installed, helm test passed."""
    root = project_dir()
    for image in IMAGES:
        ref = f"medallion/{image}:{TAG}"
        run("docker", "build", "-f", f"images/{image}/Dockerfile", "-t", ref, ".", cwd=root)
        cluster.load_docker_image(ref)
    kubeconfig = {"KUBECONFIG": str(cluster.kubeconfig_path)}
    cluster.kubectl("apply", "--server-side", "-f", str(crds_dir()))
    cluster.kubectl("apply", "-f", str(root / "manifests" / "namespace.yaml"))
    tool = str(helm.binary)
    run(
        tool, "repo", "add", "spark-operator", SPARK_OPERATOR_REPO, "--force-update", env=kubeconfig
    )
    run(
        tool, "upgrade", "--install", "spark-operator", "spark-operator/spark-operator",
        "--version", SPARK_OPERATOR_VERSION, "--namespace", "spark-operator",
        "--create-namespace", "--skip-crds", "--set", f"spark.jobNamespaces={{{NAMESPACE}}}",
        "--set", "webhook.enable=false", "--wait", "--timeout", "10m", env=kubeconfig,
    )  # fmt: skip
    helm.build_dependencies()
    run(
        tool, "upgrade", "--install", RELEASE, str(charts_dir() / "medallion"),
        "--namespace", NAMESPACE, "-f", str(charts_dir() / "medallion" / "ci" / "kind-values.yaml"),
        "--set", f"images.dbt.tag={TAG}", "--set", f"images.spark.tag={TAG}",
        "--set", f"hive-metastore.image.tag={TAG}", "--wait", "--timeout", "20m",
        env=kubeconfig,
    )  # fmt: skip
    run(tool, "test", RELEASE, "--namespace", NAMESPACE, "--timeout", "10m", env=kubeconfig)
    return cluster


@pytest.fixture(scope="module")
def landed(installed: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One small generated batch in the landing zone (what `medallion load` does), through the
    release's forwarded services and credentials (Trino over HTTPS as the pipeline's user)."""
    from medallion.generate import generate
    from medallion.k8s.access import Release, forwarded_env
    from medallion.load import load_dir

    data = tmp_path_factory.mktemp("olist")
    generate(data, scale=0.01, days=1, seed=7, defects=0.0, progress=lambda *_: None)
    release = Release(
        NAMESPACE, RELEASE, str(installed.kubeconfig_path), binary=str(installed.kubectl_path)
    )
    with forwarded_env(release) as env:
        batches = load_dir(env, data, None, replace=False, skip_loaded=True)
    assert batches, "nothing was landed"
    return installed


def trigger(cluster: Any, layer: str, timeout: str = "45m") -> None:
    """Exactly the documented trigger: kubectl create job --from=cronjob/<release>-<layer>."""
    job = f"{RELEASE}-{layer}-e2e-{int(time.time())}"
    cluster.kubectl("-n", NAMESPACE, "create", "job", f"--from=cronjob/{RELEASE}-{layer}", job)
    try:
        cluster.kubectl(
            "-n", NAMESPACE, "wait", "--for=condition=complete", f"--timeout={timeout}",
            f"job/{job}",
        )  # fmt: skip
    except subprocess.CalledProcessError:
        logs = cluster.kubectl("-n", NAMESPACE, "logs", f"job/{job}", "--all-containers")
        pytest.fail(f"{layer} did not complete:\n{logs[-4000:]}")


def test_layers_run_on_kind_and_gold_reaches_postgres(landed: Any) -> None:
    for layer in ("bronze", "silver", "gold"):
        trigger(landed, layer)
    apps = landed.kubectl(
        "-n", NAMESPACE, "get", "sparkapplications", "-l", "medallion.io/app=silver",
        "-o", "jsonpath={.items[*].status.applicationState.state}",
    )  # fmt: skip
    assert "COMPLETED" in apps.split()
    sql = (
        "select table_name from information_schema.tables "
        "where table_schema = 'gold' order by table_name"
    )
    psql = 'psql -U "$POSTGRES_USER" -d serving -tAc "{}"'
    pod = f"statefulset/{RELEASE}-postgres"
    tables = landed.kubectl("-n", NAMESPACE, "exec", pod, "--", "sh", "-c", psql.format(sql))
    names = tables.split()
    assert names, "no gold tables in PostgreSQL"
    counts = {}
    for name in names:
        out = landed.kubectl(
            "-n", NAMESPACE, "exec", pod, "--", "sh", "-c",
            psql.format(f"select count(*) from gold.{name}"),
        )  # fmt: skip
        counts[name] = int(out.strip())
    assert sum(counts.values()) > 0, counts
