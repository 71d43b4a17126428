"""What ``medallion load`` and ``medallion k8s load`` share: their options and their report."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from medallion.console import console
from medallion.load import LoadedBatch

Source = Annotated[Path, typer.Argument(help="a folder of batch=<id>/ folders, or of Olist files")]
Batch = Annotated[str | None, typer.Option(help="load only this batch id")]
Replace = Annotated[bool, typer.Option(help="replace a batch that is already loaded")]
SkipLoaded = Annotated[
    bool, typer.Option(help="pass over batches already loaded instead of refusing")
]


def landed(batches: Sequence[LoadedBatch]) -> list[tuple[str, str, str, int]]:
    """``batch, table, file, records`` of every file the batches landed (for the accounts)."""
    return [(b.batch_id, f.table, f.file, f.rows) for b in batches for f in b.files]


def report(batches: Sequence[LoadedBatch], where: str = "") -> None:
    if not batches:
        console.print("nothing to load: every batch is already loaded")
    for b in batches:
        verb = "replaced" if b.replaced else "loaded"
        files = ", ".join(
            f"{f.table} {f.rows:,}" + (f" ({f.malformed:,} malformed)" if f.malformed else "")
            for f in b.files
        )
        target = f" into {where}" if where else ""
        console.print(f"{verb} batch {b.batch_id}{target}: {b.rows:,} records ({files})")
