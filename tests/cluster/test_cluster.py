"""The local cluster is a real Kubernetes: node, DNS, NetworkPolicy, Pod Security, CronJobs, and
every image the charts deploy runs its smoke command as a pod on it."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from medallion.cluster import lifecycle, netns
from medallion.cluster.build import VERSIONS
from medallion.cluster.components import unix_http_ok
from medallion.cluster.config import ClusterConfig
from medallion.images import IMAGES
from medallion.paths import charts_file
from tests.cluster.kube import Kube, connect_script, pod

pytestmark = pytest.mark.cluster


@pytest.fixture(autouse=True)
def _own_namespaces(kube: Kube) -> Iterator[None]:
    """Each test's namespaces go when it ends, so nothing it ran keeps using the node."""
    yield
    kube.delete_created_namespaces()


TOOLS = IMAGES["dbt"].ref  # python3 for the small servers and clients below
Load = Callable[..., None]


def test_node_is_ready_at_the_pinned_version(kube: Kube, cluster: ClusterConfig) -> None:
    node = kube.get("node", cluster.node_name)
    ready = {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"]
    assert ready == "True"
    assert node["status"]["nodeInfo"]["kubeletVersion"] == VERSIONS["kubernetes"]
    assert node["spec"]["podCIDR"] == "10.244.0.0/24"


def test_no_cluster_address_on_the_host(cluster: ClusterConfig) -> None:
    """Pod, Service and node addresses live only in the cluster's network namespace."""
    host = subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True, check=True)
    assert "10.200.0.1" not in host.stdout
    assert " 10.244." not in host.stdout and " 10.96." not in host.stdout
    inside = subprocess.run(
        netns.command(cluster, ["ip", "-o", "addr"]), capture_output=True, text=True, check=True
    )
    assert "10.200.0.1/32" in inside.stdout and "10.244.0.1/24" in inside.stdout


SMOKE: dict[str, list[str]] = {
    "dbt": ["dbt", "--version"],
    "spark": ["spark-submit", "--version"],
    "trino": ["trino", "--version"],
    "spark-operator": ["/usr/bin/spark-operator", "version"],
}
SMOKE_OUTPUT = {
    "dbt": "trino",
    "spark": "version 4.0",
    "trino": VERSIONS["trino"],
    "spark-operator": VERSIONS["spark_operator"],
}


@pytest.mark.parametrize("name", sorted(SMOKE))
def test_image_runs_its_smoke_command(kube: Kube, load: Load, name: str) -> None:
    load(IMAGES[name].ref)
    kube.namespace("smoke")
    pod_name = f"smoke-{name}"
    kube.run("-n", "smoke", "delete", "pod", pod_name, "--ignore-not-found", "--wait")
    kube.apply(pod(pod_name, IMAGES[name].ref, SMOKE[name], namespace="smoke"))
    phase = kube.wait_pod_done("smoke", pod_name, timeout=300)
    logs = kube.logs("smoke", pod_name)
    assert phase == "Succeeded", logs
    assert SMOKE_OUTPUT[name] in logs


def _service(name: str, namespace: str, port: int, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"selector": labels, "ports": [{"port": port, "targetPort": port}]},
    }


def _wait_ready(kube: Kube, namespace: str, name: str, timeout: int = 300) -> None:
    kube.run(
        "-n", namespace, "wait", f"pod/{name}", "--for=condition=Ready", f"--timeout={timeout}s"
    )


