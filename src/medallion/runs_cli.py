"""What ``medallion runs`` and ``medallion k8s runs`` share: their options and how the ledger
(``medallion.ledger.recent``) is shown.

The default table fits an 80-column terminal: the first 8 characters of the run id, the start
as ``MM-DD HH:MM:SS`` (UTC, as the ledger stores it), the duration in seconds, and each failed
run's error under the table. ``--wide`` shows every column uncut; ``--format json`` gives one
object per run and ``--format csv`` one line per run, with every column and ISO 8601 times.

``--batch ID`` shows, instead of runs, the batch's accounts (``medallion.accounting``): per file,
its records, bronze rows, accepted, quarantined and waiting, with the reasons beneath.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from medallion.console import console, emit, render_rows

if TYPE_CHECKING:
    from medallion.accounting import FileAccount
    from medallion.trino_client import Result


class RunsFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


Limit = Annotated[int, typer.Option(help="how many runs, newest first")]
Format = Annotated[
    RunsFormat,
    typer.Option("--format", help="table, csv or json (csv and json: every column, ISO times)"),
]
Wide = Annotated[bool, typer.Option("--wide", help="the table with every column, nothing cut")]

SHORT_ID = 8
TIMES = ("started_at", "finished_at")


def _as_datetime(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


def compact_time(value: Any) -> str:
    """``12-02 14:03:07``: the year and the fraction of a second are noise in a run list."""
    moment = _as_datetime(value)
    return "" if moment is None else f"{moment:%m-%d %H:%M:%S}"


def duration_seconds(started: Any, finished: Any) -> str:
    begin, end = _as_datetime(started), _as_datetime(finished)
    if begin is None or end is None:
        return ""
    return f"{(end - begin).total_seconds():.1f}"


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


def _records(result: Result) -> list[dict[str, Any]]:
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def compact_table(runs: Sequence[Mapping[str, Any]]) -> RenderableType:
    """The runs in about 70 columns, and each failed run's first error line beneath them."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("run", no_wrap=True)
    table.add_column("layer", no_wrap=True)
    table.add_column("started UTC", no_wrap=True)
    table.add_column("secs", justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("rows", justify="right")
    table.add_column("models", justify="right")
    errors: list[Text] = []
    for run in runs:
        run_id = str(run.get("run_id") or "")[:SHORT_ID]
        status = str(run.get("status") or "")
        rows = run.get("rows_written")
        models = run.get("models")
        table.add_row(
            run_id,
            str(run.get("layer") or ""),
            compact_time(run.get("started_at")),
            duration_seconds(run.get("started_at"), run.get("finished_at")),
            Text(status, style="red" if status == "failed" else "green"),
            "" if rows is None else f"{int(rows):,}",
            "" if models is None else str(models),
        )
        if run.get("error"):
            errors.append(Text(f"{run_id}: {_first_line(str(run['error']))}", style="red"))
    if not errors:
        return table
    return Group(table, Text("errors (--wide or --format json for the full text):"), *errors)


def wide_table(result: Result) -> Table:
    """Every column of the ledger, full ids and times; long cells fold instead of being cut."""
    table = Table(show_lines=True)
    for column in result.columns:
        table.add_column(column, overflow="fold")
    for run in _records(result):
        table.add_row(*("" if v is None else str(_iso(v)) for v in run.values()))
    return table


def render(result: Result, fmt: str = "table", *, wide: bool = False) -> str | RenderableType:
    """The ledger rows as ``medallion runs`` shows them (see the module's docstring)."""
    if fmt in ("csv", "json"):
        rows = [tuple(_iso(v) for v in row) for row in result.rows]
        return render_rows(result.columns, rows, fmt)
    if wide:
        return wide_table(result)
    return compact_table(_records(result))


def show(result: Result, fmt: str = "table", *, wide: bool = False) -> None:
    emit(render(result, fmt, wide=wide))


BatchOpt = Annotated[
    str | None,
    typer.Option(
        "--batch",
        help="instead of runs: each file of this batch, its records accepted, quarantined "
        "(by reason) and waiting",
    ),
]


def accounts_rows(accounts: Sequence[FileAccount]) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Every column of the batch's accounts (csv and json), the reasons as a JSON object."""
    columns = [
        "batch_id",
        "table_name",
        "file",
        "records",
        "bronze_rows",
        "accepted",
        "quarantined",
        "orphans",
        "unprocessed",
        "reasons",
        "balanced",
    ]
    rows = [(*a.as_row(), a.balanced) for a in accounts]
    return columns, rows


def accounts_table(accounts: Sequence[FileAccount]) -> RenderableType:
    """One line per file (records = accepted + quarantined + waiting), a total, and each file's
    quarantine reasons beneath."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, show_footer=True)
    totals = [sum(getattr(a, f) for a in accounts) for f in _COUNTS]
    table.add_column("table", "all", overflow="ellipsis", no_wrap=True, max_width=24)
    for (title, _), total in zip(_HEADINGS, totals, strict=True):
        table.add_column(title, f"{total:,}", justify="right", no_wrap=True)
    notes: list[Text] = []
    for a in accounts:
        style = "" if a.balanced else "red"
        table.add_row(a.table_name, *(f"{getattr(a, f):,}" for f in _COUNTS), style=style)
        if a.reasons:
            listed = ", ".join(f"{r} {n:,}" for r, n in a.reasons.items())
            notes.append(Text(f"{a.table_name}: {listed}"))
        if not a.balanced:
            notes.append(Text(f"{a.table_name}: the parts do not add up", style="red"))
    waiting = sum(a.orphans for a in accounts)
    lines: list[RenderableType] = [table]
    if notes:
        lines += [Text("quarantined, by reason:"), *notes]
    if waiting:
        lines.append(Text(f"waiting: {waiting:,} orphans wait for their order"))
    return Group(*lines)


_HEADINGS = (
    ("records", "records"),
    ("bronze", "bronze_rows"),
    ("accepted", "accepted"),
    ("quarant.", "quarantined"),
    ("waiting", "waiting"),
)
_COUNTS = tuple(field for _, field in _HEADINGS)


def show_accounts(accounts: Sequence[FileAccount], fmt: str = "table") -> None:
    if fmt in ("csv", "json"):
        print(render_rows(*accounts_rows(accounts), fmt))
    else:
        console.print(accounts_table(accounts))
