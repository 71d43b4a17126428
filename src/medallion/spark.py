"""Local Spark sessions for the embedded stack, built from the shared Spark configuration file."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from medallion import sparkconf
from medallion.artifacts import layout
from medallion.jdk import java17
from medallion.paths import charts_file

DRIVER_MEMORY = "2g"


def conf_file() -> Path:
    return charts_file("medallion", "files", "spark", "spark-defaults.conf")


def local_conf(env: Mapping[str, str], cores: int = 2) -> dict[str, str]:
    """The shared settings plus what only a local run decides: master, jars, driver memory."""
    conf = sparkconf.load(conf_file(), env)
    conf["spark.master"] = f"local[{cores}]"
    conf["spark.jars"] = ",".join(str(p) for p in layout().spark_jars)
    conf["spark.driver.memory"] = env.get("MEDALLION_SPARK_DRIVER_MEMORY", DRIVER_MEMORY)
    return conf


def spark_env(env: Mapping[str, str]) -> dict[str, str]:
    """Process environment for a Spark JVM: the stack's variables and JDK 17."""
    return {**os.environ, **env, "JAVA_HOME": str(java17().home), "PYSPARK_PYTHON": "python3"}


def session(env: Mapping[str, str], cores: int = 2, app_name: str = "medallion") -> Any:
    """A local SparkSession on the stack's metastore and S3 server (Iceberg catalog ``iceberg``)."""
    os.environ.update(spark_env(env))
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app_name)
    for key, value in local_conf(env, cores).items():
        builder = builder.config(key, value)
    return builder.enableHiveSupport().getOrCreate()
