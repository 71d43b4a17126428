"""kubectl against the local cluster from the host, through its API forward, as a user would."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from medallion.cluster.build import bin_dir
from medallion.cluster.config import ClusterConfig

# What Pod Security "restricted" asks of every container.
RESTRICTED_POD = {
    "runAsNonRoot": True,
    "runAsUser": 10000,
    "runAsGroup": 10000,
    "seccompProfile": {"type": "RuntimeDefault"},
}
RESTRICTED_CONTAINER = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
}


@dataclass
class Kube:
    cfg: ClusterConfig
    created: list[str] = field(default_factory=list)

    def run(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        argv = [str(bin_dir() / "kubectl"), f"--kubeconfig={self.cfg.host_kubeconfig}", *args]
        result = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)}: {result.stderr}{result.stdout}")
        return result.stdout

    def attempt(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        argv = [str(bin_dir() / "kubectl"), f"--kubeconfig={self.cfg.host_kubeconfig}", *args]
        return subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False)

    def apply(self, *docs: dict[str, Any]) -> None:
        self.run("apply", "-f", "-", stdin=yaml.safe_dump_all(docs))

    def get(self, *args: str) -> Any:
        return json.loads(self.run("get", *args, "-o", "json"))

    def namespace(self, name: str, *, restricted: bool = True) -> None:
        labels = {"pod-security.kubernetes.io/enforce": "restricted"} if restricted else {}
        self.apply(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}
        )
        if name not in self.created:
            self.created.append(name)

    def delete_created_namespaces(self) -> None:
        """Remove the namespaces made through :meth:`namespace` (and wait until they are gone)."""
        if self.created:
            self.run("delete", "namespace", *self.created, "--wait", "--timeout=180s")
            self.created.clear()

    def wait_pod_done(self, namespace: str, name: str, timeout: float = 180) -> str:
        """The final phase of a pod that runs to completion (Succeeded or Failed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            phase = self.run(
                "-n", namespace, "get", "pod", name, "-o", "jsonpath={.status.phase}", check=False
            )
            if phase in ("Succeeded", "Failed"):
                return phase
            time.sleep(1)
        raise AssertionError(
            f"pod {namespace}/{name} still running after {timeout:.0f}s:\n"
            + self.run("-n", namespace, "describe", "pod", name, check=False)
        )

    def logs(self, namespace: str, name: str) -> str:
        return self.run("-n", namespace, "logs", name, check=False)


def connect_script(host: str, port: int, seconds: int = 20) -> str:
    """Python for a probe pod: exit 0 once a TCP connection to ``host:port`` opens, 1 if none
    does within ``seconds``. A new pod's address reaches the NetworkPolicy agent a moment after the
    pod starts, and a refused first attempt says nothing yet, so the probe keeps trying."""
    return (
        "import socket, sys, time\n"
        f"deadline = time.monotonic() + {seconds}\n"
        "while True:\n"
        "    try:\n"
        f"        socket.create_connection(({host!r}, {port}), timeout=3).close()\n"
        "        print('open'); sys.exit(0)\n"
        "    except OSError as error:\n"
        "        if time.monotonic() > deadline:\n"
        "            print('blocked:', error); sys.exit(1)\n"
        "        time.sleep(1)\n"
    )


def pod(
    name: str,
    image: str,
    command: list[str],
    *,
    namespace: str,
    labels: dict[str, str] | None = None,
    restart: str = "Never",
    env: dict[str, str] | None = None,
    ports: list[int] | None = None,
) -> dict[str, Any]:
    """A pod that passes Pod Security ``restricted``, with a writable /tmp."""
    container: dict[str, Any] = {
        "name": "main",
        "image": image,
        "imagePullPolicy": "Never",
        "command": command,
        "securityContext": RESTRICTED_CONTAINER,
        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}},
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        "env": [{"name": k, "value": v} for k, v in (env or {}).items()],
    }
    if ports:
        container["ports"] = [{"containerPort": p} for p in ports]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "spec": {
            "restartPolicy": restart,
            "automountServiceAccountToken": False,
            "securityContext": RESTRICTED_POD,
            "containers": [container],
            "volumes": [{"name": "tmp", "emptyDir": {}}],
        },
    }


@contextlib.contextmanager
def port_forward(kube: Kube, namespace: str, target: str, port: int) -> Iterator[int]:
    """``kubectl port-forward`` to a free host loopback port for the duration of a block."""
    argv = [
        str(bin_dir() / "kubectl"), f"--kubeconfig={kube.cfg.host_kubeconfig}", "-n", namespace,
        "port-forward", "--address=127.0.0.1", target, f":{port}",
    ]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"127\.0\.0\.1:(\d+) ->", line)
        if not match:
            raise AssertionError(f"port-forward {target}: {line}{proc.stdout.read(2000)}")
        yield int(match.group(1))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
