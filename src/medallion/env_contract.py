"""The environment contract (``charts/common/env.yaml``): the variables the shared config files
and medallion's clients read, with their values in pods and outside them.

Outside a pod, :func:`environment` fills the contract's format strings (the embedded stack's
``StackConfig.env()``, a workstation's forwards to a release); the charts' helpers are generated
from the same file (``medallion.k8s.charts.env_helpers``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from medallion.paths import charts_file

#: The contract's home, under the library chart.
CONTRACT = ("common", "env.yaml")


@dataclass(frozen=True)
class Variable:
    name: str
    group: str
    #: in a pod: {"value": template} or {"secret": {"name": template, "key": template}}
    chart: Mapping[str, Any] | None
    #: outside a pod: a format string (see env.yaml)
    stack: str | None
    address: bool = False


@cache
def variables() -> tuple[Variable, ...]:
    """Every variable of the contract, in the file's order."""
    doc = yaml.safe_load(charts_file(*CONTRACT).read_text())
    return tuple(
        Variable(
            name=name,
            group=group,
            chart=spec.get("chart"),
            stack=spec.get("stack"),
            address=bool(spec.get("address")),
        )
        for group, members in doc.items()
        for name, spec in members.items()
    )


def groups() -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.group for v in variables()))


@cache
def global_defaults() -> Mapping[str, Any]:
    """The release-wide settings' defaults (``charts/common/global-values.yaml``: ``global``),
    which the embedded stack shares (bucket, region, database names)."""
    doc = yaml.safe_load(charts_file("common", "global-values.yaml").read_text())
    defaults: Mapping[str, Any] = doc["global"]
    return defaults


def environment(fields: Mapping[str, Any], only: Iterable[str] | None = None) -> dict[str, str]:
    """The contract's variables with a ``stack`` value, filled from ``fields`` (host, ports,
    credentials...; ``global`` is added), of the groups ``only`` names, else of every group."""
    chosen = set(groups() if only is None else only)
    unknown = chosen - set(groups())
    if unknown:
        raise ValueError(f"no such group in the env contract: {sorted(unknown)}")
    values = {"global": global_defaults(), **fields}
    return {
        v.name: v.stack.format_map(values)
        for v in variables()
        if v.group in chosen and v.stack is not None
    }
