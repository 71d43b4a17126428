"""Trino, from the server tarball with only the plugins the catalogs use: a single node whose
catalogs, access rules and JVM options are the chart's files."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import ClassVar

from medallion.artifacts import (
    VERSIONS,
    Layout,
    MavenArtifact,
    SetupStep,
    Verifier,
    extract,
    fetch_maven,
    unpacked,
)
from medallion.jdk import java25
from medallion.paths import charts_file
from medallion.stack.config import Credentials, write_private
from medallion.stack.engines.base import RETURN_IDLE_HEAP, Component
from medallion.stack.process import StackError

# Trino plugins the stack's catalogs use (iceberg, landing = hive, serving = postgresql); the
# PostgreSQL connector maps PostGIS columns and fails to start without the Geometry type; the
# password file that logs clients in comes with password-authenticators. The image keeps the same.
PLUGINS = ("iceberg", "hive", "postgresql", "geospatial", "password-authenticators")


def server_tarball() -> MavenArtifact:
    # The full server tarball: trino-postgresql is not published to Maven Central as a plugin zip.
    return MavenArtifact("io.trino", "trino-server", VERSIONS["trino"], "tar.gz")


def home(lay: Layout) -> Path:
    return lay.root / f"trino-server-{VERSIONS['trino']}"


def setup_trino(lay: Layout, verifier: Verifier) -> None:
    archive = fetch_maven(lay, server_tarball(), verifier)

    def prune(root: Path) -> None:
        for plugin in (root / "plugin").iterdir():
            if plugin.name not in PLUGINS:
                shutil.rmtree(plugin)

    unpacked(
        home(lay),
        archive,
        lambda: extract(archive, home(lay), prune),
        extract_key=",".join(PLUGINS),
    )


# config.properties starts with the chart's shared server files, as the coordinator's pod does.
SERVER_FILES = ("common.properties", "coordinator.properties")


def server_file(name: str) -> Path:
    return charts_file("trino", "files", "server", name)


# Trino's node manager refreshes its view of the nodes (and of the catalogs each one serves) on a
# fixed 5 s delay; half a second more covers the refresh itself.
NODE_MANAGER_POLL_SECONDS = 5.5


class Trino(Component):
    """A single-node Trino whose catalog directory is the chart's ``files/catalog`` and whose
    access rules are the chart's ``files/access-control/rules.json``. Clients log in with a
    password over TLS (``trino_https``); the HTTP port serves the node itself and the probes."""

    name = "trino"
    # trino: node-to-node traffic and the probes (clients are refused there); trino_https: clients.
    ports: ClassVar[dict[str, int]] = {"trino": 18080, "trino_https": 18443}
    setup = (SetupStep("trino", setup_trino, lane="maven"),)
    start_timeout = 240.0
    heap = "2G"

    @property
    def etc(self) -> Path:
        return self.cfg.home / "trino" / "etc"

    def prepare(self) -> None:
        self.etc.mkdir(parents=True, exist_ok=True)
        node_id_file = self.cfg.home / "trino" / "node-id"
        if not node_id_file.exists():
            node_id_file.write_text(str(uuid.uuid4()))
        self.prepare_tls()
        write_private(self.etc / "password.db", password_file(self.cfg.credentials()))
        node = {
            "node.environment": "medallion",
            "node.id": node_id_file.read_text().strip(),
            "node.data-dir": str(self.cfg.home / "trino" / "data"),
            # on a host, loopback only (a pod's node listens on its own network)
            "node.bind-ip": self.cfg.host,
            "node.internal-address": self.cfg.host,
        }
        https_port = self.cfg.ports["trino_https"]
        # After the chart's shared server files (SERVER_FILES), what depends on this host.
        config = {
            "node-scheduler.include-coordinator": "true",
            "http-server.http.port": str(self.port),
            "discovery.uri": f"http://{self.cfg.host}:{self.port}",
            "http-server.https.port": str(https_port),
            "http-server.https.keystore.path": str(self.cfg.trino_tls / "server.pem"),
            "catalog.config-dir": str(charts_file("trino", "files", "catalog")),
            "plugin.dir": str(home(self.lay) / "plugin"),
            "query.max-memory": "1GB",
            "query.max-memory-per-node": "1GB",
            "memory.heap-headroom-per-node": "512MB",
            "task.concurrency": "2",
            "node-manager.http-client.request-timeout": "30s",
        }
        password = {
            "password-authenticator.name": "file",
            "file.password-file": str(self.etc / "password.db"),
        }
        access = {
            "access-control.name": "file",
            "security.config-file": str(
                charts_file("trino", "files", "access-control", "rules.json")
            ),
        }
        shared = "".join(server_file(name).read_text() for name in SERVER_FILES)
        for path, head, props in (
            (self.etc / "node.properties", "", node),
            (self.etc / "config.properties", shared, config),
            (self.etc / "password-authenticator.properties", "", password),
            (self.etc / "access-control.properties", "", access),
        ):
            path.write_text(head + "".join(f"{k}={v}\n" for k, v in props.items()))
        shutil.copyfile(server_file("log.properties"), self.etc / "log.properties")

    def prepare_tls(self) -> None:
        """A self-signed certificate for 127.0.0.1 and localhost, made once per stack: Trino
        serves it (key and certificate in one PEM file) and clients trust it (``ca.pem``)."""
        tls = self.cfg.trino_tls
        if (tls / "server.pem").exists() and (tls / "ca.pem").exists():
            return
        tls.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=tls) as scratch:
            key, cert = Path(scratch) / "key.pem", Path(scratch) / "cert.pem"
            result = subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
                 "-subj", "/CN=medallion-trino", "-keyout", str(key), "-out", str(cert),
                 "-addext", f"subjectAltName=IP:{self.cfg.host},DNS:localhost"],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if result.returncode != 0:
                raise StackError(f"openssl could not make Trino's certificate: {result.stderr}")
            write_private(tls / "server.pem", key.read_text() + cert.read_text())
            (tls / "ca.pem").write_text(cert.read_text())

    def secrets_env(self) -> dict[str, str]:
        return {"TRINO_SHARED_SECRET": self.cfg.credentials().trino_shared_secret}

    def command(self) -> list[str]:
        shared = charts_file("trino", "files", "jvm.config").read_text().split("\n")
        jvm = [line.strip() for line in shared if line.strip() and not line.startswith("#")]
        props = {}
        for line in (self.etc / "node.properties").read_text().splitlines():
            key, _, value = line.partition("=")
            props[key] = value
        return [
            str(java25().java),
            f"-Xmx{self.heap}",
            *RETURN_IDLE_HEAP.split(),
            *jvm,
            *(f"-D{k}={v}" for k, v in props.items()),
            f"-Dconfig={self.etc / 'config.properties'}",
            f"-Dlog.levels-file={self.etc / 'log.properties'}",
            "-cp",
            str(home(self.lay) / "lib" / "*"),
            "io.trino.server.TrinoServer",
        ]

    def cwd(self) -> Path | None:
        return self.cfg.home / "trino"

    def after_start(self) -> None:
        # With static catalogs, the coordinator learns which nodes serve a catalog from its own
        # announcement, which gains the catalog list only at the end of start-up, while the node
        # manager re-reads it every 5 s. Until that poll, a scan of a connector's table fails with
        # NO_NODES_AVAILABLE although the node is active (2 in 12 restarts here); nothing in SQL
        # or HTTP shows the per-catalog map, so a start waits out one poll period.
        time.sleep(NODE_MANAGER_POLL_SECONDS)

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(
                f"http://{self.cfg.host}:{self.port}/v1/info", timeout=2
            ) as resp:
                info = json.load(resp)
        except (urllib.error.URLError, OSError, ValueError):
            return False
        if info.get("starting") is not False:
            return False
        # /v1/info stops saying "starting", and even `select 1` runs, before the node manager
        # lists the coordinator as active. Ready means it does (see also after_start).
        from medallion.trino_client import query

        try:
            rows = query(
                self.cfg.env(),
                "select count(*) from system.runtime.nodes where state = 'active' and coordinator",
            ).rows
        except Exception:  # any failure of a probe means "not yet"
            return False
        return bool(rows) and int(rows[0][0]) >= 1


# Trino's password file takes PBKDF2 hashes as ITERATIONS:SALT:HASH in hex; the pinned Trino's
# file authenticator derives them with HMAC-SHA1 and refuses fewer than 1000 iterations.
PBKDF2_ITERATIONS = 100_000


def password_file(creds: Credentials) -> str:
    lines = []
    for user, password in creds.trino_passwords.items():
        salt = os.urandom(16)
        digest = hashlib.pbkdf2_hmac("sha1", password.encode(), salt, PBKDF2_ITERATIONS, 32)
        lines.append(f"{user}:{PBKDF2_ITERATIONS}:{salt.hex()}:{digest.hex()}\n")
    return "".join(lines)
