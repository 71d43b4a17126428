"""The run ledger: one row per layer run in ``serving.audit.pipeline_runs``."""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from medallion import __version__, accounting, lock
from medallion.paths import project_dir
from medallion.run.dbt import LayerResult
from medallion.trino_client import QueryError, Result, query

log = logging.getLogger(__name__)

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


#: The layers whose runs move records on (``medallion.accounting``): after each, the accounts of
#: the batches still open are brought up to date.
ACCOUNTED = ("bronze", "silver")

#: Set in the images (their tag): a pod has no checkout to describe.
CODE_VERSION_ENV = "MEDALLION_CODE_VERSION"


def code_version() -> str:
    """The package version and the checkout's commit (``+dirty`` with local changes), or what
    the image says it was built from."""
    if image := os.environ.get(CODE_VERSION_ENV):
        return f"{__version__}+{image}"
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


def recorded(
    env: Mapping[str, str], layer: str, pipeline_id: str, run: Callable[[], LayerResult]
) -> LayerResult:
    """Run one layer under its lease (``medallion.lock``) and write its row, whatever the
    outcome: ``medallion run`` on the embedded stack and the CronJobs' containers on Kubernetes
    (``medallion.run.job``) both go through here.

    A layer another run holds raises ``LayerBusyError`` before anything runs (and leaves no row). A
    crash of the runner itself is a failed run. A ledger that cannot be written raises: the run
    must not look recorded when it is not. After a bronze or silver run, the per-file accounts of
    the batches still open are brought up to date (``medallion.accounting``).
    """
    run_id = new_id()
    with lock.held(env, layer, run_id, pipeline_id):
        started = dt.datetime.now(dt.UTC)
        began = time.monotonic()
        try:
            result = run()
        except Exception as exc:
            result = LayerResult(
                layer, False, time.monotonic() - began, error=f"{type(exc).__name__}: {exc}"
            )
        record(
            env,
            RunRecord(
                run_id=run_id,
                pipeline_id=pipeline_id,
                layer=layer,
                started_at=started,
                finished_at=dt.datetime.now(dt.UTC),
                status="success" if result.success else "failed",
                rows_written=result.rows_written,
                models=len(result.models),
                error=result.error,
                code_version=code_version(),
            ),
        )
        if layer in ACCOUNTED:
            try:
                accounting.refresh(env)
            except QueryError as exc:  # the run and its row stand; the next run catches up
                log.warning("the batches' accounts were not brought up to date: %s", exc)
    return result


def recent(env: Mapping[str, str], limit: int = 20) -> Result:
    ensure(env)
    return query(
        env,
        "select run_id, layer, started_at, finished_at, status, rows_written, models, "
        f"error, code_version from {TABLE} order by started_at desc limit {int(limit)}",
    )
