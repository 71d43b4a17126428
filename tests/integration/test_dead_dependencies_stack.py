"""A dependency down before or during a layer run, on a stack of this module's own: the run ends
non-zero within the test's timeout (its bound), says which component is down and where, and what
was committed before stays as it was.

Each test stops one engine of the stack and starts it again afterwards. The seconds each run
took to fail are recorded (the test's user properties, printed with ``-s``), never asserted: the
bound is the test's timeout.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from medallion import ledger, lock
from medallion.generate import generate
from medallion.load import load_dir
from tests.conftest import REPO, StackHandle

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BRONZE = "iceberg.bronze.brz_orders"


@pytest.fixture(scope="module")
def ran(stack: StackHandle, tmp_path_factory: pytest.TempPathFactory) -> StackHandle:
    """One tiny batch landed and through bronze: committed data for the failed runs to leave."""
    out: Path = tmp_path_factory.mktemp("olist")
    generate(out, scale=0.01, days=1, seed=11, defects=0.0)
    load_dir(stack.env, out)
    stack.cli("run", "bronze")
    return stack


@contextlib.contextmanager
def down(stack: StackHandle, name: str) -> Iterator[None]:
    """``name`` stopped for the block, started again (and ready) after it."""
    component = stack.stack.component(name)
    component.stop()
    try:
        yield
    finally:
        component.start()


def latest_snapshot(stack: StackHandle, table: str) -> object:
    catalog, schema, name = table.split(".")
    return stack.scalar(
        f'select snapshot_id from {catalog}.{schema}."{name}$snapshots" '
        "order by committed_at desc limit 1"
    )


def last_row(stack: StackHandle, layer: str) -> tuple[object, ...] | None:
    rows = stack.sql(
        f"select status, error from {ledger.TABLE} where layer = '{layer}' "
        "order by started_at desc limit 1"
    ).rows
    return rows[0] if rows else None


def timed(run: Callable[[], subprocess.CompletedProcess[str]]) -> tuple[float, str, int]:
    began = time.monotonic()
    done = run()
    return time.monotonic() - began, " ".join((done.stdout + done.stderr).split()), done.returncode


@pytest.mark.timeout(600, func_only=True)
def test_metastore_down_before_bronze(ran: StackHandle, request: pytest.FixtureRequest) -> None:
    snapshot = latest_snapshot(ran, BRONZE)
    with down(ran, "metastore"):
        seconds, said, code = timed(lambda: ran.cli("run", "bronze", check=False))
    request.node.user_properties.append(("seconds_to_fail", round(seconds, 1)))
    print(f"\nmetastore down before bronze: exit {code} after {seconds:.1f}s: {said}")
    assert code == 1, said
    port = ran.stack.cfg.ports["metastore"]
    assert f"the Hive Metastore at thrift://127.0.0.1:{port} is not reachable" in said, said
    assert "Traceback" not in said
    assert latest_snapshot(ran, BRONZE) == snapshot
    status, error = last_row(ran, "bronze") or (None, None)
    assert status == "failed" and "Hive Metastore" in str(error), error


@pytest.mark.timeout(600, func_only=True)
@pytest.mark.parametrize(
    ("name", "component", "address"),
    [("s3", "S3", "S3_ENDPOINT"), ("spark", "Spark", "MEDALLION_SPARK_REMOTE")],
)
def test_a_dependency_down_before_silver(
    ran: StackHandle, request: pytest.FixtureRequest, name: str, component: str, address: str
) -> None:
    """S3, which silver's Spark reads, or the stack's Spark itself: the run fails before its
    first model and says which one is down and where."""
    snapshot = latest_snapshot(ran, BRONZE)
    with down(ran, name):
        seconds, said, code = timed(lambda: ran.cli("run", "silver", check=False))
    request.node.user_properties.append(("seconds_to_fail", round(seconds, 1)))
    print(f"\n{component} down before silver: exit {code} after {seconds:.1f}s: {said}")
    assert code == 1, said
    where = f"{component} at {ran.env[address]}"
    assert f"{where} is not reachable" in said, said
    assert "Traceback" not in said
    assert latest_snapshot(ran, BRONZE) == snapshot
    status, error = last_row(ran, "silver") or (None, None)
    assert status == "failed" and where in str(error), error


@pytest.mark.timeout(900, func_only=True)
def test_metastore_stopped_while_a_bronze_job_runs(
    ran: StackHandle, request: pytest.FixtureRequest
) -> None:
    rows = ran.scalar(f"select count(*) from {BRONZE}")
    env = {**os.environ, **ran.env, "MEDALLION_PIPELINE_ID": "dead-metastore-1"}
    job = subprocess.Popen(
        [sys.executable, "-m", "medallion.run.job", "bronze"],
        env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        # the run has begun once it holds bronze's lease
        while not ran.sql(f"select 1 from {lock.TABLE} where layer = 'bronze'").rows:
            assert job.poll() is None, job.communicate()
            time.sleep(0.5)
        time.sleep(5)
        with down(ran, "metastore"):
            stopped = time.monotonic()
            out, errs = job.communicate(timeout=780)
            seconds = time.monotonic() - stopped
    finally:
        if job.poll() is None:
            job.kill()
            job.communicate()
    said = " ".join((out + errs).split())
    request.node.user_properties.append(("seconds_to_fail", round(seconds, 1)))
    print(f"\nmetastore stopped during a bronze Job: exit {job.returncode} after {seconds:.1f}s")
    assert job.returncode == 1, said
    port = ran.stack.cfg.ports["metastore"]
    assert f"the Hive Metastore at thrift://127.0.0.1:{port} is not reachable" in said, said
    assert "Traceback" not in said
    # a model that finished before the stop re-landed the same batch: the rows are the same
    assert ran.scalar(f"select count(*) from {BRONZE}") == rows
    status, error = last_row(ran, "bronze") or (None, None)
    assert status == "failed" and "Hive Metastore" in str(error), error


@pytest.mark.timeout(600, func_only=True)
def test_postgres_down_before_gold(ran: StackHandle, request: pytest.FixtureRequest) -> None:
    snapshot = latest_snapshot(ran, BRONZE)
    with down(ran, "postgres"):
        seconds, said, code = timed(lambda: ran.cli("run", "gold", check=False))
    request.node.user_properties.append(("seconds_to_fail", round(seconds, 1)))
    print(f"\nPostgreSQL down before gold: exit {code} after {seconds:.1f}s: {said}")
    assert code == 1, said
    port = ran.stack.cfg.ports["postgres"]
    assert f"PostgreSQL (the serving store and run ledger) at 127.0.0.1:{port}" in said, said
    assert "Traceback" not in said
    # the ledger itself was down: gold left no row, and nothing committed moved
    assert last_row(ran, "gold") is None
    assert latest_snapshot(ran, BRONZE) == snapshot
