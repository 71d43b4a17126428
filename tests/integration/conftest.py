"""One embedded stack per test module, on free ports, in a temporary MEDALLION_HOME.

Each module gets a fresh stack so that the data one module lands cannot leak into another's
counts; a start costs about half a minute.

The stack's engines are the real ones (PostgreSQL, versitygw, Hive Metastore, Trino, Spark), started
by these fixtures; `medallion setup` must have fetched them (``make test`` does).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from medallion.stack import Stack, StackConfig
from medallion.trino_client import Result, query

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class StackHandle:
    stack: Stack
    env: dict[str, str]

    def sql(self, statement: str) -> Result:
        return query(self.env, statement)

    def scalar(self, statement: str) -> Any:
        return self.sql(statement).rows[0][0]

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run the medallion CLI against this stack, as a user would."""
        env = {**os.environ, **self.cli_env()}
        result = subprocess.run(
            [sys.executable, "-m", "medallion", *args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            cwd=REPO,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"medallion {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result

    def cli_env(self) -> dict[str, str]:
        cfg = self.stack.cfg
        env = {"MEDALLION_HOME": str(cfg.home), "COLUMNS": "200"}
        for name, port in cfg.ports.items():
            env[f"MEDALLION_{name.upper()}_PORT"] = str(port)
        return env


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackHandle]:
    home = tmp_path_factory.mktemp("stack")
    ports = {name: free_port() for name in ("postgres", "s3", "metastore", "trino")}
    cfg = StackConfig(home=home, ports=ports)
    cfg.save()
    stack = Stack(cfg)
    try:
        stack.up()
        yield StackHandle(stack, cfg.env())
    finally:
        stack.down()


@pytest.fixture(scope="module")
def spark(stack: StackHandle) -> Iterator[Any]:
    from medallion.spark import session

    spark = session(stack.env, cores=1, app_name="medallion-tests")
    yield spark
    spark.stop()
