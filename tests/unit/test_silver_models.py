"""A local Spark session without the stack, bronze-shaped input tables, and in-process dbt runs
of silver's models, for the unit tests of the silver transformations.

The session has an Iceberg catalog ``iceberg`` of type hadoop in a temporary folder (the default
catalog, like the shared conf), so silver's models run unchanged: dbt-spark's ``method: session``
picks this session up. Bronze tables are written the way bronze's contract describes them: typed
columns, ``_raw_record`` (JSON of the landed strings), ``_parse_errors``, ``_malformed`` and
``_row_hash`` (sha256 of the raw record).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pytest

from medallion.paths import charts_file, project_dir

pytestmark = pytest.mark.slow

#: Bronze's typed columns per table (the bronze contract).
BRONZE: dict[str, list[tuple[str, str]]] = {
    "brz_orders": [
        ("order_id", "string"),
        ("customer_id", "string"),
        ("order_status", "string"),
        ("order_purchase_timestamp", "timestamp"),
        ("order_approved_at", "timestamp"),
        ("order_delivered_carrier_date", "timestamp"),
        ("order_delivered_customer_date", "timestamp"),
        ("order_estimated_delivery_date", "timestamp"),
    ],
    "brz_order_items": [
        ("order_id", "string"),
        ("order_item_id", "int"),
        ("product_id", "string"),
        ("seller_id", "string"),
        ("shipping_limit_date", "timestamp"),
        ("price", "decimal"),
        ("freight_value", "decimal"),
    ],
    "brz_order_payments": [
        ("order_id", "string"),
        ("payment_sequential", "int"),
        ("payment_type", "string"),
        ("payment_installments", "int"),
        ("payment_value", "decimal"),
    ],
    "brz_order_reviews": [
        ("review_id", "string"),
        ("order_id", "string"),
        ("review_score", "int"),
        ("review_comment_title", "string"),
        ("review_comment_message", "string"),
        ("review_creation_date", "timestamp"),
        ("review_answer_timestamp", "timestamp"),
    ],
    "brz_customers": [
        ("customer_id", "string"),
        ("customer_unique_id", "string"),
        ("customer_zip_code_prefix", "string"),
        ("customer_city", "string"),
        ("customer_state", "string"),
    ],
    "brz_sellers": [
        ("seller_id", "string"),
        ("seller_zip_code_prefix", "string"),
        ("seller_city", "string"),
        ("seller_state", "string"),
    ],
    "brz_products": [
        ("product_id", "string"),
        ("product_category_name", "string"),
        ("product_name_lenght", "int"),
        ("product_description_lenght", "int"),
        ("product_photos_qty", "int"),
        ("product_weight_g", "int"),
        ("product_length_cm", "int"),
        ("product_height_cm", "int"),
        ("product_width_cm", "int"),
    ],
    "brz_geolocation": [
        ("geolocation_zip_code_prefix", "string"),
        ("geolocation_lat", "double"),
        ("geolocation_lng", "double"),
        ("geolocation_city", "string"),
        ("geolocation_state", "string"),
    ],
    "brz_product_category_name_translation": [
        ("product_category_name", "string"),
        ("product_category_name_english", "string"),
    ],
}
_SQL_TYPES = {
    "string": "string",
    "int": "int",
    "decimal": "decimal(12,2)",
    "double": "double",
    "timestamp": "timestamp_ntz",
}


def _parse(value: str, kind: str) -> Any:
    """Bronze's typing of one landed string: None when empty or unparseable."""
    text = value.strip()
    if kind == "string":
        return value
    if not text:
        return None
    try:
        if kind == "int":
            return int(text)
        if kind == "decimal":
            return Decimal(text).quantize(Decimal("0.01"))
        if kind == "double":
            return float(text)
        return dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    except (ValueError, InvalidOperation):
        return None


