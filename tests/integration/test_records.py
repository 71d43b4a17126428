"""CSV records, not lines, on the real stack: quoted line breaks reach bronze and silver intact.

One generated batch, reshaped like the real Olist download: reviews whose comments hold quoted
``\\n`` and ``\\r\\n`` (a few percent of them), the category translation with a byte-order
mark, CRLF line ends and no final newline, the orders file with no final newline, and the
generator's malformed lines (stray unbalanced quotes, wrong field counts) scattered in between.
Python's ``csv`` module, given each file without its known broken lines, is the reference.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from medallion.generate import HEADERS, KEYS, generate
from medallion.load import load_dir, table_of
from medallion.run.dbt import run_layer
from medallion.run.silver import run_silver
from tests.conftest import StackHandle

from . import reference

pytestmark = pytest.mark.integration

REVIEWS = "olist_order_reviews_dataset"
ORDERS = "olist_orders_dataset"
TRANSLATION = "product_category_name_translation"
SELLERS = "olist_sellers_dataset"


@dataclass
class Landed:
    folder: Path
    batch: str
    defects: list[dict[str, Any]]
    originals: dict[str, bytes] = field(default_factory=dict)

    def file(self, stem: str) -> Path:
        return self.folder / f"batch={self.batch}" / f"{stem}.csv"

    def broken_lines(self, stem: str) -> list[str]:
        return [
            d["line"]
            for d in self.defects
            if d["table"] == stem and d["reason"] == "malformed_row" and d["batch"] == self.batch
        ]

    def expected(self, stem: str) -> list[tuple[str, ...]]:
        """The file's data records by Python's csv module, its known broken lines taken out
        (alone, a stray quote would make the csv module swallow the rows after it)."""
        text = self.file(stem).read_bytes().decode("utf-8-sig")
        broken = Counter(self.broken_lines(stem))
        kept = []
        for line in text.splitlines(keepends=True):
            bare = line.rstrip("\r\n")
            if broken[bare]:
                broken[bare] -= 1
                continue
            kept.append(line)
        assert not +broken, f"{stem}: manifest lines missing from the file: {broken}"
        rows = list(csv.reader(io.StringIO("".join(kept), newline=""), strict=True))
        return [tuple(r) for r in rows[1:]]


@pytest.fixture(scope="module")
def landed(stack: StackHandle, tmp_path_factory: pytest.TempPathFactory) -> Landed:
    out = tmp_path_factory.mktemp("olist")
    summary = generate(out, scale=0.01, days=1, seed=5, defects=0.03, multiline=0.05)
    data = Landed(
        out, summary.batches[0], json.loads((out / "defects.json").read_text())["defects"]
    )
    translation = data.file(TRANSLATION)
    body = translation.read_text(encoding="utf-8").rstrip("\n").replace("\n", "\r\n")
    translation.write_bytes(b"\xef\xbb\xbf" + body.encode())
    orders = data.file(ORDERS)
    orders.write_bytes(orders.read_bytes().rstrip(b"\n"))
    data.originals = {p.name: p.read_bytes() for p in data.file(ORDERS).parent.glob("*.csv")}
    load_dir(stack.env, out, data.batch)
    bronze = run_layer(stack.env, "bronze")
    assert bronze.success, bronze.error
    silver = run_silver(stack.env, echo=None)
    assert silver.success, f"silver failed: {silver.error} (log: {silver.log_file})"
    return data


def test_the_batch_has_every_quirk(landed: Landed) -> None:
    reviews = landed.expected(REVIEWS)
    message = HEADERS[REVIEWS].index("review_comment_message")
    assert any("\r\n" in r[message] for r in reviews)
    assert any("\n" in r[message].replace("\r\n", "") for r in reviews)
    assert landed.file(TRANSLATION).read_bytes().startswith(b"\xef\xbb\xbf")
    assert not landed.file(ORDERS).read_bytes().endswith(b"\n")
    kinds = {d["kind"] for d in landed.defects if d["table"] == REVIEWS}
    assert {"malformed_quoting", "malformed_field_count"} <= kinds


def test_every_record_reaches_landing_field_by_field(stack: StackHandle, landed: Landed) -> None:
    for stem, header in HEADERS.items():
        table = table_of(f"{stem}.csv")
        got = stack.sql(
            f"select {', '.join(header)} from landing.olist.{table} where _raw_line is null"
        ).rows
        assert Counter(tuple(r) for r in got) == Counter(landed.expected(stem)), stem


def test_the_original_stays_byte_for_byte(stack: StackHandle, landed: Landed) -> None:
    from medallion.s3 import s3_client

    s3 = s3_client(stack.env)
    for name, content in landed.originals.items():
        key = f"landing/olist/{table_of(name)}/batch_id={landed.batch}/{name}"
        body = s3.get_object(Bucket=stack.env["S3_BUCKET"], Key=key)["Body"].read()
        assert body == content, name


def test_only_the_broken_lines_are_malformed_in_bronze(stack: StackHandle, landed: Landed) -> None:
    for stem in HEADERS:
        table = table_of(f"{stem}.csv")
        rows, malformed = stack.sql(
            f"select count(*), count_if(_malformed) from iceberg.bronze.brz_{table}"
        ).rows[0]
        broken = landed.broken_lines(stem)
        assert rows == len(landed.expected(stem)) + len(broken), stem
        assert malformed == len(broken), stem
        raw = [
            r[0]
            for r in stack.sql(
                f"select _raw_line from iceberg.bronze.brz_{table} where _raw_line is not null"
            ).rows
        ]
        assert Counter(raw) == Counter(broken), stem


def test_the_row_after_a_stray_quote_is_accepted(stack: StackHandle, landed: Landed) -> None:
    lines = landed.file(REVIEWS).read_text(encoding="utf-8").split("\n")
    stray = [
        d["line"]
        for d in landed.defects
        if d["kind"] == "malformed_quoting" and d["table"] == REVIEWS
    ]
    assert stray
    defective = {d["key"]["review_id"] for d in landed.defects if d["table"] == REVIEWS}
    for line in stray:
        following = lines[lines.index(line) + 1]
        review_id = following.split(",", 1)[0]
        assert (
            stack.scalar(
                "select count(*) from iceberg.bronze.brz_order_reviews "
                f"where review_id = '{review_id}' and not _malformed"
            )
            >= 1
        ), following
        if review_id not in defective:
            assert (
                stack.scalar(
                    "select count(*) from iceberg.silver.fct_reviews "
                    f"where review_id = '{review_id}'"
                )
                == 1
            ), following


def test_multi_line_reviews_reach_silver_intact(stack: StackHandle, landed: Landed) -> None:
    header = HEADERS[REVIEWS]
    rid, score, message = (
        header.index(c) for c in ("review_id", "review_score", "review_comment_message")
    )
    spanning = {r[rid]: r for r in landed.expected(REVIEWS) if "\n" in r[message]}
    assert len(spanning) >= 5
    ids = ", ".join(f"'{i}'" for i in spanning)
    got = {
        i: (s, m)
        for i, s, m in stack.sql(
            "select review_id, review_score, review_comment_message "
            f"from iceberg.silver.fct_reviews where review_id in ({ids})"
        ).rows
    }
    assert got == {i: (int(r[score]), r[message].strip(" ")) for i, r in spanning.items()}


def test_counts_reconcile(stack: StackHandle, landed: Landed) -> None:
    """Records landed = bronze rows; every distinct bronze row is accepted or quarantined, and
    the quarantine's malformed rows are exactly the broken lines."""
    recon = {
        t: (bronze, distinct, accepted, quarantined)
        for t, bronze, distinct, accepted, quarantined in stack.sql(
            "select table_name, bronze_rows, distinct_rows, accepted_rows, quarantined_rows "
            "from iceberg.silver.silver_reconciliation"
        ).rows
    }
    bronze, distinct, accepted, quarantined = recon["fct_reviews"]
    assert bronze == len(landed.expected(REVIEWS)) + len(landed.broken_lines(REVIEWS))
    assert accepted + quarantined == distinct
    malformed = stack.scalar(
        "select count(*) from iceberg.silver.quarantine "
        "where table_name = 'fct_reviews' and reason = 'malformed_row'"
    )
    assert malformed == len(landed.broken_lines(REVIEWS))


