"""The Hive Metastore on PostgreSQL, from the standalone metastore tarball plus the Hadoop, AWS
and JDBC jars that scripts/deps/metastore/pom.xml names. It runs as the image runs it, through
the chart's launcher script (serve, init-schema: the schema is made or upgraded the same way)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from medallion.artifacts import (
    VERSIONS,
    Layout,
    MavenArtifact,
    SetupStep,
    Verifier,
    extract,
    fetch_maven,
    mvn,
    sha256_of,
    unpacked,
)
from medallion.jdk import java17
from medallion.paths import charts_file, project_dir
from medallion.stack.engines.base import RETURN_IDLE_HEAP, Component
from medallion.stack.process import StackError, port_open

if TYPE_CHECKING:
    import psycopg


def database(env: Mapping[str, str], *, autocommit: bool = False) -> psycopg.Connection[Any]:
    """A connection to the metastore's PostgreSQL database, from a stack's environment."""
    import psycopg

    return psycopg.connect(
        host=env["METASTORE_DB_HOST"],
        port=int(env["METASTORE_DB_PORT"]),
        user=env["METASTORE_DB_USER"],
        password=env["METASTORE_DB_PASSWORD"],
        dbname=env["METASTORE_DB_NAME"],
        autocommit=autocommit,
    )


# How the metastore runs and how its schema is made or upgraded: the image's entry point, run here
# too (serve, init-schema), with the conf files beside it.
LAUNCHER = ("hive-metastore", "files", "medallion-metastore.sh")


def tarball() -> MavenArtifact:
    return MavenArtifact(
        "org.apache.hive",
        "hive-standalone-metastore-server",
        VERSIONS["hive_metastore"],
        "tar.gz",
        "bin",
    )


def home(lay: Layout) -> Path:
    return lay.root / f"apache-hive-metastore-{VERSIONS['hive_metastore']}-bin"


def extra_jars(lay: Layout) -> Path:
    return lay.root / f"metastore-extra-{VERSIONS['hadoop_metastore']}"


def extra_versions() -> list[str]:
    """The properties scripts/deps/metastore/pom.xml leaves to versions.toml, as Maven flags
    (images/hive-metastore passes the same ones from its build args)."""
    return [
        f"-Dhadoop.version={VERSIONS['hadoop_metastore']}",
        f"-Dpostgresql.version={VERSIONS['postgresql_jdbc']}",
    ]


def setup_metastore(lay: Layout, verifier: Verifier) -> None:
    archive = fetch_maven(lay, tarball(), verifier)
    unpacked(home(lay), archive, lambda: extract(archive, home(lay)))
    pom = project_dir() / "scripts" / "deps" / "metastore" / "pom.xml"
    extra = extra_jars(lay)
    stamp = extra / ".pom-sha256"
    versions = extra_versions()
    pom_sum = " ".join([sha256_of(pom), *versions])
    if not stamp.exists() or stamp.read_text() != pom_sum:
        shutil.rmtree(extra, ignore_errors=True)
        mvn(
            lay,
            "-f",
            str(pom),
            *versions,
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={extra}",
        )
        stamp.write_text(pom_sum)
    for jar in sorted(extra.glob("*.jar")):
        verifier.check(jar)


def _jar_base(name: str) -> str:
    match = re.match(r"(.+?)-\d", name)
    return match.group(1) if match else name


class Metastore(Component):
    """The Hive Metastore on PostgreSQL; its schema is made or upgraded before the start unless
    the database already records this version's."""

    name = "metastore"
    ports: ClassVar[dict[str, int]] = {"metastore": 19083}
    setup = (SetupStep("hive-metastore", setup_metastore, lane="maven"),)
    start_timeout = 120.0
    heap = "512m"

    def classpath(self) -> str:
        lib = sorted(home(self.lay).joinpath("lib").glob("*.jar"))
        # The pinned JDBC driver replaces the one in the tarball; Hadoop's jars only add classes.
        lib = [j for j in lib if not j.name.startswith("postgresql-")]
        have = {_jar_base(j.name) for j in lib}
        extra = [
            j for j in sorted(extra_jars(self.lay).glob("*.jar")) if _jar_base(j.name) not in have
        ]
        conf = charts_file(*LAUNCHER).parent
        return os.pathsep.join([str(conf), *map(str, lib + extra)])

    def environment(self) -> dict[str, str]:
        """What the launcher reads: the unpacked metastore, the chart's conf files, this class
        path, the heap and JDK 17 first on PATH (the port, METASTORE_PORT, is the env
        contract's)."""
        env = super().environment()
        return {
            **env,
            "METASTORE_HOME": str(home(self.lay)),
            "METASTORE_CONF_DIR": str(charts_file(*LAUNCHER).parent),
            "METASTORE_CLASSPATH": self.classpath(),
            "SERVICE_OPTS": f"-Xmx{self.heap} {RETURN_IDLE_HEAP}",
            "PATH": os.pathsep.join([str(java17().home / "bin"), env.get("PATH", os.defpath)]),
        }

    def launcher(self, command: str, *args: str) -> list[str]:
        return ["bash", str(charts_file(*LAUNCHER)), command, *args]

    def prepare(self) -> None:
        if self.schema_version() != VERSIONS["hive_metastore"]:
            self.init_schema()

    def schema_version(self) -> str | None:
        """The schema version the database records, or None before the schema exists."""
        with database(self.cfg.env()) as conn:
            table = conn.execute("""select to_regclass('public."VERSION"')""").fetchone()
            if not table or not table[0]:
                return None
            row = conn.execute('select "SCHEMA_VERSION" from "VERSION"').fetchone()
        return str(row[0]) if row else None

    def init_schema(self) -> None:
        """The launcher's init-schema, as the chart's schema Job runs it: initialise an empty
        database, upgrade an older schema."""
        with self.log.open("ab") as out:
            result = subprocess.run(
                self.launcher("init-schema"),
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.environment(),
                cwd=self.cfg.home,
                check=False,
            )
        if result.returncode != 0:
            raise StackError(f"metastore schema initialisation failed; see {self.log}")

    def command(self) -> list[str]:
        # The shared metastore-site.xml leaves the bind address to the server's default (every
        # interface, as a pod needs); on a host the stack's metastore listens on loopback only.
        return self.launcher("serve", "--hiveconf", f"metastore.thrift.bind.host={self.cfg.host}")

    def cwd(self) -> Path | None:
        return self.cfg.home

    def ready(self) -> bool:
        return port_open(self.cfg.host, self.port)
