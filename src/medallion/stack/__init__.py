"""The embedded stack: the engines the charts deploy, run as local processes.

``up`` starts PostgreSQL, the S3 server, the Hive Metastore and Trino in that order, each with a
readiness check, after checking that every port it needs is free; ``down`` stops exactly the
processes that ``up`` recorded. State (data, logs, PIDs, credentials) lives in the stack's home.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass

from medallion.artifacts import Layout, layout
from medallion.stack.config import StackConfig
from medallion.stack.engines import Component, components
from medallion.stack.process import StackError, port_free

__all__ = ["ComponentStatus", "Stack", "StackConfig", "StackError"]


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    pid: int | None
    port: int
    running: bool
    ready: bool


class Stack:
    def __init__(self, cfg: StackConfig | None = None, lay: Layout | None = None) -> None:
        self.cfg = cfg or StackConfig.load()
        self.lay = lay or layout()
        self.components = components(self.cfg, self.lay)

    def component(self, name: str) -> Component:
        for comp in self.components:
            if comp.name == name:
                return comp
        raise KeyError(name)

    def check_ports(self) -> None:
        """Fail before starting anything if a port that a stopped component needs is taken."""
        taken = [c for c in self.components if not c.running() and not port_free(c.port)]
        if taken:
            lines = [
                f"port {c.port} ({c.name}) is already in use; free it or set "
                f"MEDALLION_{c.port_key.upper()}_PORT to another port"
                for c in taken
            ]
            raise StackError("\n".join(lines))

    def up(self, on_step: Callable[[str, str], None] | None = None) -> dict[str, float]:
        """Start what is not running; returns seconds per component started (empty: no-op)."""
        self.cfg.logs.mkdir(parents=True, exist_ok=True)
        self.cfg.credentials()
        self.check_ports()
        self.cfg.save()
        timings: dict[str, float] = {}
        for comp in self.components:
            if comp.running() and comp.ready():
                continue
            if comp.running():
                comp.stop()
            if on_step:
                on_step(comp.name, "starting")
            began = time.monotonic()
            try:
                comp.start()
            except Exception:
                comp.stop()
                raise
            timings[comp.name] = time.monotonic() - began
            if on_step:
                on_step(comp.name, f"ready in {timings[comp.name]:.1f}s")
        return timings

    def down(self, on_step: Callable[[str, str], None] | None = None) -> list[str]:
        """Stop every recorded process, in reverse start order; returns the names stopped."""
        stopped = []
        for comp in reversed(self.components):
            if comp.running():
                if on_step:
                    on_step(comp.name, "stopping")
                comp.stop()
                stopped.append(comp.name)
            else:
                comp.pidfile.clear()
        return stopped

    def status(self) -> list[ComponentStatus]:
        result = []
        for comp in self.components:
            pid = comp.pid()
            result.append(
                ComponentStatus(
                    name=comp.name,
                    pid=pid,
                    port=comp.port,
                    running=pid is not None,
                    ready=pid is not None and comp.ready(),
                )
            )
        return result

    def healthy(self) -> bool:
        return all(s.ready for s in self.status())

    def reset(self) -> None:
        """Stop the stack and delete its state (data, logs, credentials); caches stay."""
        self.down()
        for comp in self.components:
            comp.purge()
        shutil.rmtree(self.cfg.home, ignore_errors=True)
