"""Run silver (and table maintenance) on the embedded stack: the same main files the
SparkApplications run, as Spark Connect clients of the stack's warm Spark
(``medallion.stack.engines.spark``, which runs the shared Spark conf).

Each application writes a JSON summary to a file passed to it, which is how the results come back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medallion.paths import home_dir, project_dir
from medallion.run.dbt import LayerResult, NodeResult, checked, dbt_dir, named, profiles_dir
from medallion.spark import conf_file

FAILED = ("error", "fail", "runtime error")


def spark_apps_dir() -> Path:
    return project_dir() / "spark-apps"


@dataclass(frozen=True)
class SubmitResult:
    """How one application run went: exit code, wall time, the peak resident memory of its
    client process (the Python that runs dbt; the kernel's accounting on wait; Spark's own is the
    stack's engine's), the application's JSON summary (None if it wrote none) and where its output
    went."""

    exit_code: int
    seconds: float
    peak_rss_bytes: int | None
    summary: dict[str, Any] | None
    log_file: Path


@dataclass(frozen=True)
class SilverResult:
    exit_code: int
    seconds: float
    nodes: list[NodeResult] = field(default_factory=list)
    error: str | None = None
    peak_rss_bytes: int | None = None
    summary: dict[str, Any] | None = None
    log_file: Path | None = None

    @property
    def success(self) -> bool:
        return self.exit_code == 0

    @property
    def failed(self) -> list[NodeResult]:
        return [n for n in self.nodes if n.status in FAILED]

    def layer_result(self) -> LayerResult:
        return LayerResult("silver", self.success, self.seconds, list(self.nodes), self.error)


@dataclass(frozen=True)
class MaintenanceResult:
    exit_code: int
    seconds: float
    tables: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    peak_rss_bytes: int | None = None
    log_file: Path | None = None

    @property
    def success(self) -> bool:
        return self.exit_code == 0


def work_dir(env: Mapping[str, str], app: str) -> Path:
    """``<stack home>/spark/<app>``: the properties file, summaries, dbt's target/ and logs/."""
    home = Path(env["MEDALLION_HOME"]) if env.get("MEDALLION_HOME") else home_dir()
    path = home / "spark" / app
    path.mkdir(parents=True, exist_ok=True)
    return path


def submit(
    env: Mapping[str, str],
    app: str,
    app_args: Sequence[str],
    extra_env: Mapping[str, str] | None = None,
    echo: Callable[[str], None] | None = None,
) -> SubmitResult:
    """Run ``spark-apps/<app>/main.py`` with a summary file, as a Spark Connect client of the
    stack's Spark (``MEDALLION_SPARK_REMOTE``); wait and collect."""
    work = work_dir(env, app)
    summary_file = work / "summary.json"
    summary_file.unlink(missing_ok=True)
    main_file = spark_apps_dir() / app / "main.py"
    cmd = [sys.executable, str(main_file), "--summary", str(summary_file), *app_args]
    proc_env = {
        **os.environ,
        **env,
        "SPARK_REMOTE": env["MEDALLION_SPARK_REMOTE"],
        "PYTHONUNBUFFERED": "1",
        # the app reads the conf's settings for itself, as it does on Kubernetes
        "MEDALLION_SPARK_CONF": str(conf_file()),
        **(extra_env or {}),
    }
    log_file = work / "last-run.log"
    began = time.monotonic()
    with log_file.open("w") as log:
        # cwd = the work dir: anything dbt drops in the working directory lands there
        proc = subprocess.Popen(
            cmd,
            env=proc_env,
            cwd=work,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            if echo is not None:
                echo(line.rstrip("\n"))
        proc.stdout.close()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - began
    summary = json.loads(summary_file.read_text()) if summary_file.exists() else None
    peak = usage.ru_maxrss * 1024 if sys.platform.startswith("linux") else usage.ru_maxrss
    return SubmitResult(proc.returncode, seconds, peak, summary, log_file)


def _nodes(summary: Mapping[str, Any] | None) -> list[NodeResult]:
    return [
        NodeResult(
            name=n["name"],
            kind=n["kind"],
            status=n["status"],
            seconds=float(n["seconds"]),
            rows=n.get("rows"),
            message=n.get("message"),
        )
        for n in (summary or {}).get("nodes", [])
    ]


def _error(result: SubmitResult, what: str) -> str | None:
    if result.exit_code == 0:
        return None
    if result.summary and result.summary.get("error"):
        return str(result.summary["error"])
    return f"{what} exited {result.exit_code} before writing a summary; see {result.log_file}"


def run_silver(
    env: Mapping[str, str],
    extra_dbt_args: Sequence[str] = (),
    *,
    echo: Callable[[str], None] | None = print,
) -> SilverResult:
    """``spark-apps/silver/main.py`` on the stack's Spark: ``dbt build`` of silver's models and
    tests in that application's Spark session. ``extra_dbt_args`` go to dbt as they are (e.g.
    ``["--vars", "{silver_reprocess: true}"]`` or ``["--full-refresh"]``). The application's
    output goes to ``<stack home>/spark/silver/last-run.log`` and, line by line, to ``echo``.

    The stack's Spark must answer, and Trino first touches the metastore and S3 that the
    application reads, so that a dead one fails the run before its first model; an error about
    one is the sentence naming it."""
    if (dead := checked(env, "silver", spark=True)) is not None:
        return SilverResult(exit_code=1, seconds=dead.seconds, error=dead.error)
    work = work_dir(env, "silver")
    project = env.get("MEDALLION_DBT_PROJECT_DIR") or str(dbt_dir())
    args = [
        "--project-dir",
        project,
        "--profiles-dir",
        str(profiles_dir()),
        "--target",
        "spark",
        # its own target/ (partial parsing survives between runs; bronze and gold use Trino's)
        "--target-path",
        str(work / "target"),
        "--log-path",
        str(work / "logs"),
        "--",
        *extra_dbt_args,
    ]
    result = submit(env, "silver", args, {"DBT_TARGET": "spark"}, echo)
    nodes = _nodes(result.summary)
    return SilverResult(
        exit_code=result.exit_code,
        seconds=result.seconds,
        nodes=nodes,
        error=named(_error(result, "silver"), env, nodes),
        peak_rss_bytes=result.peak_rss_bytes,
        summary=result.summary,
        log_file=result.log_file,
    )


def run_maintenance(
    env: Mapping[str, str],
    retention_days: float = 7.0,
    namespaces: Sequence[str] = ("bronze", "silver"),
    *,
    echo: Callable[[str], None] | None = print,
) -> MaintenanceResult:
    """``spark-apps/maintenance/main.py`` on the stack's Spark: compact, expire snapshots older
    than ``retention_days`` (the current one always stays) and remove orphan files of every
    Iceberg table in ``namespaces``."""
    if (dead := checked(env, "maintenance", spark=True)) is not None:
        return MaintenanceResult(exit_code=1, seconds=dead.seconds, error=dead.error)
    args = ["--retention-days", str(retention_days), "--namespaces", ",".join(namespaces)]
    result = submit(env, "maintenance", args, None, echo)
    return MaintenanceResult(
        exit_code=result.exit_code,
        seconds=result.seconds,
        tables=list((result.summary or {}).get("tables", [])),
        error=_error(result, "maintenance"),
        peak_rss_bytes=result.peak_rss_bytes,
        log_file=result.log_file,
    )
