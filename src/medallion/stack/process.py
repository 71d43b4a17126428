"""Start, find and stop the stack's background processes by their recorded PIDs."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


class StackError(RuntimeError):
    """A component failed to start or stop; the message names it and says why."""


def _start_time(pid: int) -> int | None:
    """The kernel's start time of ``pid`` (clock ticks since boot), to tell a reused PID apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[19])


@dataclass(frozen=True)
class Pidfile:
    path: Path

    def write(self, pid: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps({"pid": pid, "start": _start_time(pid)}))

    def read(self) -> int | None:
        """The recorded PID if that very process is still alive, else None."""
        if not self.path.exists():
            return None
        try:
            record = json.loads(self.path.read_text())
        except json.JSONDecodeError:
            return None
        pid = int(record["pid"])
        start = _start_time(pid)
        if start is None or start != record.get("start"):
            return None
        with contextlib.suppress(OSError):
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            if state == "Z":
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
    if _start_time(pid) is None:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    if state == "Z":
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


def port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((host, port)) == 0


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
