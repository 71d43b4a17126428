"""Each chart's README.md is what helm-docs writes from its README.md.gotmpl and the ``# --``
comments in its values.yaml: a value added or changed without regenerating fails here. So do the
copies of the shared global values and the env helpers generated from the env contract."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from medallion import env_contract
from medallion.k8s import charts
from medallion.k8s.charts import DOCUMENTED_CHARTS, cached_tool, charts_dir, helm_docs


@pytest.fixture(scope="session")
def helm_docs_binary() -> Path:
    binary = cached_tool("helm-docs")
    if binary is None:
        pytest.skip("helm-docs not found: run `make k8s-tools` (builds it into the cache)")
    return binary


@pytest.mark.parametrize("chart", DOCUMENTED_CHARTS)
def test_readme_is_what_helm_docs_writes(helm_docs_binary: Path, chart: str) -> None:
    readme = charts_dir() / chart / "README.md"
    expected = helm_docs(helm_docs_binary, chart, dry_run=True)
    assert readme.read_text() == expected, f"{readme} is stale: run `make charts-docs`"
    assert "| Key | Type | Default | Description |" in expected


def test_a_value_without_its_readme_row_is_noticed(
    helm_docs_binary: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "charts"
    shutil.copytree(charts_dir() / "trino", copy / "trino")
    monkeypatch.setattr(charts, "charts_dir", lambda: copy)
    values = copy / "trino" / "values.yaml"
    values.write_text(
        values.read_text() + "# -- a value nobody documented in the README\nnewValue: 1\n"
    )
    assert "newValue" in helm_docs(helm_docs_binary, "trino", dry_run=True)
    assert "newValue" not in (copy / "trino" / "README.md").read_text()


@pytest.mark.parametrize(
    ("sync", "home"),
    [(charts.sync_globals, "global-values.*"), (charts.sync_env_helpers, "env.yaml")],
    ids=["global values", "env helpers"],
)
def test_what_charts_docs_derives_is_current(sync: Callable[..., list[Path]], home: str) -> None:
    stale = sync(write=False)
    assert not stale, f"{stale} differ from charts/common/{home}: run `make charts-docs`"


def charts_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *names: str) -> Path:
    """A copy of some charts that medallion.k8s.charts (and the env contract) work on."""
    copy = tmp_path / "charts"
    for chart in names:
        shutil.copytree(charts_dir() / chart, copy / chart)
    monkeypatch.setattr(charts, "charts_dir", lambda: copy)
    monkeypatch.setenv("MEDALLION_PROJECT_DIR", str(tmp_path))
    return copy


def test_a_changed_global_default_reaches_every_chart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = charts_copy(tmp_path, monkeypatch, "common", *charts.GLOBAL_CHARTS)
    home = copy / "common" / "global-values.yaml"
    home.write_text(home.read_text().replace("bucket: warehouse", "bucket: lakehouse"))
    assert len(charts.sync_globals(write=True)) == len(charts.GLOBAL_CHARTS)
    assert charts.sync_globals(write=False) == []
    for chart in charts.GLOBAL_CHARTS:
        values = (copy / chart / "values.yaml").read_text()
        assert "    bucket: lakehouse\n" in values and "bucket: warehouse" not in values, chart
        # everything but the block is the chart's own and stays as it was
        original = (charts_dir() / chart / "values.yaml").read_text()
        assert without_global(values) == without_global(original), chart


def without_global(values: str) -> str:
    return charts.replace_global_block(values, "")


def test_a_changed_contract_reaches_the_helpers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = charts_copy(tmp_path, monkeypatch, "common")
    env_contract.variables.cache_clear()
    contract = copy / "common" / "env.yaml"
    contract.write_text(contract.read_text().replace("S3_BUCKET:", "S3_WAREHOUSE_BUCKET:"))
    try:
        assert charts.sync_env_helpers(write=True)
        helpers = (copy / "common" / "templates" / "_env.tpl").read_text()
        assert "- name: S3_WAREHOUSE_BUCKET\n" in helpers
        assert "S3_BUCKET" not in helpers
        assert charts.sync_env_helpers(write=False) == []
    finally:
        env_contract.variables.cache_clear()
