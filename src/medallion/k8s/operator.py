"""The Kubeflow Spark Operator's official chart and CRDs, taken from its Go module.

``go mod download`` fetches ``github.com/kubeflow/spark-operator/v2`` at the version pinned in
``versions.toml`` and checks it against Go's checksum database; the module holds the operator's
source (built into ``images/spark-operator``), its Helm chart and its CRDs. Nothing of it is
copied into this repository: every consumer (``make kind-up``, the local cluster's e2e, the chart
tests) reads the chart and the CRDs from the module's folder.
"""

from __future__ import annotations

import functools
import json
import subprocess
import tomllib
from pathlib import Path

MODULE = "github.com/kubeflow/spark-operator/v2"
VERSION = tomllib.loads(Path(__file__).parent.parent.joinpath("versions.toml").read_text())[
    "spark_operator"
]


class OperatorModuleError(RuntimeError):
    pass


@functools.cache
def module_dir() -> Path:
    result = subprocess.run(
        ["go", "mod", "download", "-json", f"{MODULE}@{VERSION}"],
        capture_output=True, text=True, check=False, cwd="/",
    )  # fmt: skip
    info = json.loads(result.stdout or "{}")
    if result.returncode != 0 or "Dir" not in info:
        raise OperatorModuleError(
            f"go mod download {MODULE}@{VERSION}: {info.get('Error') or result.stderr.strip()}"
        )
    return Path(info["Dir"])


def chart_dir() -> Path:
    return module_dir() / "charts" / "spark-operator-chart"


def crds_dir() -> Path:
    return chart_dir() / "crds"


def install(
    helm: Path,
    kubectl: Path,
    kubeconfig: Path,
    *,
    values: Path,
    image_tag: str = VERSION.removeprefix("v"),
    namespace: str = "spark-operator",
    timeout: str = "10m",
) -> None:
    """Apply the CRDs (server-side, so an upgrade updates them too), then ``helm upgrade
    --install`` the official chart with ``values`` and wait for the controller."""
    subprocess.run(
        [str(kubectl), f"--kubeconfig={kubeconfig}", "apply", "--server-side",
         "--force-conflicts", "-f", str(crds_dir())],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    subprocess.run(
        [str(helm), "upgrade", "--install", "spark-operator", str(chart_dir()),
         f"--kubeconfig={kubeconfig}", "--namespace", namespace, "--create-namespace",
         "--skip-crds", "-f", str(values), "--set", f"image.tag={image_tag}",
         "--wait", "--timeout", timeout],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
