"""The charts as data, for the chart tests and the end-to-end tests: render them with helm, walk
their pod specs, validate them with kubeconform against offline schemas. Everything runs offline
(the dependencies are ``file://`` charts of this repository).
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from medallion.artifacts import VERSIONS
from medallion.k8s.charts import CHARTS, HelmError, cached_tool, charts_dir
from medallion.k8s.operator import crds_dir

UMBRELLA = "medallion"


# Kinds whose objects carry a pod template, and where it sits.
POD_TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}


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


def kubeconform_binary() -> Path | None:
    return cached_tool("kubeconform")


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


# The local cluster's Kubernetes (MAJOR.MINOR), and the versions the charts must be valid in: 1.30
# up to it.
CLUSTER_KUBERNETES = ".".join(VERSIONS["kubernetes"].removeprefix("v").split(".")[:2])


KUBERNETES_VERSIONS = tuple(
    f"1.{minor}" for minor in range(30, int(CLUSTER_KUBERNETES.split(".")[1]) + 1)
)


# kubeconform's -schema-location templates, relative to the folder write_schemas fills.
BUILTIN_SCHEMAS = "{{ .NormalizedKubernetesVersion }}/{{ .ResourceKind }}{{ .KindSuffix }}.json"


CRD_SCHEMAS = "crds/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"


# A reference into kubernetes-validate's shared definitions, from a kind's file or from within.
_DEFINITION_REF = re.compile(r'"\$ref": "(?:/api/_definitions\.json)?#/\$defs/([^"]+)"')


def _standalone_kinds(source: Path, target: Path) -> None:
    """Each API kind's schema in ``source`` (kubernetes-validate's layout) as one standalone
    file in ``target``: the definitions it reaches copied under its own ``$defs``, references
    made local, no ``$id``. (Its files point at ``/api/_definitions.json`` under an
    ``https://kubernetes.io`` ``$id``, which a file-based registry cannot resolve, and compiling
    that 2 MB file once per kind made kubeconform several times slower.)"""
    import json

    definitions = json.loads((source / "_definitions.json").read_text())["$defs"]
    refers = {name: set(_DEFINITION_REF.findall(json.dumps(d))) for name, d in definitions.items()}
    target.mkdir(parents=True, exist_ok=True)
    for path in source.glob("*.json"):
        text = path.read_text()
        schema = json.loads(text)
        if "enum" not in (dig(schema, "properties", "kind") or {}):
            continue  # a part of a kind (PodSpec, ...), never an object's kind
        todo, reached = set(_DEFINITION_REF.findall(text)), set()
        while todo:
            name = todo.pop()
            reached.add(name)
            todo |= refers[name] - reached
        schema.pop("$id", None)
        schema["$defs"] = {name: definitions[name] for name in sorted(reached)}
        standalone = json.dumps(schema).replace('"/api/_definitions.json#', '"#')
        (target / path.name).write_text(standalone)


def write_schemas(out: Path, kubernetes_versions: Sequence[str], crds: Path | None = None) -> None:
    """JSON schemas for kubeconform, offline, under ``out``.

    Built-in kinds, for each Kubernetes ``MAJOR.MINOR``: the strict schemas kubernetes-validate
    ships, made standalone. Custom resources: every served version of the CRDs under ``crds``
    (default: the vendored Spark Operator's), made strict by :func:`strict_schema`.
    """
    import json

    import kubernetes_validate

    shipped = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    for version in kubernetes_versions:
        source = shipped / f"v{version}.0-local-strict"
        if not source.is_dir():
            raise FileNotFoundError(
                f"kubernetes-validate {kubernetes_validate.__version__} ships no schemas for "
                f"Kubernetes {version}: upgrade it in constraints.txt"
            )
        _standalone_kinds(source, out / f"v{version}.0")
    for path in sorted((crds or crds_dir()).glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        if not isinstance(crd, dict) or crd.get("kind") != "CustomResourceDefinition":
            continue
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"].lower()
        for served in (v for v in crd["spec"]["versions"] if v.get("served")):
            target = out / "crds" / group / f"{kind}_{served['name']}.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            schema = strict_schema(served["schema"]["openAPIV3Schema"])
            target.write_text(json.dumps(schema))


@dataclass(frozen=True)
class Kubeconform:
    """kubeconform, strict, over the schemas :func:`write_schemas` laid out in ``schemas``."""

    binary: Path
    schemas: Path

    def errors(
        self, objs: Sequence[dict[str, Any]], kubernetes_version: str = CLUSTER_KUBERNETES
    ) -> list[str]:
        """Every problem with ``objs`` as Kubernetes ``MAJOR.MINOR`` sees them: unknown fields,
        wrong types, missing required fields, and kinds with no schema."""
        import json

        args = [
            # one worker: concurrent ones each compile the same schema (slower on 2 cores)
            str(self.binary), "-strict", "-output", "json", "-n", "1",
            "-kubernetes-version", f"{kubernetes_version}.0",
            "-schema-location", str(self.schemas / BUILTIN_SCHEMAS),
            "-schema-location", str(self.schemas / CRD_SCHEMAS),
        ]  # fmt: skip
        result = subprocess.run(
            args,
            input=yaml.safe_dump_all(objs, sort_keys=False),
            capture_output=True,
            text=True,
            check=False,
        )
        try:
            report = json.loads(result.stdout)
        except json.JSONDecodeError:
            report = None
        if not isinstance(report, dict) or (result.returncode not in (0, 1)):
            raise RuntimeError(f"kubeconform failed ({result.returncode}): {result.stderr}")
        found = [
            f"{r.get('kind')}/{r.get('name')}: {r.get('msg')}"
            for r in report.get("resources") or []
            if r.get("status") != "statusValid"
        ]
        if result.returncode and not found:
            raise RuntimeError(f"kubeconform failed without a finding: {result.stderr}")
        return found
