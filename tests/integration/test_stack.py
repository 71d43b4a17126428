"""The embedded stack: engines up, catalogs shared between Trino and Spark, lifecycle, ports."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil
import pytest

from medallion.s3 import s3_client
from medallion.stack import Stack, StackConfig
from medallion.stack.process import alive
from tests.conftest import StackHandle, free_port

pytestmark = pytest.mark.integration


def test_status_reports_every_component_ready(stack: StackHandle) -> None:
    result = stack.cli("stack", "status", "--format", "json")
    states = {row["component"]: row["state"] for row in map(json.loads, result.stdout.splitlines())}
    assert states == dict.fromkeys(["postgres", "s3", "metastore", "trino", "spark"], "ready")


def loopback(ip: str) -> bool:
    address = ipaddress.ip_address(ip)
    mapped = getattr(address, "ipv4_mapped", None)  # a JVM's IPv4 socket shows as ::ffff:a.b.c.d
    return (mapped or address).is_loopback


def test_every_engine_listens_on_loopback_only(stack: StackHandle) -> None:
    """The stack's engines serve this host's own processes: each listens on its ports, on
    loopback and nowhere else (a listener on every interface would serve the host's network)."""
    for comp in stack.stack.components:
        pid = comp.pid()
        assert pid is not None, comp.name
        root = psutil.Process(pid)
        listening = {
            (conn.laddr.ip, conn.laddr.port)
            for proc in [root, *root.children(recursive=True)]
            for conn in proc.net_connections(kind="inet")
            if conn.status == psutil.CONN_LISTEN
        }
        assert all(loopback(ip) for ip, _ in listening), (comp.name, listening)
        ports = {stack.stack.cfg.ports[key] for key in comp.ports}
        assert ports <= {port for _, port in listening}, (comp.name, listening)


def test_trino_table_is_read_by_spark_and_spark_table_by_trino(
    stack: StackHandle, spark: Any
) -> None:
    stack.sql("create schema if not exists iceberg.interop")
    stack.sql("drop table if exists iceberg.interop.from_trino")
    stack.sql(
        "create table iceberg.interop.from_trino as "
        "select * from (values (1, 'a'), (2, 'b'), (3, 'c')) as v(id, name)"
    )
    rows = spark.sql("select id, name from iceberg.interop.from_trino order by id").collect()
    assert [(r.id, r.name) for r in rows] == [(1, "a"), (2, "b"), (3, "c")]

    spark.sql("drop table if exists iceberg.interop.from_spark")
    spark.sql("create table iceberg.interop.from_spark (id bigint, label string) using iceberg")
    spark.sql("insert into iceberg.interop.from_spark values (10, 'x'), (20, 'y')")
    result = stack.sql("select id, label from iceberg.interop.from_spark order by id")
    assert result.rows == [(10, "x"), (20, "y")]

    s3 = s3_client(stack.env)
    keys = [
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket="warehouse")
        for o in page.get("Contents", [])
    ]
    for table in ("from_trino", "from_spark"):
        data = [k for k in keys if f"interop.db/{table}" in k and k.endswith(".parquet")]
        assert data, f"no parquet data file of {table} under s3://warehouse/: {keys[:20]}"


def test_serving_table_written_through_trino_is_visible_in_psql(stack: StackHandle) -> None:
    stack.sql("create schema if not exists serving.probe")
    stack.sql("drop table if exists serving.probe.kpi")
    stack.sql("create table serving.probe.kpi as select 42 as answer, 'yes' as ok")
    env = stack.env
    out = subprocess.run(
        [
            "psql",
            "-h",
            env["SERVING_DB_HOST"],
            "-p",
            env["SERVING_DB_PORT"],
            "-U",
            env["SERVING_DB_USER"],
            "-d",
            env["SERVING_DB_NAME"],
            "-At",
            "-c",
            "select answer, ok from probe.kpi",
        ],
        env={**os.environ, "PGPASSWORD": env["SERVING_DB_PASSWORD"]},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "42|yes"


def test_csv_under_landing_prefix_is_queryable_through_landing(stack: StackHandle) -> None:
    s3 = s3_client(stack.env)
    body = 'id,city\n1,sao paulo\n2,"rio, de janeiro"\n'
    s3.put_object(
        Bucket="warehouse", Key="landing/probe/cities/batch_id=b1/cities.csv", Body=body.encode()
    )
    stack.sql(
        "create schema if not exists landing.probe with (location = 's3://warehouse/landing/probe/')"
    )
    stack.sql("drop table if exists landing.probe.cities")
    stack.sql(
        "create table landing.probe.cities (id varchar, city varchar, batch_id varchar) with ("
        "format = 'CSV', skip_header_line_count = 1, partitioned_by = array['batch_id'], "
        "external_location = 's3://warehouse/landing/probe/cities/')"
    )
    stack.sql("call landing.system.sync_partition_metadata('probe', 'cities', 'ADD')")
    result = stack.sql("select id, city, batch_id from landing.probe.cities order by id")
    assert result.rows == [("1", "sao paulo", "b1"), ("2", "rio, de janeiro", "b1")]


def _pids(stack: StackHandle) -> dict[str, int]:
    return {s.name: s.pid for s in stack.stack.status() if s.pid is not None}


def test_down_then_up_keeps_data_and_up_twice_is_a_noop(stack: StackHandle) -> None:
    stack.sql("create schema if not exists iceberg.durable")
    stack.sql("drop table if exists iceberg.durable.keep")
    stack.sql("create table iceberg.durable.keep as select 7 as n")
    before = _pids(stack)
    assert len(before) == len(stack.stack.components)

    assert stack.stack.up() == {}, "up on a running stack must start nothing"
    assert _pids(stack) == before

    engines = sorted(comp.name for comp in stack.stack.components)
    assert engines == ["metastore", "postgres", "s3", "spark", "trino"]
    stopped = stack.stack.down()
    assert sorted(stopped) == engines
    for name, pid in before.items():
        assert not alive(pid), f"{name} (pid {pid}) still runs after down"
    status = stack.cli("stack", "status", check=False)
    assert status.returncode == 1

    started = stack.stack.up()
    assert sorted(started) == engines
    assert stack.scalar("select n from iceberg.durable.keep") == 7


def test_taken_port_is_a_clear_error_naming_port_and_component(
    stack: StackHandle, tmp_path: Path
) -> None:
    stack.stack.up()  # whatever an earlier test left, the stack holds its ports now
    trino_port = stack.stack.cfg.ports["trino"]
    other = {**stack.cli_env(), "MEDALLION_HOME": str(tmp_path / "other")}
    for name in ("postgres", "s3", "metastore"):
        other[f"MEDALLION_{name.upper()}_PORT"] = str(free_port())
    try:
        result = subprocess.run(
            [*_medallion(), "stack", "up"],
            env={**os.environ, **other},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:  # never leave a second stack running, whatever happened
        ports = {n: int(other[f"MEDALLION_{n.upper()}_PORT"]) for n in stack.stack.cfg.ports}
        Stack(StackConfig(home=tmp_path / "other", ports=ports)).down()
    assert result.returncode != 0
    message = " ".join(result.stderr.split())
    assert f"port {trino_port} (trino) is already in use" in message
    assert not (tmp_path / "other" / "run").exists() or not any(
        (tmp_path / "other" / "run").iterdir()
    ), "nothing may start when a port is taken"


def _medallion() -> list[str]:
    return [sys.executable, "-m", "medallion"]
