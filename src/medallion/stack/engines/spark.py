"""Spark, warm: a Spark Connect server on ``local[*]`` with the shared Spark conf, which silver's
and maintenance's applications reach as Spark Connect clients (``MEDALLION_SPARK_REMOTE``).

Started once with the stack, it spares every run Spark's and the catalog's start-up; the
applications' Python code is the same that runs as a SparkApplication's driver on Kubernetes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

from medallion import sparkconf
from medallion.artifacts import SetupStep, setup_spark
from medallion.spark import (
    DRIVER_MEMORY,
    conf_file,
    spark_env,
    spark_submit,
    write_properties,
)
from medallion.stack.engines.base import RETURN_IDLE_HEAP, Component
from medallion.stack.process import serves_http2

SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
DRIVER_OPTIONS = "spark.driver.extraJavaOptions"


class SparkConnect(Component):
    name = "spark"
    # away from Spark Connect's usual 15002
    ports: ClassVar[dict[str, int]] = {"spark": 15102}
    setup = (SetupStep("spark jars", setup_spark, lane="maven"),)
    start_timeout = 120.0

    @property
    def work(self) -> Path:
        return self.cfg.home / "spark" / "server"

    @property
    def properties(self) -> Path:
        return self.work / "spark-defaults.conf"

    def prepare(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        write_properties(self.cfg.env(), self.properties)  # mode 0600: it holds the S3 keys

    def environment(self) -> dict[str, str]:
        env = spark_env({**self.cfg.env(), **self.secrets_env()})
        # The server is the Connect endpoint, not a client of one: a SPARK_REMOTE in the user's
        # shell would turn spark-submit into a Connect client and the server would not start.
        for client_only in ("SPARK_REMOTE", "SPARK_CONNECT_MODE_ENABLED"):
            env.pop(client_only, None)
        return env

    def command(self) -> list[str]:
        return [
            str(spark_submit()),
            "--class",
            SERVER_CLASS,
            "--master",
            "local[*]",
            "--name",
            "medallion-spark",
            "--properties-file",
            str(self.properties),
            "--jars",
            ",".join(str(p) for p in self.lay.spark_jars),
            "--driver-memory",
            os.environ.get("MEDALLION_SPARK_DRIVER_MEMORY", DRIVER_MEMORY),
            # replaces the shared conf's driver options, so it carries them on
            "--driver-java-options",
            f"{self.driver_options()} {RETURN_IDLE_HEAP}".strip(),
            "--conf",
            f"spark.connect.grpc.binding.address={self.cfg.host}",
            "--conf",
            f"spark.connect.grpc.binding.port={self.port}",
            # A warm catalog would keep serving the table versions it saw first, while Trino
            # commits bronze between silver's runs: every statement reads the current metadata.
            "--conf",
            "spark.sql.catalog.iceberg.cache-enabled=false",
            "--conf",
            "spark.log.level=WARN",
        ]

    def driver_options(self) -> str:
        return sparkconf.load(conf_file(), self.cfg.env()).get(DRIVER_OPTIONS, "")

    def cwd(self) -> Path | None:
        return self.work  # what Spark drops in its working directory stays in the stack's home

    def ready(self) -> bool:
        # Connect speaks gRPC: the port must answer as HTTP/2, not merely be open.
        return serves_http2(self.cfg.host, self.port)
