"""The terminal KPI summary and a small self-contained HTML report (inline SVG charts) over gold."""

from __future__ import annotations

import datetime as dt
import html
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from medallion.trino_client import query

PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#9c755f"]


def kpis(env: Mapping[str, str]) -> list[tuple[str, str]]:
    """Headline numbers from the gold marts."""
    daily = query(
        env,
        "select sum(orders_placed), sum(orders_delivered), sum(orders_canceled), "
        "sum(payment_value) from serving.gold.daily_orders",
    ).rows[0]
    sales = query(
        env,
        "select sum(revenue), sum(orders) from serving.gold.sales_by_category_month",
    ).rows[0]
    late = query(
        env,
        "select sum(late_delivery_rate * delivered_orders) / nullif(sum(delivered_orders), 0), "
        "sum(avg_delivery_days * delivered_orders) / nullif(sum(delivered_orders), 0) "
        "from serving.gold.delivery_by_state",
    ).rows[0]
    top = query(
        env,
        "select category, sum(revenue) as r from serving.gold.sales_by_category_month "
        "group by category order by r desc limit 3",
    ).rows
    revenue = Decimal(sales[0] or 0)
    orders = int(sales[1] or 0)
    return [
        ("orders placed", f"{int(daily[0] or 0):,}"),
        ("orders delivered", f"{int(daily[1] or 0):,}"),
        ("orders canceled", f"{int(daily[2] or 0):,}"),
        ("paid value (BRL)", f"{Decimal(daily[3] or 0):,.2f}"),
        ("delivered revenue (BRL)", f"{revenue:,.2f}"),
        ("avg order value (BRL)", f"{(revenue / orders if orders else 0):,.2f}"),
        ("late deliveries", f"{float(late[0] or 0):.1%}"),
        ("avg delivery days", f"{float(late[1] or 0):.1f}"),
        ("top categories", ", ".join(str(r[0]) for r in top)),
    ]


