"""Every rendered object is valid Kubernetes (kubernetes-validate --strict, 1.30 to 1.34), and every
Spark Operator resource matches its CRD's openAPIV3Schema (from the shared CRDs dir)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from medallion.k8s.charts import crd_errors, embedded_spark_applications
from medallion.paths import project_dir

Docs = list[dict[str, Any]]
K8S_VERSIONS = ("1.30", "1.31", "1.32", "1.33", "1.34")
CUSTOM_GROUPS = ("sparkoperator.k8s.io/",)


def validate_strict(obj: dict[str, Any], version: str) -> None:
    """kubernetes-validate's strict check; custom resources pass silently (as its CLI does)."""
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        if not str(obj.get("apiVersion", "")).startswith(CUSTOM_GROUPS):
            raise


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_rendered_objects_validate_strictly(docs: Docs, version: str) -> None:
    failures = []
    for obj in docs:
        try:
            validate_strict(obj, version)
        except kubernetes_validate.ValidationError as exc:
            path = "/".join(str(p) for p in exc.path)
            failures.append(f"{obj['kind']}/{obj['metadata']['name']} {path}: {exc.message}")
    assert not failures, "\n".join(failures)


def test_strict_validation_catches_a_misspelled_field(renders: dict[str, Docs]) -> None:
    deployment = next(d for d in renders["default"] if d["kind"] == "Deployment")
    broken = copy.deepcopy(deployment)
    broken["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_strict(broken, "1.34")


def spark_resources(docs: Docs) -> list[dict[str, Any]]:
    found = [d for d in docs if str(d.get("apiVersion", "")).startswith(CUSTOM_GROUPS)]
    return found + embedded_spark_applications(docs)


def test_spark_resources_match_the_crds(docs: Docs, crd_schemas: dict[str, Any]) -> None:
    resources = spark_resources(docs)
    kinds = {r["kind"] for r in resources}
    assert {"SparkApplication", "ScheduledSparkApplication"} <= kinds
    for obj in resources:
        assert not crd_errors(crd_schemas, obj), (obj["kind"], crd_errors(crd_schemas, obj))


def test_the_manifests_example_matches_the_crd(crd_schemas: dict[str, Any]) -> None:
    examples = sorted((project_dir() / "manifests").glob("sparkapplication*.yaml"))
    assert examples
    for path in examples:
        for obj in yaml.safe_load_all(path.read_text()):
            assert not crd_errors(crd_schemas, obj), (path.name, crd_errors(crd_schemas, obj))


def test_crd_validation_catches_a_misspelled_field(
    renders: dict[str, Docs], crd_schemas: dict[str, Any]
) -> None:
    (app,) = embedded_spark_applications(renders["default"])
    broken = copy.deepcopy(app)
    broken["spec"]["driver"]["javaOption"] = "-Dx=y"
    assert any("javaOption" in e for e in crd_errors(crd_schemas, broken))
    wrong_type = copy.deepcopy(app)
    wrong_type["spec"]["executor"]["instances"] = "two"
    assert crd_errors(crd_schemas, wrong_type)


def test_manifests_are_valid_kubernetes() -> None:
    for path in sorted((project_dir() / "manifests").glob("*.yaml")):
        for obj in yaml.safe_load_all(Path(path).read_text()):
            if obj.get("kind") == "Cluster":  # the kind cluster config is not an API object
                continue
            for version in K8S_VERSIONS:
                validate_strict(obj, version)


def test_namespace_enforces_restricted_pod_security() -> None:
    ns = yaml.safe_load((project_dir() / "manifests" / "namespace.yaml").read_text())
    labels = ns["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
