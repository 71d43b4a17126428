"""The local cluster for the tests marked ``cluster``: started once per session (reused when it
already runs, as ``make e2e`` does) and stopped at the end if the session started it.

The cluster is the real thing: kube-apiserver, controller-manager, scheduler, kubelet, kube-proxy,
containerd, runc, CoreDNS and kube-router, built and started by ``medallion cluster``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from medallion.cluster import addons, lifecycle, netns
from medallion.cluster.build import bin_dir, build_all
from medallion.cluster.config import ClusterConfig
from tests.cluster.kube import Kube


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
