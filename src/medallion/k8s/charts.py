"""The charts and the tools that work on them: where they are, helm and the chart tools from the
cache, and what ``medallion k8s charts-docs`` derives: the shared ``global`` block and schema
copied into every chart, then the READMEs (helm-docs).

Rendering and walking the charts is the tests' (``tests/charts.py``).
"""

from __future__ import annotations

import json
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


# The charts that carry the shared ``global`` values (every one but the library).
GLOBAL_CHARTS = DOCUMENTED_CHARTS


def global_values() -> tuple[str, dict[str, object]]:
    """The one home of the release-wide settings: the ``global:`` block (from the line
    ``global:`` on, with its ``# --`` comments) and its JSON schema."""
    common = charts_dir() / "common"
    text = (common / "global-values.yaml").read_text()
    block = text[text.index("\nglobal:\n") + 1 :]
    schema = json.loads((common / "global-values.schema.json").read_text())
    return block, schema


def replace_global_block(values: str, block: str) -> str:
    lines = values.splitlines(keepends=True)
    start = lines.index("global:\n")
    end = start + 1
    while end < len(lines) and (lines[end].startswith(" ") or not lines[end].strip()):
        end += 1
    while not lines[end - 1].strip():  # the blank lines before the next key stay
        end -= 1
    return "".join(lines[:start]) + block + "".join(lines[end:])


def sync_globals(*, write: bool) -> list[Path]:
    """Copy the shared ``global`` block and schema into every chart's values.yaml and
    values.schema.json; returns the files that differed (written when ``write``)."""
    block, schema = global_values()
    stale = []
    for chart in GLOBAL_CHARTS:
        values_file = charts_dir() / chart / "values.yaml"
        values = values_file.read_text()
        synced = replace_global_block(values, block)
        if synced != values:
            stale.append(values_file)
            if write:
                values_file.write_text(synced)
        schema_file = charts_dir() / chart / "values.schema.json"
        chart_schema = json.loads(schema_file.read_text())
        if chart_schema["properties"].get("global") != schema:
            stale.append(schema_file)
            if write:
                chart_schema["properties"]["global"] = schema
                schema_file.write_text(json.dumps(chart_schema, indent=2) + "\n")
    return stale


#: The charts' env helpers, generated from the env contract (``charts/common/env.yaml``).
ENV_HELPERS_FILE = ("common", "templates", "_env.tpl")
ADDRESSES = "addresses"


def env_helpers() -> str:
    """templates/_env.tpl: a helper ``common.env.<group>`` per group of the env contract, with the
    chart value of each of its variables, and ``common.env.addresses``."""
    from medallion import env_contract

    def entry(v: env_contract.Variable) -> str:
        assert v.chart is not None
        if "secret" in v.chart:
            ref = v.chart["secret"]
            return (
                f"- name: {v.name}\n  valueFrom:\n    secretKeyRef:\n"
                f"      name: {ref['name']}\n      key: {ref['key']}\n"
            )
        return f"- name: {v.name}\n  value: {v.chart['value']}\n"

    def helper(name: str, members: list[env_contract.Variable]) -> str:
        body = "".join(entry(v) for v in members).rstrip("\n")
        return f'{{{{- define "common.env.{name}" -}}}}\n{body}\n{{{{- end -}}}}\n'

    in_pods = [v for v in env_contract.variables() if v.chart is not None]
    helpers = [
        helper(group, [v for v in in_pods if v.group == group])
        for group in env_contract.groups()
        if any(v.group == group for v in in_pods)
    ]
    helpers.append(helper(ADDRESSES, [v for v in in_pods if v.address]))
    head = (
        "{{/*\nGenerated from charts/common/env.yaml (the environment contract) by "
        "`make charts-docs`:\nedit that file, not this one.\n*/}}\n"
    )
    return head + "\n" + "\n".join(helpers)


def sync_env_helpers(*, write: bool) -> list[Path]:
    """Regenerate templates/_env.tpl of the library chart; returns it if it differed (written
    when ``write``)."""
    path = charts_dir().joinpath(*ENV_HELPERS_FILE)
    text = env_helpers()
    if path.is_file() and path.read_text() == text:
        return []
    if write:
        path.write_text(text)
    return [path]