def bronze_row(
    table: str,
    raw: Sequence[str],
    batch: str,
    ingested_at: dt.datetime,
    *,
    malformed: bool = False,
) -> dict[str, Any]:
    """One bronze row from the strings of a landed line (fewer strings: a short, malformed
    line, whose missing fields are null)."""
    columns = BRONZE[table]
    row: dict[str, Any] = {}
    errors: list[str] = []
    record: dict[str, str | None] = {}
    for i, (name, kind) in enumerate(columns):
        value = raw[i] if i < len(raw) else None
        record[name] = value
        typed = None if value is None else _parse(value, kind)
        if value is not None and value.strip() and typed is None and kind != "string":
            errors.append(name)
        row[name] = typed
    raw_record = json.dumps(record, separators=(",", ":"))
    row.update(
        _batch_id=batch,
        _source_file=f"s3://warehouse/landing/olist/{table}/batch_id={batch}/{table}.csv",
        _ingested_at=ingested_at,
        _raw_record=raw_record,
        _malformed=malformed or len(raw) != len(columns),
        _parse_errors=errors,
        _row_hash=hashlib.sha256(raw_record.encode()).hexdigest(),
    )
    return row


def bronze_schema(table: str) -> str:
    cols = [f"{name} {_SQL_TYPES[kind]}" for name, kind in BRONZE[table]]
    cols += [
        "_batch_id string",
        "_source_file string",
        "_ingested_at timestamp_ntz",
        "_raw_record string",
        "_malformed boolean",
        "_parse_errors array<string>",
        "_row_hash string",
    ]
    return ", ".join(cols)


def create_bronze(spark: Any) -> None:
    spark.sql("create namespace if not exists iceberg.bronze")
    for table in BRONZE:
        spark.sql(
            f"create table if not exists iceberg.bronze.{table} ({bronze_schema(table)}) "
            "using iceberg partitioned by (_batch_id)"
        )
    # the seed, as the bronze run (dbt-trino) loads it
    with (dbt_dir() / "seeds" / "seed_category_translation.csv").open(newline="") as f:
        seeded = list(csv.reader(f))
    frame = spark.createDataFrame(seeded[1:], schema=", ".join(f"{c} string" for c in seeded[0]))
    frame.writeTo("iceberg.bronze.seed_category_translation").using("iceberg").createOrReplace()


def land(
    spark: Any,
    batch: str,
    lines: Mapping[str, Sequence[Sequence[str]]],
    *,
    malformed: Mapping[str, Sequence[Sequence[str]]] | None = None,
    ingested_at: dt.datetime | None = None,
) -> None:
    """Replace ``batch`` in the given bronze tables (bronze's delete+insert per batch)."""
    when = ingested_at or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    for table in set(lines) | set(malformed or {}):
        rows = [bronze_row(table, raw, batch, when) for raw in lines.get(table, ())]
        rows += [
            bronze_row(table, raw, batch, when, malformed=True)
            for raw in (malformed or {}).get(table, ())
        ]
        spark.sql(f"delete from iceberg.bronze.{table} where _batch_id = '{batch}'")
        if rows:
            frame = spark.createDataFrame(rows, schema=bronze_schema(table))
            frame.writeTo(f"iceberg.bronze.{table}").append()


def local_session(warehouse: Path) -> Any:
    """local[1] with Iceberg (hadoop catalog in ``warehouse``) as the default catalog."""
    from medallion.artifacts import layout
    from medallion.jdk import java17

    os.environ["JAVA_HOME"] = str(java17().home)
    from pyspark.sql import SparkSession

    from tests.spark_session import stop_jvm

    stop_jvm()  # a JVM left by an integration module carries its stack's settings
    jars = ",".join(str(p) for p in layout().spark_jars)
    return (
        SparkSession.builder.master("local[1]")
        .appName("medallion-silver-unit")
        .config("spark.jars", jars)
        .config(
            "spark.sql.extensions",
            "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
        )
        .config("spark.sql.catalog.iceberg", "org.apache.iceberg.spark.SparkCatalog")
        .config("spark.sql.catalog.iceberg.type", "hadoop")
        .config("spark.sql.catalog.iceberg.warehouse", str(warehouse))
        .config("spark.sql.defaultCatalog", "iceberg")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.warehouse.dir", str(warehouse / "spark-warehouse"))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={warehouse}")
        .getOrCreate()
    )


def dbt_dir() -> Path:
    override = os.environ.get("MEDALLION_TEST_DBT_PROJECT_DIR")
    return Path(override) if override else project_dir() / "dbt"


