"""Silver on the real stack: generated batches landed one by one, bronze on Trino, silver as a
spark-submitted application, checked through Trino against the generator's defect manifest.

One pipeline per module (it is the expensive part): for each of 3 daily batches, load, bronze,
silver; then table maintenance, then a rerun that reprocesses every bronze row. The state after
each step is captured, and the tests below only read those captures and the tables.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from medallion import accounting, load_cli
from medallion.accounting import FileAccount
from medallion.generate import generate
from medallion.load import load_dir, table_of
from medallion.run.dbt import run_layer
from medallion.run.silver import SilverResult, run_silver
from tests.conftest import StackHandle

pytestmark = pytest.mark.integration

#: Generator file stem -> (silver table, bronze table).
TABLES: dict[str, tuple[str, str]] = {
    "olist_orders_dataset": ("fct_orders", "brz_orders"),
    "olist_order_items_dataset": ("fct_order_items", "brz_order_items"),
    "olist_order_payments_dataset": ("fct_payments", "brz_order_payments"),
    "olist_order_reviews_dataset": ("fct_reviews", "brz_order_reviews"),
    "olist_customers_dataset": ("dim_customers", "brz_customers"),
    "olist_sellers_dataset": ("dim_sellers", "brz_sellers"),
    "olist_products_dataset": ("dim_products", "brz_products"),
    "olist_geolocation_dataset": ("dim_geolocation", "brz_geolocation"),
    "product_category_name_translation": (
        "dim_product_categories",
        "brz_product_category_name_translation",
    ),
}
SILVER = [silver for silver, _ in TABLES.values()]
#: Columns a run stamps on what it merges (they differ between runs by design).
RUN_COLUMNS = ("_loaded_at", "_invocation_id")
KeyT = tuple[tuple[str, str], ...]


def norm_key(key: dict[str, Any]) -> KeyT:
    return tuple(sorted((k, "" if v is None else str(v)) for k, v in key.items()))


@dataclass
class Pipeline:
    data: Path
    batches: list[str]
    defects: list[dict[str, Any]]
    runs: list[SilverResult] = field(default_factory=list)
    #: the per-file accounts of the batches loaded so far, after each batch's silver run
    accounts_after: list[list[FileAccount]] = field(default_factory=list)
    #: quarantine rows (table, batch, reason, key) after each batch's silver run
    quarantine_after: list[Counter[tuple[str, str, str, KeyT]]] = field(default_factory=list)
    #: fct_orders (order_id -> (status, batch)) after each batch's silver run
    orders_after: list[dict[str, tuple[str, str]]] = field(default_factory=list)
    before_rerun: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    rerun: SilverResult | None = None
    after_rerun: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    files_before: dict[str, int] = field(default_factory=dict)
    before_maintenance: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    maintenance: subprocess.CompletedProcess[str] | None = None
    after_maintenance: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    files_after: dict[str, int] = field(default_factory=dict)


def quarantine_rows(stack: StackHandle) -> Counter[tuple[str, str, str, KeyT]]:
    rows = stack.sql(
        "select table_name, _batch_id, reason, record_key from iceberg.silver.quarantine"
    ).rows
    return Counter((t, b, r, norm_key(json.loads(k))) for t, b, r, k in rows)


def contents(stack: StackHandle, table: str, drop: tuple[str, ...] = ()) -> list[tuple[Any, ...]]:
    """Every row of a silver table (minus ``drop`` columns), sorted."""
    columns = [
        c
        for (c,) in stack.sql(
            "select column_name from iceberg.information_schema.columns "
            f"where table_schema = 'silver' and table_name = '{table}' order by ordinal_position"
        ).rows
        if c not in drop
    ]
    rows = stack.sql(f"select {', '.join(columns)} from iceberg.silver.{table}").rows
    return sorted(rows, key=repr)


def all_contents(
    stack: StackHandle, drop: tuple[str, ...] = ()
) -> dict[str, list[tuple[Any, ...]]]:
    tables = [t for (t,) in stack.sql("show tables from iceberg.silver").rows]
    return {t: contents(stack, t, drop) for t in tables}


def data_files(stack: StackHandle) -> dict[str, int]:
    out = {}
    for schema in ("bronze", "silver"):
        for (table,) in stack.sql(f"show tables from iceberg.{schema}").rows:
            out[f"{schema}.{table}"] = stack.scalar(
                f'select count(*) from iceberg.{schema}."{table}$files"'
            )
    return out


def ok(result: SilverResult) -> SilverResult:
    assert result.success, f"silver failed: {result.error} (log: {result.log_file})"
    return result


@pytest.fixture(scope="module")
def pipeline(stack: StackHandle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    data = tmp_path_factory.mktemp("olist")
    summary = generate(data, scale=0.01, days=3, seed=11, defects=0.04)
    manifest = json.loads((data / "defects.json").read_text())
    p = Pipeline(data, summary.batches, manifest["defects"])
    for batch in p.batches:
        loaded = load_dir(stack.env, data, batch)
        # as `medallion load` does: the batch's first accounts, from the list of what it landed
        # (a header-only file has no row in its landing table to be counted from later)
        accounting.refresh(stack.env, [batch], files=load_cli.landed(loaded))
        bronze = run_layer(stack.env, "bronze")
        assert bronze.success, bronze.error
        p.runs.append(ok(run_silver(stack.env, echo=None)))
        p.quarantine_after.append(quarantine_rows(stack))
        p.accounts_after.append(accounting.compute(stack.env, p.batches))
        p.orders_after.append(
            {
                o: (s, b)
                for o, s, b in stack.sql(
                    "select order_id, order_status, _batch_id from iceberg.silver.fct_orders"
                ).rows
            }
        )
    # merges leave small files behind: compact them, then check nothing else changed
    p.files_before = data_files(stack)
    p.before_maintenance = all_contents(stack)
    p.maintenance = stack.cli("maintain", "--retention-days", "0", "--format", "json", check=False)
    p.after_maintenance = all_contents(stack)
    p.files_after = data_files(stack)
    # every bronze row again (dbt's tests already ran after each batch)
    p.before_rerun = all_contents(stack, RUN_COLUMNS)
    reprocess = ["--vars", "{silver_reprocess: true}", "--resource-type", "model"]
    p.rerun = ok(run_silver(stack.env, extra_dbt_args=reprocess, echo=None))
    p.after_rerun = all_contents(stack, RUN_COLUMNS)
    yield p


def expected_quarantine(p: Pipeline, upto: int) -> Counter[tuple[str, str, str, KeyT]]:
    """What the manifest says is quarantined once batches[0..upto] are processed."""
    seen = set(p.batches[: upto + 1])
    out: Counter[tuple[str, str, str, KeyT]] = Counter()
    for d in p.defects:
        if d["reason"] is None or d["batch"] not in seen:
            continue
        if d["kind"] == "late_parent" and d["parent_batch"] in seen:
            continue  # its order has arrived: accepted
        out[(TABLES[d["table"]][0], d["batch"], d["reason"], norm_key(d["key"]))] += 1
    return out


def test_each_model_reports_the_rows_it_wrote(pipeline: Pipeline) -> None:
    """Spark returns no affected rows; the app reads them from the Iceberg snapshots."""
    first = {n.name: n.rows for n in pipeline.runs[0].nodes if n.kind == "model"}
    assert first["fct_orders"] == len(pipeline.orders_after[0])
    assert all(rows is not None for rows in first.values()), first
    assert pipeline.runs[0].layer_result().rows_written >= first["fct_orders"]


def test_every_run_passes_its_dbt_tests(pipeline: Pipeline) -> None:
    assert pipeline.rerun is not None
    for run in pipeline.runs:
        kinds = Counter(n.kind for n in run.nodes)
        assert kinds["model"] >= 20 and kinds["test"] >= 20, kinds
        # every table silver publishes is checked by its row rules in the same run
        tables = {n.name for n in run.nodes if n.kind == "model" and not n.name.startswith("int_")}
        checked = {n.name.removeprefix("row_rules_") for n in run.nodes if n.kind == "test"}
        assert tables <= checked, tables - checked
        assert not run.failed, run.failed
        assert run.peak_rss_bytes and run.peak_rss_bytes > 0
    assert {n.kind for n in pipeline.rerun.nodes} == {"model"}


def test_the_manifest_covers_every_rule(pipeline: Pipeline) -> None:
    """Guard against a generator run too small to exercise every reason code."""
    reasons = {d["reason"] for d in pipeline.defects if d["reason"]}
    assert reasons == {
        "null_key",
        "unparseable_timestamp",
        "unparseable_number",
        "negative_amount",
        "unknown_order_status",
        "unknown_payment_type",
        "review_score_out_of_range",
        "conflicting_duplicate",
        "malformed_row",
        "orphan",
    }
    assert any(d["kind"] == "late_parent" for d in pipeline.defects)


@pytest.mark.parametrize("upto", [0, 1, 2])
def test_quarantine_is_exactly_the_defects(pipeline: Pipeline, upto: int) -> None:
    """After each batch: every defect is quarantined with its reason and nothing clean is."""
    expected = expected_quarantine(pipeline, upto)
    got = pipeline.quarantine_after[upto]
    assert expected, "the manifest has no defects for these batches"
    missing = expected - got
    unexpected = got - expected
    assert not missing, f"defects not quarantined (or with another reason): {list(missing)[:10]}"
    assert not unexpected, f"rows quarantined that are not defects: {list(unexpected)[:10]}"


def test_accepted_plus_quarantined_is_every_distinct_bronze_row(
    stack: StackHandle, pipeline: Pipeline
) -> None:
    recon = {
        (t, b): (bronze, distinct, accepted, current, quarantined)
        for t, b, bronze, distinct, accepted, current, quarantined in stack.sql(
            "select table_name, _batch_id, bronze_rows, distinct_rows, accepted_rows, "
            "current_rows, quarantined_rows from iceberg.silver.silver_reconciliation"
        ).rows
    }
    quarantined = Counter(
        {
            (t, b): n
            for t, b, n in stack.sql(
                "select table_name, _batch_id, count(*) from iceberg.silver.quarantine "
                "group by 1, 2"
            ).rows
        }
    )
    for silver, bronze in TABLES.values():
        counted = stack.sql(
            f"select _batch_id, count(*), count(distinct _row_hash) from iceberg.bronze.{bronze} "
            "group by 1"
        ).rows
        assert counted and {b for b, _, _ in counted} <= set(pipeline.batches)
        for batch, rows, distinct in counted:
            got = recon[(silver, batch)]
            assert got[0] == rows and got[1] == distinct, (silver, batch, got)
            assert got[4] == quarantined[(silver, batch)], (silver, batch)
            assert got[2] + got[4] == distinct, (silver, batch, got)
        # each silver row is the current version of exactly one distinct bronze row
        current = sum(v[3] for (t, _), v in recon.items() if t == silver)
        if silver != "dim_geolocation":
            assert current == stack.scalar(f"select count(*) from iceberg.silver.{silver}")
    # identical lines collapse: the generator's exact duplicates are fewer distinct rows
    assert sum(v[0] - v[1] for v in recon.values()) >= sum(
        d["kind"] == "exact_duplicate" for d in pipeline.defects
    )


@pytest.mark.parametrize("upto", [0, 1, 2])
def test_every_record_of_every_file_is_accounted_for(pipeline: Pipeline, upto: int) -> None:
    """After each batch, per landed file: its records are the file's lines, and they are the
    accepted ones, the manifest's defects by reason and the orphans still waiting (a late
    child waits until its order's batch arrives), with nothing unprocessed."""
    seen = set(pipeline.batches[: upto + 1])
    reasons: Counter[tuple[str, str, str]] = Counter()
    orphans: Counter[tuple[str, str]] = Counter()
    for d in pipeline.defects:
        if d["reason"] is None or d["batch"] not in seen:
            continue
        where = (d["batch"], table_of(f"{d['table']}.csv"))
        if d["reason"] != "orphan":
            reasons[(*where, d["reason"])] += 1
        elif d["kind"] != "late_parent" or d["parent_batch"] not in seen:
            orphans[where] += 1
    assert reasons and orphans
    accounts = pipeline.accounts_after[upto]
    assert {(a.batch_id, a.file) for a in accounts} == {
        (b, f"{stem}.csv") for b in seen for stem in TABLES
    }
    for a in accounts:
        lines = (pipeline.data / f"batch={a.batch_id}" / a.file).read_bytes().splitlines()
        assert a.records == a.bronze_rows == len(lines) - 1, a
        assert a.unprocessed == 0 and a.balanced, a
        assert a.orphans == orphans[(a.batch_id, a.table_name)], a
        assert dict(a.reasons) == {
            r: n for (b, t, r), n in reasons.items() if (b, t) == (a.batch_id, a.table_name)
        }, a


