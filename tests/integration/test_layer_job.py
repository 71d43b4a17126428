"""The chart's layer containers (``python -m medallion.run.job``) against the real stack: the
same dbt run as ``medallion run``, and its row in the ledger, success or failure."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from medallion import ledger, lock
from medallion.generate import generate
from medallion.load import load_dir
from medallion.run.dbt import LayerResult
from medallion.run.job import REFUSED, committed_since
from tests.conftest import REPO, StackHandle

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def job(stack: StackHandle, pipeline_id: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The container's command with the pod's environment: the stack's endpoints, the Job name."""
    env = {**os.environ, **stack.env, "MEDALLION_PIPELINE_ID": pipeline_id}
    return subprocess.run(
        [sys.executable, "-m", "medallion.run.job", *args],
        env=env, capture_output=True, text=True, check=False, cwd=REPO, timeout=1200,
    )  # fmt: skip


def rows_of(stack: StackHandle, pipeline_id: str) -> list[tuple[object, ...]]:
    return stack.sql(
        f"select layer, status, rows_written, models, error from {ledger.TABLE} "
        f"where pipeline_id = '{pipeline_id}' order by started_at"
    ).rows


@pytest.fixture(scope="module")
def landed(stack: StackHandle, tmp_path_factory: pytest.TempPathFactory) -> StackHandle:
    out: Path = tmp_path_factory.mktemp("olist")
    generate(out, scale=0.01, days=1, seed=5, defects=0.0)
    load_dir(stack.env, out)
    return stack


def test_a_layer_job_runs_dbt_and_records_its_run(landed: StackHandle) -> None:
    done = job(landed, "bronze-manual-1", "bronze")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "bronze: ok" in done.stdout
    ((layer, status, rows, models, error),) = rows_of(landed, "bronze-manual-1")
    assert (layer, status, error) == ("bronze", "success", None)
    assert isinstance(rows, int) and rows > 0 and isinstance(models, int) and models > 0
    assert landed.scalar("select count(*) from iceberg.bronze.brz_orders") > 0
    # the run brought the batch's per-file accounts up to date: in bronze, not yet in silver
    files = landed.sql(
        "select table_name, records, bronze_rows, unprocessed from serving.audit.batch_files"
    ).rows
    assert len(files) == 9
    for table, records, bronze_rows, unprocessed in files:
        assert records == bronze_rows == unprocessed > 0, table


def test_a_failed_layer_job_exits_non_zero_and_records_the_error(landed: StackHandle) -> None:
    # gold before silver ever ran: its models cannot read silver's tables
    done = job(landed, "gold-manual-1", "gold")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "gold: FAILED" in done.stdout
    ((layer, status, _, _, error),) = rows_of(landed, "gold-manual-1")
    assert (layer, status) == ("gold", "failed")
    assert isinstance(error, str) and "silver" in error, error


def test_a_layer_job_refuses_arguments_it_does_not_take(landed: StackHandle) -> None:
    done = job(landed, "bronze-manual-2", "bronze", "--template", "x.yaml")
    assert done.returncode == 2 and "unexpected arguments" in done.stderr
    assert rows_of(landed, "bronze-manual-2") == []


def test_a_layer_another_run_holds_is_refused_at_once(landed: StackHandle) -> None:
    """The lease of medallion.lock: the second run of a layer, from a Job or from the CLI, is
    refused before it starts, naming the run that holds the layer; nothing is recorded."""
    with lock.held(landed.env, "gold", "run-that-holds-gold", "pipeline-x"):
        done = job(landed, "gold-manual-2", "gold")
        assert done.returncode == REFUSED, done.stdout + done.stderr
        assert "run-that-holds-gold" in done.stderr and "refused" in done.stderr
        cli = landed.cli("run", "gold", check=False)
        assert cli.returncode != 0
        message = " ".join((cli.stdout + cli.stderr).split())
        assert "refused" in message and "run-that-holds-gold" in message, message
    assert rows_of(landed, "gold-manual-2") == []
    assert landed.sql(f"select count(*) from {lock.TABLE}").rows == [(0,)]


def test_a_dead_runs_lease_expires(landed: StackHandle) -> None:
    env = landed.env
    lock.ensure(env)
    landed.sql(
        f"insert into {lock.TABLE} values ('silver', 'dead-run', 'p', 'gone pid 1', "
        f"{lock.NOW} - interval '1' hour, {lock.NOW} - interval '{lock.EXPIRY_SECONDS + 5}' second)"
    )
    with lock.held(env, "silver", "next-run", "p2") as taken:  # the dead run's lease
        assert [(t.run_id, t.holder) for t in taken] == [("dead-run", "gone pid 1")]
        holders = landed.sql(f"select run_id from {lock.TABLE} where layer = 'silver'").rows
        assert holders == [("next-run",)]
        with pytest.raises(lock.LayerBusyError, match="next-run"):
            lock.acquire(env, "silver", "third-run", "p3")
    assert landed.sql(f"select count(*) from {lock.TABLE}").rows == [(0,)]


