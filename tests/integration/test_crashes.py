"""Crash safety on the real stack: kill -9 the engine that is writing, restart, rerun.

One stack and three daily batches. The first batch runs cleanly through every layer. Then each
layer's run is killed where it writes: ``medallion load`` halfway through batch 2, Trino while
bronze takes batch 2 in, the Hive Metastore while bronze commits batch 3, the stack's Spark while
silver merges batches 2 and 3, Trino while gold rebuilds the marts. After each kill the stack is
restarted (``medallion up`` starts what is not running) and the layer is run again, as an
operator would. At the end every table must hold exactly what a clean run over the same batches
gives: bronze as rebuilt from landing (``--full-refresh``), silver as reprocessed from bronze,
gold as the independent reference computation; and the ledger shows each killed run as failed,
with its error.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest

from medallion.generate import generate
from medallion.load import load_dir
from medallion.run.dbt import run_layer
from medallion.run.silver import run_silver
from medallion.s3 import s3_client
from medallion.stack.engines import metastore
from tests.conftest import REPO, StackHandle

from . import reference
from .tables import contents
from .test_gold import MARTS, gold_rows

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@dataclass
class World:
    stack: StackHandle
    data: Path
    batches: list[str]
    #: what each kill left: the CLI's exit code and output, and the ledger row of the killed run
    outcomes: dict[str, dict[str, Any]] = field(default_factory=dict)


def start_cli(stack: StackHandle, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "medallion", *args],
        env={**os.environ, **stack.cli_env()},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )


def wait_for(
    what: str, check: Callable[[], bool], proc: subprocess.Popen[str], timeout: float
) -> None:
    """Poll ``check`` until true; fail if ``proc`` ends first (the kill would come too late)."""
    deadline = time.monotonic() + timeout
    while not check():
        if proc.poll() is not None:
            out, errors = proc.communicate()
            raise AssertionError(f"the run ended before {what}:\n{out}\n{errors}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"no {what} within {timeout} s")
        time.sleep(0.05)


def kill9(pid: int) -> None:
    """SIGKILL, then wait until the process is gone (reaped, if it is a child of the tests)."""
    os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(psutil.NoSuchProcess):
        psutil.Process(pid).wait(timeout=30)


def kill_component(stack: StackHandle, name: str) -> None:
    pid = stack.stack.component(name).pid()
    assert pid is not None, f"{name} is not running"
    kill9(pid)


def finish(proc: subprocess.Popen[str], timeout: float = 300) -> tuple[int, str]:
    """The killed run's exit code and output: it must end by itself, in bounded time."""
    out, errors = proc.communicate(timeout=timeout)
    return proc.returncode, " ".join((out + errors).split())


def restart(stack: StackHandle) -> None:
    """What `medallion up` does: start the components that are not running."""
    stack.stack.up()


def new_snapshot(stack: StackHandle, schema: str, since: float) -> Callable[[], bool]:
    """True once a table of ``schema`` has an Iceberg commit after ``since`` (epoch seconds)."""

    def check() -> bool:
        try:
            # tables only: a view (dbt's temporary relation of a bronze model) has no snapshots
            tables = [
                t
                for (t,) in stack.sql(
                    "select table_name from iceberg.information_schema.tables "
                    f"where table_schema = '{schema}' and table_type = 'BASE TABLE'"
                ).rows
            ]
            parts = " union all ".join(
                f'select committed_at from iceberg.{schema}."{t}$snapshots"' for t in tables
            )
            newest = stack.scalar(f"select to_unixtime(max(committed_at)) from ({parts})")
        except Exception:
            return False
        return newest is not None and float(newest) > since

    return check


def failed_rows(stack: StackHandle, layer: str) -> list[tuple[str, str]]:
    rows = stack.sql(
        "select status, error from serving.audit.pipeline_runs "
        f"where layer = '{layer}' and status = 'failed' order by started_at"
    ).rows
    return [(str(s), str(e)) for s, e in rows]


