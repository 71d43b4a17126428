"""Read the one Spark configuration file and fill its ``${env:NAME}`` placeholders.

The file (``charts/medallion/files/spark/spark-defaults.conf``) is mounted into the
SparkApplication's pods and read by the embedded stack's session factory; both build their session
from what this module returns, so the settings cannot drift apart. Spark's own ``${env:...}``
substitution covers only some keys (not catalog options), which is why they are filled here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_PLACEHOLDER = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")


class SparkConfError(ValueError):
    """A line of the file is malformed or names an unset variable."""


def parse(text: str, env: Mapping[str, str]) -> dict[str, str]:
    """``key value`` lines (spark-defaults.conf syntax) with placeholders filled from ``env``."""
    conf: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 1)
        if len(parts) != 2:
            raise SparkConfError(f"line {number}: expected 'key value', got {raw!r}")
        key, value = parts

        def fill(match: re.Match[str], key: str = key) -> str:
            name = match.group(1)
            if name not in env:
                raise SparkConfError(f"{key} needs the environment variable {name}")
            return env[name]

        conf[key] = _PLACEHOLDER.sub(fill, value.strip())
    return conf


def load(path: Path, env: Mapping[str, str]) -> dict[str, str]:
    return parse(path.read_text(), env)


def build_session(
    conf_path: Path,
    env: Mapping[str, str],
    app_name: str,
    hive: bool,
    overrides: Mapping[str, str] | None = None,
) -> Any:
    """A Spark application's session: the shared conf (placeholders filled) on top of what
    spark-submit or the operator already decided (master, executors, jars); ``overrides`` are
    what only an in-process session decides itself (its master, jars and driver memory). With
    ``SPARK_REMOTE`` in ``env``, a Spark Connect session of that server, which runs the conf."""
    from pyspark.sql import SparkSession

    remote = env.get("SPARK_REMOTE")
    if remote:  # the embedded stack's Spark Connect server, started with this same conf
        import warnings

        from pyspark.sql.connect.client.retries import DefaultPolicy

        # dbt-spark asks each session for Hive support, which the server already runs (the conf's
        # catalogImplementation), and pyspark warns on every model that it cannot be changed
        warnings.filterwarnings("ignore", message="Failed to set spark.sql.catalogImplementation")

        connect: Any = SparkSession.builder
        session = connect.remote(remote).appName(app_name).getOrCreate()
        # The client's default retries wait out a dead server for 10 minutes; a local server
        # that does not answer within about 10 s is down, and the run says so.
        session.client.set_retry_policies([DefaultPolicy(max_retries=5, max_backoff=5_000)])
        return session
    builder = SparkSession.builder.appName(app_name)
    for key, value in {**load(conf_path, env), **(overrides or {})}.items():
        builder = builder.config(key, value)
    if hive:
        builder = builder.enableHiveSupport()
    return builder.getOrCreate()


def write_summary(path: str | None, summary: Mapping[str, Any]) -> None:
    """Write a Spark application's JSON summary atomically (nothing when ``path`` is empty)."""
    if not path:
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".tmp")
    tmp.write_text(json.dumps(summary, indent=1, default=str) + "\n")
    tmp.replace(target)
