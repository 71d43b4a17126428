"""The vendored Spark Operator CRDs: from the version versions.toml pins, unedited, and equal to
the pinned module's (that last check needs the module: Go's cache or its module proxy)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from medallion.k8s import operator
from medallion.k8s.operator import crds_dir
from medallion.paths import project_dir


def test_vendored_crds_are_the_pinned_versions_and_unedited() -> None:
    assert not operator.vendored_problems(), operator.vendored_problems()


def test_every_crd_consumer_reads_the_vendored_copy() -> None:
    # kubeconform's schemas (tests/charts.py) and the operator's install both use crds_dir
    assert crds_dir().is_relative_to(project_dir())
    kinds = {"SparkApplication", "ScheduledSparkApplication"}
    assert all(any(f"_{k.lower()}s.yaml" in p.name for p in crds_dir().iterdir()) for k in kinds)


def test_vendored_crds_equal_the_modules() -> None:
    if shutil.which("go") is None:
        pytest.skip("go is not on PATH: the operator module cannot be read, nothing compared")
    try:
        operator.module_dir()
    except operator.OperatorModuleError as exc:
        pytest.skip(f"the operator module is unavailable, nothing compared: {exc}")
    assert not operator.module_differences(), (
        operator.module_differences(),
        "run `make vendor-crds`",
    )


def test_an_edited_crd_is_noticed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "crds"
    shutil.copytree(crds_dir(), copy)
    monkeypatch.setattr(operator, "crds_dir", lambda: copy)
    (copy / "sparkoperator.k8s.io_sparkconnects.yaml").write_text("---\n")
    (copy / "extra.yaml").write_text("---\n")
    problems = operator.vendored_problems()
    assert any("sparkconnects.yaml: edited" in p for p in problems), problems
    assert any("extra.yaml: added" in p for p in problems), problems
    monkeypatch.setattr(operator, "VERSION", "v0.0.1")
    assert any("versions.toml pins" in p for p in operator.vendored_problems())