def test_postgres_accepts_a_connection_and_the_metastore_schema_tool_reaches_it(
    kube: Kube, load: Load
) -> None:
    load(IMAGES["postgres"].ref, IMAGES["hive-metastore"].ref)
    ns = "smoke-db"
    kube.namespace(ns)
    kube.run("-n", ns, "delete", "pod,configmap", "--all", "--wait")
    labels = {"app": "pg"}
    db = {"POSTGRES_USER": "hive", "POSTGRES_PASSWORD": "smoke-only", "POSTGRES_DB": "metastore"}
    server = pod(
        "pg",
        IMAGES["postgres"].ref,
        [],
        namespace=ns,
        labels=labels,
        restart="Always",
        env={**db, "PGDATA": "/tmp/pgdata"},
        ports=[5432],
    )
    del server["spec"]["containers"][0]["command"]
    server["spec"]["volumes"].append({"name": "run", "emptyDir": {}})
    server["spec"]["containers"][0]["volumeMounts"].append(
        {"name": "run", "mountPath": "/var/run/postgresql"}
    )
    server["spec"]["containers"][0]["readinessProbe"] = {
        "exec": {"command": ["pg_isready", "-h", "127.0.0.1", "-U", "hive", "-d", "metastore"]},
        "periodSeconds": 2,
    }
    kube.apply(server, _service("pg", ns, 5432, labels))
    _wait_ready(kube, ns, "pg")
    query = kube.run(
        "-n", ns, "exec", "pg", "--", "env", "PGPASSWORD=smoke-only", "psql", "-h", "127.0.0.1",
        "-U", "hive", "-d", "metastore", "-tAc", "select 40 + 2",
    )  # fmt: skip
    assert query.strip() == "42"

    # The metastore image initialises the schema in that database, then a second run finds it
    # (schematool -info) and leaves it as it is: the chart's schema Job relies on both.
    site = charts_file("hive-metastore", "files", "metastore-site.xml").read_text()
    kube.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "metastore-site", "namespace": ns},
            "data": {"metastore-site.xml": site},
        }
    )
    env = {
        "METASTORE_DB_HOST": f"pg.{ns}.svc.cluster.local",
        "METASTORE_DB_PORT": "5432",
        "METASTORE_DB_NAME": "metastore",
        "METASTORE_DB_USER": "hive",
        "METASTORE_DB_PASSWORD": "smoke-only",
        "SERVICE_OPTS": "-Xmx256m",
    }
    for run in ("schema-init", "schema-again"):
        job = pod(run, IMAGES["hive-metastore"].ref, [], namespace=ns, env=env)
        container = job["spec"]["containers"][0]
        del container["command"]
        container["args"] = ["init-schema"]
        container["resources"]["limits"] = {"memory": "768Mi"}
        container["volumeMounts"].append(
            {"name": "site", "mountPath": "/opt/hive/conf/metastore-site.xml",
             "subPath": "metastore-site.xml"}
        )  # fmt: skip
        job["spec"]["volumes"].append({"name": "site", "configMap": {"name": "metastore-site"}})
        kube.apply(job)
        phase = kube.wait_pod_done(ns, run, timeout=300)
        assert phase == "Succeeded", kube.logs(ns, run)
    again = kube.logs(ns, "schema-again")
    assert "schema present" in again and "Metastore schema version:" in again, again


def test_minio_answers_its_health_check(kube: Kube, load: Load) -> None:
    load(IMAGES["minio"].ref, TOOLS)
    ns = "smoke-s3"
    kube.namespace(ns)
    kube.run("-n", ns, "delete", "pod", "--all", "--wait")
    server = pod(
        "minio",
        IMAGES["minio"].ref,
        ["minio", "server", "/tmp/data", "--address", ":9000"],
        namespace=ns,
        labels={"app": "minio"},
        restart="Always",
        env={"MINIO_ROOT_USER": "smoke", "MINIO_ROOT_PASSWORD": "smoke-only-secret",
             "HOME": "/tmp"},
        ports=[9000],
    )  # fmt: skip
    kube.apply(server, _service("minio", ns, 9000, {"app": "minio"}))
    probe = (
        "import urllib.request,sys;"
        "r=urllib.request.urlopen('http://minio.smoke-s3.svc.cluster.local:9000/minio/health/live',"
        "timeout=5);print('status',r.status);sys.exit(r.status!=200)"
    )
    deadline = time.monotonic() + 180
    phase, logs = "", ""
    attempt = 0
    while time.monotonic() < deadline:
        attempt += 1
        name = f"probe-{attempt}"
        kube.apply(pod(name, TOOLS, ["python3", "-c", probe], namespace=ns))
        phase = kube.wait_pod_done(ns, name)
        logs = kube.logs(ns, name)
        if phase == "Succeeded":
            break
        time.sleep(2)
    assert phase == "Succeeded" and "status 200" in logs, logs


def _connects(kube: Kube, ns: str, name: str, labels: dict[str, str]) -> bool:
    kube.run("-n", ns, "delete", "pod", name, "--ignore-not-found", "--wait")
    script = connect_script(f"web.{ns}.svc.cluster.local", 8080)
    kube.apply(pod(name, TOOLS, ["python3", "-c", script], namespace=ns, labels=labels))
    return kube.wait_pod_done(ns, name) == "Succeeded"


def _eventually(check: Callable[[], bool], expected: bool, timeout: float = 60) -> bool:
    """``check()`` until it gives ``expected`` (policies take a moment to reach the node)."""
    deadline = time.monotonic() + timeout
    result = check()
    while result != expected and time.monotonic() < deadline:
        time.sleep(2)
        result = check()
    return result


