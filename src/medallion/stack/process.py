"""Start, find and stop the stack's background processes by their recorded PIDs."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil


class StackError(RuntimeError):
    """A component failed to start or stop; the message names it and says why."""


def _created(pid: int) -> float | None:
    """When ``pid`` started (seconds since the epoch, to 10 ms), to tell a reused PID apart; None
    if no such process runs."""
    try:
        return round(float(psutil.Process(pid).create_time()), 2)
    except psutil.Error:
        return None


def _zombie(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def _recorded_creation(record: Mapping[str, Any]) -> float | None:
    """A PID file's start time; files of earlier versions hold the kernel's clock ticks since
    boot (``start``), converted here so a stack they started is still found."""
    if "created" in record:
        return float(record["created"])
    if "start" in record:
        return round(float(psutil.boot_time()) + int(record["start"]) / os.sysconf("SC_CLK_TCK"), 2)
    return None


@dataclass(frozen=True)
class Pidfile:
    path: Path

    def write(self, pid: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps({"pid": pid, "created": _created(pid)}))

    def read(self) -> int | None:
        """The recorded PID if that very process is still alive, else None."""
        if not self.path.exists():
            return None
        try:
            record = json.loads(self.path.read_text())
        except json.JSONDecodeError:
            return None
        pid = int(record["pid"])
        created = _created(pid)
        if created is None or created != _recorded_creation(record) or _zombie(pid):
            return None
        return pid

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def spawn(
    cmd: Sequence[str],
    *,
    log: Path,
    env: Mapping[str, str],
    cwd: Path | None = None,
    user: str | None = None,
) -> int:
    """Start ``cmd`` in its own session, detached from the caller, with output to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)

    _raise_nofile_limit()
    with log.open("ab") as out:
        proc = subprocess.Popen(
            list(cmd),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
            user=user,
            group=user,
            extra_groups=[] if user else None,
        )
    return proc.pid


def _raise_nofile_limit() -> None:
    """Trino wants thousands of open files: lift the soft limit to the hard one (inherited)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def stop_pid(pid: int, sig: int = signal.SIGTERM, timeout: float = 30.0) -> None:
    """Signal the process group of ``pid`` and wait for it; kill it after ``timeout``."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    while alive(pid):
        time.sleep(0.1)


def alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie child of ours is reaped and counts as gone."""
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    if _created(pid) is None:
        return False
    if _zombie(pid):
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        return False
    return True


def port_free(port: int) -> bool:
    """True if nothing listens on ``port`` (checked by binding it on all interfaces)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("", port))
        except OSError:
            return False
    return True


# The lowest port a private stack takes (well above the registered services' usual ports).
PRIVATE_LOWEST = 20000


def ephemeral_lowest() -> int:
    """The kernel's lowest ephemeral port (random binds and outgoing connections draw above)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def private_port(taken: set[int], part: int = 0, parts: int = 1) -> int:
    """A free loopback port for a private stack (the tests', the bench's), added to ``taken``.

    Not ``bind(0)``: its ports lie in the ephemeral range, which every random listener (Spark's
    driver and block manager) and every outgoing connection draws from, so by the time the
    engine starts, another process may hold the port (a test module once lost its Spark
    Connect server so). Ports come from below that range, slice ``part`` of ``parts``:
    concurrent pickers (pytest-xdist's workers) take disjoint slices.
    """
    width = (ephemeral_lowest() - PRIVATE_LOWEST) // parts
    start = PRIVATE_LOWEST + width * part
    for port in random.sample(range(start, start + width), k=min(width, 2000)):
        if port not in taken and port_free(port):
            taken.add(port)
            return port
    raise StackError(f"no free port between {start} and {start + width - 1}")


def port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((host, port)) == 0


# An HTTP/2 client's connection preface and an empty SETTINGS frame (RFC 9113, section 3.4).
_HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
_HTTP2_SETTINGS = 4


def serves_http2(host: str, port: int) -> bool:
    """True if ``port`` answers an HTTP/2 preface with a SETTINGS frame, as a gRPC server does.

    An open port alone can belong to another listener, even of the same process: Spark's driver
    binds random ports before its Connect server binds the configured one, and when that bind
    fails the driver's port is open for a few seconds before the JVM exits.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(2.0)
        try:
            sock.connect((host, port))
            sock.sendall(_HTTP2_PREFACE)
            header = b""
            while len(header) < 9:
                chunk = sock.recv(9 - len(header))
                if not chunk:
                    return False
                header += chunk
        except OSError:
            return False
    return header[3] == _HTTP2_SETTINGS


def wait_until(
    check: Callable[[], bool],
    *,
    what: str,
    timeout: float,
    alive: Callable[[], bool],
    log: Path,
) -> None:
    """Poll ``check`` until it holds; fail early, with the log's tail, if the process dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if not alive():
            raise StackError(f"{what} exited during start-up; last lines of {log}:\n{tail(log)}")
        time.sleep(0.5)
    raise StackError(f"{what} not ready after {timeout:.0f}s; last lines of {log}:\n{tail(log)}")


def tail(path: Path, lines: int = 25) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
