"""The run ledger: one row per layer run in ``serving.audit.pipeline_runs``."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from medallion import __version__, accounting, lock
from medallion.paths import project_dir
from medallion.run.dbt import LayerResult
from medallion.trino_client import QueryError, Result, UnreachableError, query

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


def recorded_run_ids(env: Mapping[str, str], run_ids: list[str]) -> set[str]:
    if not run_ids:
        return set()
    ensure(env)
    marks = ", ".join("?" * len(run_ids))
    rows = query(env, f"select run_id from {TABLE} where run_id in ({marks})", run_ids).rows
    return {str(r[0]) for r in rows}


def abandoned(lease: lock.Lease) -> RunRecord:
    """The row of a run that held its layer and stopped renewing the lease without recording
    its end (killed with its runner, or its node lost): failed, from its lease's times."""
    return RunRecord(
        run_id=lease.run_id,
        pipeline_id=lease.pipeline_id,
        layer=lease.layer,
        started_at=lease.acquired_at,
        finished_at=lease.heartbeat_at,
        status="failed",
        rows_written=0,
        models=0,
        error=(
            f"abandoned: the run ({lease.holder}) stopped renewing its lease at "
            f"{lease.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC without recording its end (killed, or "
            "its node lost); the next run took the layer over"
        ),
        code_version="unknown",
    )


def keep(spool: Path, rec: RunRecord) -> Path:
    """Keep a run's row in ``spool`` (one JSON file) until ``flush`` can write it."""
    spool.mkdir(parents=True, exist_ok=True)
    path = spool / f"{rec.run_id}.json"
    fields = asdict(rec)
    fields["started_at"] = rec.started_at.isoformat()
    fields["finished_at"] = rec.finished_at.isoformat()
    path.write_text(json.dumps(fields))
    return path


def kept(spool: Path) -> list[tuple[Path, RunRecord]]:
    """The rows ``keep`` left in ``spool``, oldest run first."""
    records = []
    for path in sorted(spool.glob("*.json")) if spool.is_dir() else []:
        fields = json.loads(path.read_text())
        fields["started_at"] = dt.datetime.fromisoformat(fields["started_at"])
        fields["finished_at"] = dt.datetime.fromisoformat(fields["finished_at"])
        records.append((path, RunRecord(**fields)))
    return sorted(records, key=lambda kept: kept[1].started_at)


def flush(env: Mapping[str, str], spool: Path) -> list[RunRecord]:
    """Write the rows kept in ``spool`` (runs that ended while Trino or PostgreSQL was down)
    and give back the leases those runs could not release; return what was written."""
    records = kept(spool)
    if not records:
        return []
    done = recorded_run_ids(env, [r.run_id for _, r in records])
    for path, rec in records:
        if rec.run_id not in done:
            record(env, rec)
        lock.ensure(env)
        lock.release(env, rec.layer, rec.run_id)
        path.unlink()
    return [r for _, r in records]


def recorded(
    env: Mapping[str, str],
    layer: str,
    pipeline_id: str,
    run: Callable[[], LayerResult],
    *,
    spool: Path | None = None,
) -> LayerResult:
    """Run one layer under its lease (``medallion.lock``) and write its row, whatever the
    outcome: ``medallion run`` on the embedded stack and the CronJobs' containers on Kubernetes
    (``medallion.run.job``) both go through here.

    A layer another run holds raises ``LayerBusyError`` before anything runs (and leaves no row). A
    crash of the runner itself is a failed run. A ledger that cannot be written raises: the run
    must not look recorded when it is not; with a ``spool`` folder (the embedded stack's) the row
    is kept there and the next run writes it first (``flush``) and gives back the layer's lease.
    A run that took over the expired lease of a run that never recorded its end writes that
    run's row as failed (``abandoned``). After a bronze or silver run that succeeded, the per-file
    accounts of the batches still open are brought up to date (``medallion.accounting``); a failed
    run leaves them as the last good run made them, since the layer is rerun anyway and a dead
    dependency would only make the refresh wait for it again.
    """
    if spool is not None:
        flush(env, spool)
    run_id = new_id()
    with lock.held(env, layer, run_id, pipeline_id) as taken_over:
        gone = [lease for lease in taken_over if lease.layer == layer]
        done = recorded_run_ids(env, [lease.run_id for lease in gone])
        for lease in gone:
            if lease.run_id not in done:
                record(env, abandoned(lease))
        started = dt.datetime.now(dt.UTC)
        began = time.monotonic()
        try:
            result = run()
        except Exception as exc:
            result = LayerResult(
                layer, False, time.monotonic() - began, error=f"{type(exc).__name__}: {exc}"
            )
        rec = RunRecord(
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
        )
        try:
            record(env, rec)
        except UnreachableError as exc:
            if spool is None:
                raise
            kept = keep(spool, rec)
            raise UnreachableError(
                f"{exc} (the {layer} run {rec.status}"
                + (f": {rec.error[:500]}" if rec.error else "")
                + f"; its ledger row is kept in {kept} and the next run writes it)"
            ) from exc
        if layer in ACCOUNTED and result.success:
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
