"""The Hive Metastore on PostgreSQL, from the standalone metastore tarball plus the Hadoop, AWS
and JDBC jars that scripts/deps/metastore/pom.xml names; its schema is created once."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
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
    mvn,
    sha256_of,
    unpacked,
)
from medallion.jdk import java17
from medallion.paths import charts_file, project_dir
from medallion.stack.engines.base import Component
from medallion.stack.process import StackError, port_open

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
    """The Hive Metastore on PostgreSQL, its schema initialised once with schematool."""

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
                env={**os.environ, **env, "METASTORE_HOME": str(home(self.lay))},
                cwd=home(self.lay),
                check=False,
            )
        if result.returncode != 0:
            raise StackError(f"metastore schema initialisation failed; see {self.log}")

    def command(self) -> list[str]:
        # The shared metastore-site.xml leaves the bind address to the server's default (every
        # interface, as a pod needs); on a host the stack's metastore listens on loopback only.
        return self.java(
            "org.apache.hadoop.hive.metastore.HiveMetaStore",
            "-p",
            str(self.port),
            "--hiveconf",
            f"metastore.thrift.bind.host={self.cfg.host}",
        )

    def cwd(self) -> Path | None:
        return self.cfg.home

    def ready(self) -> bool:
        return port_open(self.cfg.host, self.port)
