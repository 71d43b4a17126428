"""An independent computation of silver and gold, in plain Python over the generated CSV files.

It cuts each file into CSV records by the rules the README states (its own code, not
medallion.records) and applies silver's rules as the issue states them (not the dbt code): per
record, reject malformed records, blank keys, unparseable required values, negative amounts,
unknown statuses and types and review scores outside 1..5; identical records collapse, two
different records for one key in one batch are both rejected and the key keeps its earlier
version; the latest batch wins; items, payments and reviews need their order in silver. Gold is
then computed from those tables with Decimal arithmetic and half-up rounding.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from medallion import vocabulary
from medallion.generate import HEADERS, KEYS
from medallion.paths import project_dir

Row = dict[str, str]
TS = "%Y-%m-%d %H:%M:%S"
REQUIRED_TS = {
    "olist_orders_dataset": ("order_purchase_timestamp",),
    "olist_order_items_dataset": ("shipping_limit_date",),
    "olist_order_reviews_dataset": ("review_creation_date",),
}
DECIMALS = {
    "olist_order_items_dataset": ("price", "freight_value"),
    "olist_order_payments_dataset": ("payment_value",),
}
INTEGERS = {
    "olist_order_items_dataset": ("order_item_id",),
    "olist_order_payments_dataset": ("payment_sequential", "payment_installments"),
    "olist_order_reviews_dataset": ("review_score",),
}


def ts(value: str) -> dt.datetime | None:
    value = value.strip()
    if not value:
        return None
    try:
        return dt.datetime.strptime(value, TS)
    except ValueError:
        return None


def dec(value: str) -> Decimal | None:
    try:
        return Decimal(value.strip()) if value.strip() else None
    except InvalidOperation:
        return None


def integer(value: str) -> int | None:
    try:
        return int(value.strip()) if value.strip() else None
    except ValueError:
        return None


def valid(stem: str, row: Row) -> bool:
    if any(not row[k].strip() for k in KEYS[stem]):
        return False
    for col in REQUIRED_TS.get(stem, ()):
        if ts(row[col]) is None:
            return False
    for col in DECIMALS.get(stem, ()):
        value = dec(row[col])
        if value is None or value < 0:
            return False
    for col in INTEGERS.get(stem, ()):
        if integer(row[col]) is None:
            return False
    vocab = vocabulary.load()
    if stem == "olist_orders_dataset" and row["order_status"] not in vocab.order_statuses:
        return False
    if stem == "olist_order_payments_dataset" and row["payment_type"] not in vocab.payment_types:
        return False
    if stem == "olist_order_reviews_dataset":
        score = integer(row["review_score"])
        if score is None or not vocab.review_score_min <= score <= vocab.review_score_max:
            return False
    return True


def physical_lines(text: str) -> list[str]:
    """The file's lines without their ends (``\n``, ``\r\n`` or ``\r``); a BOM is dropped."""
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")


def strict_fields(text: str, width: int) -> list[str] | None:
    """``text`` as one RFC 4180 record of ``width`` fields, else None (a quote inside an unquoted
    field, or a closing quote followed by anything but a comma, is broken quoting)."""
    fields: list[str] = []
    i = 0
    while True:
        if text.startswith('"', i):
            value, i = [], i + 1
            while True:
                end = text.find('"', i)
                if end < 0:
                    return None
                value.append(text[i:end])
                if text.startswith('""', end):
                    value.append('"')
                    i = end + 2
                    continue
                i = end + 1
                break
            fields.append("".join(value))
            if i < len(text) and text[i] != ",":
                return None
        else:
            end = text.find(",", i)
            field = text[i:] if end < 0 else text[i:end]
            if '"' in field:
                return None
            fields.append(field)
            i = len(text) if end < 0 else end
        if i >= len(text):
            return fields if len(fields) == width else None
        i += 1  # the comma
        if i == len(text):
            fields.append("")
            return fields if len(fields) == width else None


