"""A local Spark session without the stack, bronze-shaped input tables, and in-process dbt runs
of silver's models, for the unit tests of the silver transformations.

The session has an Iceberg catalog ``iceberg`` of type hadoop in a temporary folder (the default
catalog, like the shared conf), so silver's models run unchanged: dbt-spark's ``method: session``
picks this session up. Bronze tables are written the way bronze's contract describes them: typed
columns, ``_raw_record`` (JSON of the landed strings), ``_parse_errors``, ``_malformed`` and
``_row_hash`` (sha256 of the raw record).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from medallion.paths import charts_file, project_dir

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

    active = SparkSession.getActiveSession()
    if active is not None:  # one JVM per process: a session of another test module must go
        active.stop()
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


def run_dbt(command: str, work: Path, *args: str) -> Any:
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
            "path:models/silver",
            "--indirect-selection",
            "cautious",
            "--quiet",
            *args,
        ]
    )
