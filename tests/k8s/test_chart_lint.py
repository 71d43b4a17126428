"""``ct lint`` (chart-testing) over every chart, as ct.yaml configures it: Chart.yaml against
.ct/chart_schema.yaml (yamale), yamllint with .ct/lintconf.yaml, and helm lint --strict with each
ci/*-values.yaml file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.charts import Helm

from medallion.k8s.charts import CHARTS, cached_tool
from medallion.paths import project_dir


@pytest.fixture(scope="session")
def ct() -> Path:
    binary = cached_tool("ct")
    if binary is None:
        pytest.skip("ct not found: run `make k8s-tools` (builds it into the cache)")
    return binary


def test_ct_lint_passes_on_every_chart(helm: Helm, ct: Path) -> None:
    # ct runs helm, yamllint and yamale from PATH: the helm the tests use and the venv's tools.
    tools = [str(helm.binary.parent), str(Path(sys.executable).parent)]
    for name in ("yamllint", "yamale"):
        assert shutil.which(name, path=os.pathsep.join(tools)), f"{name}: run `make venv`"
    env = {**os.environ, "PATH": os.pathsep.join([*tools, os.environ.get("PATH", "")])}
    result = subprocess.run(
        [str(ct), "lint", "--config", "ct.yaml"],
        cwd=project_dir(),
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"ct lint failed:\n{output}"
    assert "All charts linted successfully" in output, output
    for chart in CHARTS:
        assert f'path: "charts/{chart}"' in output, f"ct lint skipped charts/{chart}:\n{output}"
