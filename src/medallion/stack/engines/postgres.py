"""PostgreSQL from the host's server binaries: the metastore's database and gold's serving store."""

from __future__ import annotations

import glob
import hashlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import ClassVar

from medallion.stack.engines.base import Component
from medallion.stack.process import StackError


def _postgres_bindir() -> Path:
    env = os.environ.get("MEDALLION_PG_BIN")
    if env:
        return Path(env)
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if versions:
        return Path(versions[-1])
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    raise StackError(
        "PostgreSQL server binaries not found (initdb, postgres): install them "
        "(Debian/Ubuntu: apt-get install postgresql) or set MEDALLION_PG_BIN to their folder"
    )


class Postgres(Component):
    """PostgreSQL with two databases: the metastore's and the serving store for gold."""

    name = "postgres"
    # away from a system PostgreSQL's 5432
    ports: ClassVar[dict[str, int]] = {"postgres": 15432}
    start_timeout = 60.0
    stop_signal = signal.SIGINT  # fast shutdown: roll back open transactions, then stop

    @property
    def datadir(self) -> Path:
        """The data directory, or where its link points when it had to live elsewhere."""
        link = self.cfg.data / "postgres"
        return link.resolve() if link.is_symlink() else link

    def _reachable_by(self, user: str, path: Path) -> bool:
        probe = ["runuser", "-u", user, "--", "test", "-x", str(path)]
        return subprocess.run(probe, check=False, capture_output=True).returncode == 0

    def _place_datadir(self) -> None:
        """As root, PostgreSQL runs as ``postgres``, which may not traverse MEDALLION_HOME (e.g. a
        home under /root): then the data directory lives under the system's temporary folder,
        linked from the stack's home so that ``reset`` finds it."""
        user = self.run_as()
        link = self.cfg.data / "postgres"
        self.cfg.data.mkdir(parents=True, exist_ok=True)
        if (
            not user
            or link.exists()
            or link.is_symlink()
            or self._reachable_by(user, self.cfg.data)
        ):
            return
        digest = hashlib.sha1(str(self.cfg.home).encode()).hexdigest()[:12]
        target = Path(tempfile.gettempdir()) / f"medallion-postgres-{digest}"
        target.mkdir(mode=0o700, exist_ok=True)
        self._chown(target)
        link.symlink_to(target / "data")

    def run_as(self) -> str | None:
        # initdb and postgres refuse to run as root; as root, run them as the postgres user.
        return "postgres" if os.geteuid() == 0 else None

    def _chown(self, path: Path) -> None:
        user = self.run_as()
        if user:
            entry = pwd.getpwnam(user)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def prepare(self) -> None:
        if (self.datadir / "PG_VERSION").exists():
            return
        bindir = _postgres_bindir()
        self._place_datadir()
        self.datadir.mkdir(parents=True, exist_ok=True)
        self.datadir.chmod(0o700)
        self._chown(self.datadir)
        user = self.run_as()
        if user and not self._reachable_by(user, self.datadir):
            raise StackError(f"the {user} user cannot reach {self.datadir}")
        pwfile = self.datadir.parent / ".pg-superuser"
        pwfile.write_text(self.cfg.credentials().postgres_password + "\n")
        pwfile.chmod(0o600)
        self._chown(pwfile)
        try:
            cmd = [
                str(bindir / "initdb"),
                "-D",
                str(self.datadir),
                "-U",
                "postgres",
                f"--pwfile={pwfile}",
                "--auth-host=scram-sha-256",
                "--auth-local=peer",
                "--encoding=UTF8",
                "--locale=C",
            ]
            self.log.parent.mkdir(parents=True, exist_ok=True)
            with self.log.open("ab") as out:
                result = subprocess.run(
                    cmd, stdout=out, stderr=subprocess.STDOUT, user=user, check=False
                )
            if result.returncode != 0:
                shutil.rmtree(self.datadir, ignore_errors=True)
                raise StackError(f"initdb failed; see {self.log}")
        finally:
            pwfile.unlink(missing_ok=True)

    def command(self) -> list[str]:
        return [
            str(_postgres_bindir() / "postgres"),
            "-D",
            str(self.datadir),
            "-p",
            str(self.port),
            "-c",
            f"listen_addresses={self.cfg.host}",
            "-c",
            "unix_socket_directories=",
            "-c",
            "shared_buffers=128MB",
            "-c",
            "max_connections=100",
        ]

    def connect(self, dbname: str = "postgres") -> object:
        import psycopg

        return psycopg.connect(
            host=self.cfg.host,
            port=self.port,
            user="postgres",
            password=self.cfg.credentials().postgres_password,
            dbname=dbname,
            connect_timeout=3,
            autocommit=True,
        )

    def ready(self) -> bool:
        import psycopg

        try:
            with self.connect() as conn:  # type: ignore[attr-defined]
                conn.execute("select 1")
        except psycopg.OperationalError:
            return False
        return True

    def purge(self) -> None:
        link = self.cfg.data / "postgres"
        if link.is_symlink():
            shutil.rmtree(link.resolve().parent, ignore_errors=True)

    def after_start(self) -> None:
        from psycopg import sql

        env = self.cfg.env()
        roles = {  # role -> (its database, its password), as the env contract names them
            env[f"{db}_DB_USER"]: (env[f"{db}_DB_NAME"], env[f"{db}_DB_PASSWORD"])
            for db in ("METASTORE", "SERVING")
        }
        with self.connect() as conn:  # type: ignore[attr-defined]
            for role, (db, password) in roles.items():
                exists = conn.execute("select 1 from pg_roles where rolname = %s", (role,))
                verb = "alter" if exists.fetchone() else "create"
                conn.execute(
                    sql.SQL(verb + " role {} login password {}").format(
                        sql.Identifier(role), sql.Literal(password)
                    )
                )
                if not conn.execute(
                    "select 1 from pg_database where datname = %s", (db,)
                ).fetchone():
                    conn.execute(
                        sql.SQL("create database {} owner {}").format(
                            sql.Identifier(db), sql.Identifier(role)
                        )
                    )
