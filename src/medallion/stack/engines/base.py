"""What every engine of the embedded stack declares, and how any of them starts and stops."""

from __future__ import annotations

import os
import signal
from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

from medallion.artifacts import Layout, SetupStep
from medallion.stack.config import StackConfig
from medallion.stack.process import Pidfile, spawn, stop_pid, wait_until

# The engines' JVMs take turns (Trino for bronze and gold, Spark for silver) on one host: a JVM
# that has run no collection for this long runs one and returns the heap it no longer uses
# (G1's periodic collection), so the stack's peak is not every heap at its high-water mark.
RETURN_IDLE_HEAP = "-XX:G1PeriodicGCInterval=10000 -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30"


class Component(ABC):
    """One engine: its ports, the artifacts ``medallion setup`` fetches for it, how to start it,
    when it is ready, how to stop it."""

    name: ClassVar[str]
    # Default ports by key (MEDALLION_<KEY>_PORT overrides one); the first is the one the
    # readiness check and the port check name.
    ports: ClassVar[dict[str, int]]
    setup: ClassVar[tuple[SetupStep, ...]] = ()
    start_timeout: ClassVar[float] = 60.0
    stop_signal: ClassVar[signal.Signals] = signal.SIGTERM

    def __init__(self, cfg: StackConfig, lay: Layout) -> None:
        self.cfg = cfg
        self.lay = lay

    @property
    def port_key(self) -> str:
        return next(iter(self.ports))

    @property
    def port(self) -> int:
        return self.cfg.ports[self.port_key]

    @property
    def log(self) -> Path:
        return self.cfg.logs / f"{self.name}.log"

    @property
    def pidfile(self) -> Pidfile:
        return Pidfile(self.cfg.run / f"{self.name}.pid")

    def pid(self) -> int | None:
        return self.pidfile.read()

    def running(self) -> bool:
        return self.pid() is not None

    @abstractmethod
    def command(self) -> list[str]: ...

    @abstractmethod
    def ready(self) -> bool: ...

    def prepare(self) -> None:
        """One-time work before the first start (initialise data directories)."""

    def after_start(self) -> None:
        """Idempotent work once the engine answers (create databases, buckets)."""

    def run_as(self) -> str | None:
        return None

    def purge(self) -> None:
        """Delete data kept outside the stack's home (called by ``reset``)."""

    def cwd(self) -> Path | None:
        return None

    def secrets_env(self) -> dict[str, str]:
        """Credentials the engine reads from its environment (never from its command line,
        which every user of the host can read)."""
        return {}

    def environment(self) -> dict[str, str]:
        """The process's environment: the stack's variables and the engine's secrets."""
        return {**os.environ, **self.cfg.env(), **self.secrets_env()}

    def start(self) -> None:
        self.prepare()
        env = self.environment()
        pid = spawn(self.command(), log=self.log, env=env, cwd=self.cwd(), user=self.run_as())
        self.pidfile.write(pid)
        wait_until(
            self.ready,
            what=f"{self.name} (port {self.port})",
            timeout=self.start_timeout,
            alive=self.running,
            log=self.log,
        )
        self.after_start()

    def stop(self) -> None:
        pid = self.pid()
        if pid is not None:
            stop_pid(pid, self.stop_signal)
        self.pidfile.clear()
