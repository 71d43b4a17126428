"""The charts as data: vendor their dependencies, lint and render them with helm, walk pod specs.

Used by the chart tests and the kind end-to-end test; everything runs offline (the dependencies
are ``file://`` charts of this repository).
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from medallion.paths import project_dir

# Library first, then the charts that use it, then the umbrella that vendors them all.
CHARTS = ("common", "minio", "postgres", "hive-metastore", "trino", "medallion")
UMBRELLA = "medallion"
# Kinds whose objects carry a pod template, and where it sits.
POD_TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}


class HelmError(RuntimeError):
    """helm failed; the message carries its output."""


def charts_dir() -> Path:
    return project_dir() / "charts"


def crds_dir() -> Path:
    """The Spark Operator CRDs, vendored from the pinned operator module."""
    from medallion.k8s import operator

    return operator.crds_dir()


def helm_binary() -> Path | None:
    """The helm that ``medallion setup`` installed, else helm on PATH, else None."""
    from medallion.artifacts import layout

    cached = layout().helm
    if cached.is_file() and os.access(cached, os.X_OK):
        return cached
    found = shutil.which("helm")
    return Path(found) if found else None


@dataclass(frozen=True)
class Helm:
    binary: Path

    def run(self, *args: str, cwd: Path | None = None) -> str:
        result = subprocess.run(
            [str(self.binary), *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "HELM_NO_PLUGINS": "1"},
        )
        if result.returncode != 0:
            raise HelmError(f"helm {' '.join(args)} failed:\n{result.stderr}{result.stdout}")
        return result.stdout

    def build_dependencies(self) -> None:
        """``helm dependency build`` for every chart with dependencies, in dependency order."""
        for chart in CHARTS:
            if chart == "common":
                continue
            self.run("dependency", "build", "--skip-refresh", str(charts_dir() / chart))

    def lint(self, chart: str, values: Sequence[Path] = ()) -> str:
        args = ["lint", "--strict", str(charts_dir() / chart)]
        for path in values:
            args += ["-f", str(path)]
        return self.run(*args)

    def template(
        self,
        chart: str = UMBRELLA,
        values: Sequence[Path] = (),
        set_values: Sequence[str] = (),
        release: str = "medallion",
        namespace: str = "medallion",
    ) -> list[dict[str, Any]]:
        """The rendered objects (helm test hooks included), in helm's order."""
        args = ["template", release, str(charts_dir() / chart), "--namespace", namespace]
        for path in values:
            args += ["-f", str(path)]
        for item in set_values:
            args += ["--set", item]
        return [doc for doc in yaml.safe_load_all(self.run(*args)) if doc]


def dig(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


@dataclass(frozen=True)
class PodSpec:
    """One pod spec found in a rendered object (``where`` says which and where)."""

    where: str
    kind: str
    spec: dict[str, Any]
    metadata: dict[str, Any]

    @property
    def containers(self) -> list[dict[str, Any]]:
        return list(self.spec.get("containers") or [])

    @property
    def init_containers(self) -> list[dict[str, Any]]:
        return list(self.spec.get("initContainers") or [])

    @property
    def all_containers(self) -> list[dict[str, Any]]:
        return self.init_containers + self.containers


def spark_pod_templates(obj: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(role, pod template) of a SparkApplication or ScheduledSparkApplication."""
    spec = obj.get("spec") or {}
    if obj.get("kind") == "ScheduledSparkApplication":
        spec = spec.get("template") or {}
    for role in ("driver", "executor"):
        template = dig(spec, role, "template")
        if isinstance(template, dict):
            yield role, template


def spark_application_spec(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec") or {}
    if obj.get("kind") == "ScheduledSparkApplication":
        spec = spec.get("template") or {}
    return dict(spec)


def embedded_spark_applications(docs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """SparkApplication manifests rendered into ConfigMaps (silver's submitter template)."""
    found = []
    for doc in docs:
        if doc.get("kind") != "ConfigMap":
            continue
        for value in (doc.get("data") or {}).values():
            if "kind: SparkApplication" in value:
                found.append(yaml.safe_load(value))
    return found


def pod_specs(docs: Sequence[dict[str, Any]]) -> list[PodSpec]:
    """Every pod spec: workloads, bare pods (helm tests) and Spark pod templates, including the
    SparkApplication template that silver's ConfigMap carries."""
    result = []
    for doc in [*docs, *embedded_spark_applications(docs)]:
        kind = doc.get("kind", "")
        name = f"{kind}/{dig(doc, 'metadata', 'name')}"
        if kind == "Pod":
            result.append(PodSpec(name, kind, doc["spec"], doc.get("metadata") or {}))
        elif kind in POD_TEMPLATE_PATHS:
            template = dig(doc, *POD_TEMPLATE_PATHS[kind])
            result.append(PodSpec(name, kind, template["spec"], template.get("metadata") or {}))
        elif kind in ("SparkApplication", "ScheduledSparkApplication"):
            for role, template in spark_pod_templates(doc):
                result.append(
                    PodSpec(
                        f"{name} {role}", kind, template.get("spec") or {},
                        template.get("metadata") or {},
                    )
                )  # fmt: skip
    return result


def load_crd_schemas(root: Path | None = None) -> dict[str, dict[str, Any]]:
    """``{"<group>/<version>/<Kind>": openAPIV3Schema}`` of the CRDs under ``root`` (recursive)."""
    root = root or crds_dir()
    schemas: dict[str, dict[str, Any]] = {}
    for path in sorted(root.rglob("*.yaml")) if root.is_dir() else []:
        crd = yaml.safe_load(path.read_text())
        if not isinstance(crd, dict) or crd.get("kind") != "CustomResourceDefinition":
            continue
        kind = crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if version.get("served"):
                key = f"{crd['spec']['group']}/{version['name']}/{kind}"
                schemas[key] = version["schema"]["openAPIV3Schema"]
    return schemas


def strict_schema(schema: Any) -> Any:
    """A copy of a CRD schema that rejects unknown fields, as the API server does.

    The server prunes unknown fields and, with strict field validation (kubectl's default),
    rejects them, while plain JSON Schema accepts them: so every object schema that lists
    ``properties`` and does not say ``x-kubernetes-preserve-unknown-fields`` gets
    ``additionalProperties: false``.
    """
    schema = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if (
                "properties" in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
                and "additionalProperties" not in node
            ):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


def crd_errors(schemas: dict[str, dict[str, Any]], obj: dict[str, Any]) -> list[str]:
    """Every violation of the object's CRD schema (empty when it is valid)."""
    import jsonschema

    key = f"{obj.get('apiVersion')}/{obj.get('kind')}"
    if key not in schemas:
        return [f"no CRD schema for {key}"]
    validator = jsonschema.Draft7Validator(strict_schema(schemas[key]))
    return [
        f"{'/'.join(str(p) for p in err.absolute_path) or '<root>'}: {err.message}"
        for err in validator.iter_errors(obj)
    ]
