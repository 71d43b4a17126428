"""Every rendered object, and every manifest under manifests/, is valid Kubernetes for each
version from 1.30 to the local cluster's, Spark Operator resources against the vendored CRDs:
kubeconform, strict (unknown fields are errors), with schemas laid out offline."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from tests.charts import KUBERNETES_VERSIONS, Kubeconform, embedded_spark_applications

from medallion.paths import project_dir

Docs = list[dict[str, Any]]
CUSTOM_GROUPS = ("sparkoperator.k8s.io/",)


def manifests(pattern: str) -> Docs:
    """The API objects in manifests/``pattern`` (the kind cluster's config is not one)."""
    found = []
    for path in sorted((project_dir() / "manifests").glob(pattern)):
        found += [d for d in yaml.safe_load_all(path.read_text()) if d and d["kind"] != "Cluster"]
    return found


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_rendered_objects_validate_strictly(
    docs: Docs, version: str, kubeconform: Kubeconform
) -> None:
    objs = docs + embedded_spark_applications(docs)
    assert not kubeconform.errors(objs, version), "\n".join(kubeconform.errors(objs, version))


def test_spark_resources_are_among_them(docs: Docs) -> None:
    found = [d for d in docs if str(d.get("apiVersion", "")).startswith(CUSTOM_GROUPS)]
    kinds = {r["kind"] for r in found + embedded_spark_applications(docs)}
    assert {"SparkApplication", "ScheduledSparkApplication"} <= kinds


def test_strict_validation_catches_a_misspelled_field(
    renders: dict[str, Docs], kubeconform: Kubeconform
) -> None:
    deployment = next(d for d in renders["default"] if d["kind"] == "Deployment")
    broken = copy.deepcopy(deployment)
    broken["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = "Always"
    assert any("imagePullPolcy" in e for e in kubeconform.errors([broken]))


def test_crd_validation_catches_a_misspelled_field(
    renders: dict[str, Docs], kubeconform: Kubeconform
) -> None:
    (app,) = embedded_spark_applications(renders["default"])
    broken = copy.deepcopy(app)
    broken["spec"]["driver"]["javaOption"] = "-Dx=y"
    assert any("javaOption" in e for e in kubeconform.errors([broken]))
    wrong_type = copy.deepcopy(app)
    wrong_type["spec"]["executor"]["instances"] = "two"
    assert kubeconform.errors([wrong_type])


def test_a_kind_without_a_schema_is_an_error(kubeconform: Kubeconform) -> None:
    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert kubeconform.errors([unknown])


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_manifests_are_valid_kubernetes(version: str, kubeconform: Kubeconform) -> None:
    objs = manifests("*.yaml")
    assert {"Namespace", "SparkApplication"} <= {o["kind"] for o in objs}
    assert not kubeconform.errors(objs, version), "\n".join(kubeconform.errors(objs, version))


def test_vendored_crds_are_valid_for_the_cluster(kubeconform: Kubeconform) -> None:
    """Once, at the cluster's version: each CRD is a large recursive schema to check."""
    crds = manifests("crds/*/*.yaml")
    assert {o["kind"] for o in crds} == {"CustomResourceDefinition"}
    assert not kubeconform.errors(crds), "\n".join(kubeconform.errors(crds))


def test_namespace_enforces_restricted_pod_security() -> None:
    ns = yaml.safe_load((project_dir() / "manifests" / "namespace.yaml").read_text())
    labels = ns["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
