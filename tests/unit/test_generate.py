"""Tests of the synthetic Olist generator.

The downstream pipeline trusts two things about the generator: the files look like Olist's
(headers, formats, shapes, batches, updates), and the defect manifest is the complete truth
(every listed line is in its file, every unlisted line is clean). Both are checked here by
parsing every line of small runs with the csv module, line by line, the way the Bronze reader
does.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import json
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from medallion.generate import (
    DEFECT_REASONS,
    FILES,
    HEADERS,
    KEYS,
    ORDER_STATUSES,
    PAYMENT_TYPES,
    SPECS,
    GenerateSummary,
    generate,
)
from medallion.generate._reference import CATEGORIES

CUSTOMERS = "olist_customers_dataset"
GEO = "olist_geolocation_dataset"
ITEMS = "olist_order_items_dataset"
PAYMENTS = "olist_order_payments_dataset"
REVIEWS = "olist_order_reviews_dataset"
ORDERS = "olist_orders_dataset"
PRODUCTS = "olist_products_dataset"
SELLERS = "olist_sellers_dataset"
TRANSLATION = "product_category_name_translation"
CHILDREN = (ITEMS, PAYMENTS, REVIEWS)
#: Order in which tables are checked inside a batch, parents before children.
DEPENDENCY_ORDER = (TRANSLATION, GEO, SELLERS, PRODUCTS, CUSTOMERS, ORDERS, *CHILDREN)

# Written out again on purpose: the test must fail if someone "fixes" a spelling in the module.
EXPECTED_HEADERS = {
    "olist_customers_dataset": "customer_id,customer_unique_id,customer_zip_code_prefix,"
    "customer_city,customer_state",
    "olist_geolocation_dataset": "geolocation_zip_code_prefix,geolocation_lat,geolocation_lng,"
    "geolocation_city,geolocation_state",
    "olist_order_items_dataset": "order_id,order_item_id,product_id,seller_id,"
    "shipping_limit_date,price,freight_value",
    "olist_order_payments_dataset": "order_id,payment_sequential,payment_type,"
    "payment_installments,payment_value",
    "olist_order_reviews_dataset": "review_id,order_id,review_score,review_comment_title,"
    "review_comment_message,review_creation_date,review_answer_timestamp",
    "olist_orders_dataset": "order_id,customer_id,order_status,order_purchase_timestamp,"
    "order_approved_at,order_delivered_carrier_date,order_delivered_customer_date,"
    "order_estimated_delivery_date",
    "olist_products_dataset": "product_id,product_category_name,product_name_lenght,"
    "product_description_lenght,product_photos_qty,product_weight_g,product_length_cm,"
    "product_height_cm,product_width_cm",
    "olist_sellers_dataset": "seller_id,seller_zip_code_prefix,seller_city,seller_state",
    "product_category_name_translation": "product_category_name,product_category_name_english",
}
UFS = frozenset({
    "AC", "AL", "AM", "AP", "BA", "CE", "DF", "ES", "GO", "MA", "MG", "MS", "MT", "PA",
    "PB", "PE", "PI", "PR", "RJ", "RN", "RO", "RR", "RS", "SC", "SE", "SP", "TO",
})  # fmt: skip
HEX32 = re.compile(r"[0-9a-f]{32}")
MONEY = re.compile(r"\d+\.\d{2}")
ZIP = re.compile(r"\d{5}")
RANK = {s: i for i, s in enumerate(ORDER_STATUSES[:6])} | {"canceled": 5, "unavailable": 5}
TARGETS = {
    ORDERS: 99_441,
    CUSTOMERS: 99_441,
    ITEMS: 112_650,
    PAYMENTS: 103_886,
    REVIEWS: 99_224,
    PRODUCTS: 32_951,
    SELLERS: 3_095,
    GEO: 1_000_163,
}


@dataclass
class Line:
    """One physical line of a data file, parsed alone as a line-based reader would."""

    text: str
    fields: list[str]
    defective: bool


@dataclass
class Run:
    """A generated output directory, fully parsed."""

    out: Path
    summary: GenerateSummary
    manifest: dict[str, Any]
    batches: list[str]
    lines: dict[tuple[str, str], list[Line]]
    unmatched: list[dict[str, Any]]

    def clean(self, stem: str) -> Iterator[tuple[int, list[str]]]:
        for b, batch in enumerate(self.batches):
            for line in self.lines[batch, stem]:
                if not line.defective:
                    yield b, line.fields

    def entries(self, table: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        return [
            e
            for e in self.manifest["defects"]
            if (table is None or e["table"] == table) and (kind is None or e["kind"] == kind)
        ]

    def final_orders(self) -> dict[str, list[str]]:
        """Last clean row of every order over all batches (its final state)."""
        final: dict[str, list[str]] = {}
        for _, f in self.clean(ORDERS):
            final[f[0]] = f
        return final


def parse(text: str) -> list[str]:
    return next(csv.reader([text]))


def load(out: Path, summary: GenerateSummary) -> Run:
    manifest = json.loads((out / "defects.json").read_text(encoding="utf-8"))
    listed = Counter((e["batch"], e["table"], e["line"]) for e in manifest["defects"])
    batches = sorted(p.name.removeprefix("batch=") for p in out.glob("batch=*"))
    lines: dict[tuple[str, str], list[Line]] = {}
    for batch in batches:
        for stem in HEADERS:
            raw = (out / f"batch={batch}" / f"{stem}.csv").read_bytes()
            assert not raw.startswith(b"\xef\xbb\xbf"), "no BOM"
            assert b"\r" not in raw, "\\n line endings only"
            text = raw.decode("utf-8")
            assert text.endswith("\n")
            physical = text.split("\n")[:-1]
            assert physical[0] == EXPECTED_HEADERS[stem]
            parsed: list[Line] = []
            for t in physical[1:]:
                defective = listed[batch, stem, t] > 0
                if defective:
                    listed[batch, stem, t] -= 1
                parsed.append(Line(t, parse(t), defective))
            lines[batch, stem] = parsed
    leftover = +listed
    unmatched = [e for e in manifest["defects"] if (e["batch"], e["table"], e["line"]) in leftover]
    return Run(out, summary, manifest, batches, lines, unmatched)


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    out = tmp_path_factory.mktemp("clean")
    return load(out, generate(out, scale=0.01, days=3, seed=42, defects=0.0))


@pytest.fixture(scope="module")
def defect_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    out = tmp_path_factory.mktemp("defects")
    return load(out, generate(out, scale=0.01, days=3, seed=7, defects=0.05))


@pytest.fixture(params=["clean_run", "defect_run"])
def run(request: pytest.FixtureRequest) -> Run:
    result: Run = request.getfixturevalue(request.param)
    return result


def _ts(value: str) -> dt.datetime:
    return dt.datetime.strptime(value, "%Y-%m-%d %H:%M:%S")


def _parses_as_ts(value: str) -> bool:
    try:
        _ts(value)
    except ValueError:
        return False
    return True


def _parses_as_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


# ------------------------------------------------------------------------------ layout, API


def test_constants_match_the_original_files() -> None:
    assert [f"{stem}.csv" for stem in EXPECTED_HEADERS] == FILES
    assert {stem: ",".join(h) for stem, h in HEADERS.items()} == EXPECTED_HEADERS
    for stem, key in KEYS.items():
        assert HEADERS[stem][: len(key)] == key, "key columns come first"


def test_every_batch_has_all_files_with_exact_headers(run: Run) -> None:
    assert run.batches == ["2018-01-01", "2018-01-02", "2018-01-03"]
    assert run.summary.batches == run.batches
    for batch in run.batches:
        names = sorted(p.name for p in (run.out / f"batch={batch}").iterdir())
        assert names == sorted(FILES)
    # load() asserted header, encoding and line endings of every file.


def test_summary_matches_the_files(run: Run) -> None:
    for stem in HEADERS:
        assert run.summary.rows[stem] == sum(len(run.lines[b, stem]) for b in run.batches)
    sizes = sum(p.stat().st_size for p in run.out.rglob("*") if p.is_file())
    assert run.summary.bytes == sizes
    assert run.summary.defects == len(run.manifest["defects"])


def test_same_arguments_give_identical_bytes_even_across_processes(tmp_path: Path) -> None:
    args = {"scale": 0.003, "days": 3, "seed": 11, "defects": 0.1}
    generate(tmp_path / "a", **args)  # type: ignore[arg-type]
    code = (
        "import sys; from pathlib import Path; from medallion.generate import generate; "
        "generate(Path(sys.argv[1]), scale=0.003, days=3, seed=11, defects=0.1)"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}  # set/hash order must not leak
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "b")], check=True, env=env)
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.*"))
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.*"))
    assert files_a == files_b
    assert len(files_a) == 3 * 9 + 1
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


def test_another_seed_gives_other_data(tmp_path: Path) -> None:
    generate(tmp_path / "a", scale=0.002, days=2, seed=1)
    generate(tmp_path / "b", scale=0.002, days=2, seed=2)
    rel = Path("batch=2018-01-01") / "olist_orders_dataset.csv"
    assert (tmp_path / "a" / rel).read_bytes() != (tmp_path / "b" / rel).read_bytes()


def test_invalid_arguments_are_rejected(tmp_path: Path) -> None:
    for kwargs in (
        {"scale": 0},
        {"scale": -1.0},
        {"scale": float("nan")},
        {"days": 0},
        {"defects": -0.1},
        {"defects": 1.5},
        {"multiline": -0.1},
        {"multiline": 2},
    ):
        with pytest.raises(ValueError):
            generate(tmp_path, **kwargs)


def test_progress_reports_cumulative_rows(tmp_path: Path) -> None:
    calls: list[tuple[str, int]] = []
    summary = generate(tmp_path, scale=0.002, days=2, progress=lambda t, n: calls.append((t, n)))
    for stem in HEADERS:
        seen = [n for t, n in calls if t == stem]
        assert len(seen) >= 2, "at least once per batch file"
        assert seen == sorted(seen)
        assert seen[-1] == summary.rows[stem]


def test_rerun_with_fewer_days_removes_stale_batches(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("not ours")
    generate(tmp_path, scale=0.002, days=3)
    generate(tmp_path, scale=0.002, days=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "batch=2018-01-01",
        "defects.json",
        "keep.txt",
    ]


def test_start_date_and_single_day(tmp_path: Path) -> None:
    summary = generate(tmp_path, scale=0.003, days=1, defects=0.2, start_date=dt.date(2017, 3, 5))
    assert summary.batches == ["2017-03-05"]
    run = load(tmp_path, summary)
    assert not run.unmatched
    assert not run.entries(kind="late_parent"), "late_parent needs a later batch"
    ids = [f[0] for _, f in run.clean(ORDERS)]
    assert len(ids) == len(set(ids)), "no updates without a later batch"
    assert all(f[3].startswith("2017-03-05 ") for _, f in run.clean(ORDERS))


# ------------------------------------------------------------------------------ counts, shapes


def test_counts_follow_the_scale(clean_run: Run) -> None:
    distinct = {
        ORDERS: len({f[0] for _, f in clean_run.clean(ORDERS)}),
        CUSTOMERS: clean_run.summary.rows[CUSTOMERS],
        ITEMS: clean_run.summary.rows[ITEMS],
        PAYMENTS: clean_run.summary.rows[PAYMENTS],
        REVIEWS: clean_run.summary.rows[REVIEWS],
        PRODUCTS: clean_run.summary.rows[PRODUCTS],
        SELLERS: clean_run.summary.rows[SELLERS],
        GEO: clean_run.summary.rows[GEO],
    }
    for stem, target in TARGETS.items():
        assert distinct[stem] == pytest.approx(target * 0.01, rel=0.03), stem
    assert clean_run.summary.rows[TRANSLATION] == 71
    prefixes = {f[0] for _, f in clean_run.clean(GEO)}
    assert len(prefixes) == pytest.approx(190, rel=0.1)
    assert clean_run.summary.rows[ORDERS] > distinct[ORDERS], "updates add order rows"


def test_one_customer_per_order_and_returning_people(clean_run: Run) -> None:
    order_customers = [f[1] for f in clean_run.final_orders().values()]
    customers = [f for _, f in clean_run.clean(CUSTOMERS)]
    assert sorted(order_customers) == sorted(f[0] for f in customers)
    unique = {f[1] for f in customers}
    repeat_share = 1 - len(unique) / len(customers)
    assert 0.01 < repeat_share < 0.06


def test_formats(clean_run: Run) -> None:
    id_cols = {
        CUSTOMERS: (0, 1),
        ORDERS: (0, 1),
        ITEMS: (0, 2, 3),
        PAYMENTS: (0,),
        REVIEWS: (0, 1),
        PRODUCTS: (0,),
        SELLERS: (0,),
    }
    for stem, cols in id_cols.items():
        for _, f in clean_run.clean(stem):
            assert all(HEX32.fullmatch(f[c]) for c in cols), f
    zips = [f[0] for _, f in clean_run.clean(GEO)] + [f[2] for _, f in clean_run.clean(CUSTOMERS)]
    assert all(ZIP.fullmatch(z) for z in zips)
    assert any(z.startswith("0") for z in zips), "leading zeros are kept"
    geo = [f for _, f in clean_run.clean(GEO)]
    assert all(len(f[1].split(".")[1]) >= 8 for f in geo[:100]), "lat with many decimals"
    assert any(not f[3].isascii() for f in geo), "geolocation has accented spellings too"
    states = Counter(f[4] for _, f in clean_run.clean(CUSTOMERS))
    assert set(states) <= UFS
    assert states.most_common(1)[0][0] == "SP"
    for stem, col in ((CUSTOMERS, 3), (SELLERS, 2), (GEO, 3)):
        assert all(f[col] == f[col].lower() and f[col] for _, f in clean_run.clean(stem))
    for _, f in clean_run.clean(ORDERS):
        assert f[7].endswith(" 00:00:00")
    for _, f in clean_run.clean(REVIEWS):
        assert f[5].endswith(" 00:00:00")
    raw_reviews = [ln.text for b in clean_run.batches for ln in clean_run.lines[b, REVIEWS]]
    assert any('"' in t for t in raw_reviews), "comments with commas get quoted"
    messages = [f[4] for _, f in clean_run.clean(REVIEWS)]
    assert 0.2 < sum(1 for m in messages if m) / len(messages) < 0.7, "comments often empty"


def test_final_state_shape(clean_run: Run) -> None:
    final = clean_run.final_orders()
    statuses = Counter(f[2] for f in final.values())
    assert statuses["delivered"] / len(final) == pytest.approx(0.97, abs=0.02)
    assert len(statuses) >= 3
    delivered = [f for f in final.values() if f[2] == "delivered"]
    late = [f for f in delivered if f[6] > f[7]]
    assert 0.04 < len(late) / len(delivered) < 0.13


def test_items_payments_reviews_shape(clean_run: Run) -> None:
    items: dict[str, list[list[str]]] = defaultdict(list)
    for _, f in clean_run.clean(ITEMS):
        items[f[0]].append(f)
    assert all(sorted(int(f[1]) for f in v) == list(range(1, len(v) + 1)) for v in items.values())
    multi_items = sum(1 for v in items.values() if len(v) > 1) / len(items)
    assert 0.07 < multi_items < 0.13

    payments: dict[str, list[list[str]]] = defaultdict(list)
    for _, f in clean_run.clean(PAYMENTS):
        payments[f[0]].append(f)
    for order_id, rows in payments.items():
        assert sorted(int(f[1]) for f in rows) == list(range(1, len(rows) + 1))
        if order_id in items:  # payments add up to the goods plus freight, to the cent
            paid = sum(round(float(f[4]) * 100) for f in rows)
            owed = sum(round(float(f[5]) * 100) + round(float(f[6]) * 100) for f in items[order_id])
            assert paid == owed
    assert 0.015 < sum(1 for v in payments.values() if len(v) > 1) / len(payments) < 0.05
    rows = [f for v in payments.values() for f in v]
    types = Counter(f[2] for f in rows)
    share = {t: n / len(rows) for t, n in types.items()}
    assert 0.65 < share["credit_card"] < 0.83
    assert 0.13 < share["boleto"] < 0.26
    assert 0.02 < share.get("voucher", 0) < 0.1
    assert share.get("debit_card", 0) < 0.04
    for f in rows:
        inst = int(f[3])
        assert 1 <= inst <= 24 if f[2] == "credit_card" else inst == 1
    assert any(int(f[3]) > 1 for f in rows)

    final = clean_run.final_orders()
    scores = Counter(int(f[2]) for _, f in clean_run.clean(REVIEWS))
    assert scores.most_common(1)[0][0] == 5
    assert 0.45 < scores[5] / sum(scores.values()) < 0.7
    late_scores = [
        int(f[2])
        for _, f in clean_run.clean(REVIEWS)
        if final[f[1]][2] == "delivered" and final[f[1]][6] > final[f[1]][7]
    ]
    mean = sum(k * n for k, n in scores.items()) / sum(scores.values())
    assert sum(late_scores) / len(late_scores) < mean, "late deliveries are rated lower"


def test_categories_and_translations(run: Run) -> None:
    assert len(CATEGORIES) == 73
    translation = [f for _, f in run.clean(TRANSLATION)]
    assert len(translation) == 71
    assert all(len(run.lines[b, TRANSLATION]) == 0 for b in run.batches[1:])
    translated = {f[0] for f in translation}
    assert len(translated) == 71
    products = [f for _, f in run.clean(PRODUCTS)]
    used = {f[1] for f in products if f[1]}
    assert len(used - translated) == 2, "exactly two used categories have no translation"
    sold = {f[2] for _, f in run.clean(ITEMS)}
    untranslated_sold = {f[1] for f in products if f[1] in used - translated and f[0] in sold}
    assert untranslated_sold == used - translated
    empty = [f for f in products if not f[1]]
    assert 0 < len(empty) / len(products) < 0.06
    assert all(f[2] == f[3] == f[4] == "" for f in empty)


def test_reference_rows_mostly_in_first_batch(clean_run: Run) -> None:
    for stem in (GEO, SELLERS, PRODUCTS, CUSTOMERS):
        per_batch = [len(clean_run.lines[b, stem]) for b in clean_run.batches]
        assert per_batch[0] > sum(per_batch[1:]), stem
        assert sum(per_batch[1:]) > 0, f"some new {stem} arrive later"


def test_later_batches_update_earlier_orders(clean_run: Run) -> None:
    seen: dict[str, list[tuple[int, list[str]]]] = defaultdict(list)
    for b, f in clean_run.clean(ORDERS):
        seen[f[0]].append((b, f))
    updated = {k: v for k, v in seen.items() if len(v) > 1}
    assert len(updated) > 0.05 * len(seen)
    transitions: Counter[tuple[str, str]] = Counter()
    for history in updated.values():
        for (b1, old), (b2, new) in itertools.pairwise(history):
            assert b2 > b1
            assert RANK[new[2]] > RANK[old[2]], (old, new)
            assert new[:2] == old[:2] and new[3] == old[3] and new[7] == old[7]
            assert all(n for o, n in zip(old[4:7], new[4:7], strict=True) if o), "dates stay"
            transitions[old[2], new[2]] += 1
    assert transitions["shipped", "delivered"] > 0
    assert any(t[1] == "shipped" for t in transitions)
    delivered = [f for f in clean_run.final_orders().values() if f[2] == "delivered"]
    assert all(f[6] for f in delivered)


# ------------------------------------------------------------------------------ clean rows


def _check_clean_row(
    stem: str, f: list[str], b: int, batch: str, first: dict[str, dict[str, int]]
) -> None:
    """Everything a clean row must satisfy; ``first`` maps table -> key -> first batch index."""

    def known(table: str, key: str, *, same_batch: bool = False) -> None:
        assert key in first[table], (stem, table, key)
        assert first[table][key] == b if same_batch else first[table][key] <= b

    if stem == GEO:
        assert ZIP.fullmatch(f[0])
        assert -34 < float(f[1]) < 6 and -75 < float(f[2]) < -34
        assert f[4] in UFS
    elif stem in (SELLERS, CUSTOMERS):
        zip_col = 1 if stem == SELLERS else 2
        known(GEO, f[zip_col])
        assert f[zip_col + 2] in UFS
    elif stem == PRODUCTS:
        assert f[1] == "" or f[1] in {c for c, _, _ in CATEGORIES}
        assert all(v == "" or v.isdigit() for v in f[2:5])
        assert all(v.isdigit() for v in f[5:9])
    elif stem == ORDERS:
        known(CUSTOMERS, f[1])
        assert f[2] in ORDER_STATUSES
        times = [_ts(v) if v else None for v in f[3:8]]
        assert times[0] is not None and times[4] is not None
        if f[0] not in first[ORDERS]:
            assert f[3].startswith(batch + " "), "first seen on its purchase day"
        present = [t for t in times[:4] if t is not None]
        assert present == sorted(present), f
        assert (f[6] != "") == (f[2] == "delivered")
        if f[2] == "shipped":
            assert f[5]
        if f[2] == "created":
            assert not f[4]
    elif stem == ITEMS:
        known(ORDERS, f[0], same_batch=True)
        known(PRODUCTS, f[2])
        known(SELLERS, f[3])
        assert int(f[1]) >= 1
        _ts(f[4])
        assert MONEY.fullmatch(f[5]) and float(f[5]) > 0
        assert MONEY.fullmatch(f[6])
    elif stem == PAYMENTS:
        known(ORDERS, f[0], same_batch=True)
        assert int(f[1]) >= 1
        assert f[2] in PAYMENT_TYPES
        assert int(f[3]) >= 1
        assert MONEY.fullmatch(f[4])
    elif stem == REVIEWS:
        assert HEX32.fullmatch(f[0])
        known(ORDERS, f[1], same_batch=True)
        assert 1 <= int(f[2]) <= 5
        assert _ts(f[6]) >= _ts(f[5])
    elif stem == TRANSLATION:
        assert b == 0


def test_clean_rows_are_really_clean(run: Run) -> None:
    first: dict[str, dict[str, int]] = defaultdict(dict)
    for b, batch in enumerate(run.batches):
        for stem in DEPENDENCY_ORDER:
            key_cols = [HEADERS[stem].index(c) for c in KEYS[stem]]
            keys_here: set[tuple[str, ...]] = set()
            for line in run.lines[batch, stem]:
                if line.defective:
                    continue
                f = line.fields
                assert len(f) == len(HEADERS[stem]), line.text
                key = tuple(f[i] for i in key_cols)
                assert all(k.strip() for k in key), line.text
                if stem != GEO:
                    assert key not in keys_here, f"duplicate key in {batch}/{stem}: {line.text}"
                _check_clean_row(stem, f, b, batch, first)
                keys_here.add(key)
            # Recorded after the table, so "first seen" checks see only earlier batches.
            for key in keys_here:
                first[stem].setdefault(key[0], b)


# ------------------------------------------------------------------------------ defects


def test_zero_defects_means_an_empty_manifest(clean_run: Run) -> None:
    m = clean_run.manifest
    assert m["defects"] == []
    assert clean_run.summary.defects == 0
    assert (m["seed"], m["scale"], m["days"], m["rate"]) == (42, 0.01, 3, 0.0)


def test_every_listed_line_is_in_its_file(defect_run: Run) -> None:
    assert defect_run.manifest["defects"], "the defect run has defects"
    assert defect_run.unmatched == []


def test_manifest_entries_are_well_formed(defect_run: Run) -> None:
    entries = defect_run.manifest["defects"]
    assert entries == sorted(entries, key=lambda e: (e["batch"], e["table"], e["line"]))
    fields = {"table", "batch", "kind", "reason", "key", "line", "parent_batch"}
    for e in entries:
        assert set(e) == fields
        assert e["table"] != TRANSLATION
        assert e["kind"] in SPECS[e["table"]].kinds
        assert e["reason"] == DEFECT_REASONS[e["kind"]]
        assert list(e["key"]) == list(KEYS[e["table"]])
        assert "\n" not in e["line"] and "\r" not in e["line"]
        assert (e["parent_batch"] is not None) == (e["kind"] == "late_parent")


def test_every_kind_is_injected_at_about_the_rate(defect_run: Run) -> None:
    rate = 0.05
    for stem, spec in SPECS.items():
        total = defect_run.summary.rows[stem]
        entries = defect_run.entries(stem)
        if total >= 200:
            assert rate * 0.6 < len(entries) / total < rate * 2, stem
        if round(rate * total) >= 2 * len(spec.kinds):
            assert {e["kind"] for e in entries} == set(spec.kinds), stem


def test_defective_lines_show_their_defect(defect_run: Run) -> None:
    file_lines = {key: Counter(ln.text for ln in lines) for key, lines in defect_run.lines.items()}
    all_order_ids = {
        ln.fields[0] for (_, s), v in defect_run.lines.items() if s == ORDERS for ln in v
    }
    conflicts: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for e in defect_run.manifest["defects"]:
        table, kind, line = e["table"], e["kind"], e["line"]
        header = HEADERS[table]
        spec = SPECS[table]
        f = parse(line)
        n_keys = len(KEYS[table])
        if kind != "null_key":
            assert f[:n_keys] == list(e["key"].values()), "key fields stay intact"
        if kind == "malformed_field_count":
            assert len(f) in (len(header) - 1, len(header) + 1)
            continue
        if kind == "malformed_quoting":
            assert line.count('"') % 2 == 1, "an opened quote is never closed"
            assert len(f) < len(header)
            continue
        assert len(f) == len(header), line
        if kind == "null_key":
            assert f[spec.null_col].strip() == ""
        elif kind == "bad_timestamp":
            assert not all(_parses_as_ts(f[c]) for c in spec.timestamp_cols)
        elif kind == "bad_number":
            assert not all(_parses_as_number(f[c]) for c in spec.number_cols)
        elif kind == "negative_amount":
            assert any(float(f[c]) < 0 for c in spec.amount_cols)
        elif kind == "unknown_order_status":
            assert f[2] not in ORDER_STATUSES
        elif kind == "unknown_payment_type":
            assert f[2] not in PAYMENT_TYPES
        elif kind == "review_score_out_of_range":
            assert int(f[2]) not in range(1, 6)
        elif kind == "exact_duplicate":
            assert file_lines[e["batch"], table][line] >= 2
        elif kind == "conflicting_duplicate":
            conflicts[e["batch"], table, json.dumps(e["key"])].append(line)
        elif kind == "orphan":
            order_id = f[1] if table == REVIEWS else f[0]
            assert order_id not in all_order_ids, "the order never arrives"
    assert conflicts
    assert all(len(v) == 2 and v[0] != v[1] for v in conflicts.values())


def test_late_parents_arrive_one_batch_later(defect_run: Run) -> None:
    late = defect_run.entries(kind="late_parent")
    assert late
    first_seen: dict[str, str] = {}
    for batch in defect_run.batches:
        for ln in defect_run.lines[batch, ORDERS]:
            first_seen.setdefault(ln.fields[0], batch)
    for e in late:
        assert e["batch"] != defect_run.batches[-1]
        parent = dt.date.fromisoformat(e["batch"]) + dt.timedelta(days=1)
        assert e["parent_batch"] == parent.isoformat()
        assert first_seen[e["key"]["order_id"]] == e["parent_batch"]


def test_defective_keys_are_not_reused_and_not_referenced(defect_run: Run) -> None:
    clean_keys: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for stem in HEADERS:
        n_keys = len(KEYS[stem])
        for _, f in defect_run.clean(stem):
            clean_keys[stem].add(tuple(f[:n_keys]))
    listed_keys: Counter[tuple[str, tuple[str, ...]]] = Counter()
    for e in defect_run.manifest["defects"]:
        key = tuple(e["key"].values())
        if e["kind"] == "exact_duplicate":
            assert key in clean_keys[e["table"]], "the first copy is clean"
            continue
        if all(k.strip() for k in key):
            assert key not in clean_keys[e["table"]], e
            listed_keys[e["table"], key] += 1
    for (_, _), n in listed_keys.items():
        assert n <= 2
    bad = {
        stem: {k[0] for (t, k) in listed_keys if t == stem} for stem in (ORDERS, PRODUCTS, SELLERS)
    }
    bad_customers = {k[0] for (t, k) in listed_keys if t == CUSTOMERS}
    for batch in defect_run.batches:
        for ln in defect_run.lines[batch, ITEMS]:
            assert ln.fields[0] not in bad[ORDERS]
            if len(ln.fields) > 3:
                assert ln.fields[2] not in bad[PRODUCTS] and ln.fields[3] not in bad[SELLERS]
        for stem, col in ((PAYMENTS, 0), (REVIEWS, 1)):
            for ln in defect_run.lines[batch, stem]:
                assert len(ln.fields) <= col or ln.fields[col] not in bad[ORDERS]
        for ln in defect_run.lines[batch, ORDERS]:
            assert len(ln.fields) < 2 or ln.fields[1] not in bad_customers


@pytest.mark.slow
def test_scale_one_smoke(tmp_path: Path) -> None:
    summary = generate(tmp_path, scale=1.0, days=3, defects=0.02)
    for stem, target in TARGETS.items():
        assert summary.rows[stem] == pytest.approx(target, rel=0.35 if stem == ORDERS else 0.06)
    assert summary.rows[TRANSLATION] == 71
    assert summary.defects > 0.015 * sum(summary.rows.values())


def test_the_dbt_seed_holds_the_generators_translations() -> None:
    """Silver falls back to the seed; it must hold exactly the translations the files carry."""
    from medallion.paths import project_dir

    path = project_dir() / "dbt" / "seeds" / "seed_category_translation.csv"
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["product_category_name", "product_category_name_english"]
    assert sorted(map(tuple, rows[1:])) == sorted((pt, en) for pt, en, _ in CATEGORIES if en)
    assert len(rows) - 1 == 71


def test_multiline_reviews_change_only_review_comments(tmp_path: Path) -> None:
    plain = generate(tmp_path / "plain", scale=0.01, days=2, seed=3, defects=0.02)
    spans = generate(tmp_path / "spans", scale=0.01, days=2, seed=3, defects=0.02, multiline=0.05)
    assert spans.rows == plain.rows
    assert spans.manifest.read_bytes() == plain.manifest.read_bytes()
    header = HEADERS["olist_order_reviews_dataset"]
    message = header.index("review_comment_message")
    spanning = total = 0
    for batch in plain.batches:
        for stem in HEADERS:
            name = f"batch={batch}/{stem}.csv"
            a, b = tmp_path / "plain" / name, tmp_path / "spans" / name
            if stem != "olist_order_reviews_dataset":
                assert a.read_bytes() == b.read_bytes(), name
                continue
            with a.open(newline="") as fa, b.open(newline="") as fb:
                before, after = list(csv.reader(fa)), list(csv.reader(fb))
            assert len(before) == len(after)
            for x, y in zip(before[1:], after[1:], strict=True):
                total += 1
                if x != y:
                    spanning += 1
                    assert x[:message] + x[message + 1 :] == y[:message] + y[message + 1 :]
                    assert "\n" in y[message]
    assert 0.02 * total < spanning < 0.08 * total
