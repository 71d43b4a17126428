"""The cluster's network namespace: create it, run commands and checks inside it, remove it.

Only the network namespace is separate: processes started with ``nsenter --net`` keep the host's
mount namespace, which the kubelet's volume mounts and containerd's snapshots need.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import threading
from collections.abc import Callable
from typing import TypeVar

from medallion.cluster.config import NODE_IP, ClusterConfig

T = TypeVar("T")
CLONE_NEWNET = 0x40000000
# Per-namespace settings the node needs; the host's own values are never touched.
NETNS_SYSCTLS = {
    "net.ipv4.ip_forward": "1",
    "net.bridge.bridge-nf-call-iptables": "1",
    "net.ipv4.conf.all.route_localnet": "1",
}


class NetnsError(RuntimeError):
    pass


def _ip(*args: str) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)}: {result.stderr.strip()}")


def exists(cfg: ClusterConfig) -> bool:
    return cfg.netns_path.exists()


def create(cfg: ClusterConfig) -> None:
    """The namespace with the node's address on its loopback (no link to the host at all)."""
    if not exists(cfg):
        _ip("netns", "add", cfg.netns)
    _ip("-n", cfg.netns, "link", "set", "lo", "up")
    result = subprocess.run(
        ["ip", "-n", cfg.netns, "-o", "addr", "show", "dev", "lo"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    if f"{NODE_IP}/32" not in result.stdout:
        _ip("-n", cfg.netns, "addr", "add", f"{NODE_IP}/32", "dev", "lo")
    settings = [f"{key}={value}" for key, value in NETNS_SYSCTLS.items()]
    result = subprocess.run(
        command(cfg, ["sysctl", "-q", "-w", *settings]), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise NetnsError(f"sysctl in {cfg.netns}: {result.stderr.strip()}")


def delete(cfg: ClusterConfig) -> None:
    if exists(cfg):
        _ip("netns", "delete", cfg.netns)


def command(cfg: ClusterConfig, argv: list[str]) -> list[str]:
    """``argv`` run inside the namespace (network only)."""
    nsenter = shutil.which("nsenter") or "nsenter"
    return [nsenter, f"--net={cfg.netns_path}", "--", *argv]


_libc = ctypes.CDLL(None, use_errno=True)


def call_in_netns(cfg: ClusterConfig, fn: Callable[[], T]) -> T:
    """Run ``fn`` on a thread that has joined the namespace (``setns`` is per thread), so that the
    sockets it opens live there; the caller's own threads stay on the host."""
    box: dict[str, object] = {}

    def target() -> None:
        try:
            fd = os.open(cfg.netns_path, os.O_RDONLY)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    errno = ctypes.get_errno()
                    raise NetnsError(f"setns {cfg.netns_path}: {os.strerror(errno)}")
            finally:
                os.close(fd)
            box["value"] = fn()
        except BaseException as exc:  # handed back to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name=f"netns-{cfg.netns}")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]
