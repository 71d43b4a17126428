"""``medallion k8s``: trigger and watch layer runs on a cluster where the chart is installed."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, help="Trigger and watch runs on Kubernetes.")
