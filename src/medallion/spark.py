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


def local_overrides(env: Mapping[str, str], cores: int = 2) -> dict[str, str]:
    """What only an in-process local session decides: master, jars and driver memory."""
    return {
        "spark.master": f"local[{cores}]",
        "spark.jars": ",".join(str(p) for p in layout().spark_jars),
        "spark.driver.memory": env.get("MEDALLION_SPARK_DRIVER_MEMORY", DRIVER_MEMORY),
    }


def spark_env(env: Mapping[str, str]) -> dict[str, str]:
    """Process environment for a Spark JVM: the stack's variables and JDK 17."""
    return {**os.environ, **env, "JAVA_HOME": str(java17().home), "PYSPARK_PYTHON": "python3"}


def stop_jvm() -> None:
    """Stop any Spark session of this process and the JVM behind it.

    PySpark keeps one JVM per Python process and launches it with the first session's settings
    as Java system properties; a later session in that JVM inherits every key it does not set
    itself (another stack's metastore, S3FileIO for a local warehouse). A new JVM starts clean.
    """
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()
    gateway = SparkContext._gateway
    if gateway is None:
        return
    proc = getattr(gateway, "proc", None)
    gateway.shutdown()
    if proc is not None:  # the JVM exits when its stdin closes
        if proc.stdin is not None:
            proc.stdin.close()
        proc.wait(timeout=60)
    SparkContext._gateway = None
    SparkContext._jvm = None


def session(env: Mapping[str, str], cores: int = 2, app_name: str = "medallion") -> Any:
    """A local SparkSession on the stack's metastore and S3 server (Iceberg catalog ``iceberg``)."""
    os.environ.update(spark_env(env))
    stop_jvm()
    return sparkconf.build_session(
        conf_file(), env, app_name, hive=True, overrides=local_overrides(env, cores)
    )
