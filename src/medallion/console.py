"""Shared rich output helpers for the CLI."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from rich.console import Console, RenderableType
from rich.table import Table

console = Console()
err = Console(stderr=True)


def render_rows(columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str) -> str | Table:
    """Rows as a rich table, CSV or JSON lines (one object per row)."""
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([["" if v is None else v for v in row] for row in rows])
        return buf.getvalue().rstrip("\n")
    if fmt == "json":
        return "\n".join(
            json.dumps(dict(zip(columns, row, strict=True)), default=str) for row in rows
        )
    table = Table(*columns, show_lines=False)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    return table


def emit(output: str | RenderableType) -> None:
    """Print rendered rows: text as it is (a pipe to jq must get the lines exactly, with no
    wrapping or markup), a rich table through the console."""
    if isinstance(output, str):
        print(output)
    else:
        console.print(output)
