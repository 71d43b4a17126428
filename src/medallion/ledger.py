"""The run ledger: one row per layer run in ``serving.audit.pipeline_runs``."""

from __future__ import annotations

import datetime as dt
import subprocess
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from medallion import __version__
from medallion.paths import project_dir
from medallion.trino_client import Result, query

TABLE = "serving.audit.pipeline_runs"
COLUMNS = (
    "run_id varchar, pipeline_id varchar, layer varchar, started_at timestamp(6), "
    "finished_at timestamp(6), status varchar, rows_written bigint, models integer, "
    "error varchar, code_version varchar"
)


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    pipeline_id: str
    layer: str
    started_at: dt.datetime
    finished_at: dt.datetime
    status: str  # success or failed
    rows_written: int
    models: int
    error: str | None
    code_version: str


def code_version() -> str:
    """The package version and the checkout's commit (``+dirty`` with local changes)."""
    try:
        sha = subprocess.run(
            ["git", "-C", str(project_dir()), "describe", "--always", "--dirty=+dirty"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return __version__
    return f"{__version__}+{sha}" if sha else __version__


def new_id() -> str:
    return uuid.uuid4().hex


def ensure(env: Mapping[str, str]) -> None:
    query(env, "create schema if not exists serving.audit")
    query(env, f"create table if not exists {TABLE} ({COLUMNS})")


def record(env: Mapping[str, str], rec: RunRecord) -> None:
    ensure(env)
    query(
        env,
        f"insert into {TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            rec.run_id,
            rec.pipeline_id,
            rec.layer,
            rec.started_at.replace(tzinfo=None),
            rec.finished_at.replace(tzinfo=None),
            rec.status,
            rec.rows_written,
            rec.models,
            (rec.error or "")[:4000] or None,
            rec.code_version,
        ],
    )


def recent(env: Mapping[str, str], limit: int = 20) -> Result:
    ensure(env)
    return query(
        env,
        "select run_id, layer, started_at, finished_at, status, rows_written, models, "
        f"error, code_version from {TABLE} order by started_at desc limit {int(limit)}",
    )
