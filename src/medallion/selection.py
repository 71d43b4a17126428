"""Node selection of a layer's dbt run: one selector per layer, never overridden by accident.

dbt ignores ``--select`` and ``--exclude`` when ``--selector`` is given, without a word; extra dbt
arguments that carry them would silently run the whole layer. They are refused instead.
"""

from __future__ import annotations

from collections.abc import Sequence

SELECTION_FLAGS = ("--select", "-s", "--models", "-m", "--exclude", "--selector")


class SelectionError(ValueError):
    """Extra dbt arguments that try to change a layer's node selection."""


def check_extra_args(layer: str, extra: Sequence[str]) -> None:
    """Refuse extra dbt arguments that dbt would ignore beside the layer's ``--selector``."""
    used = sorted({a.partition("=")[0] for a in extra} & set(SELECTION_FLAGS))
    if used:
        raise SelectionError(
            f"{layer}: {', '.join(used)} cannot change the {layer} selector's nodes (dbt ignores "
            "them beside --selector); narrow the run with --resource-type or "
            "--exclude-resource-type, or edit dbt/selectors.yml"
        )
