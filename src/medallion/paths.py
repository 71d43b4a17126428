"""Where things live: the project checkout, the download cache and a stack's state directory.

Everything is overridable through the environment so that a laptop, CI and two stacks side by side
can each choose their own places:

- ``MEDALLION_PROJECT_DIR``: the checkout holding ``charts/`` and ``dbt/`` (found from this file
  otherwise);
- ``MEDALLION_CACHE``: downloads and unpacked engines (default ``~/.cache/medallion``);
- ``MEDALLION_HOME``: one stack's state: data, logs, PIDs, credentials (default ``.medallion``
  in the
  checkout).
"""

from __future__ import annotations

import os
from pathlib import Path


def project_dir() -> Path:
    """The checkout that holds ``charts/`` and ``dbt/`` (the single source of all config files)."""
    env = os.environ.get("MEDALLION_PROJECT_DIR")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "charts").is_dir() and (parent / "dbt").is_dir():
            return parent
    raise RuntimeError(
        "cannot find the medallion checkout (a folder with charts/ and dbt/); "
        "set MEDALLION_PROJECT_DIR to it"
    )


def cache_dir() -> Path:
    """Downloads and unpacked engines, shared by every stack of this user."""
    env = os.environ.get("MEDALLION_CACHE")
    base = Path(env) if env else Path.home() / ".cache" / "medallion"
    return base.resolve()


def home_dir() -> Path:
    """One stack's state directory (data, logs, PIDs, credentials)."""
    env = os.environ.get("MEDALLION_HOME")
    base = Path(env) if env else project_dir() / ".medallion"
    return base.resolve()


def charts_file(*parts: str) -> Path:
    """A config file that lives under the chart that deploys it."""
    return project_dir().joinpath("charts", *parts)
