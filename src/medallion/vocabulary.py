"""The vocabularies of Olist's coded columns and of silver's quarantine reason codes.

Their one home is the ``vars`` of ``dbt/dbt_project.yml``: silver's rules and tests read them there
through ``var()``, and the generator and the tests' reference computation through this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from medallion.paths import project_dir


@dataclass(frozen=True)
class Vocabulary:
    order_statuses: tuple[str, ...]
    payment_types: tuple[str, ...]
    review_score_min: int
    review_score_max: int
    quarantine_reasons: tuple[str, ...]


def parse(project: Any) -> Vocabulary:
    """The vocabulary from a parsed dbt_project.yml."""
    names = project["vars"]
    return Vocabulary(
        order_statuses=tuple(str(s) for s in names["order_statuses"]),
        payment_types=tuple(str(t) for t in names["payment_types"]),
        review_score_min=int(names["review_score"]["min"]),
        review_score_max=int(names["review_score"]["max"]),
        quarantine_reasons=tuple(str(r) for r in names["quarantine_reasons"]),
    )


@cache
def load(path: Path | None = None) -> Vocabulary:
    """The project's vocabulary (``dbt/dbt_project.yml`` of the checkout unless ``path``)."""
    source = path or project_dir() / "dbt" / "dbt_project.yml"
    return parse(yaml.safe_load(source.read_text()))