def test_every_record_of_every_file_is_accounted_for(stack: StackHandle, landed: Landed) -> None:
    """Per file: records (Python's csv module's count plus the broken lines) = accepted +
    quarantined + waiting, stored in the ledger and shown by `medallion runs --batch`."""
    from medallion import accounting

    accounts = accounting.refresh(stack.env)
    assert accounts is not None
    by_table = {a.table_name: a for a in accounts if a.batch_id == landed.batch}
    assert set(by_table) == {table_of(f"{stem}.csv") for stem in HEADERS}
    for stem in HEADERS:
        got = by_table[table_of(f"{stem}.csv")]
        broken = landed.broken_lines(stem)
        assert got.file == f"{stem}.csv"
        assert got.records == got.bronze_rows == len(landed.expected(stem)) + len(broken), stem
        assert got.unprocessed == 0, stem
        assert got.balanced, got
        assert got.reasons.get("malformed_row", 0) == len(broken), stem
    reviews = by_table[table_of(f"{REVIEWS}.csv")]
    assert reviews.accepted > 0 and reviews.quarantined > 0
    shown = stack.cli("runs", "--batch", landed.batch, "--format", "json").stdout
    rows = [json.loads(line) for line in shown.splitlines()]
    assert {r["table_name"]: r["records"] for r in rows} == {
        t: a.records for t, a in by_table.items()
    }
    assert all(r["balanced"] for r in rows)
    unknown = stack.cli("runs", "--batch", "no-such-batch", check=False)
    assert unknown.returncode != 0 and "no batch 'no-such-batch'" in unknown.stderr


