"""Policies over every rendered pod spec and object: Pod Security restricted, resources, probes,
pinned images, no secrets in ConfigMaps, PDBs, labels, checksums, and the values schemas."""

from __future__ import annotations

import re
from typing import Any

import pytest
from tests.charts import Helm, PodSpec, dig, pod_specs, spark_application_spec

Docs = list[dict[str, Any]]
RESTRICTED_CONTAINER = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
}
SECRETISH = re.compile(r"(password|passwd|secret|token|credential|access[-_]?key|private)", re.I)
# Trino's own file names and settings that name a mechanism or a file, not a credential: the
# password file they point at is mounted from a Secret (test_trino_auth in test_chart_render.py).
TRINO_AUTH_CONFIG = {"password-authenticator.properties"}
TRINO_AUTH_SETTINGS = {"password-authenticator.name", "file.password-file"}
SERVER_KINDS = ("Deployment", "StatefulSet")


def effective(pod: PodSpec, container: dict[str, Any], key: str) -> Any:
    """A securityContext field as the kubelet sees it: the container's, else the pod's."""
    value = (container.get("securityContext") or {}).get(key)
    return value if value is not None else (pod.spec.get("securityContext") or {}).get(key)


def test_every_pod_spec_is_restricted(docs: Docs) -> None:
    pods = pod_specs(docs)
    kinds = {p.kind for p in pods}
    assert {"Deployment", "CronJob", "Job", "Pod", "SparkApplication"} <= kinds
    assert "ScheduledSparkApplication" in kinds
    failures = []
    for pod in pods:
        if pod.spec.get("hostNetwork") or pod.spec.get("hostPID") or pod.spec.get("hostIPC"):
            failures.append(f"{pod.where}: host namespaces")
        for volume in pod.spec.get("volumes") or []:
            if "hostPath" in volume:
                failures.append(f"{pod.where}: hostPath volume {volume['name']}")
        for c in pod.all_containers:
            where = f"{pod.where} {c['name']}"
            context = c.get("securityContext") or {}
            for key, want in RESTRICTED_CONTAINER.items():
                if context.get(key) != want:
                    failures.append(f"{where}: securityContext.{key} = {context.get(key)!r}")
            if effective(pod, c, "runAsNonRoot") is not True:
                failures.append(f"{where}: runAsNonRoot is not true")
            if effective(pod, c, "runAsUser") == 0:
                failures.append(f"{where}: runs as uid 0")
            if (effective(pod, c, "seccompProfile") or {}).get("type") != "RuntimeDefault":
                failures.append(f"{where}: seccompProfile is not RuntimeDefault")
            if context.get("privileged"):
                failures.append(f"{where}: privileged")
    assert not failures, "\n".join(failures)


def test_every_container_has_resources(docs: Docs) -> None:
    failures = []
    for pod in pod_specs(docs):
        if pod.kind in ("SparkApplication", "ScheduledSparkApplication"):
            continue  # Spark sets the pod resources from cores/memory (next test)
        for c in pod.all_containers:
            resources = c.get("resources") or {}
            for kind in ("requests", "limits"):
                if not {"cpu", "memory"} <= set(resources.get(kind) or {}):
                    failures.append(f"{pod.where} {c['name']}: {kind} cpu and memory")
    assert not failures, "\n".join(failures)


def test_spark_applications_size_driver_and_executors(docs: Docs) -> None:
    from tests.charts import embedded_spark_applications

    apps = [d for d in docs if d["kind"] == "ScheduledSparkApplication"]
    apps += embedded_spark_applications(docs)
    assert apps
    for app in apps:
        spec = spark_application_spec(app)
        for role in ("driver", "executor"):
            for key in ("cores", "coreLimit", "memory"):
                assert spec[role].get(key), f"{app['metadata']['name']} {role}.{key}"
        assert spec["executor"]["instances"] >= 1


def test_servers_have_readiness_and_liveness_probes(docs: Docs) -> None:
    failures = []
    for pod in pod_specs(docs):
        if pod.kind not in SERVER_KINDS:
            continue
        for c in pod.containers:
            for probe in ("readinessProbe", "livenessProbe"):
                if not c.get(probe):
                    failures.append(f"{pod.where} {c['name']}: no {probe}")
    assert not failures, "\n".join(failures)


def images(docs: Docs) -> list[tuple[str, str]]:
    found = []
    for pod in pod_specs(docs):
        for c in pod.all_containers:
            if "image" in c:
                found.append((f"{pod.where} {c['name']}", c["image"]))
    for doc in docs:
        if doc["kind"] == "ScheduledSparkApplication":
            found.append((doc["metadata"]["name"], doc["spec"]["template"]["image"]))
    from tests.charts import embedded_spark_applications

    for app in embedded_spark_applications(docs):
        found.append((app["metadata"]["name"], app["spec"]["image"]))
    return found


def test_images_are_pinned(docs: Docs) -> None:
    found = images(docs)
    assert found
    for where, image in found:
        name, _, digest = image.partition("@")
        last = name.rsplit("/", 1)[-1]
        assert ":" in last, f"{where}: {image} has no tag"
        tag = last.split(":", 1)[1]
        assert tag and tag != "latest", f"{where}: {image}"
        if digest:
            assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest), f"{where}: {image}"


def test_no_secret_looking_keys_in_configmaps(docs: Docs) -> None:
    for doc in docs:
        if doc["kind"] != "ConfigMap":
            continue
        for key in (doc.get("data") or {}) | (doc.get("binaryData") or {}):
            if key in TRINO_AUTH_CONFIG:
                continue
            assert not SECRETISH.search(key), f"ConfigMap {doc['metadata']['name']}: key {key}"


