"""The charts and the tools that work on them: where they are, helm and the chart tools from the
cache, and helm-docs, which writes the charts' READMEs (``medallion k8s charts-docs``).

Rendering and walking the charts is the tests' (``tests/charts.py``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from medallion.paths import project_dir

# Library first, then the charts that use it, then the umbrella that vendors them all.
CHARTS = ("common", "minio", "postgres", "hive-metastore", "trino", "medallion")


class HelmError(RuntimeError):
    """helm failed; the message carries its output."""


def charts_dir() -> Path:
    return project_dir() / "charts"


def helm_binary() -> Path | None:
    """The helm that ``medallion setup`` installed, else helm on PATH, else None."""
    from medallion.artifacts import layout

    cached = layout().helm
    if cached.is_file() and os.access(cached, os.X_OK):
        return cached
    found = shutil.which("helm")
    return Path(found) if found else None


def cached_tool(name: str) -> Path | None:
    """A chart tool ``medallion k8s tools`` built into the cache (kubeconform, helm-docs), else
    the one on PATH, else None."""
    from medallion.cluster.build import bin_dir

    cached = bin_dir() / name
    if cached.is_file() and os.access(cached, os.X_OK):
        return cached
    found = shutil.which(name)
    return Path(found) if found else None


# The charts whose README.md helm-docs writes (the library chart has no values).
DOCUMENTED_CHARTS = tuple(chart for chart in CHARTS if chart != "common")


def helm_docs(binary: Path, chart: str, *, dry_run: bool = False) -> str:
    """helm-docs for one chart: its README.md from README.md.gotmpl and the ``# --`` comments in
    values.yaml, the table in the file's order; ``dry_run`` returns the text instead."""
    args = [
        str(binary), "--chart-search-root", ".", "--chart-to-generate", chart,
        "--template-files", "README.md.gotmpl", "--sort-values-order", "file",
        "--log-level", "warning", *(["--dry-run"] if dry_run else []),
    ]  # fmt: skip
    result = subprocess.run(args, cwd=charts_dir(), capture_output=True, text=True, check=False)
    if result.returncode != 0 or result.stderr.strip():
        raise HelmError(f"helm-docs for {chart} failed:\n{result.stderr}{result.stdout}")
    return result.stdout