@pytest.fixture(scope="module")
def world(stack: StackHandle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data = tmp_path_factory.mktemp("olist")
    summary = generate(data, scale=0.01, days=3, seed=23, defects=0.03)
    w = World(stack, data, summary.batches)
    load_dir(stack.env, data, w.batches[0])
    result = stack.cli("run", "all")
    assert "gold: ok" in " ".join(result.stdout.split()), result.stdout
    yield w


def test_a_load_killed_halfway_completes_on_rerun(world: World) -> None:
    stack, batch = world.stack, world.batches[1]
    s3 = s3_client(stack.env)
    bucket = stack.env["S3_BUCKET"]

    def landed_keys() -> list[str]:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="landing/")
        return [
            o["Key"]
            for page in pages
            for o in page.get("Contents", [])
            if f"batch_id={batch}/" in o["Key"]
        ]

    proc = start_cli(stack, "load", str(world.data), "--batch", batch)
    wait_for("the batch's first upload", lambda: bool(landed_keys()), proc, timeout=120)
    proc.kill()  # SIGKILL
    proc.communicate()
    marker = f"landing/olist/_loads/{batch}.json"
    assert marker not in {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
    half = len(landed_keys())

    stack.cli("load", str(world.data), "--batch", batch)  # no --replace: it never finished
    keys = landed_keys()
    world.outcomes["load"] = {"keys_at_kill": half, "keys_after": len(keys)}
    originals = sorted(p.name for p in (world.data / f"batch={batch}").glob("*.csv"))
    # one original and one records copy per file, no leftovers of the killed load
    assert len(keys) == 2 * len(originals), keys
    assert half < len(keys)
    for name in originals:
        table = name.removeprefix("olist_").removesuffix("_dataset.csv").removesuffix(".csv")
        got = stack.scalar(f"select count(*) from landing.olist.{table} where batch_id = '{batch}'")
        lines = (world.data / f"batch={batch}" / name).read_bytes().splitlines()
        assert got == len(lines) - 1, name  # the generated files hold no quoted line breaks


def test_trino_killed_during_bronze(world: World) -> None:
    stack = world.stack
    since = time.time()
    proc = start_cli(stack, "run", "bronze")
    wait_for("a bronze commit", new_snapshot(stack, "bronze", since), proc, timeout=300)
    kill_component(stack, "trino")
    code, said = finish(proc)
    world.outcomes["bronze/trino"] = {"exit": code, "said": said}
    assert code != 0
    assert "Trino at https://" in said and "not reachable" in said, said
    assert "ledger row is kept" in said, said
    restart(stack)
    stack.cli("run", "bronze")
    # the killed run's row, kept while Trino was down, was written by the rerun
    failed = failed_rows(stack, "bronze")
    assert len(failed) == 1 and "not reachable" in failed[0][1], failed
    world.outcomes["bronze/trino"]["ledger"] = failed[0][1][:200]


def test_metastore_killed_during_bronze(world: World) -> None:
    stack = world.stack
    load_dir(stack.env, world.data, world.batches[2])
    since = time.time()
    proc = start_cli(stack, "run", "bronze")
    wait_for("a bronze commit", new_snapshot(stack, "bronze", since), proc, timeout=300)
    kill_component(stack, "metastore")
    code, said = finish(proc)
    world.outcomes["bronze/metastore"] = {"exit": code, "said": said[-400:]}
    assert code != 0, said
    restart(stack)
    stack.cli("run", "bronze")
    failed = failed_rows(stack, "bronze")
    assert len(failed) == 2 and failed[1][1], failed
    world.outcomes["bronze/metastore"]["ledger"] = failed[1][1][:200]


def test_spark_killed_during_silver(world: World) -> None:
    stack = world.stack
    since = time.time()
    proc = start_cli(stack, "run", "silver")
    wait_for("a silver commit", new_snapshot(stack, "silver", since), proc, timeout=600)
    kill_component(stack, "spark")
    code, said = finish(proc)
    world.outcomes["silver/spark"] = {"exit": code, "said": said[-400:]}
    assert code != 0 and "Spark at sc://" in said and "not reachable" in said, said
    failed = failed_rows(stack, "silver")
    assert len(failed) == 1 and "Spark at sc://" in failed[0][1], failed
    world.outcomes["silver/spark"]["ledger"] = failed[0][1][:200]
    restart(stack)
    stack.cli("run", "silver")


def test_trino_killed_during_gold(world: World) -> None:
    stack = world.stack

    def gold_running() -> bool:
        try:
            return bool(
                stack.sql(
                    "select 1 from system.runtime.queries where state = 'RUNNING' "
                    'and lower(query) like \'%"serving"."gold".%\' '
                    "and query not like '%system.runtime.queries%'"
                ).rows
            )
        except Exception:
            return False

    proc = start_cli(stack, "run", "gold")
    wait_for("a gold statement", gold_running, proc, timeout=300)
    kill_component(stack, "trino")
    code, said = finish(proc)
    world.outcomes["gold/trino"] = {"exit": code, "said": said[-400:]}
    assert code != 0 and "not reachable" in said, said
    restart(stack)
    stack.cli("run", "gold")
    failed = failed_rows(stack, "gold")
    assert len(failed) == 1 and "not reachable" in failed[0][1], failed


def test_every_table_holds_what_a_clean_run_gives(world: World) -> None:
    """After the kills and reruns: bronze equals its rebuild from landing, silver its
    reprocessing from bronze, gold the reference computation over the same batches."""
    stack = world.stack
    bronze = contents(stack, "bronze")
    silver = contents(stack, "silver")
    reprocess = ["--vars", "{silver_reprocess: true}", "--resource-type", "model"]
    again = run_silver(stack.env, extra_dbt_args=reprocess, echo=None)
    assert again.success, f"silver failed: {again.error} (log: {again.log_file})"
    assert contents(stack, "silver") == silver
    rebuilt = run_layer(stack.env, "bronze", ["--full-refresh"], freshness=False)
    assert rebuilt.success, rebuilt.error
    assert contents(stack, "bronze") == bronze
    expected = reference.gold(reference.silver(world.data, world.batches))
    for mart in MARTS:
        assert gold_rows(stack.env, mart) == expected[mart], mart
    print(json.dumps(world.outcomes, indent=1))


def test_a_lock_a_killed_writer_left_expires(world: World) -> None:
    """A writer killed while it commits leaves its table's lock in the metastore, and the next
    commit to that table waits for it (Trino gives up after 10 minutes). The metastore expires a
    lock nobody heartbeats (metastore-site.xml: its lock housekeeper), so the next commit goes
    through. The lock is planted as a killed writer leaves it: acquired, exclusive, its last
    heartbeat ten minutes old."""
    stack = world.stack
    env = stack.env
    stack.sql("create table iceberg.bronze.lock_probe (x integer)")
    try:
        with metastore.database(env, autocommit=True) as db:
            stale = int((time.time() - 600) * 1000)
            db.execute(
                'insert into "HIVE_LOCKS" ("HL_LOCK_EXT_ID", "HL_LOCK_INT_ID", "HL_TXNID", '
                '"HL_DB", "HL_TABLE", "HL_LOCK_STATE", "HL_LOCK_TYPE", "HL_LAST_HEARTBEAT", '
                '"HL_ACQUIRED_AT", "HL_USER", "HL_HOST") '
                "select \"NL_NEXT\", 1, 0, 'bronze', 'lock_probe', 'a', 'e', %s, %s, "
                "'killed', 'killed' from \"NEXT_LOCK_ID\"",
                (stale, stale),
            )
            db.execute('update "NEXT_LOCK_ID" set "NL_NEXT" = "NL_NEXT" + 1')
            stack.sql("insert into iceberg.bronze.lock_probe values (1)")
            left = db.execute(
                'select count(*) from "HIVE_LOCKS" where "HL_TABLE" = \'lock_probe\''
            ).fetchone()
        assert stack.scalar("select count(*) from iceberg.bronze.lock_probe") == 1
        assert left == (0,)
    finally:
        stack.sql("drop table if exists iceberg.bronze.lock_probe")
