"""The node's processes: one start command, one readiness check and one log each, in start order.

Every process runs inside the cluster's network namespace except the host end of the API
forward. Their config files are written into the cluster's ``etc/`` at each start, from the
values in :mod:`medallion.cluster.config`; nothing is written outside the cluster's home but what
the kubelet and containerd insist on (see :mod:`medallion.cluster.lifecycle`).
"""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from medallion.cluster import netns
from medallion.cluster.build import bin_dir
from medallion.cluster.config import (
    API_PORT_IN_NETNS,
    CLUSTER_DOMAIN,
    ETCD_PEER_PORT,
    ETCD_PORT,
    NODE_IP,
    NODE_POD_CIDR,
    POD_CIDR,
    SERVICE_CIDR,
    ClusterConfig,
    service_ip,
)

PAUSE_IMAGE = "registry.k8s.io/pause:3.10"
KUBELET_HEALTH_PORT = 10248
KUBE_PROXY_HEALTH_PORT = 10256
KUBE_ROUTER_HEALTH_PORT = 20244
CNI_BIN_DIR = Path("/usr/lib/cni")
CONTROLLER_MANAGER_PORT = 10257
SCHEDULER_PORT = 10259
SELF_SIGNED_PORTS = (CONTROLLER_MANAGER_PORT, SCHEDULER_PORT)


@dataclass(frozen=True)
class Process:
    """One of the node's processes."""

    name: str
    argv: list[str]
    ready: Callable[[], bool]
    in_netns: bool = True
    timeout: float = 90.0
    env: dict[str, str] = field(default_factory=dict)


def system_binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if not found:
        raise FileNotFoundError(name)
    return found


def _http_ok(cfg: ClusterConfig, url: str, *, tls: bool = False) -> bool:
    """GET ``url`` from inside the namespace; True on a 2xx answer. With ``tls`` the server's
    certificate is checked against the cluster's CA, except for the controller-manager's and the
    scheduler's health ports, which serve a self-signed certificate of their own."""

    def get() -> bool:
        context = None
        if tls and urllib.parse.urlsplit(url).port in SELF_SIGNED_PORTS:
            context = ssl._create_unverified_context()
        elif tls:
            context = ssl.create_default_context(cafile=str(cfg.pki / "ca.crt"))
            context.check_hostname = False
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as response:
                status: int = response.status
                return 200 <= status < 300
        except (urllib.error.URLError, OSError, ssl.SSLError):
            return False

    return netns.call_in_netns(cfg, get)


