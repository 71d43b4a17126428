"""Landing and bronze on the real stack: every landed line is kept, typed and flagged."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from medallion import landed
from medallion.generate import HEADERS, generate
from medallion.load import LoadError, count_rows, load_dir, table_of
from medallion.records import MAX_LINE_CHARS
from medallion.run.dbt import LayerResult, run_layer
from medallion.s3 import s3_client
from medallion.trino_client import query
from tests import hostile
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
    """A source's freshness is when its newest file landed (``medallion.landed``): age the
    sellers rows of the table of landed files past 7 days."""
    fresh = run_layer(stack.env, "bronze")
    assert_ok(fresh)
    checked = {n.name: n.status for n in fresh.nodes if n.kind == "source"}
    # the translation file is reference data without a freshness rule
    assert checked == {
        f"landing.{t}": "pass" for t in TABLES if t != "product_category_name_translation"
    }

    sellers = f"{landed.TABLE} where table_name = 'sellers'"
    kept = stack.sql(f"select batch_id, table_name, file, records, landed_at from {sellers}").rows
    assert kept, "no sellers file in the table of landed files"
    old = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=10)
    query(stack.env, f"update {landed.TABLE} set landed_at = ? where table_name = 'sellers'", [old])
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
        stack.sql(f"delete from {sellers}")
        marks = ", ".join(["(?, ?, ?, ?, ?)"] * len(kept))
        query(stack.env, f"insert into {landed.TABLE} values {marks}", [v for r in kept for v in r])


# Hostile batches (tests/hostile.py) on the real stack: the refused ones write nothing, the
# others land, reconcile with what bronze holds, and a good batch after them loads as usual.


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One clean batch of a day the other tests never load."""
    out = tmp_path_factory.mktemp("clean")
    generate(out, scale=0.01, days=1, seed=13, defects=0.0, start_date=dt.date(2019, 6, 1))
    return out


@pytest.fixture(scope="module")
def hostile_cases(
    tmp_path_factory: pytest.TempPathFactory, clean: Path
) -> dict[str, hostile.Hostile]:
    return hostile.write(tmp_path_factory.mktemp("hostile"), clean / "batch=2019-06-01")


def landing_state(stack: StackHandle) -> tuple[list[tuple[str, str, int]], list[str]]:
    """Every object under landing/ (key, ETag, size) and every landing table."""
    s3 = s3_client(stack.env)
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=stack.env["S3_BUCKET"], Prefix="landing/"
    )
    objects = [(o["Key"], o["ETag"], o["Size"]) for p in pages for o in p.get("Contents", [])]
    tables = [str(r[0]) for r in stack.sql("show tables from landing.olist").rows]
    return sorted(objects), sorted(tables)


def test_a_refused_hostile_batch_writes_nothing(
    stack: StackHandle, bronze_loaded: list[str], hostile_cases: dict[str, hostile.Hostile]
) -> None:
    before = landing_state(stack)
    refused = [c for c in hostile_cases.values() if c.outcome == "refused"]
    assert {"unknown-table", "binary-garbage", "id-dot-dot-slash"} <= {c.name for c in refused}
    for case in refused:
        with pytest.raises(LoadError) as caught:
            load_dir(stack.env, case.src, case.batch)
        for part in (case.file, *case.expect):
            assert part in str(caught.value), (case.name, part)
    done = stack.cli("load", str(hostile_cases["unknown-table"].src), check=False)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "olist_refunds_dataset.csv is not an Olist file" in " ".join(done.stderr.split())
    assert landing_state(stack) == before
    assert "refunds" not in before[1]


def test_hostile_batches_that_land_reconcile_and_a_good_one_follows(
    stack: StackHandle,
    bronze_loaded: list[str],
    hostile_cases: dict[str, hostile.Hostile],
    clean: Path,
) -> None:
    lands = [c for c in hostile_cases.values() if c.outcome == "lands"]
    assert {c.name for c in lands} == {"header-only", "reordered-header", "long-line"}
    loaded = [b for case in lands for b in load_dir(stack.env, case.src)]
    # a later, good batch: the clean files every hostile case was made from
    loaded += load_dir(stack.env, clean)
    good_id = loaded[-1].batch_id
    assert good_id == "2019-06-01"
    reordered = hostile_cases["reordered-header"]
    assert_ok(run_layer(stack.env, "bronze"))

    for batch in loaded:  # what load reported is what bronze holds, file by file
        for f in batch.files:
            got = stack.sql(
                f"select count(*), count_if(_malformed) from iceberg.bronze.brz_{f.table} "
                f"where _batch_id = '{batch.batch_id}'"
            ).rows[0]
            assert tuple(got) == (f.rows, f.malformed), (batch.batch_id, f.table)
    by_id = {b.batch_id: {f.table: f for f in b.files} for b in loaded}
    assert by_id[hostile_cases["header-only"].batch_id]["orders"].rows == 0
    long_line = by_id[hostile_cases["long-line"].batch_id]["orders"]
    assert (long_line.malformed, long_line.rows) == (1, long_line.lines)
    raw = stack.sql(
        "select _source_line, length(_raw_line), order_id from iceberg.bronze.brz_orders "
        f"where _batch_id = '{hostile_cases['long-line'].batch_id}' and _malformed"
    ).rows
    assert [tuple(r) for r in raw] == [(3, MAX_LINE_CHARS, None)]
    # a reordered header lands every value under its own column
    columns = "order_id, customer_id, order_status, order_purchase_timestamp"
    differ = stack.sql(
        f"(select {columns} from iceberg.bronze.brz_orders where _batch_id = '{reordered.batch_id}'"
        f" except select {columns} from iceberg.bronze.brz_orders where _batch_id = '{good_id}')"
        f" union all (select {columns} from iceberg.bronze.brz_orders where _batch_id = "
        f"'{good_id}' except select {columns} from iceberg.bronze.brz_orders "
        f"where _batch_id = '{reordered.batch_id}')"
    ).rows
    assert differ == []
    assert by_id[reordered.batch_id]["orders"].rows == by_id[good_id]["orders"].rows > 0
