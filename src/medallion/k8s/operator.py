"""The Kubeflow Spark Operator: its official chart from its Go module, its CRDs vendored here.

``go mod download`` fetches ``github.com/kubeflow/spark-operator/v2`` at the version pinned in
``versions.toml`` and checks it against Go's checksum database; the module holds the operator's
source (built into ``images/spark-operator``), its Helm chart and its CRDs. The chart is read from
the module's folder; the CRDs are copied unchanged into ``manifests/crds/spark-operator`` (by
``medallion k8s vendor-crds``), so that validating manifests and applying the CRDs work from a
fresh clone. ``source.toml`` beside them records the module version and each file's SHA-256.
"""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
import subprocess
import tomllib
from pathlib import Path

from medallion.paths import project_dir

MODULE = "github.com/kubeflow/spark-operator/v2"
VERSION = tomllib.loads(Path(__file__).parent.parent.joinpath("versions.toml").read_text())[
    "spark_operator"
]
# Where the module keeps the CRDs (its chart's crds/ folder, identical to config/crd/bases).
MODULE_CRDS = "charts/spark-operator-chart/crds"
SOURCE = "source.toml"


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
    """The vendored CRDs (every consumer's: the chart tests, kind-up, the local cluster)."""
    return project_dir() / "manifests" / "crds" / "spark-operator"


def module_crds_dir() -> Path:
    return module_dir() / MODULE_CRDS


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def vendor_crds() -> list[Path]:
    """Copy the pinned module's CRDs into :func:`crds_dir` (replacing the previous ones) and
    write ``source.toml``: the module, its version and each file's SHA-256."""
    source = sorted(module_crds_dir().glob("*.yaml"))
    if not source:
        raise OperatorModuleError(f"no CRDs in {MODULE}@{VERSION} under {MODULE_CRDS}")
    target = crds_dir()
    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob("*.yaml"):
        old.unlink()
    copied = []
    for path in source:
        copied.append(target / path.name)
        shutil.copyfile(path, copied[-1])
        copied[-1].chmod(0o644)
    lines = [
        "# Written by `medallion k8s vendor-crds`; do not edit. The CRDs beside this file are the",
        "# Spark Operator's, copied unchanged from its Go module; the tests check the version",
        "# against versions.toml and each file against its hash.",
        f'module = "{MODULE}"',
        f'version = "{VERSION}"',
        f'path = "{MODULE_CRDS}"',
        "",
        "[sha256]",
        *(f'"{path.name}" = "{_sha256(path)}"' for path in copied),
    ]
    (target / SOURCE).write_text("\n".join(lines) + "\n")
    return copied


def vendored_problems() -> list[str]:
    """What is wrong with the vendored CRDs without the module at hand: a version other than
    the pinned one, or files added, removed or edited since ``vendor-crds`` wrote them."""
    source_file = crds_dir() / SOURCE
    if not source_file.is_file():
        return [f"{source_file} is missing: run `medallion k8s vendor-crds`"]
    source = tomllib.loads(source_file.read_text())
    problems = []
    if source.get("module") != MODULE or source.get("version") != VERSION:
        problems.append(
            f"the vendored CRDs are from {source.get('module')}@{source.get('version')}, "
            f"versions.toml pins {MODULE}@{VERSION}: run `medallion k8s vendor-crds`"
        )
    recorded: dict[str, str] = source.get("sha256", {})
    present = {path.name: _sha256(path) for path in crds_dir().glob("*.yaml")}
    for name in sorted(recorded.keys() | present.keys()):
        if recorded.get(name) != present.get(name):
            state = (
                "added" if name not in recorded else "removed" if name not in present else "edited"
            )
            problems.append(f"{name}: {state} since it was vendored")
    return problems


def module_differences() -> list[str]:
    """The vendored CRDs' differences from the pinned module's (needs the module)."""
    theirs = {path.name: path.read_bytes() for path in module_crds_dir().glob("*.yaml")}
    ours = {path.name: path.read_bytes() for path in crds_dir().glob("*.yaml")}
    problems = []
    for name in sorted(theirs.keys() | ours.keys()):
        if name not in ours:
            problems.append(f"{name}: in the module, not vendored")
        elif name not in theirs:
            problems.append(f"{name}: vendored, not in the module")
        elif theirs[name] != ours[name]:
            problems.append(f"{name}: differs from the module's")
    return problems


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
    """Apply the vendored CRDs (server-side, so an upgrade updates them too), then ``helm
    upgrade --install`` the official chart with ``values`` and wait for the controller."""
    problems = vendored_problems()
    if problems:
        raise OperatorModuleError("; ".join(problems))
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
