"""A run whose query engine is down ends at once, non-zero, naming Trino and its address; no
traceback. No service runs here: the stack's configuration points at ports nobody listens on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from medallion.stack import StackConfig
from tests.conftest import REPO, free_port


def _run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *argv], env={**os.environ, **env, "COLUMNS": "200"},
        capture_output=True, text=True, check=False, cwd=REPO, timeout=300,
    )  # fmt: skip


@pytest.fixture
def dead_stack(tmp_path: Path) -> StackConfig:
    ports = {name: free_port() for name in ("postgres", "s3", "metastore", "trino")}
    cfg = StackConfig(home=tmp_path / "stack", ports=ports)
    cfg.save()
    return cfg


def test_medallion_run_with_trino_down_names_it(dead_stack: StackConfig) -> None:
    env = {"MEDALLION_HOME": str(dead_stack.home)}
    env.update({f"MEDALLION_{n.upper()}_PORT": str(p) for n, p in dead_stack.ports.items()})
    done = _run(["medallion", "run", "gold"], env)
    assert done.returncode == 1, done.stdout + done.stderr
    message = " ".join(done.stderr.split())
    address = f"Trino at http://127.0.0.1:{dead_stack.ports['trino']} is not reachable"
    assert "gold could not run" in message and address in message, message
    assert "Traceback" not in done.stderr


def test_a_layer_job_with_trino_down_names_it(dead_stack: StackConfig) -> None:
    done = _run(["medallion.run.job", "bronze"], dead_stack.env())
    assert done.returncode == 1, done.stdout + done.stderr
    address = f"Trino at http://127.0.0.1:{dead_stack.ports['trino']} is not reachable"
    assert "bronze could not run" in done.stderr and address in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
