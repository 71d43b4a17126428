"""Deterministic synthetic e-commerce data in the exact CSV format of the public Olist dataset.

The pipeline is developed and tested without the real (licensed, fixed-size) Kaggle files, so
this package produces look-alikes at any scale: the same 9 files with the original headers,
split into daily ``batch=YYYY-MM-DD`` folders the way an incremental feed would deliver them,
with order status updates in later batches and, on request, a known share of defective rows
listed in ``defects.json`` so that the quarantine can be checked against ground truth.

Only the standard library is used, so the generator runs anywhere the CLI runs.
"""

from medallion.generate._core import MANIFEST, GenerateSummary, generate
from medallion.generate._tables import (
    DEFECT_KINDS,
    DEFECT_REASONS,
    FILES,
    HEADERS,
    KEYS,
    ORDER_STATUSES,
    PAYMENT_TYPES,
    SPECS,
    TableSpec,
)

__all__ = [
    "DEFECT_KINDS",
    "DEFECT_REASONS",
    "FILES",
    "HEADERS",
    "KEYS",
    "MANIFEST",
    "ORDER_STATUSES",
    "PAYMENT_TYPES",
    "SPECS",
    "GenerateSummary",
    "TableSpec",
    "generate",
]
