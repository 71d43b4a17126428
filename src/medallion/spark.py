"""What the embedded stack's Spark applications share: the Spark conf file, the driver's memory and
the JVM's environment (``medallion.run.silver`` submits them)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from medallion.jdk import java17
from medallion.paths import charts_file

DRIVER_MEMORY = "2g"


def conf_file() -> Path:
    return charts_file("medallion", "files", "spark", "spark-defaults.conf")


def spark_env(env: Mapping[str, str]) -> dict[str, str]:
    """Process environment for a local Spark JVM: the stack's variables, JDK 17, and the driver's
    own listeners on loopback (Spark otherwise picks the host's first interface address)."""
    return {
        **os.environ,
        **env,
        "JAVA_HOME": str(java17().home),
        "PYSPARK_PYTHON": "python3",
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
