"""A layer Job's container has the package and the dbt project, not a checkout: its entry point
must not import what needs one (the data generator reads its vocabulary from the checkout)."""

from __future__ import annotations

import subprocess
import sys


def test_the_layer_job_entry_point_does_not_load_the_generator() -> None:
    probe = (
        "import sys, medallion.run.job, medallion.ledger, medallion.accounting; "
        "print(sorted(m for m in sys.modules if m.startswith('medallion.generate')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]", out
