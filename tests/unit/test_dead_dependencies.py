"""A run whose query engine is down ends at once, non-zero, naming Trino and its address; no
traceback. No service runs here: the stack's configuration points at ports nobody listens on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from medallion import dependencies
from medallion.run.dbt import NodeResult, named
from medallion.stack import StackConfig
from medallion.stack.engines import default_ports
from tests.conftest import REPO, free_port


def _run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *argv], env={**os.environ, **env, "COLUMNS": "200"},
        capture_output=True, text=True, check=False, cwd=REPO, timeout=300,
    )  # fmt: skip


@pytest.fixture
def dead_stack(tmp_path: Path) -> StackConfig:
    ports = {name: free_port() for name in default_ports()}
    cfg = StackConfig(home=tmp_path / "stack", ports=ports)
    cfg.save()
    return cfg


def test_medallion_run_with_trino_down_names_it(dead_stack: StackConfig) -> None:
    env = {"MEDALLION_HOME": str(dead_stack.home)}
    env.update({f"MEDALLION_{n.upper()}_PORT": str(p) for n, p in dead_stack.ports.items()})
    done = _run(["medallion", "run", "gold"], env)
    assert done.returncode == 1, done.stdout + done.stderr
    message = " ".join(done.stderr.split())
    address = f"Trino at https://127.0.0.1:{dead_stack.ports['trino_https']} is not reachable"
    assert "gold could not run" in message and address in message, message
    assert "Traceback" not in done.stderr


def test_a_layer_job_with_trino_down_names_it(dead_stack: StackConfig) -> None:
    done = _run(["medallion.run.job", "bronze"], dead_stack.env())
    assert done.returncode == 1, done.stdout + done.stderr
    address = f"Trino at https://127.0.0.1:{dead_stack.ports['trino_https']} is not reachable"
    assert "bronze could not run" in done.stderr and address in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


# What Trino and Spark say when a dependency is down (texts seen on the embedded stack), and the
# sentence each becomes: the component and its address, from the environment or the text.

ENV = {
    "TRINO_HOST": "127.0.0.1",
    "TRINO_PORT": "18080",
    "S3_ENDPOINT": "http://127.0.0.1:19000",
    "HIVE_METASTORE_URI": "thrift://127.0.0.1:19083",
    "SERVING_DB_HOST": "127.0.0.1",
    "SERVING_DB_PORT": "15432",
    "METASTORE_DB_HOST": "127.0.0.1",
    "METASTORE_DB_PORT": "15432",
    "MEDALLION_SPARK_REMOTE": "sc://127.0.0.1:15102",
}


@pytest.mark.parametrize(
    ("text", "component", "where"),
    [
        (
            "HIVE_METASTORE_ERROR: Error listing schemas for catalog iceberg: Failed connecting "
            "to Hive metastore: [127.0.0.1:19083]",
            dependencies.METASTORE,
            "thrift://127.0.0.1:19083",
        ),
        (
            "GENERIC_INTERNAL_ERROR: Error listing tables for catalog landing: "
            "io.trino.spi.TrinoException: Failed connecting to Hive metastore: [127.0.0.1:19083]",
            dependencies.METASTORE,
            "thrift://127.0.0.1:19083",
        ),
        (
            "HIVE_METASTORE_ERROR: Error listing schemas for catalog iceberg: 127.0.0.1:19083: "
            "java.net.SocketTimeoutException: Read timed out",
            dependencies.METASTORE,
            "thrift://127.0.0.1:19083",
        ),
        (
            "org.apache.hadoop.hive.metastore.api.MetaException: Could not connect to meta store "
            "using any of the URIs provided. Most recent failure: "
            "org.apache.thrift.transport.TTransportException: java.net.ConnectException",
            dependencies.METASTORE,
            "thrift://127.0.0.1:19083",
        ),
        (
            "HIVE_FILESYSTEM_ERROR: Failed to list directory: "
            "s3://warehouse/landing/olist/orders/batch_id=2018-01-01",
            dependencies.S3,
            "http://127.0.0.1:19000",
        ),
        (
            "software.amazon.awssdk.core.exception.SdkClientException: Unable to execute HTTP "
            "request: Connect to 127.0.0.1:19000 [/127.0.0.1] failed: Connection refused",
            dependencies.S3,
            "http://127.0.0.1:19000",
        ),
        (
            "JDBC_ERROR: Error listing schemas for catalog serving: Connection to 127.0.0.1:15432 "
            "refused. Check that the hostname and port are correct and that the postmaster is "
            "accepting TCP/IP connections.",
            dependencies.SERVING,
            "127.0.0.1:15432",
        ),
        (
            "HIVE_METASTORE_ERROR: MetaException(message:javax.jdo.JDOFatalDataStoreException: "
            "Unable to open a test connection to the given database. JDBC url = "
            "jdbc:postgresql://127.0.0.1:15432/metastore, username = metastore.",
            dependencies.METASTORE_DB,
            "127.0.0.1:15432",
        ),
        (  # the Spark Connect client's words once the stack's Spark died under a model (seen)
            "model int_orders_checked error: Compilation Error in model int_orders_checked "
            "(models/silver/intermediate/int_orders_checked.sql) [RETRIES_EXCEEDED] The maximum "
            "number of retries has been exceeded.",
            dependencies.SPARK,
            "sc://127.0.0.1:15102",
        ),
        (  # dbt-trino's words when Trino is down as a model starts (seen: Trino killed in bronze)
            "model brz_order_items failed: Database Error in model brz_order_items "
            "(models/bronze/brz_order_items.sql)\n  failed to execute: HTTPConnectionPool("
            "host='127.0.0.1', port=18080): Max retries exceeded with url: /v1/statement (Caused "
            "by NewConnectionError(\"HTTPConnection(host='127.0.0.1', port=18080): Failed to "
            'establish a new connection: [Errno 111] Connection refused"))',
            dependencies.TRINO,
            "http://127.0.0.1:18080",
        ),
        (  # ... and when it dies under a running statement (seen: Trino killed in gold)
            "Database Error in model gld_delivery_by_state (models/gold/gld_delivery_by_state.sql)"
            "\n  failed to fetch: ('Connection aborted.', RemoteDisconnected('Remote end closed "
            "connection without response'))",
            dependencies.TRINO,
            "http://127.0.0.1:18080",
        ),
    ],
)
def test_an_outage_is_named_with_its_address(text: str, component: str, where: str) -> None:
    assert dependencies.component_of(text) == component
    said = dependencies.describe(text, ENV)
    assert said is not None and said.startswith(f"{component} at {where} is not reachable: ")


def test_without_the_environment_the_address_comes_from_the_text() -> None:
    # a dbt Job's pod talks to Trino only: it has no S3 or PostgreSQL variables
    pg = "JDBC_ERROR: Connection to serving-db.data:5432 refused. Check the postmaster."
    assert dependencies.describe(pg, {}) == (
        f"{dependencies.SERVING} at serving-db.data:5432 is not reachable: {pg}"
    )
    hms = "HIVE_METASTORE_ERROR: Failed connecting to Hive metastore: [hms.data.svc:9083]"
    said = dependencies.describe(hms, {})
    assert said is not None and said.startswith(f"{dependencies.METASTORE} at hms.data.svc:9083 ")
    s3 = "HIVE_FILESYSTEM_ERROR: Failed to list directory: s3://warehouse/landing/olist/orders"
    said = dependencies.describe(s3, {})
    assert said is not None and said.startswith("S3 at the address in Trino's catalog ")
    trino = "failed to execute: HTTPConnectionPool(host='trino', port=8080): Max retries exceeded"
    said = dependencies.describe(trino, {})
    assert said is not None and said.startswith(f"{dependencies.TRINO} at trino:8080 ")


@pytest.mark.parametrize(
    "text",
    [
        "SYNTAX_ERROR: line 1:8: Column 'x' cannot be resolved",
        "CONSTRAINT_VIOLATION: duplicate key value violates unique constraint",
        "test not_null_brz_orders_order_id failed: Got 3 results, configured to fail if != 0",
        "TABLE_NOT_FOUND: Table 'iceberg.silver.slv_orders' does not exist",
    ],
)
def test_other_errors_are_left_as_they_are(text: str) -> None:
    assert dependencies.describe(text, ENV) is None
    assert named(text, ENV) == text


def test_a_long_error_is_cut_to_one_line() -> None:
    text = "HIVE_METASTORE_ERROR: Failed connecting to Hive metastore: [h:9083] " + "x " * 400
    said = dependencies.describe(text, ENV)
    assert said is not None and "\n" not in said and said.endswith("...")


def test_a_silver_error_is_named_from_its_failed_nodes() -> None:
    # silver's error lists the failed models; the cause is deep in a node's Java stack trace
    trace = (
        "Runtime Error in model int_orders_checked (models/silver/int_orders_checked.sql)\n"
        "  An error occurred while calling o73.sql.\n"
        "  : java.lang.RuntimeException: Failed to get table info from metastore bronze.x\n"
        "  \tat org.apache.iceberg.hive.HiveTableOperations.doRefresh(HiveTableOperations.java:1)\n"
        "  Caused by: MetaException(message:Could not connect to meta store using any of the URIs"
        " provided. Most recent failure: org.apache.thrift.transport.TTransportException: "
        "java.net.ConnectException: Connection refused\n"
        "  \tat org.apache.hadoop.hive.metastore.HiveMetaStoreClient.open(X.java:1)"
    )
    nodes = [
        NodeResult("int_customers_checked", "model", "success", 1.0, 5, None),
        NodeResult("int_orders_checked", "model", "error", 1.0, None, trace),
    ]
    said = named("model int_orders_checked: error", ENV, nodes)
    assert said == (
        f"{dependencies.METASTORE} at thrift://127.0.0.1:19083 is not reachable: Caused by: "
        "MetaException(message:Could not connect to meta store using any of the URIs provided. "
        "Most recent failure: org.apache.thrift.transport.TTransportException: "
        "java.net.ConnectException: Connection refused"
    )
    assert named("model int_orders_checked: error", ENV, nodes[:1]) == (
        "model int_orders_checked: error"
    )
