"""Read the one Spark configuration file and fill its ``${env:NAME}`` placeholders.

The file (``charts/medallion/files/spark/spark-defaults.conf``) is mounted into the
SparkApplication's pods and read by the embedded stack's session factory; both build their session
from what this module returns, so the settings cannot drift apart. Spark's own ``${env:...}``
substitution covers only some keys (not catalog options), which is why they are filled here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

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
