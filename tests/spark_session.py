"""In-process Spark sessions for tests: a test's own JVM, on an embedded stack's metastore and S3
(the shared Spark conf, as silver's application reads it) or on a local warehouse.

The product never builds a session in its own process: silver and maintenance are spark-submit
applications (``medallion.run.silver``), so these helpers live with the tests that need one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from medallion import sparkconf
from medallion.artifacts import layout
from medallion.spark import DRIVER_MEMORY, conf_file, spark_env


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
    """A local SparkSession on the stack's metastore and S3 server (Iceberg catalog ``iceberg``),
    with what spark-submit decides for silver's application (master, jars, driver memory)."""
    os.environ.update(spark_env(env))
    stop_jvm()
    overrides = {
        "spark.master": f"local[{cores}]",
        "spark.jars": ",".join(str(p) for p in layout().spark_jars),
        "spark.driver.memory": env.get("MEDALLION_SPARK_DRIVER_MEMORY", DRIVER_MEMORY),
    }
    return sparkconf.build_session(conf_file(), env, app_name, hive=True, overrides=overrides)
