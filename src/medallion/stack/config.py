"""A stack's settings: its state directory, ports and generated credentials.

Ports come from the environment (``MEDALLION_<KEY>_PORT``), else from the stack's
``stack.json`` (written by the first ``up``), else the engines' defaults (``stack.engines``), which
sit away from the engines' usual ports so that a stack does not collide with a system PostgreSQL or
MinIO.
Credentials are generated once per stack and kept in ``credentials.json`` (mode 0600); a stack made
before a credential existed gains it on its next use. Clients reach Trino over TLS (its
certificate, self-signed per stack, in ``trino/tls/``) as the pipeline's Trino user.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from medallion import env_contract
from medallion.paths import home_dir
from medallion.trino_client import pipeline_user, users


def _default_ports() -> dict[str, int]:
    # imported here: the engines' modules import this one
    from medallion.stack.engines import default_ports

    return default_ports()


def write_private(path: Path, text: str) -> None:
    """Write a file that only its owner can read, replacing any older one whole."""
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    partial.replace(path)


@dataclass(frozen=True)
class Credentials:
    s3_access_key: str
    s3_secret_key: str
    postgres_password: str
    metastore_db_password: str
    serving_db_password: str
    # Trino: the nodes' shared secret and one password per user (trino_client.users())
    trino_shared_secret: str
    trino_passwords: dict[str, str]

    @staticmethod
    def generate() -> Credentials:
        return Credentials(
            s3_access_key="medallion" + secrets.token_hex(6),
            s3_secret_key=secrets.token_urlsafe(30),
            postgres_password=secrets.token_urlsafe(24),
            metastore_db_password=secrets.token_urlsafe(24),
            serving_db_password=secrets.token_urlsafe(24),
            trino_shared_secret=secrets.token_urlsafe(48),
            trino_passwords={user: secrets.token_urlsafe(24) for user in users()},
        )


@dataclass(frozen=True)
class StackConfig:
    home: Path
    ports: dict[str, int] = field(default_factory=_default_ports)
    host: str = "127.0.0.1"

    @staticmethod
    def load(home: Path | None = None) -> StackConfig:
        home = (home or home_dir()).resolve()
        ports = _default_ports()
        saved = home / "stack.json"
        if saved.exists():
            ports.update(json.loads(saved.read_text()).get("ports", {}))
        for name in ports:
            value = os.environ.get(f"MEDALLION_{name.upper()}_PORT")
            if value:
                ports[name] = int(value)
        return StackConfig(home=home, ports=ports)

    def save(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "stack.json").write_text(json.dumps({"ports": self.ports}, indent=2) + "\n")

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def run(self) -> Path:
        return self.home / "run"

    @property
    def data(self) -> Path:
        return self.home / "data"

    def credentials(self) -> Credentials:
        """The stack's credentials, generated (mode 0600) on first use; one that a newer version
        of the stack needs is generated and added the first time it is asked for."""
        path = self.home / "credentials.json"
        fresh = Credentials.generate()
        if path.exists():
            saved = json.loads(path.read_text())
            known = {f.name for f in fields(Credentials)}
            merged = {**asdict(fresh), **{k: v for k, v in saved.items() if k in known}}
            merged["trino_passwords"] = {**fresh.trino_passwords, **merged["trino_passwords"]}
            creds = Credentials(**merged)
            if asdict(creds) == saved:
                return creds
        else:
            creds = fresh
        self.home.mkdir(parents=True, exist_ok=True)
        write_private(path, json.dumps(asdict(creds), indent=2))
        return creds

    @property
    def trino_tls(self) -> Path:
        """Trino's key and certificate (``server.pem``) and the certificate clients trust
        (``ca.pem``)."""
        return self.home / "trino" / "tls"

    def env(self) -> dict[str, str]:
        """The variables the shared config files' placeholders and the clients read: the env
        contract (``charts/common/env.yaml``) filled with this stack's addresses and credentials.
        Its PostgreSQL roles are named after their databases."""
        creds = self.credentials()
        databases = env_contract.global_defaults()["postgres"]
        user = pipeline_user()
        return env_contract.environment(
            {
                "host": self.host,
                "ports": self.ports,
                "home": self.home,
                "s3_access_key": creds.s3_access_key,
                "s3_secret_key": creds.s3_secret_key,
                "metastore_db_user": databases["metastoreDatabase"],
                "metastore_db_password": creds.metastore_db_password,
                "serving_db_user": databases["servingDatabase"],
                "serving_db_password": creds.serving_db_password,
                "trino_user": user,
                "trino_password": creds.trino_passwords[user],
                "trino_ca": self.trino_tls / "ca.pem",
            }
        )