def read_lines(path: Path, stem: str) -> Iterable[Row | None]:
    """The file's CSV records, cut as the README's "CSV records, not lines" states (not with the
    loader's code); None for a malformed record."""
    header = HEADERS[stem]
    lines = physical_lines(path.read_text(encoding="utf-8"))[1:]
    i = 0
    while i < len(lines):
        line, i = lines[i], i + 1
        if line == "":
            continue
        if line.count('"') % 2 == 1:
            close = next((j for j in range(i, len(lines)) if lines[j].count('"') % 2 == 1), None)
            if close is not None:
                fields = strict_fields("\n".join(lines[i - 1 : close + 1]), len(header))
                if fields is not None:
                    i = close + 1
                    yield dict(zip(header, fields, strict=True))
                    continue
            yield None
            continue
        fields = strict_fields(line, len(header))
        yield None if fields is None else dict(zip(header, fields, strict=True))


def silver(folder: Path, batches: list[str]) -> dict[str, dict[tuple[str, ...], Row]]:
    """Accepted rows per table, keyed by grain, after the given batches."""
    tables: dict[str, dict[tuple[str, ...], Row]] = {stem: {} for stem in HEADERS}
    for batch in batches:
        for stem in HEADERS:
            if stem == "olist_geolocation_dataset":
                continue
            seen: dict[tuple[str, ...], set[tuple[str, ...]]] = defaultdict(set)
            rows: dict[tuple[str, ...], Row] = {}
            for row in read_lines(folder / f"batch={batch}" / f"{stem}.csv", stem):
                if row is None or not valid(stem, row):
                    continue
                key = tuple(row[k] for k in KEYS[stem])
                seen[key].add(tuple(row[c] for c in HEADERS[stem]))
                rows[key] = row
            for key, versions in seen.items():
                if len(versions) == 1:
                    tables[stem][key] = rows[key]
    orders = tables["olist_orders_dataset"]
    for stem in (
        "olist_order_items_dataset",
        "olist_order_payments_dataset",
        "olist_order_reviews_dataset",
    ):
        tables[stem] = {k: r for k, r in tables[stem].items() if (r["order_id"],) in orders}
    return tables


