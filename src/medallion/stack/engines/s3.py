"""The S3 server: versitygw serving a folder of the stack's home, with the warehouse bucket."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from medallion.artifacts import VERSIONS, Layout, SetupStep, Verifier, go_install
from medallion.s3 import s3_client
from medallion.stack.engines.base import Component
from medallion.stack.process import port_open


def binary(lay: Layout) -> Path:
    return lay.bin / "versitygw"


def setup_versitygw(lay: Layout, _verifier: Verifier) -> None:
    go_install(
        lay, "github.com/versity/versitygw/cmd/versitygw", VERSIONS["versitygw"], binary(lay)
    )


class S3Server(Component):
    """versitygw serving a folder as S3, with the bucket ``warehouse``."""

    name = "s3"
    ports: ClassVar[dict[str, int]] = {"s3": 19000}
    setup = (SetupStep("versitygw", setup_versitygw, lane="versitygw"),)
    start_timeout = 30.0

    def command(self) -> list[str]:
        root = self.cfg.data / "objects"
        sidecar = self.cfg.data / "s3meta"
        root.mkdir(parents=True, exist_ok=True)
        sidecar.mkdir(parents=True, exist_ok=True)
        return [
            str(binary(self.lay)),
            "--port",
            f"{self.cfg.host}:{self.port}",
            "--quiet",
            "posix",
            "--sidecar",
            str(sidecar),
            str(root),
        ]

    def secrets_env(self) -> dict[str, str]:
        creds = self.cfg.credentials()
        return {"ROOT_ACCESS_KEY": creds.s3_access_key, "ROOT_SECRET_KEY": creds.s3_secret_key}

    def ready(self) -> bool:
        return port_open(self.cfg.host, self.port)

    def client(self) -> Any:
        return s3_client(self.cfg.env())

    def after_start(self) -> None:
        s3 = self.client()
        existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        bucket = self.cfg.env()["S3_BUCKET"]
        if bucket not in existing:
            s3.create_bucket(Bucket=bucket)