def unix_http_ok(path: Path, request_path: str) -> bool:
    """GET ``request_path`` over the Unix socket ``path``; True on a 200 answer."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(2.0)
        try:
            sock.connect(str(path))
            sock.sendall(f"GET {request_path} HTTP/1.0\r\nHost: local\r\n\r\n".encode())
            return sock.recv(64).split(b" ")[1:2] == [b"200"]
        except OSError:
            return False


def _tcp_open_on_host(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def write_configs(cfg: ClusterConfig) -> None:
    """containerd, CNI, kubelet and kube-proxy configuration, rewritten at every start."""
    etc = cfg.etc
    (etc / "cni").mkdir(parents=True, exist_ok=True)
    containerd = cfg.home / "containerd"
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    (etc / "containerd.toml").write_text(
        "\n".join(
            [
                "version = 2",
                f'root = "{containerd / "root"}"',
                f'state = "{containerd / "state"}"',
                "[grpc]",
                f'  address = "{cfg.containerd_socket}"',
                '[plugins."io.containerd.internal.v1.opt"]',
                f'  path = "{containerd / "opt"}"',
                f"[{cri}]",
                f'  sandbox_image = "{PAUSE_IMAGE}"',
                # root here lacks CAP_SYS_RESOURCE: runc may only raise oom_score_adj
                "  restrict_oom_score_adj = true",
                "  netns_mounts_under_state_dir = true",
                # pods may bind ports below 1024 (CoreDNS on 53) without a capability
                "  enable_unprivileged_ports = true",
                "  enable_unprivileged_icmp = true",
                f"[{cri}.containerd]",
                '  snapshotter = "overlayfs"',
                '  default_runtime_name = "runc"',
                f"[{cri}.containerd.runtimes.runc]",
                '  runtime_type = "io.containerd.runc.v2"',
                f"[{cri}.containerd.runtimes.runc.options]",
                "  SystemdCgroup = false",
                f"[{cri}.cni]",
                f'  bin_dir = "{CNI_BIN_DIR}"',
                f'  conf_dir = "{etc / "cni"}"',
                "",
            ]
        )
    )
    conflist = {
        "cniVersion": "1.0.0",
        "name": "medallion",
        "plugins": [
            {
                "type": "bridge",
                "bridge": "cni0",
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": NODE_POD_CIDR}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": str(cfg.home / "cni" / "ipam"),
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }
    (etc / "cni" / "10-medallion.conflist").write_text(json.dumps(conflist, indent=2))
    # Pods with dnsPolicy Default (CoreDNS itself) get no upstream: the namespace has no route out.
    (etc / "resolv.conf").write_text(f"search {CLUSTER_DOMAIN}\noptions ndots:1\n")
    kubelet = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(cfg.pki / "ca.crt")},
        },
        "authorization": {"mode": "Webhook"},
        "address": NODE_IP,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": KUBELET_HEALTH_PORT,
        "readOnlyPort": 0,
        "tlsCertFile": str(cfg.pki / "kubelet-serving.crt"),
        "tlsPrivateKeyFile": str(cfg.pki / "kubelet-serving.key"),
        "containerRuntimeEndpoint": f"unix://{cfg.containerd_socket}",
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": cfg.cgroup_root,
        "failCgroupV1": False,
        "clusterDomain": CLUSTER_DOMAIN,
        "clusterDNS": [service_ip(10)],
        "resolvConf": str(etc / "resolv.conf"),
        "podLogsDir": str(cfg.logs / "pods"),
        "volumePluginDir": str(cfg.home / "kubelet-plugins"),
        # an image collected here could never be pulled again: there is no registry
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {
            "memory.available": "100Mi",
            "nodefs.available": "1%",
            "imagefs.available": "1%",
            "nodefs.inodesFree": "1%",
        },
        "protectKernelDefaults": False,
        "serializeImagePulls": False,
        "failSwapOn": False,
        "maxPods": 110,
    }
    (etc / "kubelet.yaml").write_text(yaml.safe_dump(kubelet, sort_keys=False))
    kube_proxy = {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(cfg.kubeconfig("kube-proxy"))},
        "mode": "iptables",
        "clusterCIDR": POD_CIDR,
        "hostnameOverride": cfg.node_name,
        "bindAddress": NODE_IP,
        "healthzBindAddress": f"127.0.0.1:{KUBE_PROXY_HEALTH_PORT}",
        "metricsBindAddress": "127.0.0.1:10249",
        # root here cannot lower oom_score_adj; leave the host's nf_conntrack_max alone
        "oomScoreAdj": 0,
        "conntrack": {"maxPerCore": 0, "min": 0},
    }
    (etc / "kube-proxy.yaml").write_text(yaml.safe_dump(kube_proxy, sort_keys=False))


def processes(cfg: ClusterConfig) -> list[Process]:
    """The node's processes in start order (``down`` stops them in reverse)."""
    k8s = bin_dir()
    pki, etc = cfg.pki, cfg.etc
    api_local = f"https://127.0.0.1:{API_PORT_IN_NETNS}"
    etcd_url = f"http://127.0.0.1:{ETCD_PORT}"
    peer_url = f"http://127.0.0.1:{ETCD_PEER_PORT}"
    socat = system_binary("socat")
    api = cfg.image_api_socket
    return [
        Process(
            "etcd",
            [
                system_binary("etcd"),
                "--name=medallion",
                f"--data-dir={cfg.home / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=medallion={peer_url}",
                "--logger=zap",
            ],
            ready=lambda: _http_ok(cfg, f"{etcd_url}/health"),
        ),
        Process(
            "kube-apiserver",
            [
                str(k8s / "kube-apiserver"),
                f"--advertise-address={NODE_IP}",
                f"--secure-port={API_PORT_IN_NETNS}",
                f"--etcd-servers={etcd_url}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                f"--client-ca-file={pki / 'ca.crt'}",
                f"--tls-cert-file={pki / 'apiserver.crt'}",
                f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--kubelet-client-certificate={pki / 'apiserver-kubelet-client.crt'}",
                f"--kubelet-client-key={pki / 'apiserver-kubelet-client.key'}",
                f"--kubelet-certificate-authority={pki / 'ca.crt'}",
                # the host resolver cannot resolve the node's name inside the namespace
                "--kubelet-preferred-address-types=InternalIP,Hostname",
                f"--service-account-issuer=https://kubernetes.default.svc.{CLUSTER_DOMAIN}",
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                "--authorization-mode=Node,RBAC",
                "--enable-admission-plugins=NodeRestriction",
                "--allow-privileged=true",
                "--profiling=false",
            ],
            ready=lambda: _http_ok(cfg, f"{api_local}/readyz", tls=True),
        ),
        # The host's only way in: the host's loopback port -> a Unix socket in the cluster's home
        # -> the API server inside the namespace.
        Process(
            "api-forward-netns",
            [
                socat,
                f"UNIX-LISTEN:{cfg.api_socket},fork,unlink-early,mode=600",
                f"TCP:127.0.0.1:{API_PORT_IN_NETNS}",
            ],
            ready=cfg.api_socket.exists,
        ),
        Process(
            "api-forward-host",
            [
                socat,
                f"TCP-LISTEN:{cfg.api_port},bind=127.0.0.1,reuseaddr,fork",
                f"UNIX-CONNECT:{cfg.api_socket}",
            ],
            ready=lambda: _tcp_open_on_host(cfg.api_port),
            in_netns=False,
        ),
        Process(
            "kube-controller-manager",
            [
                str(k8s / "kube-controller-manager"),
                f"--kubeconfig={cfg.kubeconfig('controller-manager')}",
                f"--authentication-kubeconfig={cfg.kubeconfig('controller-manager')}",
                f"--authorization-kubeconfig={cfg.kubeconfig('controller-manager')}",
                "--bind-address=127.0.0.1",
                f"--cluster-signing-cert-file={pki / 'ca.crt'}",
                f"--cluster-signing-key-file={pki / 'ca.key'}",
                f"--root-ca-file={pki / 'ca.crt'}",
                f"--service-account-private-key-file={pki / 'sa.key'}",
                "--use-service-account-credentials=true",
                "--allocate-node-cidrs=true",
                f"--cluster-cidr={POD_CIDR}",
                "--node-cidr-mask-size=24",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--leader-elect=false",
                "--profiling=false",
            ],
            ready=lambda: _http_ok(
                cfg, f"https://127.0.0.1:{CONTROLLER_MANAGER_PORT}/healthz", tls=True
            ),
        ),
        Process(
            "kube-scheduler",
            [
                str(k8s / "kube-scheduler"),
                f"--kubeconfig={cfg.kubeconfig('scheduler')}",
                f"--authentication-kubeconfig={cfg.kubeconfig('scheduler')}",
                f"--authorization-kubeconfig={cfg.kubeconfig('scheduler')}",
                "--bind-address=127.0.0.1",
                "--leader-elect=false",
                "--profiling=false",
            ],
            ready=lambda: _http_ok(cfg, f"https://127.0.0.1:{SCHEDULER_PORT}/healthz", tls=True),
        ),
        Process(
            "containerd",
            [system_binary("containerd"), f"--config={etc / 'containerd.toml'}"],
            ready=cfg.containerd_socket.exists,
        ),
        Process(
            "kubelet",
            [
                str(k8s / "kubelet"),
                f"--config={etc / 'kubelet.yaml'}",
                f"--kubeconfig={cfg.kubeconfig('kubelet')}",
                f"--root-dir={cfg.home / 'kubelet'}",
                f"--hostname-override={cfg.node_name}",
                f"--node-ip={NODE_IP}",
            ],
            ready=lambda: _http_ok(cfg, f"http://127.0.0.1:{KUBELET_HEALTH_PORT}/healthz"),
        ),
        Process(
            "kube-proxy",
            [str(k8s / "kube-proxy"), f"--config={etc / 'kube-proxy.yaml'}"],
            ready=lambda: _http_ok(cfg, f"http://127.0.0.1:{KUBE_PROXY_HEALTH_PORT}/healthz"),
        ),
        # NetworkPolicy enforcement with iptables and ipset (kube-router's firewall alone: no
        # routing, no service proxy; kube-proxy does Services).
        Process(
            "kube-router",
            [
                str(k8s / "kube-router"),
                f"--kubeconfig={cfg.kubeconfig('kube-router')}",
                "--run-firewall=true",
                "--run-router=false",
                "--run-service-proxy=false",
                "--enable-cni=false",
                "--enable-ipv6=false",
                f"--hostname-override={cfg.node_name}",
                f"--health-port={KUBE_ROUTER_HEALTH_PORT}",
                "--metrics-port=0",
            ],
            ready=lambda: _http_ok(cfg, f"http://127.0.0.1:{KUBE_ROUTER_HEALTH_PORT}/healthz"),
        ),
        # Not part of Kubernetes: the Docker API over the images that buildah builds (the same
        # store), which skaffold's local builder asks for image IDs (`skaffold run -p local`).
        # A Unix socket only; it runs no container.
        Process(
            "image-api",
            [system_binary("podman"), "system", "service", "--time=0", f"unix://{api}"],
            ready=lambda: unix_http_ok(cfg.image_api_socket, "/_ping"),
        ),
    ]
