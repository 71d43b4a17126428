"""The cluster's certificates and kubeconfigs, made with openssl at first start (never committed).

One CA signs every serving and client certificate; the API server's client certificates carry
the identities RBAC and Node authorization expect (``system:node:<name>`` in ``system:nodes``,
``system:kube-controller-manager``, ...). Keys are EC P-256, mode 0600.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from medallion.cluster.config import CLUSTER_DOMAIN, NODE_IP, ClusterConfig, service_ip

DAYS = 365


@dataclass(frozen=True)
class Cert:
    name: str
    cn: str
    org: str = ""
    server: bool = False
    sans: tuple[str, ...] = field(default=())


def certificates(cfg: ClusterConfig) -> list[Cert]:
    api_sans = (
        "DNS:kubernetes",
        "DNS:kubernetes.default",
        "DNS:kubernetes.default.svc",
        f"DNS:kubernetes.default.svc.{CLUSTER_DOMAIN}",
        "DNS:localhost",
        f"IP:{NODE_IP}",
        "IP:127.0.0.1",
        f"IP:{service_ip(1)}",
    )
    return [
        Cert("apiserver", "kube-apiserver", server=True, sans=api_sans),
        Cert("apiserver-kubelet-client", "kube-apiserver-kubelet-client", "system:masters"),
        Cert("admin", "medallion-admin", "system:masters"),
        Cert("controller-manager", "system:kube-controller-manager"),
        Cert("scheduler", "system:kube-scheduler"),
        Cert("kubelet", f"system:node:{cfg.node_name}", "system:nodes"),
        Cert(
            "kubelet-serving",
            cfg.node_name,
            server=True,
            sans=(f"DNS:{cfg.node_name}", f"IP:{NODE_IP}", "IP:127.0.0.1"),
        ),
        Cert("kube-proxy", "system:kube-proxy"),
        Cert("kube-router", "system:kube-router"),
    ]


# Which certificate each kubeconfig uses; "host" is the admin reaching the API through the
# host's loopback forward, the others run inside the namespace.
KUBECONFIGS = {
    "admin": "admin",
    "host": "admin",
    "controller-manager": "controller-manager",
    "scheduler": "scheduler",
    "kubelet": "kubelet",
    "kube-proxy": "kube-proxy",
    "kube-router": "kube-router",
}


def _openssl(*args: str) -> None:
    result = subprocess.run(["openssl", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {result.stderr.strip()}")


def _new_key(path: Path) -> None:
    _openssl(
        "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(path)
    )
    path.chmod(0o600)


def _ca(pki: Path) -> None:
    key, crt = pki / "ca.key", pki / "ca.crt"
    if crt.exists():
        return
    _new_key(key)
    _openssl(
        "req", "-x509", "-new", "-key", str(key), "-subj", "/CN=medallion-cluster-ca",
        "-days", str(DAYS * 10), "-out", str(crt),
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
    )  # fmt: skip


def _issue(pki: Path, cert: Cert) -> None:
    crt = pki / f"{cert.name}.crt"
    if crt.exists():
        return
    key, csr, ext = (pki / f"{cert.name}.{suffix}" for suffix in ("key", "csr", "ext"))
    _new_key(key)
    subject = (f"/O={cert.org}" if cert.org else "") + f"/CN={cert.cn}"
    _openssl("req", "-new", "-key", str(key), "-subj", subject, "-out", str(csr))
    usage = "serverAuth" if cert.server else "clientAuth"
    lines = [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        f"extendedKeyUsage={usage}",
    ]
    if cert.sans:
        lines.append("subjectAltName=" + ",".join(cert.sans))
    ext.write_text("\n".join(lines) + "\n")
    _openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(pki / "ca.crt"), "-CAkey", str(pki / "ca.key"),
        "-CAcreateserial", "-days", str(DAYS), "-extfile", str(ext), "-out", str(crt),
    )  # fmt: skip
    csr.unlink()
    ext.unlink()


def _service_account_keys(pki: Path) -> None:
    key, pub = pki / "sa.key", pki / "sa.pub"
    if pub.exists():
        return
    _new_key(key)
    _openssl("pkey", "-in", str(key), "-pubout", "-out", str(pub))


def kubeconfig(cfg: ClusterConfig, user: str, cert: str, server: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": cfg.name,
                "cluster": {"server": server, "certificate-authority": str(cfg.pki / "ca.crt")},
            }
        ],
        "users": [
            {
                "name": user,
                "user": {
                    "client-certificate": str(cfg.pki / f"{cert}.crt"),
                    "client-key": str(cfg.pki / f"{cert}.key"),
                },
            }
        ],
        "contexts": [{"name": cfg.name, "context": {"cluster": cfg.name, "user": user}}],
        "current-context": cfg.name,
    }


def ensure(cfg: ClusterConfig) -> None:
    """Create whatever is missing: the CA, the certificates, the SA keys, the kubeconfigs."""
    cfg.pki.mkdir(parents=True, exist_ok=True, mode=0o700)
    cfg.etc.mkdir(parents=True, exist_ok=True)
    _ca(cfg.pki)
    for cert in certificates(cfg):
        _issue(cfg.pki, cert)
    _service_account_keys(cfg.pki)
    for user, cert_name in KUBECONFIGS.items():
        server = cfg.api_server_on_host if user == "host" else cfg.api_server_in_netns
        path = cfg.kubeconfig(user)
        config = kubeconfig(cfg, user, cert_name, server)
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        path.chmod(0o600)
