"""Run dbt for a layer (bronze and gold on Trino) in-process, with progress and a summary."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medallion import dependencies, landed
from medallion.paths import charts_file, project_dir
from medallion.selection import check_extra_args

LAYERS = ("bronze", "silver", "gold")
FAILED_STATES = ("error", "fail", "runtime error")


@dataclass(frozen=True)
class NodeResult:
    name: str
    kind: str  # model, test, seed
    status: str  # success, error, fail, pass, warn, skipped
    seconds: float
    rows: int | None
    message: str | None


@dataclass
class LayerResult:
    layer: str
    success: bool
    seconds: float
    nodes: list[NodeResult] = field(default_factory=list)
    error: str | None = None

    @property
    def models(self) -> list[NodeResult]:
        return [n for n in self.nodes if n.kind in ("model", "seed")]

    @property
    def failed(self) -> list[NodeResult]:
        return [n for n in self.nodes if n.status in FAILED_STATES]

    @property
    def rows_written(self) -> int:
        return sum(n.rows or 0 for n in self.models)


#: In the images the project and the profiles are not in a checkout: the pods say where they are.
PROJECT_DIR_ENV = "MEDALLION_DBT_PROJECT_DIR"
PROFILES_DIR_ENV = "MEDALLION_DBT_PROFILES_DIR"


def dbt_dir() -> Path:
    env = os.environ.get(PROJECT_DIR_ENV)
    return Path(env) if env else project_dir() / "dbt"


def profiles_dir() -> Path:
    env = os.environ.get(PROFILES_DIR_ENV)
    return Path(env) if env else charts_file("medallion", "files", "dbt")


def _common(target: str) -> list[str]:
    return [
        "--project-dir",
        str(dbt_dir()),
        "--profiles-dir",
        str(profiles_dir()),
        "--target",
        target,
    ]


def dbt_args(layer: str, target: str, extra: Sequence[str] = ()) -> list[str]:
    """The same dbt command the Kubernetes jobs run for a layer (its selector in selectors.yml)."""
    check_extra_args(layer, extra)
    return ["build", *_common(target), "--selector", layer, *extra]


#: What `dbt source freshness` checks before bronze: the landing tables (when their files landed).
FRESHNESS_SELECT = "source:landing"


def freshness_args() -> list[str]:
    """The freshness check the bronze CronJob runs in its init container."""
    return ["source", "freshness", *_common("trino"), "--select", FRESHNESS_SELECT]


def _rows(adapter_response: Mapping[str, Any]) -> int | None:
    rows = adapter_response.get("rows_affected")
    return int(rows) if isinstance(rows, int) and rows >= 0 else None


def collect(layer: str, success: bool, seconds: float, result: Any, exc: Any) -> LayerResult:
    """A LayerResult from a dbtRunnerResult's pieces."""
    nodes: list[NodeResult] = []
    for r in getattr(result, "results", None) or []:
        node = r.node
        nodes.append(
            NodeResult(
                name=node.name,
                kind=str(node.resource_type),
                status=str(r.status),
                seconds=float(r.execution_time or 0.0),
                rows=_rows(r.adapter_response or {}),
                message=r.message,
            )
        )
    out = LayerResult(layer, success, seconds, nodes)
    if not success:
        failed = out.failed
        if failed:
            out.error = "; ".join(f"{n.kind} {n.name} failed: {n.message}" for n in failed)
        else:
            out.error = str(exc) if exc else f"dbt {layer} failed"
    return out


def _freshness_node(r: Any) -> NodeResult:
    node = r.node
    name = f"{node.source_name}.{node.name}"
    newest = getattr(r, "max_loaded_at", None)
    age = getattr(r, "age", None)
    if newest is not None and age is not None:
        message = f"newest file {newest:%Y-%m-%d %H:%M} UTC, {age / 86400:.1f} days old"
        limit = getattr(getattr(node, "freshness", None), "error_after", None)
        if limit is not None and limit.count is not None:
            message += f" (error after {limit.count} {limit.period}s)"
    else:
        message = str(getattr(r, "message", None) or "no freshness result")
    return NodeResult(name, "source", str(r.status), float(r.execution_time or 0.0), None, message)