def run_dbt(command: str, work: Path, *args: str, select: str = "path:models/silver") -> Any:
    """``dbt <command>`` of silver's models in this process (and so in the active session)."""
    from dbt.cli.main import dbtRunner

    os.environ["DBT_TARGET"] = "spark"
    return dbtRunner().invoke(
        [
            command,
            "--project-dir",
            str(dbt_dir()),
            "--profiles-dir",
            str(charts_file("medallion", "files", "dbt")),
            "--target",
            "spark",
            "--target-path",
            str(work / "target"),
            "--log-path",
            str(work / "logs"),
            "--select",
            select,
            "--indirect-selection",
            "cautious",
            "--quiet",
            *args,
        ]
    )


# --------------------------------------------------------------------------- the scenario

B0, B1, B2 = "2017-12-31", "2018-01-01", "2018-01-02"
TS = "2018-01-01 10:00:00"
EST = "2018-01-10 00:00:00"


def order(oid: str, status: str, delivered: str = "", purchase: str = TS) -> list[str]:
    return [oid, "c1", status, purchase, "2018-01-01 11:00:00", "", delivered, EST]


def item(oid: str, n: str, price: str = "10.00", freight: str = "2.50") -> list[str]:
    return [oid, n, "p1", "s1", "2018-01-03 00:00:00", price, freight]


def review(rid: str, oid: str, score: str, created: str, answered: str) -> list[str]:
    return [rid, oid, score, "", "  ok  ", created, answered]


BATCH1: dict[str, list[list[str]]] = {
    "brz_orders": [
        order("o1", "shipped"),
        order("o2", "lost"),  # unknown_order_status
        order("o3", "approved"),  # conflicting pair ...
        order("o3", "invoiced"),  # ... in one batch, no earlier version
        order("o4", " Delivered ", delivered="2018-01-05 09:00:00"),  # exact duplicate lines
        order("o4", " Delivered ", delivered="2018-01-05 09:00:00"),
        order("o5", "approved", purchase="31/12/2018"),  # unparseable_timestamp
        order(" ", "approved"),  # null_key
        order("o8", "approved"),  # conflicts in batch 2: keeps this version
    ],
    "brz_order_items": [
        item("o1", "1"),
        item("o1", "2", price="-1.00"),  # negative_amount
        item("o1", "3", price="abc"),  # unparseable_number
        item("ox", "1"),  # orphan for good
        item("o9", "1"),  # orphan until o9 arrives in batch 2
    ],
    "brz_order_payments": [
        ["o1", "1", "credit_card", "3", "10.00"],
        ["o1", "2", "voucher", "1", "2.50"],
        ["o1", "3", "pix", "1", "1.00"],  # unknown_payment_type
    ],
    "brz_order_reviews": [
        review("r1", "o1", "3", "2018-01-02 00:00:00", "2018-01-03 00:00:00"),
        review("r2", "o1", "5", "2018-01-02 00:00:00", "2018-01-04 00:00:00"),  # latest answer
        review("r3", "o1", "1", "2018-01-01 00:00:00", "2018-01-05 00:00:00"),
        review("r4", "o4", "9", "2018-01-06 00:00:00", "2018-01-07 00:00:00"),  # out of range
        review("ra", "o4", "2", "2018-01-06 00:00:00", "2018-01-07 00:00:00"),
        review("rb", "o4", "4", "2018-01-06 00:00:00", "2018-01-07 00:00:00"),  # ties: rb wins
    ],
    "brz_customers": [["c1", "u1", "01000", " sao paulo ", "sp"]],
    "brz_sellers": [["s1", "01000", "sao paulo", "SP"]],
    "brz_products": [
        ["p1", "beleza_saude", "10", "100", "1", "200", "10", "10", "10"],
        ["p2", "pc_gamer", "10", "100", "1", "200", "10", "10", "10"],
        ["p3", "", "", "", "", "", "", "", ""],
        ["p4", "alimentos", "10", "100", "1", "200", "10", "10", "10"],  # only the seed knows it
    ],
    "brz_geolocation": [
        ["01000", "-23.5", "-46.6", "sao paulo", "SP"],
        ["01000", "-23.7", "-46.8", "sao paulo", "SP"],
        ["01000", "-23.6", "-46.7", "osasco", "SP"],
        ["02000", "abc", "-46.7", "sao paulo", "SP"],  # unparseable_number
    ],
    # differs from the seed (health_beauty): the landed translation wins
    "brz_product_category_name_translation": [["beleza_saude", "beauty_and_health"]],
}
MALFORMED1 = {"brz_orders": [["o7", "c1", "delivered"]]}
#: Landed together with batch 1, so the first run sees o1 in two batches.
BATCH0: dict[str, list[list[str]]] = {"brz_orders": [order("o1", "created")]}
BATCH2: dict[str, list[list[str]]] = {
    "brz_orders": [
        order("o1", "delivered", delivered="2018-01-12 08:00:00"),  # update, late
        order("o9", "approved"),  # releases item (o9, 1)
        order("o8", "shipped"),
        order("o8", "canceled"),
    ],
    "brz_product_category_name_translation": [["pc_gamer", "gaming_pc"]],
}