def test_a_later_status_update_changes_fct_orders(stack: StackHandle, pipeline: Pipeline) -> None:
    """Orders whose clean rows differ between batches hold the latest batch's status."""
    updated = stack.sql(
        "select order_id, max_by(order_status, _batch_id), max(_batch_id), min(_batch_id) "
        "from iceberg.bronze.brz_orders where not _malformed "
        "group by order_id "
        "having count(distinct order_status) > 1 and count(distinct _batch_id) > 1"
    ).rows
    conflicting = {
        d["key"]["order_id"] for d in pipeline.defects if d["table"] == "olist_orders_dataset"
    }
    updated = [u for u in updated if u[0] not in conflicting]
    assert len(updated) >= 5, "the generated data has too few status updates"
    final = pipeline.orders_after[-1]
    changed = 0
    for order_id, status, last, first in updated:
        assert final[order_id] == (status, last)
        first_run = pipeline.batches.index(first)
        earlier = pipeline.orders_after[first_run][order_id]
        changed += earlier[0] != final[order_id][0] and earlier[1] == first
    assert changed == len(updated)


def test_a_late_order_releases_its_children(stack: StackHandle, pipeline: Pipeline) -> None:
    late = [d for d in pipeline.defects if d["kind"] == "late_parent"]
    assert late
    for d in late:
        silver = TABLES[d["table"]][0]
        key = (silver, d["batch"], "orphan", norm_key(d["key"]))
        child_run = pipeline.batches.index(d["batch"])
        parent_run = pipeline.batches.index(d["parent_batch"])
        assert pipeline.quarantine_after[child_run][key] == 1, d
        assert pipeline.quarantine_after[parent_run][key] == 0, d
        where = " and ".join(
            f"cast({k} as varchar) = '{v}'"
            for k, v in d["key"].items()
            if silver != "fct_reviews" or k == "review_id"
        )
        assert stack.scalar(f"select count(*) from iceberg.silver.{silver} where {where}") == 1


