"""Landing and bronze on the real stack: every landed line is kept, typed and flagged."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from medallion.generate import HEADERS, generate
from medallion.load import LoadError, count_rows, load_dir, table_of
from medallion.run.dbt import LayerResult, run_layer
from tests.conftest import StackHandle

pytestmark = pytest.mark.integration

TABLES = [table_of(f"{stem}.csv") for stem in HEADERS]


@pytest.fixture(scope="module")
def olist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("olist")
    generate(out, scale=0.01, days=3, seed=7, defects=0.03)
    return out


def landed_rows(folder: Path, batches: list[str]) -> dict[str, int]:
    """Data lines per table over the given batches, counted from the files themselves."""
    counts = dict.fromkeys(TABLES, 0)
    for batch in batches:
        for path in sorted((folder / f"batch={batch}").glob("*.csv")):
            counts[table_of(path.name)] += count_rows(path)[0]
    return counts


def bronze_rows(stack: StackHandle) -> dict[str, int]:
    return {t: stack.scalar(f"select count(*) from iceberg.bronze.brz_{t}") for t in TABLES}


def snapshot(stack: StackHandle, table: str) -> list[tuple[Any, ...]]:
    return stack.sql(
        f"select _batch_id, _row_hash, _source_modified_at from iceberg.bronze.brz_{table} "
        "order by 1, 2, 3"
    ).rows


def assert_ok(result: LayerResult) -> None:
    assert result.success, result.error


@pytest.fixture(scope="module")
def bronze_loaded(stack: StackHandle, olist: Path) -> Iterator[list[str]]:
    """Load and run bronze after each of the three batches, checking counts each time."""
    batches = sorted(p.name.removeprefix("batch=") for p in olist.glob("batch=*"))
    assert len(batches) == 3
    for i, batch in enumerate(batches):
        loaded = load_dir(stack.env, olist, batch)
        assert [b.batch_id for b in loaded] == [batch]
        assert_ok(run_layer(stack.env, "bronze"))
        assert bronze_rows(stack) == landed_rows(olist, batches[: i + 1])
    yield batches


def test_bronze_keeps_every_landed_row_after_each_batch(
    stack: StackHandle, olist: Path, bronze_loaded: list[str]
) -> None:
    per_batch = stack.sql(
        "select _batch_id, count(*) from iceberg.bronze.brz_orders group by 1 order by 1"
    ).rows
    assert [b for b, _ in per_batch] == bronze_loaded
    assert sum(n for _, n in per_batch) == landed_rows(olist, bronze_loaded)["orders"]


def test_malformed_and_unparseable_rows_are_flagged(
    stack: StackHandle, olist: Path, bronze_loaded: list[str]
) -> None:
    import json

    manifest = json.loads((olist / "defects.json").read_text())["defects"]
    expected_malformed: dict[str, int] = {}
    for d in manifest:
        if d["kind"] in ("malformed_field_count", "malformed_quoting"):
            t = table_of(d["table"] + ".csv")
            expected_malformed[t] = expected_malformed.get(t, 0) + 1
    assert expected_malformed, "the generator injected no malformed lines"
    for table, expected in expected_malformed.items():
        got = stack.scalar(f"select count_if(_malformed) from iceberg.bronze.brz_{table}")
        assert got == expected, table

    bad_ts = [
        d
        for d in manifest
        if d["kind"] == "bad_timestamp" and table_of(d["table"] + ".csv") == "orders"
    ]
    for d in bad_ts:
        row = stack.sql(
            "select order_purchase_timestamp, _parse_errors from iceberg.bronze.brz_orders "
            f"where order_id = '{d['key']['order_id']}' and _batch_id = '{d['batch']}'"
        ).rows
        assert row == [(None, ["order_purchase_timestamp"])]
    clean = stack.scalar(
        "select count(*) from iceberg.bronze.brz_order_items "
        "where not _malformed and cardinality(_parse_errors) = 0 and price is not null"
    )
    assert clean > 0


def test_rerun_changes_nothing(stack: StackHandle, bronze_loaded: list[str]) -> None:
    before = {t: snapshot(stack, t) for t in ("orders", "order_items")}
    assert_ok(run_layer(stack.env, "bronze"))
    assert {t: snapshot(stack, t) for t in before} == before


def test_loading_a_batch_twice_is_refused(
    stack: StackHandle, olist: Path, bronze_loaded: list[str]
) -> None:
    with pytest.raises(LoadError, match="already loaded"):
        load_dir(stack.env, olist, bronze_loaded[0])


def test_replace_replaces_exactly_that_batch(
    stack: StackHandle, olist: Path, bronze_loaded: list[str], tmp_path: Path
) -> None:
    first, second = bronze_loaded[0], bronze_loaded[1]
    other_before = stack.sql(
        "select _row_hash, _source_modified_at from iceberg.bronze.brz_orders "
        f"where _batch_id <> '{second}' order by 1, 2"
    ).rows
    # A corrected delivery of the second batch: its orders file without its last two lines.
    fixed = tmp_path / f"batch={second}"
    fixed.mkdir()
    for path in (olist / f"batch={second}").glob("*.csv"):
        lines = path.read_text().splitlines(keepends=True)
        keep = lines[:-2] if path.name == "olist_orders_dataset.csv" else lines
        (fixed / path.name).write_text("".join(keep))
    load_dir(stack.env, tmp_path, second, replace=True)
    assert_ok(run_layer(stack.env, "bronze"))
    expected = count_rows(fixed / "olist_orders_dataset.csv")[0]
    got = stack.scalar(
        f"select count(*) from iceberg.bronze.brz_orders where _batch_id = '{second}'"
    )
    assert got == expected
    other_after = stack.sql(
        "select _row_hash, _source_modified_at from iceberg.bronze.brz_orders "
        f"where _batch_id <> '{second}' order by 1, 2"
    ).rows
    assert other_after == other_before, f"rows of batches other than {second} changed"
    assert first != second
    # put the original back so later modules see the generated data
    load_dir(stack.env, olist, second, replace=True)
    assert_ok(run_layer(stack.env, "bronze"))


def test_the_seed_is_loaded_and_tested(stack: StackHandle, bronze_loaded: list[str]) -> None:
    assert stack.scalar("select count(*) from iceberg.bronze.seed_category_translation") == 71
    english = stack.scalar(
        "select product_category_name_english from iceberg.bronze.seed_category_translation "
        "where product_category_name = 'beleza_saude'"
    )
    assert english == "health_beauty"


def test_a_stale_source_stops_bronze_before_the_build(
    stack: StackHandle, bronze_loaded: list[str]
) -> None:
    """The S3 server reports a file's modification time: age every sellers file the landing
    table reads (the records ``medallion load`` cut from the CSV files) past 7 days."""
    fresh = run_layer(stack.env, "bronze")
    assert_ok(fresh)
    checked = {n.name: n.status for n in fresh.nodes if n.kind == "source"}
    # the translation file is reference data without a freshness rule
    assert checked == {
        f"landing.{t}": "pass" for t in TABLES if t != "product_category_name_translation"
    }

    landing = stack.stack.cfg.data / "objects" / "warehouse" / "landing" / "olist"
    folder = landing / "_records" / "sellers"
    files = sorted(p for p in folder.rglob("*.jsonl") if p.is_file())
    assert files, f"no sellers files under {folder}"
    before = {p: p.stat().st_mtime for p in files}
    old = time.time() - 10 * 86400
    for p in files:
        os.utime(p, (old, old))
    try:
        before_rows = bronze_rows(stack)
        stale = run_layer(stack.env, "bronze")
        assert not stale.success
        assert stale.error is not None and "source landing.sellers is stale" in stale.error
        assert "error after 7 days" in stale.error
        assert not [n for n in stale.nodes if n.kind != "source"], "the build must not run"
        # a user who knows the feed is late can still build what there is
        assert_ok(run_layer(stack.env, "bronze", freshness=False))
        assert bronze_rows(stack) == before_rows
    finally:
        for p, mtime in before.items():
            os.utime(p, (mtime, mtime))
