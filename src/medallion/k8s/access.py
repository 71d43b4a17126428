"""The release's S3, Trino and PostgreSQL from a workstation, through ``kubectl port-forward``.

The forwards bind to the host's loopback on free ports and live as long as the ``with`` block; the
credentials come from the release's Secrets. The resulting environment has the same names as the
embedded stack's (``StackConfig.env()``), so ``load``, the ledger and the report work unchanged.
Trino is reached on its HTTPS port as the pipeline's user; its certificate names 127.0.0.1 and
localhost, so the forward verifies against the release's CA like any in-cluster client.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from medallion import env_contract
from medallion.trino_client import chart_values, pipeline_user


class AccessError(RuntimeError):
    pass


@dataclass(frozen=True)
class Release:
    namespace: str
    name: str
    kubeconfig: str | None = None
    context: str | None = None
    binary: str | None = None  # kubectl; default: the one on PATH

    def kubectl(self, *args: str) -> list[str]:
        kubectl = self.binary or shutil.which("kubectl")
        if kubectl is None:
            raise AccessError('kubectl is not on PATH (eval "$(medallion cluster env)" adds it)')
        argv = [kubectl]
        if self.kubeconfig:
            argv.append(f"--kubeconfig={self.kubeconfig}")
        if self.context:
            argv.append(f"--context={self.context}")
        return [*argv, "-n", self.namespace, *args]

    def secret(self, name: str, key: str) -> str:
        field = key.replace(".", r"\.")  # jsonpath reads an unescaped dot (ca.crt) as a step
        result = subprocess.run(
            self.kubectl("get", "secret", name, "-o", f"jsonpath={{.data.{field}}}"),
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if result.returncode != 0 or not result.stdout:
            raise AccessError(f"secret {self.namespace}/{name} key {key}: {result.stderr.strip()}")
        return base64.b64decode(result.stdout).decode()


@contextlib.contextmanager
def port_forward(release: Release, service: str, port: int) -> Iterator[int]:
    """``kubectl port-forward svc/SERVICE :PORT`` on 127.0.0.1; yields the local port."""
    proc = subprocess.Popen(
        release.kubectl("port-forward", "--address=127.0.0.1", f"svc/{service}", f":{port}"),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"127\.0\.0\.1:(\d+) ->", line)
        if not match:
            raise AccessError(f"port-forward to svc/{service}: {line.strip()}")
        yield int(match.group(1))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextlib.contextmanager
def private_file(text: str, suffix: str = "") -> Iterator[Path]:
    """``text`` in a file only this user can read (0600), removed when the block ends."""
    fd, name = tempfile.mkstemp(prefix="medallion-", suffix=suffix)
    path = Path(name)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        yield path
    finally:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def forwarded_env(release: Release) -> Iterator[dict[str, str]]:
    """The release's endpoints and credentials as the stack's environment variables."""
    name = release.name
    access_key = release.secret(f"{name}-s3-credentials", "access-key")
    secret_key = release.secret(f"{name}-s3-credentials", "secret-key")
    pg_user = release.secret(f"{name}-postgres-credentials", "username")
    pg_password = release.secret(f"{name}-postgres-credentials", "password")
    trino_user = pipeline_user()
    trino_password = release.secret(f"{name}-trino-auth", trino_user)
    trino_ca = release.secret(f"{name}-trino-tls", "ca.crt")
    https_port = int(chart_values()["httpsPort"])
    with (
        private_file(trino_ca, suffix=".crt") as ca_file,
        port_forward(release, f"{name}-minio", 9000) as s3_port,
        port_forward(release, f"{name}-trino", https_port) as trino_port,
        port_forward(release, f"{name}-postgres", 5432) as pg_port,
    ):
        yield env_contract.environment(
            {
                "host": "127.0.0.1",
                "ports": {"s3": s3_port, "trino_https": trino_port, "postgres": pg_port},
                "s3_access_key": access_key,
                "s3_secret_key": secret_key,
                "serving_db_user": pg_user,
                "serving_db_password": pg_password,
                "trino_user": trino_user,
                "trino_password": trino_password,
                "trino_ca": ca_file,
            },
            only=("s3", "serving-db", "trino-client"),
        )
