"""The embedded stack's engines, each a local process started from the charts' config files."""

from __future__ import annotations

import glob
import hashlib
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from medallion.artifacts import Layout
from medallion.jdk import java17, java25
from medallion.paths import charts_file
from medallion.s3 import s3_client
from medallion.stack.config import (
    BUCKET,
    METASTORE_DB,
    SERVING_DB,
    Credentials,
    StackConfig,
    write_private,
)
from medallion.stack.process import Pidfile, StackError, port_open, spawn, stop_pid, wait_until

# The module opens that Hive's own launch scripts pass on JDK 17.
HIVE_ADD_OPENS = [
    f"--add-opens=java.base/{pkg}=ALL-UNNAMED"
    for pkg in (
        "java.nio",
        "java.net",
        "java.lang",
        "java.util",
        "java.util.concurrent",
        "java.util.concurrent.atomic",
        "java.util.regex",
        "java.lang.reflect",
        "java.io",
    )
]
AWS_CHECKSUM_FLAGS = [
    "-Daws.requestChecksumCalculation=when_required",
    "-Daws.responseChecksumValidation=when_required",
]


class Component(ABC):
    """One engine: how to start it, when it is ready, how to stop it."""

    name: str
    port_key: str
    start_timeout = 60.0
    stop_signal = signal.SIGTERM

    def __init__(self, cfg: StackConfig, lay: Layout) -> None:
        self.cfg = cfg
        self.lay = lay

    @property
    def port(self) -> int:
        return self.cfg.ports[self.port_key]

    @property
    def log(self) -> Path:
        return self.cfg.logs / f"{self.name}.log"

    @property
    def pidfile(self) -> Pidfile:
        return Pidfile(self.cfg.run / f"{self.name}.pid")

    def pid(self) -> int | None:
        return self.pidfile.read()

    def running(self) -> bool:
        return self.pid() is not None

    @abstractmethod
    def command(self) -> list[str]: ...

    @abstractmethod
    def ready(self) -> bool: ...

    def prepare(self) -> None:
        """One-time work before the first start (initialise data directories)."""

    def after_start(self) -> None:
        """Idempotent work once the engine answers (create databases, buckets)."""

    def run_as(self) -> str | None:
        return None

    def purge(self) -> None:
        """Delete data kept outside the stack's home (called by ``reset``)."""

    def cwd(self) -> Path | None:
        return None

    def secrets_env(self) -> dict[str, str]:
        """Credentials the engine reads from its environment (never from its command line,
        which every user of the host can read)."""
        return {}

    def start(self) -> None:
        self.prepare()
        env = {**os.environ, **self.cfg.env(), **self.secrets_env()}
        pid = spawn(self.command(), log=self.log, env=env, cwd=self.cwd(), user=self.run_as())
        self.pidfile.write(pid)
        wait_until(
            self.ready,
            what=f"{self.name} (port {self.port})",
            timeout=self.start_timeout,
            alive=self.running,
            log=self.log,
        )
        self.after_start()

    def stop(self) -> None:
        pid = self.pid()
        if pid is not None:
            stop_pid(pid, self.stop_signal)
        self.pidfile.clear()


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
    port_key = "postgres"
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

        creds = self.cfg.credentials()
        roles = {
            "metastore": (METASTORE_DB, creds.metastore_db_password),
            "serving": (SERVING_DB, creds.serving_db_password),
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


class S3Server(Component):
    """versitygw serving a folder as S3, with the bucket ``warehouse``."""

    name = "s3"
    port_key = "s3"
    start_timeout = 30.0

    def command(self) -> list[str]:
        root = self.cfg.data / "objects"
        sidecar = self.cfg.data / "s3meta"
        root.mkdir(parents=True, exist_ok=True)
        sidecar.mkdir(parents=True, exist_ok=True)
        return [
            str(self.lay.versitygw),
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
        if BUCKET not in existing:
            s3.create_bucket(Bucket=BUCKET)


def _jar_base(name: str) -> str:
    match = re.match(r"(.+?)-\d", name)
    return match.group(1) if match else name


class Metastore(Component):
    """The Hive Metastore on PostgreSQL, its schema initialised once with schematool."""

    name = "metastore"
    port_key = "metastore"
    start_timeout = 120.0
    heap = "512m"

    def classpath(self) -> str:
        lib = sorted(self.lay.metastore_home.joinpath("lib").glob("*.jar"))
        # The pinned JDBC driver replaces the one in the tarball; Hadoop's jars only add classes.
        lib = [j for j in lib if not j.name.startswith("postgresql-")]
        have = {_jar_base(j.name) for j in lib}
        extra = [
            j
            for j in sorted(self.lay.metastore_extra.glob("*.jar"))
            if _jar_base(j.name) not in have
        ]
        conf = charts_file("hive-metastore", "files")
        return os.pathsep.join([str(self.log4j.parent), str(conf), *map(str, lib + extra)])

    @property
    def log4j(self) -> Path:
        return self.cfg.home / "metastore-conf" / "metastore-log4j2.properties"

    def java(self, main: str, *args: str) -> list[str]:
        return [
            str(java17().java),
            f"-Xmx{self.heap}",
            "-XX:+ExitOnOutOfMemoryError",
            *HIVE_ADD_OPENS,
            *AWS_CHECKSUM_FLAGS,
            f"-Dlog4j2.configurationFile=file:{self.log4j}",
            "-cp",
            self.classpath(),
            main,
            *args,
        ]

    def prepare(self) -> None:
        self.log4j.parent.mkdir(parents=True, exist_ok=True)
        self.log4j.write_text(
            "status = WARN\n"
            "appender.console.type = Console\n"
            "appender.console.name = console\n"
            "appender.console.layout.type = PatternLayout\n"
            "appender.console.layout.pattern = %d{ISO8601} %-5p [%t] %c{2}: %m%n\n"
            "rootLogger.level = INFO\n"
            "rootLogger.appenderRef.console.ref = console\n"
            "logger.datanucleus.name = DataNucleus\n"
            "logger.datanucleus.level = WARN\n"
        )
        self.init_schema()

    def init_schema(self) -> None:
        """Create the metastore schema unless its VERSION table already exists (idempotent)."""
        import psycopg

        env = self.cfg.env()
        with psycopg.connect(
            host=env["METASTORE_DB_HOST"],
            port=int(env["METASTORE_DB_PORT"]),
            user=env["METASTORE_DB_USER"],
            password=env["METASTORE_DB_PASSWORD"],
            dbname=env["METASTORE_DB_NAME"],
        ) as conn:
            row = conn.execute("""select to_regclass('public."VERSION"')""").fetchone()
        if row and row[0]:
            return
        cmd = self.java(
            "org.apache.hadoop.hive.metastore.tools.schematool.MetastoreSchemaTool",
            "-dbType",
            "postgres",
            "-initSchema",
        )
        with self.log.open("ab") as out:
            result = subprocess.run(
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **env, "METASTORE_HOME": str(self.lay.metastore_home)},
                cwd=self.lay.metastore_home,
                check=False,
            )
        if result.returncode != 0:
            raise StackError(f"metastore schema initialisation failed; see {self.log}")

    def command(self) -> list[str]:
        return self.java("org.apache.hadoop.hive.metastore.HiveMetaStore", "-p", str(self.port))

    def cwd(self) -> Path | None:
        return self.cfg.home

    def ready(self) -> bool:
        return port_open(self.cfg.host, self.port)


# Trino's node manager refreshes its view of the nodes (and of the catalogs each one serves) on a
# fixed 5 s delay; half a second more covers the refresh itself.
NODE_MANAGER_POLL_SECONDS = 5.5


class Trino(Component):
    """A single-node Trino whose catalog directory is the chart's ``files/catalog`` and whose
    access rules are the chart's ``files/access-control/rules.json``. Clients log in with a
    password over TLS (``trino_https``); the HTTP port serves the node itself and the probes."""

    name = "trino"
    port_key = "trino"
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
        }
        https_port = self.cfg.ports["trino_https"]
        config = {
            "coordinator": "true",
            "node-scheduler.include-coordinator": "true",
            "http-server.http.port": str(self.port),
            "discovery.uri": f"http://{self.cfg.host}:{self.port}",
            "http-server.https.enabled": "true",
            "http-server.https.port": str(https_port),
            "http-server.https.keystore.path": str(self.cfg.trino_tls / "server.pem"),
            "http-server.authentication.type": "PASSWORD",
            # from the process's environment (secrets_env), as in the chart's pods
            "internal-communication.shared-secret": "${ENV:TRINO_SHARED_SECRET}",
            "catalog.management": "static",
            "catalog.config-dir": str(charts_file("trino", "files", "catalog")),
            "plugin.dir": str(self.lay.trino_home / "plugin"),
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
        for path, props in (
            (self.etc / "node.properties", node),
            (self.etc / "config.properties", config),
            (self.etc / "password-authenticator.properties", password),
            (self.etc / "access-control.properties", access),
        ):
            path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        (self.etc / "log.properties").write_text("io.trino=INFO\n")

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
            *jvm,
            *(f"-D{k}={v}" for k, v in props.items()),
            f"-Dconfig={self.etc / 'config.properties'}",
            f"-Dlog.levels-file={self.etc / 'log.properties'}",
            "-cp",
            str(self.lay.trino_home / "lib" / "*"),
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


def components(cfg: StackConfig, lay: Layout) -> list[Component]:
    """In start order: each depends only on the ones before it."""
    return [Postgres(cfg, lay), S3Server(cfg, lay), Metastore(cfg, lay), Trino(cfg, lay)]
