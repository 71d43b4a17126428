"""What the cluster needs besides its processes: the sandbox and CoreDNS images, the node agents'
RBAC, CoreDNS, the default StorageClass with its local volumes.

Images reach containerd with no registry: buildah makes an image from a static binary (FROM
scratch), exports it as a docker archive, and ``ctr images import`` loads it into the ``k8s.io``
namespace the kubelet uses.
"""

from __future__ import annotations

import hashlib
import subprocess
import time
from pathlib import Path
from string import Template

import yaml

from medallion.cluster import netns
from medallion.cluster.build import VERSIONS, bin_dir
from medallion.cluster.components import PAUSE_IMAGE, system_binary
from medallion.cluster.config import CLUSTER_DOMAIN, ClusterConfig, service_ip
from medallion.paths import project_dir

MANIFESTS = project_dir() / "cluster" / "manifests"
COREDNS_IMAGE = f"medallion/coredns:{VERSIONS['coredns']}"
LOCAL_VOLUMES = 16
LOCAL_VOLUME_SIZE = "50Gi"


class AddonError(RuntimeError):
    pass


def kubectl(cfg: ClusterConfig, *args: str, stdin: str | None = None, check: bool = True) -> str:
    """kubectl as the cluster admin, from inside the namespace (works before the host forward)."""
    argv = [str(bin_dir() / "kubectl"), f"--kubeconfig={cfg.kubeconfig('admin')}", *args]
    result = subprocess.run(
        netns.command(cfg, argv), input=stdin, capture_output=True, text=True, check=False
    )
    if check and result.returncode != 0:
        raise AddonError(f"kubectl {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def apply(cfg: ClusterConfig, text: str) -> None:
    kubectl(cfg, "apply", "--server-side", "--force-conflicts", "-f", "-", stdin=text)


def apply_rbac(cfg: ClusterConfig) -> None:
    # The API server answers /readyz a moment before its bootstrap roles are all in place.
    deadline = time.monotonic() + 60
    while True:
        try:
            apply(cfg, (MANIFESTS / "rbac.yaml").read_text())
            return
        except AddonError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def _buildah(*args: str) -> str:
    result = subprocess.run(
        [system_binary("buildah"), *args], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise AddonError(f"buildah {args[0]}: {result.stderr.strip()}")
    return result.stdout.strip()


def image_from_binary(ref: str, binary: Path, user: str, out: Path) -> Path:
    """A FROM-scratch image holding ``binary`` as its entrypoint, exported as a docker archive
    (cached by the binary's checksum)."""
    digest = hashlib.sha256(binary.read_bytes()).hexdigest()[:16]
    archive = out / f"{binary.name}-{digest}.tar"
    if archive.exists():
        return archive
    out.mkdir(parents=True, exist_ok=True)
    container = _buildah("from", "scratch")
    try:
        _buildah("copy", "--chmod", "0755", container, str(binary), f"/{binary.name}")
        _buildah("config", "--entrypoint", f'["/{binary.name}"]', "--user", user, container)
        _buildah("commit", "--quiet", container, ref)
    finally:
        _buildah("rm", container)
    partial = archive.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    _buildah("push", "--quiet", ref, f"docker-archive:{partial}:{ref}")
    partial.rename(archive)
    return archive


def imported(cfg: ClusterConfig) -> set[str]:
    out = subprocess.run(
        [system_binary("ctr"), f"--address={cfg.containerd_socket}", "-n", "k8s.io", "images",
         "ls", "-q"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return set(out.stdout.split())


def import_archive(cfg: ClusterConfig, archive: Path) -> None:
    """Load a docker or OCI archive into the kubelet's containerd namespace."""
    result = subprocess.run(
        [system_binary("ctr"), f"--address={cfg.containerd_socket}", "-n", "k8s.io", "images",
         "import", "--no-unpack", str(archive)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise AddonError(f"ctr images import {archive.name}: {result.stderr.strip()}")


def import_cluster_images(cfg: ClusterConfig) -> None:
    store = cfg.home / "images"
    for ref, name, user in (
        (PAUSE_IMAGE, "pause", "65535:65535"),
        (COREDNS_IMAGE, "coredns", "65532:65532"),
    ):
        archive = image_from_binary(ref, bin_dir() / name, user, store)
        stamp = store / f"{archive.name}.imported"
        if ref in imported(cfg) and stamp.exists():
            continue
        import_archive(cfg, archive)
        stamp.touch()


def _local_volumes(cfg: ClusterConfig) -> str:
    docs = []
    for index in range(LOCAL_VOLUMES):
        path = cfg.volumes / f"pv-{index:02d}"
        if not path.exists():
            # only when new: the kubelet gives a volume's root to the pod's fsGroup at first use,
            # and resetting its mode at every start made it redo that over PostgreSQL's data
            path.mkdir(parents=True)
            path.chmod(0o777)
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolume",
                "metadata": {"name": f"local-{cfg.name}-{index:02d}"},
                "spec": {
                    "capacity": {"storage": LOCAL_VOLUME_SIZE},
                    "accessModes": ["ReadWriteOnce"],
                    "persistentVolumeReclaimPolicy": "Retain",
                    "storageClassName": "standard",
                    "local": {"path": str(path)},
                    "nodeAffinity": {
                        "required": {
                            "nodeSelectorTerms": [
                                {
                                    "matchExpressions": [
                                        {
                                            "key": "kubernetes.io/hostname",
                                            "operator": "In",
                                            "values": [cfg.node_name],
                                        }
                                    ]
                                }
                            ]
                        }
                    },
                },
            }
        )
    return yaml.safe_dump_all(docs, sort_keys=False)


def apply_addons(cfg: ClusterConfig) -> None:
    values = {
        "CLUSTER_DOMAIN": CLUSTER_DOMAIN,
        "DNS_IP": service_ip(10),
        "COREDNS_IMAGE": COREDNS_IMAGE,
    }
    apply(cfg, Template((MANIFESTS / "coredns.yaml").read_text()).substitute(values))
    apply(cfg, (MANIFESTS / "storage.yaml").read_text())
    apply(cfg, _local_volumes(cfg))


def wait_node_ready(cfg: ClusterConfig, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    path = '{.status.conditions[?(@.type=="Ready")].status}'
    while time.monotonic() < deadline:
        out = kubectl(cfg, "get", "node", cfg.node_name, "-o", f"jsonpath={path}", check=False)
        if out.strip() == "True":
            return
        time.sleep(0.5)
    raise AddonError(f"node {cfg.node_name} not Ready after {timeout:.0f}s")


def wait_dns_ready(cfg: ClusterConfig, timeout: int = 180) -> None:
    kubectl(
        cfg, "-n", "kube-system", "rollout", "status", "deployment/coredns", f"--timeout={timeout}s"
    )


def load_images(cfg: ClusterConfig, refs: list[str]) -> list[str]:
    """Import images from the local builder's storage (buildah) into the cluster, like ``kind
    load``; an image whose ID was imported before and is still there is skipped. Returns the refs
    imported."""
    store = cfg.home / "images"
    store.mkdir(parents=True, exist_ok=True)
    present = imported(cfg)
    loaded = []
    for ref in refs:
        image_id = _buildah("inspect", "--type", "image", "--format", "{{.FromImageID}}", ref)
        stamp = store / (ref.replace("/", "_").replace(":", "_") + ".id")
        if _qualified(ref) in present and stamp.exists() and stamp.read_text() == image_id:
            continue
        archive = store / f"{image_id}.tar"
        archive.unlink(missing_ok=True)
        try:
            _buildah("push", "--quiet", ref, f"docker-archive:{archive}:{ref}")
            import_archive(cfg, archive)
        finally:
            archive.unlink(missing_ok=True)
        stamp.write_text(image_id)
        loaded.append(ref)
    return loaded


def _qualified(ref: str) -> str:
    """The name containerd records for a docker-archive image (``docker.io/`` for short names)."""
    first = ref.split("/", 1)[0]
    if "/" in ref and ("." in first or ":" in first or first == "localhost"):
        return ref
    return f"docker.io/{ref}" if "/" in ref else f"docker.io/library/{ref}"
