"""What sqlfluff's jinja templater lacks to render this dbt project without a connection: the
project's vars read from dbt_project.yml, ``execute`` false (macros that ask the adapter for a
relation's columns return their offline answer), and a fixed ``run_started_at``."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import yaml

_PROJECT = yaml.safe_load((Path(__file__).parent.parent / "dbt_project.yml").read_text())
_VARS: dict[str, Any] = _PROJECT.get("vars") or {}

execute = False
run_started_at = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def var(name: str, default: Any = None) -> Any:
    """dbt's var(): the project's value, else the default."""
    return _VARS.get(name, default)
invocation_id = "00000000-0000-0000-0000-000000000000"
