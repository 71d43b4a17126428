"""``up``, ``down`` and ``status`` of the local cluster, in one place.

``up`` creates the network namespace, the certificates and the configs, starts the node's
processes in order (each waits for its readiness check), imports the sandbox and CoreDNS images,
applies the cluster add-ons (RBAC of the node agents, CoreDNS, the storage class and local volumes)
and waits for the node to be Ready. A failed ``up`` tears down what it started.

``down`` stops exactly what ``up`` started, recorded under the cluster's home: the processes by
their PID files, the containers by their shims (found by the containerd socket they serve), the
mounts under the home, the pod cgroups under the cluster's cgroup root, the namespace; it puts
back the host-wide sysctls the kubelet changes, and removes the host folders the kubelet and
containerd insist on creating if they were not there before.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil

from medallion.cluster import addons, netns, pki
from medallion.cluster.components import Process, processes, write_configs
from medallion.cluster.config import ClusterConfig
from medallion.stack.process import Pidfile, spawn, stop_pid, tail

# Host-wide sysctls the kubelet sets at start (it cannot be told not to): put back at down.
KUBELET_HOST_SYSCTLS = ("vm.overcommit_memory", "kernel.panic", "kernel.panic_on_oops")
# Host folders the kubelet, containerd and the CNI library write whatever they are told.
HOST_DIRS = (
    Path("/var/lib/kubelet"),
    Path("/var/log/containers"),
    Path("/var/lib/cni"),
    Path("/run/containerd"),
    Path("/run/netns"),
)
CGROUP_BASE = Path("/sys/fs/cgroup")


class ClusterError(RuntimeError):
    """The cluster failed to start or stop; the message says which part and why."""


@dataclass(frozen=True)
class Status:
    name: str
    pid: int | None


def _pidfile(cfg: ClusterConfig, name: str) -> Pidfile:
    return Pidfile(cfg.run / f"{name}.pid")


def _log(cfg: ClusterConfig, name: str) -> Path:
    return cfg.logs / f"{name}.log"


def _sysctl_path(key: str) -> Path:
    return Path("/proc/sys") / key.replace(".", "/")


def _record_host_state(cfg: ClusterConfig) -> None:
    """What ``down`` must restore, written once by the first ``up`` after a ``down``."""
    record = cfg.home / "host-state.json"
    if record.exists():
        return
    state = {
        "sysctls": {key: _sysctl_path(key).read_text().strip() for key in KUBELET_HOST_SYSCTLS},
        "absent_dirs": [str(d) for d in HOST_DIRS if not d.exists()],
    }
    record.write_text(json.dumps(state, indent=1))


def _restore_host_state(cfg: ClusterConfig) -> None:
    record = cfg.home / "host-state.json"
    if not record.exists():
        return
    state = json.loads(record.read_text())
    for key, value in state["sysctls"].items():
        with contextlib.suppress(OSError):
            if _sysctl_path(key).read_text().strip() != value:
                _sysctl_path(key).write_text(value)
    for folder in map(Path, state["absent_dirs"]):
        if folder.exists() and not _mounts_under(folder):
            shutil.rmtree(folder, ignore_errors=True)
    record.unlink()


def _cgroup_dirs(cfg: ClusterConfig) -> list[Path]:
    if not CGROUP_BASE.exists():
        return []
    return [
        h / cfg.cgroup_root.lstrip("/")
        for h in sorted(CGROUP_BASE.iterdir())
        if h.is_dir() and h.name != "unified"
    ]


def _make_cgroup_root(cfg: ClusterConfig) -> None:
    for folder in _cgroup_dirs(cfg):
        folder.mkdir(exist_ok=True)
        if folder.parent.name == "cpuset":
            # a new cpuset cgroup starts with no CPUs and no memory nodes: inherit the parent's
            for knob in ("cpuset.cpus", "cpuset.mems"):
                (folder / knob).write_text((folder.parent / knob).read_text())


def _remove_cgroups(cfg: ClusterConfig) -> None:
    for root in _cgroup_dirs(cfg):
        if not root.exists():
            continue
        for folder in sorted((p for p in root.rglob("*") if p.is_dir()), reverse=True):
            with contextlib.suppress(OSError):
                folder.rmdir()
        with contextlib.suppress(OSError):
            root.rmdir()


def _mounts_under(root: Path) -> list[Path]:
    found = []
    prefix = str(root.resolve())
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point == prefix or point.startswith(prefix + "/"):
            found.append(Path(point))
    return found


def _unmount_all(root: Path) -> None:
    for point in sorted(set(_mounts_under(root)), key=lambda p: len(p.parts), reverse=True):
        result = subprocess.run(["umount", str(point)], capture_output=True, check=False)
        if result.returncode != 0:
            subprocess.run(["umount", "-l", str(point)], capture_output=True, check=False)


def _shims(cfg: ClusterConfig) -> list[psutil.Process]:
    """containerd's shims for this cluster: they name its socket in their arguments."""
    socket_arg = str(cfg.containerd_socket)
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if cmdline and "containerd-shim" in Path(cmdline[0]).name and socket_arg in cmdline:
            found.append(proc)
    return found


