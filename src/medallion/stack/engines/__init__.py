"""The embedded stack's engines, one module each, and the registry that lists them.

An engine is a ``Component`` subclass: its name, its default ports, the artifacts
``medallion setup`` fetches for it, and how it prepares, starts and answers. Adding one means
writing its module and naming it in ``ENGINES`` (its version goes in versions.toml, its
checksums in the lock that ``setup --update-lock`` writes).
"""

from __future__ import annotations

from medallion.artifacts import TOOL_STEPS, Layout, SetupStep
from medallion.stack.config import StackConfig
from medallion.stack.engines.base import Component
from medallion.stack.engines.metastore import Metastore
from medallion.stack.engines.postgres import Postgres
from medallion.stack.engines.s3 import S3Server
from medallion.stack.engines.spark import SparkConnect
from medallion.stack.engines.trino import Trino

__all__ = ["ENGINES", "Component", "components", "default_ports", "setup_steps"]

# In start order: each depends only on the ones before it.
ENGINES: tuple[type[Component], ...] = (Postgres, S3Server, Metastore, Trino, SparkConnect)


def default_ports() -> dict[str, int]:
    return {key: port for engine in ENGINES for key, port in engine.ports.items()}


def components(cfg: StackConfig, lay: Layout) -> list[Component]:
    return [engine(cfg, lay) for engine in ENGINES]


def setup_steps() -> list[SetupStep]:
    """What ``medallion setup`` fetches: each engine's artifacts, then the tools'."""
    return [step for engine in ENGINES for step in engine.setup] + list(TOOL_STEPS)