def snapshot(spark: Any) -> dict[str, list[dict[str, Any]]]:
    """Every silver table's rows (as dicts, sorted), without the columns a run stamps."""
    out = {}
    for r in spark.sql("show tables in iceberg.silver").collect():
        frame = spark.table(f"iceberg.silver.{r['tableName']}").drop("_loaded_at", "_invocation_id")
        out[r["tableName"]] = sorted((x.asDict() for x in frame.collect()), key=repr)
    return out


def by_key(spark: Any, table: str, *key: str) -> dict[Any, dict[str, Any]]:
    rows = [r.asDict() for r in spark.table(f"iceberg.silver.{table}").collect()]
    return {tuple(r[k] for k in key) if len(key) > 1 else r[key[0]]: r for r in rows}


def quarantined(spark: Any) -> dict[tuple[str, str, str], str]:
    """(table, batch, record_key) -> reason."""
    rows = spark.sql("select table_name, _batch_id, record_key, reason from silver.quarantine")
    return {(r[0], r[1], r[2]): r[3] for r in rows.collect()}


@dataclass
class Scenario:
    spark: Any
    work: Path
    results: list[Any]
    after1: dict[str, Any]
    after2: dict[str, Any]
    before_rerun: dict[str, list[dict[str, Any]]]
    after_rerun: dict[str, list[dict[str, Any]]]


def _state(spark: Any) -> dict[str, Any]:
    return {
        "quarantine": quarantined(spark),
        "orders": by_key(spark, "fct_orders", "order_id"),
        "items": by_key(spark, "fct_order_items", "order_id", "order_item_id"),
        "row_counts": {
            t: spark.table(f"iceberg.silver.{t}").count()
            for t in ("fct_orders", "fct_order_items", "fct_payments", "fct_reviews", "quarantine")
        },
        "products": by_key(spark, "dim_products", "product_id"),
        "recon": [r.asDict() for r in spark.table("silver.silver_reconciliation").collect()],
    }


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    work = tmp_path_factory.mktemp("silver-unit")
    try:
        spark = local_session(work / "warehouse")
    except Exception as exc:  # no JDK 17 or no Iceberg jars: `medallion setup` fetches them
        pytest.skip(f"no local Spark with Iceberg: {exc}")
    create_bronze(spark)
    results = []
    land(spark, B0, BATCH0)
    land(spark, B1, BATCH1, malformed=MALFORMED1)
    results.append(run_dbt("run", work))
    after1 = _state(spark)
    land(spark, B2, BATCH2)
    results.append(run_dbt("run", work))
    after2 = _state(spark)
    before = snapshot(spark)
    results.append(run_dbt("run", work))
    after = snapshot(spark)
    yield Scenario(spark, work, results, after1, after2, before, after)
    spark.stop()


def test_runs_succeed(scenario: Scenario) -> None:
    for res in scenario.results:
        assert res.success, res.exception or [
            (r.node.name, r.message) for r in res.result if str(r.status) != "success"
        ]