def dbt_environment(env: Mapping[str, str]) -> None:
    """What dbt-trino, running in this process, reads from the environment: the stack's
    variables for the profile, and Trino's CA for requests, which lets REQUESTS_CA_BUNDLE (set
    on a host behind a TLS proxy) win over the CA file dbt-trino gives its session."""
    os.environ.update(env)
    os.environ["DBT_TARGET"] = "trino"
    if ca := env.get("TRINO_CA_FILE"):
        os.environ["REQUESTS_CA_BUNDLE"] = ca


def check_freshness(env: Mapping[str, str]) -> LayerResult:
    """``dbt source freshness`` of the landing files; an error-state source fails the result."""
    from dbt.cli.main import dbtRunner

    dbt_environment(env)
    began = time.monotonic()
    res = dbtRunner().invoke([*freshness_args(), "--log-format", "text", "--quiet"])
    nodes = [_freshness_node(r) for r in getattr(res.result, "results", None) or []]
    out = LayerResult("bronze", bool(res.success), time.monotonic() - began, nodes)
    stale = [n for n in nodes if n.status in ("error", "runtime error")]
    if stale:
        out.success = False
        out.error = "; ".join(f"source {n.name} is stale: {n.message}" for n in stale) + (
            "; load a new batch, or run with --skip-freshness"
        )
    elif not res.success:
        out.error = f"dbt source freshness failed: {res.exception}"
    out.error = named(out.error, env)
    return out


def named(
    error: str | None, env: Mapping[str, str], nodes: Sequence[NodeResult] = ()
) -> str | None:
    """A run's error as the sentence naming the dead dependency it is about, if it is one: in
    the error itself or in a failed node's message (silver's error lists only the nodes)."""
    if error is None:
        return None
    for text in (error, *(n.message or "" for n in nodes if n.status in FAILED_STATES)):
        if (dead := dependencies.describe(text, env)) is not None:
            return dead
    return error


def checked(env: Mapping[str, str], layer: str, *, spark: bool = False) -> LayerResult | None:
    """A failed result naming the metastore or S3 when Trino cannot reach it (or, with
    ``spark``, the stack's Spark when it does not answer), else None
    (``medallion.dependencies``): a dead one stops the run before its first model."""
    from medallion.trino_client import UnreachableError

    began = time.monotonic()
    try:
        if spark:
            dependencies.check_spark(env)
        dependencies.check(env)
    except UnreachableError as exc:
        return LayerResult(layer, False, time.monotonic() - began, error=str(exc))
    return None


def run_layer(
    env: Mapping[str, str],
    layer: str,
    extra_args: Sequence[str] = (),
    on_event: Callable[[str], None] | None = None,
    freshness: bool = True,
) -> LayerResult:
    """``dbt build`` of one layer on Trino (bronze or gold).

    First Trino touches the metastore and S3 (``checked``); then bronze makes sure the table of
    landed files is there (``medallion.landed``) and checks the landing files' freshness (unless
    ``freshness`` is false), as its CronJob does: a source past its ``error_after`` stops the run
    before the build. An error about a dead dependency becomes the sentence naming it
    (``named``).
    """
    if layer not in ("bronze", "gold"):
        raise ValueError(f"run_layer runs the dbt-trino layers (bronze, gold), not {layer!r}")
    from dbt.cli.main import dbtRunner

    if (dead := checked(env, layer)) is not None:
        return dead
    if layer == "bronze":  # what bronze's lookup and the freshness check read
        landed.ensure(env)
    fresh_nodes: list[NodeResult] = []
    fresh_seconds = 0.0
    if layer == "bronze" and freshness:
        if on_event is not None:
            on_event("source freshness")
        fresh = check_freshness(env)
        if not fresh.success:
            return fresh
        fresh_nodes, fresh_seconds = fresh.nodes, fresh.seconds

    dbt_environment(env)

    def callback(event: Any) -> None:
        if on_event is None:
            return
        name = event.info.name
        if name in ("NodeStart", "LogModelResult", "LogTestResult", "LogSeedResult"):
            data = event.data
            node = getattr(getattr(data, "node_info", None), "node_name", "")
            on_event(f"{name}: {node}")

    began = time.monotonic()
    res = dbtRunner(callbacks=[callback]).invoke(
        [*dbt_args(layer, "trino", extra_args), "--log-format", "text", "--quiet"]
    )
    out = collect(layer, bool(res.success), time.monotonic() - began, res.result, res.exception)
    out.nodes[:0] = fresh_nodes
    out.seconds += fresh_seconds
    out.error = named(out.error, env, out.nodes)
    return out
