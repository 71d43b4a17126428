"""sqlfluff lints the dbt project (dbt/.sqlfluff: jinja templater, trino, sparksql for silver)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from medallion.paths import project_dir


@pytest.mark.slow
def test_dbt_sql_passes_sqlfluff() -> None:
    dbt = project_dir() / "dbt"
    result = subprocess.run(
        [sys.executable, "-m", "sqlfluff", "lint", ".", "--processes", "2", "--nocolor"],
        cwd=dbt,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"sqlfluff lint dbt/ failed:\n{result.stdout}{result.stderr}"