def test_every_rule_has_its_reason(scenario: Scenario) -> None:
    q = scenario.after1["quarantine"]
    expected = {
        ("fct_orders", B1, '{"order_id":"o2"}'): "unknown_order_status",
        ("fct_orders", B1, '{"order_id":"o3"}'): "conflicting_duplicate",
        ("fct_orders", B1, '{"order_id":"o5"}'): "unparseable_timestamp",
        ("fct_orders", B1, '{"order_id":" "}'): "null_key",
        ("fct_orders", B1, '{"order_id":"o7"}'): "malformed_row",
        ("fct_order_items", B1, '{"order_id":"o1","order_item_id":"2"}'): "negative_amount",
        ("fct_order_items", B1, '{"order_id":"o1","order_item_id":"3"}'): "unparseable_number",
        ("fct_order_items", B1, '{"order_id":"ox","order_item_id":"1"}'): "orphan",
        ("fct_order_items", B1, '{"order_id":"o9","order_item_id":"1"}'): "orphan",
        ("fct_payments", B1, '{"order_id":"o1","payment_sequential":"3"}'): "unknown_payment_type",
        ("fct_reviews", B1, '{"review_id":"r4","order_id":"o4"}'): "review_score_out_of_range",
        ("dim_geolocation", B1, '{"geolocation_zip_code_prefix":"02000"}'): "unparseable_number",
    }
    assert q == expected
    # both rows of the conflicting pair are kept, identical lines are not quarantined at all
    rows = scenario.spark.sql(
        'select count(*) from silver.quarantine where record_key = \'{"order_id":"o3"}\''
    )
    assert rows.collect()[0][0] == 2


def test_orders_carry_payments_reviews_and_delivery(scenario: Scenario) -> None:
    o1 = scenario.after1["orders"]["o1"]
    assert (o1["order_status"], o1["payment_total"], o1["payment_count"]) == (
        "shipped",
        Decimal("12.50"),
        2,
    )
    assert o1["review_score"] == 5 and o1["review_count"] == 3  # r2: same day, later answer
    assert o1["is_late"] is None and o1["delivery_days"] is None
    o4 = scenario.after1["orders"]["o4"]
    assert o4["order_status"] == "delivered"  # trimmed and lower-cased
    assert o4["review_score"] == 4  # ra and rb tie on both dates: the greatest review_id
    assert (o4["payment_total"], o4["payment_count"]) == (Decimal("0.00"), 0)
    assert o4["is_late"] is False and o4["delivery_days"] == 4
    assert set(scenario.after1["orders"]) == {"o1", "o4", "o8"}


def test_an_order_seen_in_two_batches_does_not_double_its_children(scenario: Scenario) -> None:
    """The first run takes batches 0 and 1 together: o1 is accepted in both, once in silver."""
    assert scenario.after1["row_counts"] == {
        "fct_orders": 3,
        "fct_order_items": 1,
        "fct_payments": 2,
        "fct_reviews": 5,
        "quarantine": 13,  # 12 keys, o3's two conflicting rows
    }
    assert scenario.after1["orders"]["o1"]["_batch_id"] == B1


def test_a_later_batch_updates_an_order(scenario: Scenario) -> None:
    o1 = scenario.after2["orders"]["o1"]
    assert (o1["order_status"], o1["_batch_id"], o1["is_late"], o1["delivery_days"]) == (
        "delivered",
        B2,
        True,
        11,
    )
    assert o1["payment_total"] == Decimal("12.50") and o1["review_score"] == 5


def test_a_conflict_keeps_the_earlier_version(scenario: Scenario) -> None:
    o8 = scenario.after2["orders"]["o8"]
    assert (o8["order_status"], o8["_batch_id"]) == ("approved", B1)
    q = scenario.after2["quarantine"]
    assert q[("fct_orders", B2, '{"order_id":"o8"}')] == "conflicting_duplicate"


def test_an_orphan_is_released_when_its_order_arrives(scenario: Scenario) -> None:
    key = ("fct_order_items", B1, '{"order_id":"o9","order_item_id":"1"}')
    assert key in scenario.after1["quarantine"]
    assert key not in scenario.after2["quarantine"]
    assert ("o9", 1) not in scenario.after1["items"]
    released = scenario.after2["items"][("o9", 1)]
    assert released["_batch_id"] == B1 and released["item_value"] == Decimal("12.50")
    # the other orphan's order never came
    assert ("fct_order_items", B1, '{"order_id":"ox","order_item_id":"1"}') in scenario.after2[
        "quarantine"
    ]


