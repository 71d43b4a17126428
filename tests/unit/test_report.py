"""The report's daily charts and data-quality section, from rows shaped as the queries return
them: pure rendering, no services."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from medallion.report import BatchQuality, batch_quality, daily_charts, quality_table


def test_batch_quality_puts_reasons_and_orphans_apart_and_adds_up() -> None:
    reconciliation = [("2018-01-02", 1010, 1000, 960), ("2018-01-01", 500, 500, 500)]
    reasons = [
        ("2018-01-02", "malformed_row", 12),
        ("2018-01-02", "orphan", 20),
        ("2018-01-02", "null_key", 8),
    ]
    first, second = batch_quality(reconciliation, reasons)
    assert first == BatchQuality("2018-01-01", 500, 500, 500, {}, 0)
    assert second.batch_id == "2018-01-02"
    assert second.quarantined == {"malformed_row": 12, "null_key": 8}
    assert second.orphans == 20
    assert second.rejected == 20
    assert second.balanced and first.balanced
    assert not BatchQuality("x", 10, 10, 9).balanced


def test_quality_table_has_a_row_per_batch_a_total_and_the_reasons() -> None:
    batches = batch_quality(
        [("2018-01-01", 500, 500, 500), ("2018-01-02", 1010, 1000, 960)],
        [
            ("2018-01-02", "malformed_row", 12),
            ("2018-01-02", "orphan", 20),
            ("2018-01-02", "null_key", 8),
        ],
    )
    page = quality_table(batches)
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", page)
    cells = [re.findall(r"<td>(.*?)</td>", r) for r in rows[1:]]  # the header row has no <td>
    assert [c[0] for c in cells] == ["2018-01-01", "2018-01-02", "all"]
    assert cells[1][:4] == ["2018-01-02", "1,010", "10", "960"]
    assert cells[1][4].startswith("20<br><small>malformed_row 12<br>null_key 8")
    assert cells[1][5] == "20"
    assert cells[2][1:4] == ["1,510", "10", "1,460"]
    assert 'class="off"' not in page
    assert "no batch" in quality_table([])


def test_quality_table_flags_a_batch_that_does_not_add_up() -> None:
    assert 'class="off"' in quality_table([BatchQuality("b", 10, 10, 9)])


def test_daily_charts_have_a_bar_per_day_in_date_order() -> None:
    days = [
        (dt.date(2018, 1, 1) + dt.timedelta(days=i), 100 + i, Decimal("1234.50") + i)
        for i in reversed(range(90))
    ]
    orders, revenue = daily_charts(days)
    for svg in (orders, revenue):
        assert svg.count("<rect x=") - 1 == 90  # the bars, plus one legend swatch
        labels = re.findall(r'rotate\([^)]*\)">([^<]*)</text>', svg)
        assert labels[0] == "2018-01-01"
        assert labels == sorted(labels)
        assert len(labels) <= 40  # thinned so they do not overlap; every bar keeps its tooltip
    assert "2018-03-31 orders: 189" in orders
    assert "2018-01-01 paid value: 1,234" in revenue