def test_accounts_counted_a_batch_per_query_are_the_same(
    stack: StackHandle, pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large base is counted in runs of batches (accounting.RECORDS_PER_COUNT records a
    query); cut at every batch, the accounts are those of one query over all of them."""
    batches = accounting.loaded_batches(stack.env, accounting.landing_tables(stack.env))
    assert len(batches) >= 2
    whole = accounting.compute(stack.env, batches)
    assert whole
    monkeypatch.setattr(accounting, "RECORDS_PER_COUNT", 1)
    files = accounting.file_list(stack.env, batches)
    assert len(accounting.chunks(batches, files, accounting.RECORDS_PER_COUNT)) == len(batches)
    assert accounting.compute(stack.env, batches) == whole


def test_reprocessing_everything_gives_the_same_rows(pipeline: Pipeline) -> None:
    before = pipeline.before_rerun
    assert set(before) >= set(SILVER) | {"quarantine", "silver_reconciliation"}
    for table in set(SILVER) | {"quarantine", "silver_reconciliation"}:
        assert pipeline.after_rerun[table] == before[table], table
        assert before[table], table


def test_maintenance_keeps_contents_and_compacts(pipeline: Pipeline) -> None:
    """`medallion maintain` compacts every table and changes no row."""
    done = pipeline.maintenance
    assert done is not None
    assert done.returncode == 0, done.stdout + done.stderr
    assert pipeline.after_maintenance == pipeline.before_maintenance
    tables = [json.loads(line) for line in done.stdout.splitlines()]
    assert all(t["error"] is None for t in tables), tables
    maintained = {t["table"] for t in tables}
    assert {f"silver.{t}" for t in SILVER} <= maintained
    assert {f"bronze.{b}" for _, b in TABLES.values()} <= maintained
    assert sum(pipeline.files_after.values()) < sum(pipeline.files_before.values())
    for table, n in pipeline.files_after.items():
        assert n <= pipeline.files_before[table], table


def test_spark_stays_within_its_memory(stack: StackHandle, pipeline: Pipeline) -> None:
    """The stack's Spark (a 2g heap) at its peak over every run so far, from the kernel's
    high-water mark; and each run's client (the Python that runs dbt) measured on wait."""
    pid = stack.stack.component("spark").pid()
    assert pid is not None
    status = Path(f"/proc/{pid}/status").read_text()
    peak_kb = int(
        next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1]
    )
    assert 2**28 < peak_kb * 1024 < 4 * 2**30  # above: the JVM, not a launcher script
    for run in pipeline.runs:
        assert run.peak_rss_bytes is not None
        assert run.peak_rss_bytes < 2 * 2**30