def q2(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def q4(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def month(value: dt.datetime) -> dt.date:
    return value.date().replace(day=1)


def seed_translation() -> dict[str, str]:
    """The project's seed of category translations (the fallback of a landed one)."""
    path = project_dir() / "dbt" / "seeds" / "seed_category_translation.csv"
    with path.open(newline="") as f:
        return {
            r["product_category_name"]: r["product_category_name_english"]
            for r in csv.DictReader(f)
        }


def gold(tables: dict[str, dict[tuple[str, ...], Row]]) -> dict[str, list[tuple[Any, ...]]]:
    """The five marts as sorted lists of tuples, columns in the models' order."""
    orders = {k[0]: r for k, r in tables["olist_orders_dataset"].items()}
    items = list(tables["olist_order_items_dataset"].values())
    payments = list(tables["olist_order_payments_dataset"].values())
    reviews = list(tables["olist_order_reviews_dataset"].values())
    translation = {
        k[0]: r["product_category_name_english"]
        for k, r in tables["product_category_name_translation"].items()
    }
    seeded = seed_translation()
    category = {}
    for (pid,), r in tables["olist_products_dataset"].items():
        name = r["product_category_name"].strip()
        category[pid] = translation.get(name) or seeded.get(name) or name or "unknown"
    state = {k[0]: r["customer_state"] for k, r in tables["olist_customers_dataset"].items()}

    latest_review: dict[str, tuple[Any, ...]] = {}
    for r in reviews:
        rank = (
            ts(r["review_creation_date"]),
            ts(r["review_answer_timestamp"]) or dt.datetime.min,
            r["review_id"],
        )
        if r["order_id"] not in latest_review or rank > latest_review[r["order_id"]][0]:
            latest_review[r["order_id"]] = (rank, int(r["review_score"]))
    pay_total: dict[str, Decimal] = defaultdict(Decimal)
    for p in payments:
        pay_total[p["order_id"]] += Decimal(p["payment_value"])

    def purchased(oid: str) -> dt.datetime:
        value = ts(orders[oid]["order_purchase_timestamp"])
        assert value is not None
        return value

    def late(oid: str) -> bool:
        delivered = ts(orders[oid]["order_delivered_customer_date"])
        estimated = ts(orders[oid]["order_estimated_delivery_date"])
        return delivered is not None and estimated is not None and delivered > estimated

    delivered = {oid for oid, o in orders.items() if o["order_status"] == "delivered"}
    paid = {
        oid for oid, o in orders.items() if o["order_status"] not in ("canceled", "unavailable")
    }

    sales: dict[tuple[dt.date, str], list[Any]] = defaultdict(lambda: [set(), 0, Decimal(0)])
    for i in items:
        if i["order_id"] in delivered:
            acc = sales[(month(purchased(i["order_id"])), category.get(i["product_id"], "unknown"))]
            acc[0].add(i["order_id"])
            acc[1] += 1
            acc[2] += Decimal(i["price"]) + Decimal(i["freight_value"])
    sales_rows = [
        (m, c, len(o), n, q2(rev), q2(rev / len(o))) for (m, c), (o, n, rev) in sales.items()
    ]

    daily: dict[dt.date, list[Any]] = defaultdict(lambda: [0, 0, 0, Decimal(0), 0])
    for oid, o in orders.items():
        acc = daily[purchased(oid).date()]
        acc[0] += 1
        acc[1] += o["order_status"] == "delivered"
        acc[2] += o["order_status"] == "canceled"
        if oid in paid:
            acc[3] += pay_total.get(oid, Decimal(0))
            acc[4] += 1
    daily_rows = [
        (d, a, b, c, q2(v), q2(v / n) if n else None) for d, (a, b, c, v, n) in daily.items()
    ]

    per_seller: dict[str, dict[str, list[Any]]] = defaultdict(dict)
    for i in items:
        if i["order_id"] in delivered:
            acc = per_seller[i["seller_id"]].setdefault(i["order_id"], [0, Decimal(0)])
            acc[0] += 1
            acc[1] += Decimal(i["price"]) + Decimal(i["freight_value"])
    seller_rows = []
    for seller, by_order in per_seller.items():
        scores = [latest_review[o][1] for o in by_order if o in latest_review]
        n = len(by_order)
        seller_rows.append(
            (
                seller,
                n,
                sum(a[0] for a in by_order.values()),
                q2(sum((a[1] for a in by_order.values()), Decimal(0))),
                q2(Decimal(sum(scores)) / len(scores)) if scores else None,
                q4(Decimal(sum(late(o) for o in by_order)) / n),
            )
        )

    by_state: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for oid in delivered:
        when = ts(orders[oid]["order_delivered_customer_date"])
        if when is None:
            continue
        acc = by_state[state.get(orders[oid]["customer_id"], "unknown")]
        acc[0] += 1
        acc[1] += math.floor((when - purchased(oid)).total_seconds() / 86400)
        acc[2] += late(oid)
    state_rows = [
        (s, n, q2(Decimal(days) / n), q4(Decimal(nl) / n)) for s, (n, days, nl) in by_state.items()
    ]

    mix: dict[tuple[dt.date, str], list[Any]] = defaultdict(lambda: [0, set(), Decimal(0), 0])
    for p in payments:
        if p["order_id"] in paid:
            acc = mix[(month(purchased(p["order_id"])), p["payment_type"])]
            acc[0] += 1
            acc[1].add(p["order_id"])
            acc[2] += Decimal(p["payment_value"])
            acc[3] += int(p["payment_installments"])
    mix_rows = [
        (m, t, n, len(o), q2(v), q2(Decimal(inst) / n)) for (m, t), (n, o, v, inst) in mix.items()
    ]
    return {
        "sales_by_category_month": sorted(sales_rows),
        "daily_orders": sorted(daily_rows),
        "seller_performance": sorted(seller_rows),
        "delivery_by_state": sorted(state_rows),
        "payment_mix_month": sorted(mix_rows),
    }
