"""Fixtures of the chart tests: helm, the vendored dependencies, and one render per values file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.charts import KUBERNETES_VERSIONS, Helm, Kubeconform, kubeconform_binary, write_schemas

from medallion.k8s.charts import charts_dir, helm_binary

Docs = list[dict[str, Any]]


# The values cases every render-based test runs over: the defaults, kind, external S3 + PostgreSQL.
VALUES_CASES: dict[str, tuple[str, ...]] = {
    "default": (),
    "kind": ("ci/kind-values.yaml",),
    "external": ("ci/external-values.yaml",),
}


@pytest.fixture(scope="session")
def helm() -> Helm:
    binary = helm_binary()
    if binary is None:
        pytest.skip(
            "helm not found: run `medallion setup` (installs it into the cache) or put it on PATH"
        )
    tool = Helm(binary)
    tool.build_dependencies()
    return tool


@pytest.fixture(scope="session")
def values_file() -> Callable[[str], tuple[Path, ...]]:
    def paths(case: str) -> tuple[Path, ...]:
        return tuple(charts_dir() / "medallion" / name for name in VALUES_CASES[case])

    return paths


@pytest.fixture(scope="session")
def renders(helm: Helm, values_file: Callable[[str], tuple[Path, ...]]) -> dict[str, Docs]:
    """The umbrella rendered once per values case (the test suite's main input)."""
    return {case: helm.template(values=values_file(case)) for case in VALUES_CASES}


@pytest.fixture(params=sorted(VALUES_CASES))
def case(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture()
def docs(renders: dict[str, Docs], case: str) -> Docs:
    return renders[case]


@pytest.fixture(scope="session")
def kubeconform(tmp_path_factory: pytest.TempPathFactory) -> Kubeconform:
    """kubeconform (strict) with offline schemas: kubernetes-validate's for the built-in kinds of
    every version in KUBERNETES_VERSIONS, the vendored Spark Operator CRDs' for its kinds."""
    binary = kubeconform_binary()
    if binary is None:
        pytest.skip("kubeconform not found: run `make k8s-tools` (builds it into the cache)")
    schemas = tmp_path_factory.mktemp("schemas")
    write_schemas(schemas, KUBERNETES_VERSIONS)
    return Kubeconform(binary, schemas)
