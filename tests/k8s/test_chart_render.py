"""helm lint and helm template of every chart; the umbrella's objects and their contract."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from medallion.k8s.charts import CHARTS, Helm, HelmError, dig

Docs = list[dict[str, Any]]
LAYERS = ("bronze", "silver", "gold", "pipeline")


def by_kind(docs: Docs, kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def test_lint_umbrella_per_values_case(
    helm: Helm, case: str, values_file: Callable[[str], tuple[Path, ...]]
) -> None:
    out = helm.lint("medallion", values_file(case))
    assert "1 chart(s) linted, 0 chart(s) failed" in out


@pytest.mark.parametrize("chart", [c for c in CHARTS if c != "medallion"])
def test_lint_subchart(helm: Helm, chart: str) -> None:
    assert "0 chart(s) failed" in helm.lint(chart)


@pytest.mark.parametrize("chart", ["minio", "postgres", "hive-metastore", "trino"])
def test_subchart_renders_alone(helm: Helm, chart: str) -> None:
    docs = helm.template(chart, release="solo")
    kinds = Counter(d["kind"] for d in docs)
    workloads = kinds["Deployment"] + kinds["StatefulSet"]
    assert workloads >= 1, kinds


def test_object_counts(renders: dict[str, Docs]) -> None:
    """The object counts per values case (the report quotes them); fails loudly on a change."""
    counts = {case: len(docs) for case, docs in renders.items()}
    assert counts["default"] == counts["kind"], "kind values must not add or drop objects"
    assert counts["external"] < counts["default"], "external S3/PostgreSQL drops MinIO/PostgreSQL"
    for docs in renders.values():
        names = [(d["kind"], d["metadata"]["name"]) for d in docs]
        assert len(names) == len(set(names)), "duplicate objects"


def test_every_layer_is_a_cronjob_with_the_trigger_contract(docs: Docs) -> None:
    cronjobs = by_kind(docs, "CronJob")
    assert set(cronjobs) == {f"medallion-{layer}" for layer in LAYERS}
    for name, cj in cronjobs.items():
        spec = cj["spec"]
        assert spec["concurrencyPolicy"] == "Forbid", name
        assert spec["startingDeadlineSeconds"] > 0, name
        assert spec["successfulJobsHistoryLimit"] >= 1, name
        assert spec["failedJobsHistoryLimit"] >= 1, name
        job = spec["jobTemplate"]["spec"]
        assert "backoffLimit" in job, name
        assert job["template"]["spec"]["restartPolicy"] == "Never", name


def test_a_refused_layer_run_fails_its_job_without_retries(docs: Docs) -> None:
    """medallion.run.job exits REFUSED when another run holds the layer (medallion.lock)."""
    from medallion.run.job import REFUSED

    for layer in ("bronze", "silver", "gold", "pipeline"):
        job = dig(by_kind(docs, "CronJob")[f"medallion-{layer}"], "spec", "jobTemplate", "spec")
        assert job["podFailurePolicy"]["rules"] == [
            {"action": "FailJob", "onExitCodes": {"operator": "In", "values": [REFUSED]}}
        ], layer


def test_silver_cronjob_runs_the_submitter(docs: Docs) -> None:
    cj = by_kind(docs, "CronJob")["medallion-silver"]
    pod = dig(cj, "spec", "jobTemplate", "spec", "template", "spec")
    (container,) = pod["containers"]
    assert container["command"][:4] == ["python", "-m", "medallion.run.job", "silver"]
    assert pod["serviceAccountName"] == "medallion-submitter"
    template = container["command"][container["command"].index("--template") + 1]
    mount = next(m for m in container["volumeMounts"] if template.startswith(m["mountPath"]))
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    assert volume["configMap"]["name"] in by_kind(docs, "ConfigMap")
    env = {e["name"] for e in container["env"]}
    assert {"TRINO_HOST", "TRINO_PORT", "MEDALLION_PIPELINE_ID"} <= env


def test_silver_executors_follow_silver_replicas(helm: Helm) -> None:
    from medallion.k8s.charts import embedded_spark_applications

    docs = helm.template(set_values=["silver.replicas=5"])
    (app,) = embedded_spark_applications(docs)
    assert app["spec"]["executor"]["instances"] == 5
    assert app["spec"]["mainApplicationFile"] == "local:///opt/medallion/spark-apps/silver/main.py"
    assert app["spec"]["type"] == "Python"
    assert str(app["spec"]["sparkVersion"]).startswith("4.0.")
    for role in ("driver", "executor"):
        assert app["spec"][role]["javaOptions"] == (
            "-Daws.requestChecksumCalculation=when_required "
            "-Daws.responseChecksumValidation=when_required"
        )


def test_external_case_uses_the_given_endpoints(renders: dict[str, Docs]) -> None:
    docs = renders["external"]
    assert not by_kind(docs, "StatefulSet"), "no bundled MinIO or PostgreSQL"
    trino = by_kind(docs, "Deployment")["medallion-trino-coordinator"]
    (container,) = dig(trino, "spec", "template", "spec", "containers")
    env = {e["name"]: e for e in container["env"]}
    assert env["S3_ENDPOINT"]["value"] == "https://s3.eu-west-1.amazonaws.com"
    assert env["SERVING_DB_HOST"]["value"].endswith(".rds.amazonaws.com")
    assert env["S3_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "lakehouse-s3"
    assert env["SERVING_DB_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "lakehouse-postgres"
    assert not by_kind(docs, "Secret"), "credentials of external services are never generated"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (["minio.enabled=false", "global.s3.endpoint=https://s3.example"], "existingSecret"),
        (["minio.enabled=false", "global.s3.existingSecret=s3"], "global.s3.endpoint"),
        (["postgres.enabled=false", "global.postgres.host=db"], "existingSecret"),
        (["trino.enabled=false"], "query.host"),
    ],
)
def test_external_endpoint_without_its_settings_fails(
    helm: Helm, settings: list[str], message: str
) -> None:
    with pytest.raises(HelmError, match=message):
        helm.template(set_values=settings)


def test_credentials_only_from_secrets(docs: Docs) -> None:
    """Every credential variable comes from a secretKeyRef, never a literal value."""
    from medallion.k8s.charts import pod_specs

    for pod in pod_specs(docs):
        for container in pod.all_containers:
            for env in container.get("env") or []:
                name = env["name"]
                credential = any(w in name for w in ("PASSWORD", "SECRET", "ACCESS_KEY"))
                if credential or (name.endswith("_USER") and name != "TRINO_USER"):
                    source = env.get("valueFrom") or {}
                    assert "secretKeyRef" in source, f"{pod.where}: {name} must come from a Secret"


def test_default_credentials_are_generated_once_and_kept(renders: dict[str, Docs]) -> None:
    secrets = by_kind(renders["default"], "Secret")
    assert set(secrets) == {"medallion-s3-credentials", "medallion-postgres-credentials"}
    for secret in secrets.values():
        assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


def test_network_policies_default_deny_and_named_flows(docs: Docs) -> None:
    policies = by_kind(docs, "NetworkPolicy")
    deny = policies["medallion-default-deny"]["spec"]
    assert deny["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in deny and "egress" not in deny
    assert deny["podSelector"] == {"matchLabels": {"app.kubernetes.io/instance": "medallion"}}
    for name, policy in policies.items():
        for rule in policy["spec"].get("ingress", []):
            assert rule.get("from"), f"{name}: an ingress rule open to every source"
            for peer in rule["from"]:
                assert "ipBlock" not in peer, f"{name}: ingress from an address range"
        for rule in policy["spec"].get("egress", []):
            if not rule.get("ports"):
                # Spark's driver and executors use several ports among themselves (RPC, block
                # manager): the only rule allowed without ports, and only towards Spark pods.
                assert name == "medallion-spark", f"{name}: an egress rule open on every port"
                spark_only = [
                    {"key": "app.kubernetes.io/component", "operator": "In", "values": ["spark"]}
                ]
                assert all(
                    dig(peer, "podSelector", "matchExpressions") == spark_only
                    for peer in rule["to"]
                ), rule
            if not rule.get("to"):
                assert name == "medallion-dbt", f"{name}: egress to every destination"
    covered = {
        (dig(p, "spec", "podSelector", "matchLabels") or {}).get("app.kubernetes.io/name")
        for p in policies.values()
    }
    assert {"trino", "hive-metastore", "medallion"} <= covered


def test_only_api_users_get_a_token(docs: Docs) -> None:
    """ServiceAccount tokens are mounted only into the submitter and Spark driver pods."""
    from medallion.k8s.charts import pod_specs

    with_token = set()
    for pod in pod_specs(docs):
        if pod.spec.get("automountServiceAccountToken", True):
            with_token.add(pod.spec.get("serviceAccountName") or pod.spec.get("serviceAccount"))
    assert with_token <= {"medallion-submitter", None}, with_token


def test_layer_containers_know_where_their_dependencies_are(renders: dict[str, Docs]) -> None:
    """Their errors about a dead S3, metastore or PostgreSQL name its address
    (medallion.dependencies); they reach them through Trino and get their addresses only."""
    docs = renders["external"]
    for layer in ("bronze", "gold"):
        cj = by_kind(docs, "CronJob")[f"medallion-{layer}"]
        spec = dig(cj, "spec", "jobTemplate", "spec", "template", "spec")
        (container,) = [c for c in spec["containers"] if c["name"] == layer]
        env = {e["name"]: e for e in container["env"]}
        assert env["S3_ENDPOINT"]["value"] == "https://s3.eu-west-1.amazonaws.com", layer
        assert env["SERVING_DB_HOST"]["value"].endswith(".rds.amazonaws.com"), layer
        assert env["HIVE_METASTORE_URI"]["value"].startswith("thrift://"), layer
        assert not {"S3_ACCESS_KEY", "S3_SECRET_KEY", "SERVING_DB_PASSWORD"} & set(env), layer
