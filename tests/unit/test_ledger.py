"""The ledger's pure parts: a run's row kept on disk while the ledger is unreachable, and the row
of a run that died holding its layer."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from medallion import ledger, lock


def _record(run_id: str, minute: int) -> ledger.RunRecord:
    started = dt.datetime(2026, 12, 3, 2, minute, tzinfo=dt.UTC)
    return ledger.RunRecord(
        run_id=run_id,
        pipeline_id="p1",
        layer="bronze",
        started_at=started,
        finished_at=started + dt.timedelta(seconds=42),
        status="failed",
        rows_written=3,
        models=9,
        error="Trino at http://127.0.0.1:18080 is not reachable",
        code_version="0.1.0+abc",
    )


def test_a_kept_row_reads_back_as_it_was_oldest_first(tmp_path: Path) -> None:
    spool = tmp_path / "ledger-spool"
    assert ledger.kept(spool) == []
    later, earlier = _record("b" * 32, 30), _record("a" * 32, 10)
    for rec in (later, earlier):
        ledger.keep(spool, rec)
    assert [rec for _, rec in ledger.kept(spool)] == [earlier, later]
    assert sorted(p.name for p in spool.iterdir()) == [f"{'a' * 32}.json", f"{'b' * 32}.json"]


def test_an_abandoned_run_is_failed_with_its_lease_times_and_holder() -> None:
    acquired = dt.datetime(2026, 12, 3, 1, 0)
    beat = dt.datetime(2026, 12, 3, 1, 5, 20)
    lease = lock.Lease("silver", "r1", "job-7", "pod-x pid 1", acquired, beat)
    rec = ledger.abandoned(lease)
    assert (rec.run_id, rec.pipeline_id, rec.layer, rec.status) == (
        "r1",
        "job-7",
        "silver",
        "failed",
    )
    assert (rec.started_at, rec.finished_at) == (acquired, beat)
    assert rec.error and "pod-x pid 1" in rec.error and "01:05:20" in rec.error