def test_schema_for_gold(stack: StackHandle, pipeline: Pipeline) -> None:
    """The columns gold reads keep their original names; every table has _batch_id."""
    wanted = {
        "fct_orders": {
            "order_id", "customer_id", "order_status", "order_purchase_timestamp",
            "order_delivered_customer_date", "order_estimated_delivery_date", "delivery_days",
            "is_late", "payment_total", "payment_count", "review_score",
        },
        "fct_order_items": {
            "order_id", "order_item_id", "product_id", "seller_id", "price", "freight_value",
            "item_value",
        },
        "fct_payments": {
            "order_id", "payment_sequential", "payment_type", "payment_installments",
            "payment_value",
        },
        "fct_reviews": {
            "review_id", "order_id", "review_score", "review_creation_date",
            "review_answer_timestamp",
        },
        "dim_customers": {"customer_id", "customer_unique_id", "customer_state", "customer_city"},
        "dim_sellers": {"seller_id", "seller_state", "seller_city"},
        "dim_products": {
            "product_id", "category", "product_category_name", "product_category_name_english",
        },
        "dim_geolocation": {"geolocation_zip_code_prefix", "geolocation_lat", "geolocation_lng"},
        "quarantine": {"table_name", "record_key", "reason", "_batch_id", "_raw_record"},
    }  # fmt: skip
    for table, columns in wanted.items():
        have = {
            c
            for (c,) in stack.sql(
                "select column_name from iceberg.information_schema.columns "
                f"where table_schema = 'silver' and table_name = '{table}'"
            ).rows
        }
        assert columns | {"_batch_id"} <= have, (table, columns - have)
