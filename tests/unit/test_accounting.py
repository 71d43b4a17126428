"""Per-file accounts (medallion.accounting.account) and how `medallion runs --batch` shows them."""

from __future__ import annotations

import io
import json

from rich.console import Console

from medallion.accounting import FileAccount, account, chunks
from medallion.runs_cli import accounts_rows, accounts_table

LOADED = [
    ("b1", "orders", "olist_orders_dataset.csv", 100),
    ("b1", "order_reviews", "olist_order_reviews_dataset.csv", 50),
    ("b2", "orders", "olist_orders_dataset.csv", 10),
]


def test_outcomes_split_into_accepted_quarantined_and_waiting() -> None:
    got = account(
        LOADED,
        {("b1", "orders"): 100, ("b1", "order_reviews"): 48},
        [
            ("b1", "orders", "accepted", 95),
            ("b1", "orders", "bad_status", 3),
            ("b1", "orders", "malformed_row", 2),
            ("b1", "order_reviews", "accepted", 40),
            ("b1", "order_reviews", "orphan", 6),
            ("b1", "order_reviews", "unprocessed", 2),
        ],
    )
    by = {(a.batch_id, a.table_name): a for a in got}
    orders = by[("b1", "orders")]
    assert (orders.accepted, orders.quarantined, orders.waiting) == (95, 5, 0)
    assert orders.reasons == {"bad_status": 3, "malformed_row": 2}
    reviews = by[("b1", "order_reviews")]
    # two not yet in bronze, two in bronze but not yet in silver, six waiting for their order
    assert (reviews.bronze_rows, reviews.orphans, reviews.unprocessed) == (48, 6, 4)
    assert reviews.reasons == {}
    later = by[("b2", "orders")]
    assert (later.bronze_rows, later.accepted, later.unprocessed) == (0, 0, 10)
    assert all(a.balanced for a in got)
    assert [(a.batch_id, a.table_name) for a in got] == sorted(by)


def test_a_file_whose_parts_do_not_add_up_is_unbalanced() -> None:
    # bronze holds more rows than were landed (a batch ingested twice): nothing hides it
    (extra,) = account(LOADED[2:], {("b2", "orders"): 12}, [("b2", "orders", "accepted", 12)])
    assert not extra.balanced
    assert extra.records == 10 and extra.accepted == 12


def render(accounts: list[FileAccount]) -> str:
    out = io.StringIO()
    Console(file=out, width=80, color_system=None).print(accounts_table(accounts))
    return out.getvalue()


def test_the_table_fits_80_columns_and_lists_reasons() -> None:
    accounts = [
        FileAccount("b1", "product_category_name_translation", "x.csv", 71, 71, 70, {"dup": 1}),
        FileAccount("b1", "orders", "o.csv", 1_000_000, 1_000_000, 999_000, {"bad": 990}, 10),
    ]
    text = render(accounts)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "orders: bad 990" in text
    assert "1,000,071" in text  # the total of the records column
    assert "10 orphans wait" in text
    assert "do not add up" not in text


def test_rows_carry_every_column_for_json() -> None:
    a = FileAccount("b1", "orders", "o.csv", 5, 5, 3, {"bad": 1}, 1)
    columns, rows = accounts_rows([a])
    record = dict(zip(columns, rows[0], strict=True))
    assert record["quarantined"] == 1 and record["orphans"] == 1 and record["balanced"] is True
    assert json.loads(record["reasons"]) == {"bad": 1}


def test_counting_is_cut_into_runs_of_batches_that_fit_one_query() -> None:
    loaded = [
        ("b1", "orders", "o.csv", 60),
        ("b1", "customers", "c.csv", 30),
        ("b2", "orders", "o.csv", 50),
        ("b3", "orders", "o.csv", 500),
        ("b4", "orders", "o.csv", 10),
    ]
    # b1 (90) and b2 (50) do not fit 100 together; b3 is larger than a run and goes alone;
    # b5 has no landed file (a header only) and costs nothing
    assert chunks(["b4", "b3", "b2", "b1", "b5"], loaded, limit=100) == [
        ["b1"],
        ["b2"],
        ["b3"],
        ["b4", "b5"],
    ]
    assert chunks(["b1", "b2", "b4"], loaded, limit=1000) == [["b1", "b2", "b4"]]
    assert chunks([], loaded, limit=100) == []