def test_a_waiting_orphan_is_carried_over_by_a_run_that_reads_none_of_its_batch(
    scenario: Scenario,
) -> None:
    """The rerun reads no batch (nothing new, no order arrived): ox's orphan stays quarantined,
    carried over unread and stamped with the rerun like everything the rerun merged."""
    spark = scenario.spark
    stamps = spark.sql(
        "select _invocation_id from silver.quarantine where table_name = 'fct_order_items' "
        'and reason = \'orphan\' and record_key = \'{"order_id":"ox","order_item_id":"1"}\''
    ).collect()
    rerun = spark.sql("select distinct _invocation_id from silver.silver_reconciliation").collect()
    assert len(stamps) == 1 and len(rerun) == 1
    assert stamps[0][0] == rerun[0][0]


def test_categories_fall_back_and_follow_new_translations(scenario: Scenario) -> None:
    p = scenario.after1["products"]
    assert {k: v["category"] for k, v in p.items()} == {
        "p1": "beauty_and_health",
        "p2": "pc_gamer",
        "p3": "unknown",
        "p4": "food",
    }
    assert p["p4"]["product_category_name_english"] == "food"
    assert p["p2"]["product_category_name_english"] is None
    assert p["p3"]["product_category_name"] is None and p["p3"]["product_weight_g"] is None
    assert scenario.after2["products"]["p2"]["category"] == "gaming_pc"
    assert scenario.after2["products"]["p2"]["product_category_name_english"] == "gaming_pc"


def test_geolocation_is_one_row_per_prefix(scenario: Scenario) -> None:
    geo = by_key(scenario.spark, "dim_geolocation", "geolocation_zip_code_prefix")
    assert set(geo) == {"01000"}
    g = geo["01000"]
    assert round(g["geolocation_lat"], 6) == -23.6 and round(g["geolocation_lng"], 6) == -46.7
    assert (g["geolocation_city"], g["geolocation_points"]) == ("sao paulo", 3)


def test_reconciliation_balances(scenario: Scenario) -> None:
    for state in (scenario.after1, scenario.after2):
        for r in state["recon"]:
            assert r["accepted_rows"] + r["quarantined_rows"] == r["distinct_rows"], r
    orders = {
        r["_batch_id"]: r for r in scenario.after2["recon"] if r["table_name"] == "fct_orders"
    }
    assert (orders[B1]["bronze_rows"], orders[B1]["distinct_rows"]) == (10, 9)
    # o1's batch-1 row was replaced by batch 2: superseded, not lost
    assert (orders[B1]["superseded_rows"], orders[B1]["quarantined_rows"]) == (1, 6)
    assert (orders[B2]["current_rows"], orders[B2]["quarantined_rows"]) == (2, 2)


def test_a_rerun_without_new_batches_changes_nothing(scenario: Scenario) -> None:
    for table, rows in scenario.before_rerun.items():
        if table.startswith("int_") or table == "silver_reconciliation":
            continue  # rebuilt on every run
        assert scenario.after_rerun[table] == rows, table


def test_the_reconciliation_test_fails_when_a_row_goes_missing(scenario: Scenario) -> None:
    """The checks can fail: drop a quarantined row and the reconciliation no longer adds up."""
    spark = scenario.spark
    spark.sql("delete from silver.quarantine where reason = 'unknown_payment_type'")
    rebuilt = run_dbt("run", scenario.work, select="silver_reconciliation")
    assert rebuilt.success
    tested = run_dbt("test", scenario.work, select="silver_reconciliation")
    assert not tested.success
    failed = [r.node for r in tested.result if str(r.status) == "fail"]
    assert [node.name for node in failed] == ["row_rules_silver_reconciliation"]
    # the failing rows name the rule they broke
    broken = spark.sql(failed[0].compiled_code).collect()
    assert broken
    assert {row["_failed_rules"] for row in broken} == {"nothing_lost_or_counted_twice"}


def test_row_rules_name_every_rule_a_row_breaks(scenario: Scenario) -> None:
    """One test node checks all of a table's row rules: a row that breaks three of them is
    returned once, naming the three; the row it duplicates, only the key rule."""
    from pyspark.sql import functions

    spark = scenario.spark
    original = spark.table("silver.fct_payments").orderBy("order_id", "payment_sequential").limit(1)
    bad = original.withColumn("payment_type", functions.lit("not_a_type")).withColumn(
        "payment_value", -functions.col("payment_value") - 1
    )
    bad.writeTo("silver.fct_payments").append()
    try:
        tested = run_dbt("test", scenario.work, select="fct_payments")
        failed = [r.node for r in tested.result if str(r.status) == "fail"]
        assert [node.name for node in failed] == ["row_rules_fct_payments"]
        broken = {
            row["payment_type"]: row["_failed_rules"]
            for row in spark.sql(failed[0].compiled_code).collect()
        }
        key = "unique(order_id, payment_sequential)"
        assert broken.pop("not_a_type") == (
            f"{key}, non_negative(payment_value), accepted_values(payment_type)"
        )
        assert list(broken.values()) == [key]
    finally:
        spark.sql("delete from silver.fct_payments where payment_type = 'not_a_type'")
    assert run_dbt("test", scenario.work, select="fct_payments").success