def test_configmaps_hold_no_literal_credentials(docs: Docs) -> None:
    """Config files only name credentials through placeholders (${ENV:..}, ${env.X}, env_var)."""
    assignment = re.compile(
        r"^\s*[\w.-]*(password|secret[-_.]?key|access[-_.]?key)[\w.-]*[ \t]*[=:][ \t]*(?P<v>\S+)",
        re.I | re.M,
    )
    for doc in docs:
        if doc["kind"] != "ConfigMap":
            continue
        for key, text in (doc.get("data") or {}).items():
            for match in assignment.finditer(text):
                value = match.group("v")
                setting = match.group(0).split("=", 1)[0].strip()
                if key in TRINO_AUTH_CONFIG and setting in TRINO_AUTH_SETTINGS:
                    continue
                assert value.startswith(("${", '"{{', "{{")), f"{key}: {match.group(0)}"


PDB_TARGETS = {
    ("trino", "coordinator"),
    ("hive-metastore", "metastore"),
    ("postgres", "server"),
}


def test_pod_disruption_budgets(renders: dict[str, Docs]) -> None:
    for case, docs in renders.items():
        targets = set()
        for doc in docs:
            if doc["kind"] == "PodDisruptionBudget":
                labels = doc["spec"]["selector"]["matchLabels"]
                targets.add(
                    (labels["app.kubernetes.io/name"], labels["app.kubernetes.io/component"])
                )
        expected = PDB_TARGETS if case != "external" else PDB_TARGETS - {("postgres", "server")}
        assert targets == expected, case
        # each PDB selects pods that exist
        workloads = [d for d in docs if d["kind"] in SERVER_KINDS]
        for name, component in targets:
            assert any(
                dig(w, "spec", "template", "metadata", "labels", "app.kubernetes.io/component")
                == component
                and dig(w, "spec", "template", "metadata", "labels", "app.kubernetes.io/name")
                == name
                for w in workloads
            ), (name, component)


FULL_LABELS = {
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/part-of",
    "helm.sh/chart",
}


def test_labels_and_selectors(docs: Docs) -> None:
    for doc in docs:
        labels = set(doc["metadata"].get("labels") or {})
        assert labels >= FULL_LABELS, f"{doc['kind']}/{doc['metadata']['name']}: {labels}"
        selector = dig(doc, "spec", "selector", "matchLabels")
        if doc["kind"] in (*SERVER_KINDS, "PodDisruptionBudget"):
            assert set(selector) <= {
                "app.kubernetes.io/name",
                "app.kubernetes.io/instance",
                "app.kubernetes.io/component",
            }, doc["metadata"]["name"]
        if doc["kind"] == "Service":
            assert set(doc["spec"]["selector"]) <= {
                "app.kubernetes.io/name",
                "app.kubernetes.io/instance",
                "app.kubernetes.io/component",
            }


def test_mounted_config_rolls_the_pods(docs: Docs) -> None:
    """A workload that mounts a ConfigMap of the release carries a checksum annotation."""
    configmaps = {d["metadata"]["name"] for d in docs if d["kind"] == "ConfigMap"}
    for pod in pod_specs(docs):
        if pod.kind in ("SparkApplication", "ScheduledSparkApplication", "Pod"):
            continue  # created afresh for every run
        mounted = set()
        for volume in pod.spec.get("volumes") or []:
            if "configMap" in volume:
                mounted.add(volume["configMap"]["name"])
            for source in dig(volume, "projected", "sources") or []:
                if "configMap" in source:
                    mounted.add(source["configMap"]["name"])
        if mounted & configmaps:
            annotations = pod.metadata.get("annotations") or {}
            assert any(k.startswith("checksum/") for k in annotations), pod.where


def test_every_chart_ships_a_values_schema() -> None:
    from medallion.k8s.charts import CHARTS, charts_dir

    for chart in CHARTS:
        assert (charts_dir() / chart / "values.schema.json").is_file(), chart


def test_values_are_documented() -> None:
    """Every leaf value in every values.yaml has a `# --` comment above it (or its parent)."""
    from medallion.k8s.charts import CHARTS, charts_dir

    for chart in CHARTS:
        if chart == "common":
            continue
        lines = (charts_dir() / chart / "values.yaml").read_text().splitlines()
        for number, line in enumerate(lines):
            stripped = line.strip()
            if not stripped or stripped.startswith("#") or not re.match(r"^\s*[\w-]+:", line):
                continue
            is_parent = line.rstrip().endswith(":")
            if is_parent:
                continue
            above = lines[number - 1].strip() if number else ""
            context = [ln.strip() for ln in lines[max(0, number - 4) : number]]
            assert above.startswith("#") or any(c.startswith("# --") for c in context), (
                f"{chart}/values.yaml:{number + 1}: {stripped} is not documented"
            )


@pytest.mark.parametrize("chart", ["medallion", "minio", "postgres", "hive-metastore", "trino"])
def test_every_object_names_the_release_namespace(helm: Helm, chart: str) -> None:
    """``helm template | kubectl apply -f -`` lands where the release says, not in the
    context's namespace: every namespaced object sets metadata.namespace."""
    cluster_scoped = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}
    docs = helm.template(chart, namespace="data-platform")
    assert docs
    for doc in docs:
        if doc["kind"] in cluster_scoped:
            continue
        where = doc["metadata"].get("namespace")
        assert where == "data-platform", f"{chart}: {doc['kind']} {doc['metadata']['name']}"
