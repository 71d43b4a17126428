"""Shared pytest configuration.

The local cluster for the tests marked ``cluster`` (tests/cluster, tests/e2e): started once per
session (reused when it already runs, as ``make e2e`` does) and stopped at the end if the session
started it.

The cluster is the real thing: kube-apiserver, controller-manager, scheduler, kubelet, kube-proxy,
containerd, runc, CoreDNS and kube-router, built and started by ``medallion cluster``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from medallion.cluster import addons, lifecycle, netns
from medallion.cluster.build import bin_dir, build_all
from medallion.cluster.config import ClusterConfig
from medallion.stack import Stack, StackConfig
from medallion.stack.engines import default_ports
from medallion.stack.process import private_port
from medallion.trino_client import Result, query
from tests.cluster.kube import Kube

REPO = Path(__file__).resolve().parents[1]


#: The modules of the local cluster's tests: they share one cluster, so they are one work unit.
CLUSTER_MODULES = ("tests/cluster/", "tests/e2e/test_cluster_pipeline.py")

#: The longest work units, longest first (measured with ``--durations``: the cluster's about 40
#: minutes, test_silver's 20, test_gold's 12, ...): with the longest started first, the short
#: ones fill in at the end and neither worker is left with a long tail.
LONGEST_FIRST = (
    "cluster",
    "tests/integration/test_silver.py",
    "tests/integration/test_crashes.py",
    "tests/integration/test_gold.py",
    "tests/integration/test_records.py",
    "tests/integration/test_bronze.py",
)


def unit_of(nodeid: str) -> str:
    """The pytest-xdist work unit of a test: ``cluster`` for the local cluster's tests, else its
    module, so that a module's stack and pipeline are built once, on the worker that runs it."""
    module = nodeid.split("::", maxsplit=1)[0]
    return "cluster" if module.startswith(CLUSTER_MODULES) else module


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``make test`` runs two workers (``--dist loadscope --no-loadscope-reorder``), with the work
    units of ``unit_of``. (xdist's ``loadgroup`` marks do not group under pytest 9: it renames
    the node ids, which pytest 9 no longer reads.)"""
    from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

    class ByUnit(LoadScopeScheduling):  # type: ignore[misc]  # xdist ships no py.typed
        def _split_scope(self, nodeid: str) -> str:
            return unit_of(nodeid)

    return ByUnit(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order the tests by work unit, ``LONGEST_FIRST`` then as collected (xdist starts the units
    in this order); a test marked ``cluster`` outside ``CLUSTER_MODULES`` is an error, since it
    would start a second cluster on another worker."""
    for item in items:
        if item.get_closest_marker("cluster") and unit_of(item.nodeid) != "cluster":
            raise pytest.UsageError(
                f"{item.nodeid} needs the cluster: list its module in CLUSTER_MODULES"
            )

    def rank(item: pytest.Item) -> int:
        unit = unit_of(item.nodeid)
        return LONGEST_FIRST.index(unit) if unit in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: a module's tests keep their order


@pytest.fixture(scope="session")
def cluster() -> Iterator[ClusterConfig]:
    cfg = ClusterConfig.from_env()
    bin_dir().mkdir(parents=True, exist_ok=True)
    build_all(bin_dir().parent / "build.log")
    was_up = netns.exists(cfg) and lifecycle.is_up(cfg)
    lifecycle.up(cfg)
    yield cfg
    if not was_up:
        lifecycle.down(cfg)


@pytest.fixture(scope="session")
def kube(cluster: ClusterConfig) -> Kube:
    return Kube(cluster)


@pytest.fixture(scope="session")
def load(cluster: ClusterConfig) -> object:
    """Import images built by ``make images`` into the cluster (skips those already there)."""

    def _load(*refs: str) -> None:
        addons.load_images(cluster, list(refs))

    return _load


# The embedded stack, one per test module (tests/integration, and tests/e2e's comparison).


# Ports handed out by this process: a port stays free until its engine binds it, minutes later.
_GIVEN: set[int] = set()


def free_port() -> int:
    """A free loopback port from this xdist worker's own slice (``private_port``)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    return private_port(_GIVEN, int(worker), workers)


@dataclass
class StackHandle:
    stack: Stack
    env: dict[str, str]

    def sql(self, statement: str) -> Result:
        return query(self.env, statement)

    def scalar(self, statement: str) -> Any:
        return self.sql(statement).rows[0][0]

    def cli(
        self, *args: str, check: bool = True, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run the medallion CLI against this stack, as a user would (``env``: more variables)."""
        result = subprocess.run(
            [sys.executable, "-m", "medallion", *args],
            env={**os.environ, **self.cli_env(), **(env or {})},
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
    ports = {name: free_port() for name in default_ports()}
    cfg = StackConfig(home=home, ports=ports)
    cfg.save()
    stack = Stack(cfg)
    try:
        stack.up()
        yield StackHandle(stack, cfg.env())
    finally:
        stack.down()