def _rewrite(source: Path, out: Path, change: Any) -> None:
    """``out`` as the Olist file ``source``, each record (header first) passed through
    ``change``; the generator's broken lines are left out (they are not records to rewrite)."""
    with source.open(newline="", encoding="utf-8-sig") as handle:
        header, *rest = list(csv.reader(handle))
    rows = [header, *(r for r in rest if len(r) == len(header))]
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as handle:
        changed = (change(i, r) for i, r in enumerate(rows))
        csv.writer(handle, lineterminator="\n").writerows(r for r in changed if r is not None)


def test_a_column_a_later_file_adds_flows_into_silver(
    stack: StackHandle, landed: Landed, tmp_path: Path
) -> None:
    """Schema evolution: a later orders file with a new last column, order_channel, for half of
    its orders loads, and the column reaches bronze and silver; the earlier batch's rows have
    null there and keep their row hashes, and the orders the later file does not hold keep
    their earlier version."""
    hashes = dict(
        stack.sql(
            "select order_id, _row_hash from iceberg.bronze.brz_orders "
            f"where _batch_id = '{landed.batch}' and not _malformed"
        ).rows
    )
    later = f"{landed.batch}-z"
    channel: dict[str, str] = {}

    def add_channel(i: int, row: list[str]) -> list[str] | None:
        if i == 0:
            return [*row, "order_channel"]
        if i % 2:
            return None
        channel[row[0]] = "app" if i % 4 else "web"
        return [*row, channel[row[0]]]

    _rewrite(landed.file(ORDERS), tmp_path / f"batch={later}" / f"{ORDERS}.csv", add_channel)
    load_dir(stack.env, tmp_path, later)
    bronze = run_layer(stack.env, "bronze")
    assert bronze.success, bronze.error
    silver = run_silver(stack.env, echo=None)
    assert silver.success, f"silver failed: {silver.error} (log: {silver.log_file})"

    assert set(
        stack.sql(
            "select distinct order_channel from landing.olist.orders "
            f"where batch_id = '{landed.batch}'"
        ).rows
    ) == {(None,)}
    before = dict(
        stack.sql(
            "select order_id, _row_hash from iceberg.bronze.brz_orders "
            f"where _batch_id = '{landed.batch}' and not _malformed"
        ).rows
    )
    assert before == hashes
    assert (
        stack.scalar(
            "select count(*) from iceberg.bronze.brz_orders "
            f"where _batch_id = '{landed.batch}' and order_channel is not null"
        )
        == 0
    )
    got = dict(stack.sql("select order_id, order_channel from iceberg.silver.fct_orders").rows)
    # the later file's orders are their latest version (a defective one stays quarantined)
    present = {o: got[o] for o in channel if o in got}
    assert len(present) > 0.8 * len(channel)
    assert present == {o: channel[o] for o in present}
    untouched = [o for o in hashes if o not in channel and o in got]
    assert untouched and all(got[o] is None for o in untouched)


