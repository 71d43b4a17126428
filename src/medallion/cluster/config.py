"""Where a local cluster lives and the addresses it uses, all from the environment.

- ``MEDALLION_CLUSTER_HOME``: the cluster's state (certificates, etcd, containerd, kubelet, logs,
  PIDs, volumes); default ``.medallion-cluster`` in the checkout. ``down`` removes what it started
  there; ``delete`` removes the folder.
- ``MEDALLION_CLUSTER_NAME``: the network namespace and the node's name (default ``medallion``).
- ``MEDALLION_CLUSTER_API_PORT``: the host loopback port that forwards to the API server inside
  the namespace (default 16443): the only address of the cluster the host sees.

The node, pod and Service addresses below exist only inside the cluster's network namespace.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from ipaddress import IPv4Network
from pathlib import Path

from medallion.paths import project_dir

NODE_IP = "10.200.0.1"
POD_CIDR = "10.244.0.0/16"
NODE_POD_CIDR = "10.244.0.0/24"
SERVICE_CIDR = "10.96.0.0/16"
CLUSTER_DOMAIN = "cluster.local"
API_PORT_IN_NETNS = 6443
ETCD_PORT = 2379
ETCD_PEER_PORT = 2380


def service_ip(index: int) -> str:
    """The ``index``-th address of the Service range (1: the API server, 10: DNS)."""
    return str(IPv4Network(SERVICE_CIDR)[index])


@dataclass(frozen=True)
class ClusterConfig:
    home: Path
    name: str
    api_port: int

    @classmethod
    def from_env(cls) -> ClusterConfig:
        env = os.environ.get("MEDALLION_CLUSTER_HOME")
        home = Path(env) if env else project_dir() / ".medallion-cluster"
        return cls(
            home=home.resolve(),
            name=os.environ.get("MEDALLION_CLUSTER_NAME", "medallion"),
            api_port=int(os.environ.get("MEDALLION_CLUSTER_API_PORT", "16443")),
        )

    @property
    def netns(self) -> str:
        return f"{self.name}-cluster"

    @property
    def netns_path(self) -> Path:
        return Path("/run/netns") / self.netns

    @property
    def node_name(self) -> str:
        return self.name

    @property
    def cgroup_root(self) -> str:
        """The cgroup (in every v1 hierarchy) under which the kubelet puts its pods."""
        return f"/{self.name}-cluster"

    @property
    def pki(self) -> Path:
        return self.home / "pki"

    @property
    def etc(self) -> Path:
        return self.home / "etc"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def run(self) -> Path:
        return self.home / "run"

    @property
    def volumes(self) -> Path:
        return self.home / "volumes"

    @property
    def containerd_socket(self) -> Path:
        return self.run / "containerd.sock"

    @property
    def image_api_socket(self) -> Path:
        """The Docker-compatible API of the image store (podman), for skaffold's local builder."""
        return self.run / "image-api.sock"

    @property
    def api_socket(self) -> Path:
        return self.run / "apiserver.sock"

    def kubeconfig(self, user: str = "admin") -> Path:
        """A component's kubeconfig (in the namespace), or ``host``: the host's clients."""
        return self.etc / f"{user}.kubeconfig"

    @property
    def host_kubeconfig(self) -> Path:
        return self.kubeconfig("host")

    @property
    def api_server_in_netns(self) -> str:
        return f"https://{NODE_IP}:{API_PORT_IN_NETNS}"

    @property
    def api_server_on_host(self) -> str:
        return f"https://127.0.0.1:{self.api_port}"