def _bars(
    title: str,
    labels: Sequence[str],
    series: Mapping[str, Sequence[float]],
    fmt: str = "{:,.0f}",
    width: int = 760,
    max_labels: int = 40,
) -> str:
    """A stacked vertical bar chart: one bar per label, one colour per series. With more than
    ``max_labels`` bars only every k-th label is written (each bar keeps its tooltip)."""
    height, left, bottom, top = 300, 70, 60, 30
    n = max(len(labels), 1)
    step = -(-n // max_labels)
    totals = [sum(s[i] for s in series.values()) for i in range(len(labels))]
    peak = max(totals, default=0) or 1.0
    slot = (width - left - 10) / n
    parts = [
        f'<svg viewBox="0 0 {width} {height + 30 + 18 * ((len(series) + 3) // 4)}" role="img">'
    ]
    parts.append(f'<text x="{left}" y="18" class="t">{html.escape(title)}</text>')
    plot = height - bottom - top
    for tick in range(5):
        y = top + plot - plot * tick / 4
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" class="g"/>')
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" class="a" text-anchor="end">'
            f"{html.escape(fmt.format(peak * tick / 4))}</text>"
        )
    for i, label in enumerate(labels):
        x = left + i * slot + slot * 0.15
        y = top + plot
        for j, (name, values) in enumerate(series.items()):
            h = plot * values[i] / peak
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[j % len(PALETTE)]}"><title>{html.escape(label)} '
                f"{html.escape(name)}: {html.escape(fmt.format(values[i]))}</title></rect>"
            )
        if i % step:
            continue
        parts.append(
            f'<text x="{x + slot * 0.35:.1f}" y="{top + plot + 14}" class="a" '
            f'text-anchor="end" transform="rotate(-45 {x + slot * 0.35:.1f} {top + plot + 14})">'
            f"{html.escape(label)}</text>"
        )
    for j, name in enumerate(series):
        lx = left + (j % 4) * 170
        ly = height + 20 + 18 * (j // 4)
        colour = PALETTE[j % len(PALETTE)]
        parts.append(f'<rect x="{lx}" y="{ly - 10}" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{lx + 16}" y="{ly}" class="a">{html.escape(name)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def _rows(env: Mapping[str, str], sql: str) -> list[tuple[Any, ...]]:
    return query(env, sql).rows


def daily_charts(days: Sequence[tuple[Any, Any, Any]]) -> list[str]:
    """Orders and paid value per purchase day (``order_date, orders_placed, payment_value``
    rows): with a few days of data the monthly charts are a single bar."""
    ordered = sorted(days, key=lambda d: str(d[0]))
    labels = [str(d[0])[:10] for d in ordered]
    return [
        _bars("Orders placed per day", labels, {"orders": [float(d[1] or 0) for d in ordered]}),
        _bars(
            "Revenue per day: paid value of the orders placed (BRL)",
            labels,
            {"paid value": [float(d[2] or 0) for d in ordered]},
        ),
    ]


ORPHAN = "orphan"


@dataclass(frozen=True)
class BatchQuality:
    """One bronze batch as silver saw it, over every silver table. ``records`` are bronze rows;
    identical lines count once in ``distinct``; each distinct row is accepted, quarantined (by
    reason) or an orphan still waiting for its order, so the parts add up to ``distinct``."""

    batch_id: str
    records: int
    distinct: int
    accepted: int
    quarantined: dict[str, int] = field(default_factory=dict)
    orphans: int = 0

    @property
    def rejected(self) -> int:
        return sum(self.quarantined.values())

    @property
    def balanced(self) -> bool:
        return self.accepted + self.rejected + self.orphans == self.distinct


def batch_quality(
    reconciliation: Sequence[tuple[Any, ...]], reasons: Sequence[tuple[Any, ...]]
) -> list[BatchQuality]:
    """Combine silver_reconciliation (``batch, bronze_rows, distinct_rows, accepted_rows`` summed
    per batch) and the quarantine (``batch, reason, rows``) into one line per batch."""
    by_batch: dict[str, dict[str, int]] = defaultdict(dict)
    for batch, reason, n in reasons:
        by_batch[str(batch)][str(reason)] = int(n)
    out = []
    for batch, records, distinct, accepted in sorted(reconciliation, key=lambda r: str(r[0])):
        counts = dict(sorted(by_batch.get(str(batch), {}).items()))
        orphans = counts.pop(ORPHAN, 0)
        out.append(
            BatchQuality(str(batch), int(records), int(distinct), int(accepted), counts, orphans)
        )
    return out


def quality(env: Mapping[str, str]) -> list[BatchQuality]:
    """Per batch, what silver's own tables say: silver.silver_reconciliation, silver.quarantine."""
    reconciliation = _rows(
        env,
        "select _batch_id, sum(bronze_rows), sum(distinct_rows), sum(accepted_rows) "
        "from iceberg.silver.silver_reconciliation group by _batch_id",
    )
    reasons = _rows(
        env,
        "select _batch_id, reason, count(*) from iceberg.silver.quarantine "
        "group by _batch_id, reason",
    )
    return batch_quality(reconciliation, reasons)


def quality_table(batches: Sequence[BatchQuality]) -> str:
    """The data-quality section: one row per batch and a total."""
    if not batches:
        return "<h2>Data quality</h2><p>Silver has processed no batch yet.</p>"

    def reasons(counts: Mapping[str, int]) -> str:
        listed = "<br>".join(f"{html.escape(r)} {n:,}" for r, n in counts.items() if n)
        return f"<br><small>{listed}</small>" if listed else ""

    total_reasons: dict[str, int] = defaultdict(int)
    for b in batches:
        for reason, n in b.quarantined.items():
            total_reasons[reason] += n
    total = BatchQuality(
        "all",
        sum(b.records for b in batches),
        sum(b.distinct for b in batches),
        sum(b.accepted for b in batches),
        dict(sorted(total_reasons.items())),
        sum(b.orphans for b in batches),
    )

    def row(b: BatchQuality) -> str:
        flag = "" if b.balanced else ' class="off" title="the parts do not add up"'
        return (
            f"<tr{flag}><td>{html.escape(b.batch_id)}</td><td>{b.records:,}</td>"
            f"<td>{b.records - b.distinct:,}</td><td>{b.accepted:,}</td>"
            f"<td>{b.rejected:,}{reasons(b.quarantined)}</td><td>{b.orphans:,}</td></tr>"
        )

    return (
        "<h2>Data quality</h2>"
        "<p>Per bronze batch, over every silver table: records in bronze, identical lines counted "
        "once, then each distinct row accepted, quarantined (by reason) or an orphan waiting for "
        "its order (it is checked again when its order arrives).</p>"
        '<table class="q"><thead><tr><th>batch</th><th>records</th><th>duplicates</th>'
        "<th>accepted</th><th>quarantined, by reason</th><th>orphans waiting</th></tr></thead>"
        f"<tbody>{''.join(row(b) for b in batches)}</tbody><tfoot>{row(total)}</tfoot></table>"
    )


def build(env: Mapping[str, str], out: Path) -> Path:
    """Write the HTML report to ``out`` and return its path."""
    sales = _rows(
        env,
        "select month, category, revenue from serving.gold.sales_by_category_month",
    )
    by_cat: dict[str, float] = defaultdict(float)
    for _, cat, rev in sales:
        by_cat[cat] += float(rev)
    top = [c for c, _ in sorted(by_cat.items(), key=lambda kv: -kv[1])[:7]]
    months = sorted({str(m)[:7] for m, _, _ in sales})
    revenue: dict[str, list[float]] = {c: [0.0] * len(months) for c in [*top, "other"]}
    for month, cat, rev in sales:
        key = cat if cat in top else "other"
        revenue[key][months.index(str(month)[:7])] += float(rev)

    states = _rows(
        env,
        "select customer_state, late_delivery_rate, delivered_orders "
        "from serving.gold.delivery_by_state order by late_delivery_rate desc",
    )
    mix = _rows(
        env,
        "select month, payment_type, payment_value from serving.gold.payment_mix_month",
    )
    mix_months = sorted({str(m)[:7] for m, _, _ in mix})
    types = sorted({t for _, t, _ in mix})
    mix_series = {t: [0.0] * len(mix_months) for t in types}
    for month, ptype, value in mix:
        mix_series[ptype][mix_months.index(str(month)[:7])] += float(value)

    kpi_rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in kpis(env)
    )
    daily = _rows(
        env, "select order_date, orders_placed, payment_value from serving.gold.daily_orders"
    )
    charts = [
        *daily_charts(daily),
        _bars("Delivered revenue by month and category (BRL)", months, revenue),
        _bars(
            "Late-delivery rate by customer state",
            [str(s[0]) for s in states],
            {"late rate": [float(s[1]) for s in states]},
            fmt="{:.1%}",
        ),
        _bars("Payment mix by month (BRL)", mix_months, mix_series),
    ]
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>medallion report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; max-width: 820px; }}
table {{ border-collapse: collapse; margin-bottom: 1.5rem; }}
th, td {{ text-align: left; padding: .25rem 1rem .25rem 0; border-bottom: 1px solid #ddd; }}
svg {{ width: 100%; margin: 1rem 0 2rem; }}
.t {{ font-size: 15px; font-weight: 600; }} .a {{ font-size: 10px; fill: #555; }}
.g {{ stroke: #eee; }}
table.q td, table.q th {{ text-align: right; vertical-align: top; white-space: nowrap; }}
table.q td:first-child, table.q th:first-child {{ text-align: left; }}
table.q small {{ color: #555; }}
table.q tfoot td {{ font-weight: 600; border-top: 2px solid #999; }}
tr.off td {{ color: #c00; }}
</style></head><body>
<h1>medallion: gold marts</h1>
<p>Generated {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC from serving.gold and silver's
quality tables.</p>
<table>{kpi_rows}</table>
{"".join(charts)}
{quality_table(quality(env))}
</body></html>
"""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page)
    return out
