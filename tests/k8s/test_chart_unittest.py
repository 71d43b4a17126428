"""helm-unittest runs each chart's suites (charts/<chart>/tests/*_test.yaml): the assertions on one
template's fields live there; the checks across objects and values cases stay in tests/k8s."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from tests.charts import Helm

from medallion.k8s.charts import CHARTS, cached_tool, charts_dir

# common is a library chart: nothing renders on its own, so it has no suites.
TESTED_CHARTS = tuple(chart for chart in CHARTS if chart != "common")


@pytest.fixture(scope="session")
def helm_unittest() -> Path:
    binary = cached_tool("helm-unittest")
    if binary is None:
        pytest.skip("helm-unittest not found: run `make k8s-tools` (builds it into the cache)")
    return binary


@pytest.mark.parametrize("chart", TESTED_CHARTS)
def test_chart_unit_tests_pass(helm: Helm, helm_unittest: Path, chart: str) -> None:
    """``helm: Helm`` vendors the umbrella's dependencies first (its suites render subcharts)."""
    suites = sorted((charts_dir() / chart / "tests").glob("*_test.yaml"))
    assert suites, f"charts/{chart}/tests has no *_test.yaml suite"
    result = subprocess.run(
        [str(helm_unittest), "--color=false", str(charts_dir() / chart)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"helm-unittest {chart}:\n{result.stdout}{result.stderr}"
    assert f"Test Suites: {len(suites)} passed" in result.stdout, result.stdout