def test_a_file_that_drops_a_column_is_refused_and_changes_nothing(
    stack: StackHandle, landed: Landed, tmp_path: Path
) -> None:
    from medallion.load import LoadError
    from medallion.s3 import s3_client

    dropped = HEADERS[ORDERS].index("order_approved_at")
    batch = f"{landed.batch}-zz"
    _rewrite(
        landed.file(ORDERS),
        tmp_path / f"batch={batch}" / f"{ORDERS}.csv",
        lambda _, row: row[:dropped] + row[dropped + 1 :],
    )
    s3 = s3_client(stack.env)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=stack.env["S3_BUCKET"])
    keys = {o["Key"] for page in pages for o in page.get("Contents", [])}
    columns = stack.sql("show columns from landing.olist.orders").rows
    with pytest.raises(LoadError) as refused:
        load_dir(stack.env, tmp_path, batch)
    message = str(refused.value)
    assert f"{ORDERS}.csv" in message and "order_approved_at" in message, message
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=stack.env["S3_BUCKET"])
    assert {o["Key"] for page in pages for o in page.get("Contents", [])} == keys
    assert stack.sql("show columns from landing.olist.orders").rows == columns


def test_a_landing_table_from_before_is_remade_over_its_records(
    stack: StackHandle, tmp_path: Path
) -> None:
    """A stack whose landing table still reads its CSV files line by line: the next load
    remakes it over the records of every original already landed, which stay as they were."""
    from medallion.load import Landing
    from medallion.s3 import s3_client

    s3 = s3_client(stack.env)
    bucket = stack.env["S3_BUCKET"]
    landing = Landing(stack.env, s3)
    landing.ensure_schema()
    original = b'id,note\r\n1,"a\r\nb"\r\n2,c'
    key = "landing/olist/legacy_things/batch_id=b1/legacy_things.csv"
    s3.put_object(Bucket=bucket, Key=key, Body=original)
    stack.sql(
        "create table landing.olist.legacy_things (id varchar, note varchar, "
        "_extra_fields varchar, batch_id varchar) with (format = 'CSV', "
        "skip_header_line_count = 1, partitioned_by = array['batch_id'], "
        f"external_location = 's3://{bucket}/landing/olist/legacy_things/')"
    )
    landing.register_partition("legacy_things", "b1")
    assert stack.scalar("select count(*) from landing.olist.legacy_things") == 3  # lines
    landing.ensure_table("legacy_things", ["id", "note"])
    rows = stack.sql("select id, note, _raw_line from landing.olist.legacy_things order by 1").rows
    assert [tuple(r) for r in rows] == [("1", "a\r\nb", None), ("2", "c", None)]
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == original
    stack.sql("drop table landing.olist.legacy_things")


def test_a_file_with_no_records_keeps_its_account(
    stack: StackHandle, landed: Landed, tmp_path: Path
) -> None:
    """A header-only file has no row in its landing table, so only the load knows it: its
    account (0 records, balanced) is stored by `medallion load` and kept by every refresh."""
    from medallion import accounting

    batch = f"{landed.batch}-empty"
    folder = tmp_path / f"batch={batch}"
    folder.mkdir()
    (folder / f"{SELLERS}.csv").write_text(",".join(HEADERS[SELLERS]) + "\n")
    (folder / f"{TRANSLATION}.csv").write_bytes(landed.originals[f"{TRANSLATION}.csv"])
    stack.cli("load", str(tmp_path), "--batch", batch)
    refreshed = accounting.refresh(stack.env, [batch])
    assert refreshed is not None
    for accounts in (refreshed, accounting.stored(stack.env, batch)):
        by_file = {a.file: a for a in accounts}
        assert set(by_file) == {f"{SELLERS}.csv", f"{TRANSLATION}.csv"}
        empty = by_file[f"{SELLERS}.csv"]
        assert (empty.table_name, empty.records, empty.balanced) == ("sellers", 0, True)
        assert by_file[f"{TRANSLATION}.csv"].records == len(landed.expected(TRANSLATION))
        assert all(a.balanced for a in accounts)


