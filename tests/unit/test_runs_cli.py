"""How `medallion runs` and `medallion k8s runs` show the ledger: pure formatting, no services."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

from rich.console import Console
from typer.testing import CliRunner

from medallion.runs_cli import compact_time, duration_seconds, render
from medallion.trino_client import Result

COLUMNS = [
    "run_id",
    "layer",
    "started_at",
    "finished_at",
    "status",
    "rows_written",
    "models",
    "error",
    "code_version",
]
START = dt.datetime(2026, 12, 2, 14, 3, 7, 123456)


def ledger() -> Result:
    """Rows as the trino client returns them: naive UTC datetimes, ints, None."""
    return Result(
        COLUMNS,
        [
            (
                "4f1c2a9be0d34c6f9a1b2c3d4e5f6a7b",
                "silver",
                START,
                START + dt.timedelta(seconds=122, microseconds=400000),
                "success",
                12_345_678,
                20,
                None,
                "0.1.0+1e9b2b2+dirty",
            ),
            (
                "a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5",
                "bronze",
                START - dt.timedelta(days=40),
                START - dt.timedelta(days=40) + dt.timedelta(seconds=9999),
                "failed",
                0,
                3,
                "DbtRuntimeError: freshness of landing.olist.orders is past error_after (7 days)"
                "\nsecond line of the traceback " + "x" * 200,
                "0.1.0+e06886e",
            ),
        ],
    )


def lines(renderable: object, width: int = 80) -> list[str]:
    out = Console(width=width, file=io.StringIO(), color_system=None, legacy_windows=False)
    out.print(renderable)
    text = out.file.getvalue()  # type: ignore[attr-defined]
    return [line.rstrip("\n") for line in text.splitlines()]


def test_compact_times_and_durations() -> None:
    assert compact_time(START) == "12-02 14:03:07"
    assert compact_time("2026-12-02 14:03:07.123456") == "12-02 14:03:07"
    assert compact_time(None) == ""
    assert duration_seconds(START, START + dt.timedelta(seconds=122.44)) == "122.4"
    assert duration_seconds(START, None) == ""


def test_the_default_table_fits_80_columns_with_ids_status_and_layer_whole() -> None:
    shown = lines(render(ledger()))
    assert max(len(line) for line in shown) <= 80
    text = "\n".join(shown)
    for short_id, layer, status in (
        ("4f1c2a9b", "silver", "success"),
        ("a0b1c2d3", "bronze", "failed"),
    ):
        row = next(line for line in shown if line.split()[:1] == [short_id])
        assert layer in row.split()
        assert status in row.split()
    assert "4f1c2a9be" not in text  # the short id, not the full one
    assert "12-02 14:03:07" in text and "122.4" in text and "12,345,678" in text
    # a failed run's error is readable under the table, its first line only
    assert "a0b1c2d3: DbtRuntimeError: freshness of landing.olist.orders" in text
    assert "second line of the traceback" not in text


def test_wide_shows_every_column_uncut() -> None:
    text = "".join(line.strip("│ ┃|") for line in lines(render(ledger(), wide=True), width=200))
    for name in COLUMNS:
        assert name in text
    assert "4f1c2a9be0d34c6f9a1b2c3d4e5f6a7b" in text
    assert "2026-12-02T14:03:07.123456" in text
    assert "x" * 200 in text
    assert "0.1.0+1e9b2b2+dirty" in text


def test_json_is_one_object_per_run_with_every_column_and_iso_times() -> None:
    output = render(ledger(), "json")
    assert isinstance(output, str)
    objects = [json.loads(line) for line in output.splitlines()]
    assert len(objects) == 2
    assert all(list(o) == COLUMNS for o in objects)
    assert objects[0]["run_id"] == "4f1c2a9be0d34c6f9a1b2c3d4e5f6a7b"
    assert objects[0]["started_at"] == "2026-12-02T14:03:07.123456"
    assert dt.datetime.fromisoformat(objects[0]["finished_at"]) > START
    assert objects[0]["rows_written"] == 12_345_678
    assert objects[0]["error"] is None
    assert objects[1]["error"].endswith("x" * 200)


def test_csv_has_a_header_and_iso_times() -> None:
    output = render(ledger(), "csv")
    assert isinstance(output, str)
    rows = list(csv.reader(io.StringIO(output)))
    assert rows[0] == COLUMNS
    assert rows[1][2] == "2026-12-02T14:03:07.123456"
    assert "\n" in rows[2][7]  # the full error, line breaks kept inside the quoted field


def test_both_commands_offer_the_same_options() -> None:
    from medallion.cli import app

    runner = CliRunner()
    for args in (["runs", "--help"], ["k8s", "runs", "--help"]):
        result = runner.invoke(app, args, env={"COLUMNS": "120", "NO_COLOR": "1"})
        assert result.exit_code == 0, result.output
        for option in ("--limit", "--format", "--wide"):
            assert option in result.output, (args, result.output)