def test_dns_and_network_policies(kube: Kube, load: Load) -> None:
    """A Service resolves by DNS name from another pod; a default-deny policy blocks the
    connection, an allow rule opens it again for the labelled client only."""
    load(TOOLS)
    ns = "netpol"
    kube.namespace(ns)
    kube.run("-n", ns, "delete", "networkpolicy,pod", "--all", "--wait")
    web = pod(
        "web",
        TOOLS,
        ["python3", "-m", "http.server", "8080", "--directory", "/tmp"],
        namespace=ns,
        labels={"app": "web"},
        restart="Always",
        ports=[8080],
    )
    web["spec"]["containers"][0]["readinessProbe"] = {"tcpSocket": {"port": 8080}}
    kube.apply(web, _service("web", ns, 8080, {"app": "web"}))
    _wait_ready(kube, ns, "web")

    assert _eventually(lambda: _connects(kube, ns, "client", {"role": "client"}), True)

    deny = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "default-deny", "namespace": ns},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    }
    kube.apply(deny)
    assert not _eventually(lambda: _connects(kube, ns, "client", {"role": "client"}), False)

    allow = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "allow-clients", "namespace": ns},
        "spec": {
            "podSelector": {"matchLabels": {"app": "web"}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [{"podSelector": {"matchLabels": {"role": "client"}}}],
                    "ports": [{"port": 8080, "protocol": "TCP"}],
                }
            ],
        },
    }
    kube.apply(allow)
    assert _eventually(lambda: _connects(kube, ns, "client", {"role": "client"}), True)
    assert not _connects(kube, ns, "stranger", {"role": "stranger"})


def test_privileged_pod_is_refused_in_a_restricted_namespace(kube: Kube) -> None:
    kube.namespace("psa")
    bad = pod("root", TOOLS, ["true"], namespace="psa")
    bad["spec"]["securityContext"] = {}
    bad["spec"]["containers"][0]["securityContext"] = {"privileged": True}
    result = kube.attempt("apply", "-f", "-", stdin=yaml.safe_dump(bad))
    assert result.returncode != 0
    assert "violates PodSecurity" in result.stderr and "privileged" in result.stderr


def test_cronjob_runs_on_demand_with_create_job_from(kube: Kube, load: Load) -> None:
    load(TOOLS)
    ns = "cron"
    kube.namespace(ns)
    kube.run("-n", ns, "delete", "job", "--all", "--wait")
    job_pod = pod("x", TOOLS, ["python3", "-c", "print('layer ran')"], namespace=ns)["spec"]
    kube.apply(
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": "layer", "namespace": ns},
            "spec": {
                "schedule": "0 3 * * *",
                "suspend": True,
                "concurrencyPolicy": "Forbid",
                "jobTemplate": {"spec": {"backoffLimit": 0, "template": {"spec": job_pod}}},
            },
        }
    )
    kube.run("-n", ns, "create", "job", "--from=cronjob/layer", "layer-now")
    kube.run("-n", ns, "wait", "job/layer-now", "--for=condition=Complete", "--timeout=180s")
    assert "layer ran" in kube.run("-n", ns, "logs", "job/layer-now")


def test_image_api_serves_the_builders_images(cluster: ClusterConfig) -> None:
    """skaffold's local builder asks this Docker API for the IDs of the images buildah built
    (one store); ``medallion cluster env`` points DOCKER_HOST at it."""
    assert lifecycle.env(cluster)["DOCKER_HOST"] == f"unix://{cluster.image_api_socket}"
    assert unix_http_ok(cluster.image_api_socket, "/_ping")
    assert unix_http_ok(cluster.image_api_socket, f"/v1.41/images/{IMAGES['dbt'].ref}/json")
    assert not unix_http_ok(cluster.image_api_socket, "/v1.41/images/medallion/none:0/json")


def _leftovers(cfg: ClusterConfig) -> list[str]:
    found = [f"pid {s.pid} ({s.name})" for s in lifecycle.status(cfg) if s.pid]
    if netns.exists(cfg):
        found.append(f"network namespace {cfg.netns}")
    home = str(cfg.home)
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4]
        if point.startswith(home):
            found.append(f"mount {point}")
    shims = subprocess.run(
        ["pgrep", "-f", str(cfg.containerd_socket)], capture_output=True, check=False
    )
    found += [f"process {p}" for p in shims.stdout.decode().split()]
    return found


def test_down_leaves_nothing_and_up_again_is_quick(cluster: ClusterConfig, kube: Kube) -> None:
    lifecycle.down(cluster)
    assert _leftovers(cluster) == []
    lifecycle.up(cluster)
    pids = {s.name: s.pid for s in lifecycle.status(cluster)}
    lifecycle.up(cluster)  # a second up is a no-op: the same processes keep running
    assert {s.name: s.pid for s in lifecycle.status(cluster)} == pids
    assert all(pids.values())
    node = kube.get("node", cluster.node_name)
    assert {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"] == "True"
