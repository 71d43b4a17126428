"""What the embedded stack's Spark applications share: the Spark conf file, the driver's memory and
the JVM's environment (``medallion.run.silver`` submits them)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from medallion import sparkconf
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


def write_properties(env: Mapping[str, str], path: Path) -> Path:
    """The shared Spark conf with its placeholders filled, readable by this user only."""
    conf = sparkconf.load(conf_file(), env)
    text = "".join(f"{key} {value}\n" for key, value in conf.items())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(path, 0o600)
    return path


def spark_submit() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent / "bin" / "spark-submit"
