"""What Kubernetes scanners expect of every object the charts render, over every chart alone and
the umbrella with each of its ci/ values files: no credential outside a Secret, uids of 10000 or
more, service-account tokens only where a pod talks to the API, probes on every long-running
container, a digest accepted for every image, and credentials in env only where documented."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
import yaml
from tests.charts import (
    Helm,
    PodSpec,
    dig,
    embedded_spark_applications,
    pod_specs,
    spark_application_spec,
)

from medallion.k8s.charts import CHARTS, charts_dir

Docs = list[dict[str, Any]]
UMBRELLA = "medallion"
MIN_ID = 10000
SERVER_KINDS = ("Deployment", "StatefulSet")
SPARK_KINDS = ("SparkApplication", "ScheduledSparkApplication")
# (chart, values files under the chart): each chart alone, the umbrella with each ci/ file.
CASES = [(chart, ()) for chart in CHARTS if chart != "common"] + [
    (UMBRELLA, (f"ci/{path.name}",))
    for path in sorted((charts_dir() / UMBRELLA / "ci").glob("*.yaml"))
]
# Credentials handed to a container as an environment variable (from a secretKeyRef), and why not
# as a file: the reason is also written next to the env in the chart.
ENV_CREDENTIALS = {
    "S3_ACCESS_KEY": "shared config files expand it (${ENV:..}, ${env.NAME}); SDKs read env",
    "S3_SECRET_KEY": "shared config files expand it (${ENV:..}, ${env.NAME}); SDKs read env",
    "AWS_ACCESS_KEY_ID": "the AWS SDK's default chain in the metastore reads env",
    "AWS_SECRET_ACCESS_KEY": "the AWS SDK's default chain in the metastore reads env",
    "METASTORE_DB_PASSWORD": "metastore-site.xml expands ${env.NAME}; Hadoop reads no plain file",
    "SERVING_DB_PASSWORD": "Trino's serving catalog expands ${ENV:..} in both runtimes",
    "TRINO_PASSWORD": "dbt's profile reads it with env_var() only; the ledger's client reads env",
    "TRINO_SHARED_SECRET": "Trino's config.properties expands ${ENV:..}; no file variant",
}
CREDENTIAL_NAME = re.compile(r"(PASSWORD|SECRET|ACCESS_KEY|TOKEN|CREDENTIAL)", re.I)


def case_id(case: tuple[str, tuple[str, ...]]) -> str:
    chart, values = case
    return "-".join(
        [
            chart,
            *(v.removeprefix("ci/").removesuffix(".yaml").removesuffix("-values") for v in values),
        ]
    )


@pytest.fixture(scope="module")
def rendered(helm: Helm) -> dict[str, Docs]:
    return {
        case_id(case): helm.template(
            case[0], values=tuple(charts_dir() / case[0] / path for path in case[1])
        )
        for case in CASES
    }


@pytest.fixture(params=[case_id(case) for case in CASES])
def docs(request: pytest.FixtureRequest, rendered: dict[str, Docs]) -> Docs:
    return rendered[str(request.param)]


def where(doc: dict[str, Any]) -> str:
    return f"{doc['kind']}/{dig(doc, 'metadata', 'name')}"


# --- credentials ---------------------------------------------------------------------------------


def secret_values(docs: Docs) -> dict[str, str]:
    """Every credential the render's Secrets hold (generated ones included), by secret/key; user
    names are names, not secrets (the user of the serving store is also Trino's plain user)."""
    found = {}
    for doc in docs:
        if doc["kind"] != "Secret":
            continue
        data = {k: base64.b64decode(v).decode() for k, v in (doc.get("data") or {}).items()}
        data |= doc.get("stringData") or {}
        for key, value in data.items():
            if "user" not in key.lower():
                found[f"{where(doc)}/{key}"] = value
    return found


def test_no_credential_outside_the_secrets(docs: Docs) -> None:
    """The charts' generated credentials (random per render) appear in their Secret only: not in a
    ConfigMap, a pod spec, an embedded SparkApplication or any other object, plain or base64."""
    secrets = secret_values(docs)
    failures = []
    for doc in docs:
        if doc["kind"] == "Secret":
            continue
        text = yaml.safe_dump(doc)
        for name, value in secrets.items():
            if value in text or base64.b64encode(value.encode()).decode() in text:
                failures.append(f"{where(doc)} holds {name}")
    assert not failures, "\n".join(failures)


def test_generated_credentials_are_found_by_the_scan(rendered: dict[str, Docs]) -> None:
    """The scan above has something to look for: the bundled MinIO and PostgreSQL generate their
    credentials (random, long) when no existing Secret is named."""
    for name in ("minio", "postgres", "medallion-cluster", "medallion-kind"):
        values = secret_values(rendered[name])
        assert values, name
        assert all(len(v) >= 16 for v in values.values()), name


def test_trino_credentials_are_found_by_the_scan(rendered: dict[str, Docs]) -> None:
    """Trino's passwords (a key per user), its shared secret and its TLS key are scanned too."""
    values = yaml.safe_load((charts_dir() / "trino" / "values.yaml").read_text())
    scanned = secret_values(rendered["trino"])
    for key in [*values["auth"]["users"], "shared-secret", "password.db"]:
        assert f"Secret/medallion-trino-auth/{key}" in scanned, key
    assert "Secret/medallion-trino-tls/tls.key" in scanned


def in_secret_mount(pod: PodSpec, container: dict[str, Any], path: str) -> bool:
    """Whether ``path`` is a file of a Secret volume (or a projected one) the container mounts."""
    volumes = {v["name"]: v for v in pod.spec.get("volumes") or []}
    for mount in container.get("volumeMounts") or []:
        volume = volumes.get(mount["name"], {})
        sources = [volume, *(dig(volume, "projected", "sources") or [])]
        if not any("secret" in source for source in sources):
            continue
        if path.startswith(mount["mountPath"].rstrip("/") + "/"):
            return True
    return False


def test_credentials_reach_containers_only_through_secrets(docs: Docs) -> None:
    """A credential-named variable comes from a secretKeyRef (never a literal), only the
    documented ones are env at all, a ``*_FILE`` variable names a file of a mounted Secret, and
    no command or args expands one with $(NAME) (which would put it on the process's command
    line)."""
    failures = []
    for pod in pod_specs(docs):
        for c in pod.all_containers:
            at = f"{pod.where} {c['name']}"
            secret_env = set()
            for env in c.get("env") or []:
                ref = dig(env, "valueFrom", "secretKeyRef")
                if env["name"].endswith("_FILE") and "value" in env:
                    if not in_secret_mount(pod, c, env["value"]):
                        failures.append(f"{at}: {env['name']} names no file of a mounted Secret")
                    continue
                if ref is not None:
                    secret_env.add(env["name"])
                    if CREDENTIAL_NAME.search(env["name"]) and env["name"] not in ENV_CREDENTIALS:
                        failures.append(f"{at}: {env['name']} is env; document why or mount it")
                elif CREDENTIAL_NAME.search(env["name"]):
                    failures.append(f"{at}: {env['name']} is not from a Secret")
            for source in c.get("envFrom") or []:
                if "secretRef" in source:
                    failures.append(f"{at}: envFrom a whole Secret")
            line = " ".join(str(a) for a in [*(c.get("command") or []), *(c.get("args") or [])])
            for name in secret_env:
                if f"$({name})" in line:
                    failures.append(f"{at}: $({name}) on the command line")
    assert not failures, "\n".join(failures)


# --- user ids ------------------------------------------------------------------------------------


def effective(pod: PodSpec, container: dict[str, Any], key: str) -> Any:
    value = (container.get("securityContext") or {}).get(key)
    return value if value is not None else (pod.spec.get("securityContext") or {}).get(key)


def test_every_pod_runs_with_ids_of_10000_or_more(docs: Docs) -> None:
    """runAsUser and runAsGroup of every container, and the pod's fsGroup, are set and >= 10000
    (the images' USER is 10000:10000, checked in test_images.py)."""
    failures = []
    for pod in pod_specs(docs):
        fs_group = (pod.spec.get("securityContext") or {}).get("fsGroup")
        if not isinstance(fs_group, int) or fs_group < MIN_ID:
            failures.append(f"{pod.where}: fsGroup {fs_group!r}")
        for c in pod.all_containers:
            for key in ("runAsUser", "runAsGroup"):
                value = effective(pod, c, key)
                if not isinstance(value, int) or value < MIN_ID:
                    failures.append(f"{pod.where} {c['name']}: {key} {value!r}")
    assert not failures, "\n".join(failures)


# --- service-account tokens ----------------------------------------------------------------------


def bound_service_accounts(docs: Docs) -> set[str]:
    """ServiceAccounts a (Cluster)RoleBinding of the render grants API access to."""
    bound = set()
    for doc in docs:
        if doc["kind"] in ("RoleBinding", "ClusterRoleBinding"):
            for subject in doc.get("subjects") or []:
                if subject.get("kind") == "ServiceAccount":
                    bound.add(subject["name"])
    return bound


def pod_service_account(pod: PodSpec, docs: Docs) -> str | None:
    """The pod's ServiceAccount; Spark pods name theirs in the application's driver/executor."""
    if pod.kind not in SPARK_KINDS:
        account = pod.spec.get("serviceAccountName")
        return str(account) if account else None
    name, role = pod.where.split(" ")[0].split("/", 1)[1], pod.where.rsplit(" ", 1)[1]
    apps = [d for d in docs if d["kind"] == "ScheduledSparkApplication"]
    apps += embedded_spark_applications(docs)
    for app in apps:
        if app["metadata"]["name"] == name:
            account = dig(spark_application_spec(app), role, "serviceAccount")
            return str(account) if account else None
    return None


def test_token_is_mounted_only_where_the_pod_talks_to_the_api(docs: Docs) -> None:
    """A pod whose ServiceAccount no RoleBinding names sets automountServiceAccountToken: false;
    a pod that calls the API (the silver submitter, the Spark driver) runs as a bound account and
    keeps its token. Unbound ServiceAccounts turn the token off as well."""
    bound = bound_service_accounts(docs)
    failures = []
    for pod in pod_specs(docs):
        account = pod_service_account(pod, docs)
        automount = pod.spec.get("automountServiceAccountToken")
        if account in bound:
            if automount is False:
                failures.append(f"{pod.where}: talks to the API as {account} without a token")
        elif automount is not False:
            failures.append(f"{pod.where}: token of {account} mounted ({automount!r})")
    unbound = [
        d for d in docs if d["kind"] == "ServiceAccount" and d["metadata"]["name"] not in bound
    ]
    for doc in unbound:
        if doc.get("automountServiceAccountToken") is not False:
            failures.append(f"{where(doc)}: no API access, yet its token is mounted")
    assert not failures, "\n".join(failures)


def test_api_talkers_are_the_submitter_and_the_spark_driver(rendered: dict[str, Docs]) -> None:
    docs = rendered["medallion-cluster"]
    bound = bound_service_accounts(docs)
    talkers = {p.where for p in pod_specs(docs) if pod_service_account(p, docs) in bound}
    assert talkers == {
        "CronJob/medallion-silver",
        "CronJob/medallion-pipeline",
        "SparkApplication/medallion-silver driver",
        "ScheduledSparkApplication/medallion-maintenance driver",
    }, talkers


# --- probes --------------------------------------------------------------------------------------


def test_every_long_running_container_has_liveness_and_readiness(docs: Docs) -> None:
    """Deployments and StatefulSets run servers: each container has both probes (init containers
    and Jobs run to completion; Spark pods are Jobs of the operator)."""
    failures = []
    for pod in pod_specs(docs):
        if pod.kind not in SERVER_KINDS:
            continue
        for c in pod.containers:
            for probe in ("livenessProbe", "readinessProbe"):
                if not c.get(probe):
                    failures.append(f"{pod.where} {c['name']}: no {probe}")
    assert not failures, "\n".join(failures)


# --- digests -------------------------------------------------------------------------------------

DIGEST = "sha256:" + "0123456789abcdef" * 4


def image_paths(node: Any, prefix: str = "") -> list[str]:
    """Dotted paths of every image block (a mapping with repository and digest) in values."""
    found = []
    if isinstance(node, dict):
        if "repository" in node and "digest" in node:
            found.append(prefix.rstrip("."))
        for key, value in node.items():
            found += image_paths(value, f"{prefix}{key}.")
    return found


def chart_image_paths(chart: str) -> list[str]:
    """The image values of a chart, those of its subcharts under their names included."""
    values = yaml.safe_load((charts_dir() / chart / "values.yaml").read_text())
    paths = image_paths(values)
    meta = yaml.safe_load((charts_dir() / chart / "Chart.yaml").read_text())
    for dependency in meta.get("dependencies") or []:
        if dependency["name"] != "common":
            name = dependency.get("alias") or dependency["name"]
            paths += [f"{name}.{p}" for p in chart_image_paths(dependency["name"])]
    return paths


def rendered_images(docs: Docs) -> list[tuple[str, str]]:
    found = [
        (f"{pod.where} {c['name']}", c["image"])
        for pod in pod_specs(docs)
        for c in pod.all_containers
        if "image" in c
    ]
    apps = [d for d in docs if d["kind"] == "ScheduledSparkApplication"]
    apps += embedded_spark_applications(docs)
    found += [(where(app), spark_application_spec(app)["image"]) for app in apps]
    return found


@pytest.mark.parametrize("chart", [c for c in CHARTS if c != "common"])
def test_every_image_accepts_a_digest(helm: Helm, chart: str) -> None:
    paths = chart_image_paths(chart)
    assert paths, chart
    docs = helm.template(chart, set_values=[f"{path}.digest={DIGEST}" for path in paths])
    images = rendered_images(docs)
    assert images, chart
    for at, image in images:
        # the tag stays (readable) and the digest pins the bytes: repo:tag@sha256:...
        assert image.endswith(f"@{DIGEST}"), f"{chart} {at}: {image}"
        assert re.fullmatch(r"[^@\s]+:[^@:/\s]+@sha256:[0-9a-f]{64}", image), f"{at}: {image}"