def test_silver_tests_read_the_vocabulary_from_the_project_vars(scenario: Scenario) -> None:
    """accepted_values and within_range take their values from dbt_project.yml's vars."""
    from medallion import vocabulary

    tested = run_dbt("test", scenario.work, select="fct_orders fct_payments fct_reviews quarantine")
    assert tested.success, [(r.node.name, r.message) for r in tested.result]
    rules = {r.node.name.removeprefix("row_rules_"): r.node.compiled_code for r in tested.result}
    vocab = vocabulary.load()
    payment_types = ", ".join(f"'{t}'" for t in vocab.payment_types)
    assert f"payment_type in ({payment_types})" in rules["fct_payments"]
    assert f"order_status in ({', '.join(map(repr, vocab.order_statuses))})" in rules["fct_orders"]
    low, high = vocab.review_score_min, vocab.review_score_max
    assert f"review_score >= {low} and review_score <= {high}" in rules["fct_reviews"]


def test_a_build_checks_the_rows_it_merged_and_dbt_test_every_row(scenario: Scenario) -> None:
    """Silver's tests inside a ``dbt build`` read the rows that build merged (data_tests: silver
    in dbt_project.yml, macros/get_where_subquery.sql); ``dbt test``, or a build with
    silver_test_every_row, reads every row. Shown with a warning rule (weight below zero)
    broken by an old row and by a row the build merges."""
    spark = scenario.spark
    update = "update silver.dim_products set product_weight_g = {} where product_id = 'p1'"
    spark.sql(update.format(-1))  # an old row, merged by an earlier build
    land(spark, "2018-01-04", {"brz_products": [["p5", "alimentos", "", "", "", "-2", "", "", ""]]})
    select = "int_products_checked dim_products"

    def weight_warnings(result: Any) -> int:
        assert result.success, result.exception
        (found,) = [r for r in result.result if r.node.name == "row_warnings_dim_products"]
        return int(found.failures)

    try:
        build = run_dbt("build", scenario.work, select=select)
        assert weight_warnings(build) == 1  # p5 only
        every = run_dbt(
            "build", scenario.work, "--vars", "{silver_test_every_row: true}", select=select
        )
        assert weight_warnings(every) == 2
        assert weight_warnings(run_dbt("test", scenario.work, select="dim_products")) == 2
    finally:
        spark.sql(update.format(200))
    assert weight_warnings(run_dbt("build", scenario.work, select=select)) == 1


def test_a_payment_type_added_to_the_vocabulary_is_accepted(
    scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One line in the vocabulary's one home, and silver accepts the new type (last: it lands a
    batch into the shared scenario)."""
    import shutil

    from medallion import vocabulary

    project = tmp_path / "dbt"
    shutil.copytree(dbt_dir(), project, ignore=shutil.ignore_patterns("target", "logs"))
    config = project / "dbt_project.yml"
    text = config.read_text()
    line = next(x for x in text.splitlines() if x.strip().startswith("payment_types:"))
    config.write_text(text.replace(line, line.replace("]", ", pix]")))
    assert "pix" in vocabulary.load(config).payment_types
    assert "pix" not in vocabulary.load().payment_types

    land(scenario.spark, "2018-01-03", {"brz_order_payments": [["o1", "4", "pix", "1", "3.00"]]})
    monkeypatch.setenv("MEDALLION_TEST_DBT_PROJECT_DIR", str(project))
    result = run_dbt("run", scenario.work)
    assert result.success, result.exception
    payments = by_key(scenario.spark, "fct_payments", "order_id", "payment_sequential")
    assert payments[("o1", 4)]["payment_type"] == "pix"