def _kill_containers(cfg: ClusterConfig) -> None:
    """Kill every container of the cluster (children of its shims), then the shims."""
    shims = _shims(cfg)
    victims: list[psutil.Process] = []
    for shim in shims:
        with contextlib.suppress(psutil.NoSuchProcess):
            victims.extend(shim.children(recursive=True))
    victims.extend(shims)
    for proc in victims:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.send_signal(signal.SIGKILL)
    psutil.wait_procs(victims, timeout=15)


def start_process(cfg: ClusterConfig, proc: Process) -> int:
    pidfile = _pidfile(cfg, proc.name)
    running = pidfile.read()
    if running is not None:
        return running
    argv = netns.command(cfg, proc.argv) if proc.in_netns else proc.argv
    pid = spawn(argv, log=_log(cfg, proc.name), env={**os.environ, **proc.env})
    pidfile.write(pid)
    return pid


def wait_ready(cfg: ClusterConfig, proc: Process, pid: int) -> None:
    deadline = time.monotonic() + proc.timeout
    while time.monotonic() < deadline:
        if proc.ready():
            return
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            raise ClusterError(
                f"{proc.name} exited during start-up; last lines of {_log(cfg, proc.name)}:\n"
                + tail(_log(cfg, proc.name))
            )
        time.sleep(0.3)
    raise ClusterError(
        f"{proc.name} not ready after {proc.timeout:.0f}s; last lines of "
        f"{_log(cfg, proc.name)}:\n{tail(_log(cfg, proc.name))}"
    )


def is_up(cfg: ClusterConfig) -> bool:
    return all(_pidfile(cfg, p.name).read() is not None for p in processes(cfg))


def up(cfg: ClusterConfig, progress: Callable[[str], None] = lambda _: None) -> None:
    """Start the cluster, or do nothing if it runs; on failure stop what was started."""
    if netns.exists(cfg) and is_up(cfg):
        progress("already up")
        return
    if netns.exists(cfg) or any(_pidfile(cfg, p.name).read() for p in processes(cfg)):
        # left over from a cluster that was killed rather than stopped: clear it first
        progress("clearing what a cluster that was not stopped left behind")
        down(cfg)
    for folder in (cfg.home, cfg.logs, cfg.run, cfg.volumes):
        folder.mkdir(parents=True, exist_ok=True)
    _record_host_state(cfg)
    try:
        netns.create(cfg)
        pki.ensure(cfg)
        write_configs(cfg)
        _make_cgroup_root(cfg)
        for proc in processes(cfg):
            began = time.monotonic()
            wait_ready(cfg, proc, start_process(cfg, proc))
            progress(f"{proc.name} ready in {time.monotonic() - began:.1f}s")
            if proc.name == "kube-apiserver":
                addons.apply_rbac(cfg)
            if proc.name == "containerd":
                addons.import_cluster_images(cfg)
        addons.wait_node_ready(cfg)
        progress("node Ready")
        addons.apply_addons(cfg)
        addons.wait_dns_ready(cfg)
        progress("CoreDNS ready")
    except BaseException:
        down(cfg)
        raise


def down(cfg: ClusterConfig) -> None:
    """Stop everything ``up`` started and remove the namespace and the mounts."""
    procs = {p.name: p for p in processes(cfg)}
    order = list(procs)
    for name in reversed(order):
        if name == "containerd":
            # the pods' containers go before containerd: they are its shims' children
            _kill_containers(cfg)
        pid = _pidfile(cfg, name).read()
        if pid is not None:
            stop_pid(pid, timeout=20)
        _pidfile(cfg, name).clear()
    _kill_containers(cfg)
    _unmount_all(cfg.home)
    _remove_cgroups(cfg)
    netns.delete(cfg)
    _restore_host_state(cfg)


def status(cfg: ClusterConfig) -> list[Status]:
    return [Status(p.name, _pidfile(cfg, p.name).read()) for p in processes(cfg)]


@contextlib.contextmanager
def running(cfg: ClusterConfig) -> Iterator[ClusterConfig]:
    """The cluster up for the duration of a block, torn down after unless it was up before."""
    was_up = netns.exists(cfg) and is_up(cfg)
    up(cfg)
    try:
        yield cfg
    finally:
        if not was_up:
            down(cfg)


def env(cfg: ClusterConfig) -> dict[str, str]:
    """What a shell needs to use the cluster from the host (kubectl, helm, the CLI, skaffold)."""
    return {
        "KUBECONFIG": str(cfg.host_kubeconfig),
        "DOCKER_HOST": f"unix://{cfg.image_api_socket}",
        # the cluster imports buildah's images; the engine on DOCKER_HOST is not a builder
        "IMAGE_BUILDER": "buildah",
    }