def test_the_run_that_takes_a_dead_runs_layer_records_it_as_failed(landed: StackHandle) -> None:
    """A run killed with its runner never wrote its row; the run that takes its expired lease
    over writes it, failed, naming the holder, and then its own."""
    env = landed.env
    lock.ensure(env)
    landed.sql(
        f"insert into {lock.TABLE} values ('gold', 'killed-run', 'job-killed', 'pod-y pid 7', "
        f"{lock.NOW} - interval '1' hour, {lock.NOW} - interval '{lock.EXPIRY_SECONDS + 5}' second)"
    )
    done = ledger.recorded(env, "gold", "job-next", lambda: LayerResult("gold", True, 0.1))
    assert done.success
    rows = landed.sql(
        "select pipeline_id, status, error from serving.audit.pipeline_runs "
        "where pipeline_id in ('job-killed', 'job-next') order by started_at"
    ).rows
    assert [(p, s) for p, s, _ in rows] == [("job-killed", "failed"), ("job-next", "success")]
    assert "abandoned" in rows[0][2] and "pod-y pid 7" in rows[0][2], rows[0][2]


def test_two_runs_starting_together_get_one_lease(landed: StackHandle) -> None:
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def take(run_id: str) -> None:
        barrier.wait()
        try:
            lock.acquire(landed.env, "bronze", run_id, "p")
            outcomes[run_id] = "held"
        except lock.LayerBusyError:
            outcomes[run_id] = "refused"

    threads = [threading.Thread(target=take, args=(f"run-{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(outcomes.values()) == ["held", "refused"], outcomes
    (winner,) = [r for r, o in outcomes.items() if o == "held"]
    lock.release(landed.env, "bronze", winner)


def test_no_credential_on_a_command_line_or_in_a_log(landed: StackHandle) -> None:
    """After the stack started and layers ran: no generated credential is visible in any
    process's command line (``ps`` shows them to every user) or in the stack's logs. The S3
    access key is an identifier, like a user name (Trino logs it among its settings and masks the
    secret key); it must still stay off command lines."""
    cfg = landed.stack.cfg
    creds = cfg.credentials()
    secrets = [
        *(v for v in dataclasses.asdict(creds).values() if isinstance(v, str)),
        *creds.trino_passwords.values(),
    ]
    secrets.remove(creds.s3_access_key)
    values = [creds.s3_access_key, *secrets]
    assert len(values) == 6 + len(creds.trino_passwords) and all(len(v) >= 12 for v in values)
    seen = 0
    for proc in psutil.process_iter(["pid", "name", "cmdline"]):
        line = " ".join(proc.info["cmdline"] or [])
        seen += str(cfg.home) in line or str(cfg.ports["s3"]) in line
        leaked = [v[:4] + "..." for v in values if v in line]
        assert not leaked, f"pid {proc.info['pid']} ({proc.info['name']}) shows {leaked}"
    assert seen >= 3, "the stack's own processes were not among those checked"
    logs = sorted(p for p in cfg.logs.rglob("*") if p.is_file())
    assert logs
    for path in logs:
        text = path.read_text(errors="replace")
        assert not [v for v in secrets if v in text], f"{path.name} holds a credential"


def test_rows_committed_since_count_every_kind_of_snapshot(landed: StackHandle) -> None:
    """What silver's Job records as rows written: the records its Iceberg commits added; a
    commit that added none (a delete, a merge that only rewrote) counts zero, not an error."""
    env = landed.env
    landed.sql("create schema if not exists iceberg.commits_probe")
    landed.sql("create table iceberg.commits_probe.t (k int)")
    landed.sql("create table iceberg.commits_probe.untouched (k int)")
    since = dt.datetime.now(dt.UTC)
    landed.sql("insert into iceberg.commits_probe.t values 1, 2, 3")
    landed.sql("delete from iceberg.commits_probe.t where k = 2")
    try:
        nodes = committed_since(env, "iceberg.commits_probe", since)
        assert [(n.name, n.rows) for n in nodes] == [("t", 3)]
    finally:
        landed.sql("drop table iceberg.commits_probe.t")
        landed.sql("drop table iceberg.commits_probe.untouched")
        landed.sql("drop schema iceberg.commits_probe")


def test_a_terminated_layer_job_gives_its_lease_back(landed: StackHandle) -> None:
    """A deleted Job's pod gets SIGTERM: the run unwinds and the layer is free at once, not
    after the lease's expiry."""
    lock.ensure(landed.env)
    env = {**os.environ, **landed.env, "MEDALLION_PIPELINE_ID": "bronze-terminated"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "medallion.run.job", "bronze", "--skip-freshness"],
        env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        held = []
        for _ in range(120):
            held = landed.sql(f"select run_id from {lock.TABLE} where layer = 'bronze'").rows
            if held or proc.poll() is not None:
                break
            time.sleep(0.5)
        assert held, "the job never took bronze's lease"
        proc.terminate()
        assert proc.wait(timeout=120) == 128 + signal.SIGTERM
    finally:
        proc.kill()
        proc.communicate()
    assert landed.sql(f"select count(*) from {lock.TABLE} where layer = 'bronze'").rows == [(0,)]