def test_a_refresh_reads_landing_only_for_files_the_ledger_does_not_list(
    stack: StackHandle, landed: Landed, tmp_path: Path
) -> None:
    """A listed file's records come from the ledger: refreshing a stored batch counts no landed
    record (Trino ran no count over a landing table). A batch landed again is forgotten there
    first, so a refresh that follows a load which never refreshed (the Python API) counts the
    new file, not the old one's records."""
    from medallion import accounting

    batch = f"{landed.batch}-again"
    first, second = tmp_path / "first", tmp_path / "second"
    _rewrite(landed.file(SELLERS), first / f"batch={batch}" / f"{SELLERS}.csv", _same)
    stack.cli("load", str(first), "--batch", batch)
    [stored] = accounting.stored(stack.env, batch)
    records = _data_rows(first / f"batch={batch}" / f"{SELLERS}.csv")
    assert records > 2 and stored.records == records

    since = stack.scalar("select current_timestamp")
    refreshed = accounting.refresh(stack.env, [batch])
    assert refreshed is not None and [a.records for a in refreshed] == [records]
    counted = stack.scalar(
        "select count(*) from system.runtime.queries "
        f"where created >= from_iso8601_timestamp('{since.isoformat()}') "
        "and query like '%\"$path\"%' and query not like '%system.runtime.queries%'"
    )
    assert counted == 0

    _rewrite(
        landed.file(SELLERS),
        second / f"batch={batch}" / f"{SELLERS}.csv",
        lambda i, row: row if i % 2 == 0 else None,
    )
    load_dir(stack.env, second, batch, replace=True)
    assert accounting.stored(stack.env, batch) == []
    fewer = _data_rows(second / f"batch={batch}" / f"{SELLERS}.csv")
    assert fewer < records
    refreshed = accounting.refresh(stack.env, [batch])
    assert refreshed is not None and [a.records for a in refreshed] == [fewer]
    assert [a.records for a in accounting.stored(stack.env, batch)] == [fewer]


def _same(index: int, row: list[str]) -> list[str]:
    return row


def _data_rows(path: Path) -> int:
    with path.open(newline="", encoding="utf-8") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def test_silver_equals_the_independent_computation(stack: StackHandle, landed: Landed) -> None:
    """tests/integration/reference.py cuts each file into records by the README's rules with
    its own code (not medallion.records); on this batch, with quoted line breaks, a BOM, CRLF
    line ends, a missing final newline and stray quotes, silver accepts exactly its rows."""
    expected = reference.silver(landed.folder, [landed.batch])
    spanning = [r for r in expected[REVIEWS].values() if "\n" in r["review_comment_message"]]
    assert len(spanning) >= 5, "the batch has too few multi-line reviews to tell"
    for stem, table in (
        (REVIEWS, "fct_reviews"),
        (ORDERS, "fct_orders"),
        ("olist_order_items_dataset", "fct_order_items"),
        ("olist_order_payments_dataset", "fct_payments"),
    ):
        keys = ", ".join(KEYS[stem])
        got = {
            tuple(str(v) for v in r)
            for r in stack.sql(f"select {keys} from iceberg.silver.{table}").rows
        }
        assert got == set(expected[stem]), table


def test_a_refresh_counts_only_the_batches_that_changed(stack: StackHandle, landed: Landed) -> None:
    """A batch's accounts change only with its bronze, reconciliation or quarantine rows: with
    nothing changed a refresh counts no batch again, orphans or not; bronze taking a batch again
    opens it alone, its records waiting until silver has processed them again."""
    from medallion import accounting

    assert accounting.refresh(stack.env) is not None
    assert accounting.refresh(stack.env) == []

    bronze = run_layer(stack.env, "bronze", ["--vars", json.dumps({"batch": landed.batch})])
    assert bronze.success, bronze.error
    waiting = accounting.refresh(stack.env)
    assert waiting and {a.batch_id for a in waiting} == {landed.batch}
    assert all(a.unprocessed == a.records for a in waiting), waiting

    silver = run_silver(stack.env, echo=None)
    assert silver.success, f"silver failed: {silver.error} (log: {silver.log_file})"
    after = [a for a in accounting.refresh(stack.env) or [] if a.batch_id == landed.batch]
    assert {a.table_name for a in after} == {a.table_name for a in waiting}
    assert all(a.unprocessed == 0 and a.balanced for a in after), after
    assert accounting.refresh(stack.env) == []
