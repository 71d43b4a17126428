"""Benchmarks of the embedded platform (``make bench``): generation, stack start, each layer.

Runs on its own stack (a temporary MEDALLION_HOME on free ports) and prints one table with the
machine, the data size, wall-clock seconds and peak memory (RSS summed over the stack's processes,
sampled every half second). BENCH_SCALE / BENCH_DAYS (default 0.1 / 3) set the data of the full
run; BENCH_INCREMENT_DAYS (default 1) more days are then loaded and run again, incrementally, and
that run is reported as a share of the full one.
"""

from __future__ import annotations

import os
import platform
import socket
import tempfile
import threading
import time
from pathlib import Path

from medallion.generate import generate
from medallion.load import load_dir
from medallion.pipeline import run_pipeline
from medallion.stack import Stack, StackConfig


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def rss_of_tree(pids: list[int]) -> int:
    """Resident bytes of ``pids`` and all their descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            status = (entry / "status").read_text()
        except OSError:
            continue
        pid = int(entry.name)
        children.setdefault(int(stat[1]), []).append(pid)
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss[pid] = int(line.split()[1]) * 1024
    total, todo = 0, list(pids)
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


class PeakMemory:
    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_of_tree([*self.pids, os.getpid()]))
            time.sleep(0.5)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_layers(env: dict[str, str], label: str, rows: list[tuple[str, str, str]]) -> float:
    """bronze, silver, gold one after the other; a row each and one for the total."""
    total = 0.0
    for layer in ("bronze", "silver", "gold"):
        result = run_pipeline(layer, cores=2, env=env)[-1]
        total += result.seconds
        status = "ok" if result.success else f"FAILED: {result.error}"
        rows.append(
            (f"{label} {layer}", f"{result.seconds:.1f}s", f"{result.rows_written:,} rows {status}")
        )
        if not result.success:
            raise SystemExit(f"{label} {layer} failed: {result.error}")
    rows.append((f"{label} total", f"{total:.1f}s", ""))
    return total


def main() -> None:
    scale = float(os.environ.get("BENCH_SCALE", "0.1"))
    days = int(os.environ.get("BENCH_DAYS", "3"))
    increment = int(os.environ.get("BENCH_INCREMENT_DAYS", "1"))
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="medallion-bench-") as tmp:
        home = Path(tmp) / "home"
        cfg = StackConfig(
            home=home, ports={n: free_port() for n in ("postgres", "s3", "metastore", "trino")}
        )
        cfg.save()
        data = Path(tmp) / "data"
        began = time.monotonic()
        summary = generate(data, scale=scale, days=days + increment, seed=1, defects=0.01)
        rows.append(
            (
                "generate",
                f"{time.monotonic() - began:.1f}s",
                f"{sum(summary.rows.values()):,} rows, {summary.bytes / 2**20:.0f} MiB, "
                f"{days} + {increment} days",
            )
        )
        batches = sorted(p.name.removeprefix("batch=") for p in data.glob("batch=*"))
        base, extra = batches[:days], batches[days:]
        stack = Stack(cfg)
        began = time.monotonic()
        stack.up()
        rows.append(("stack up", f"{time.monotonic() - began:.1f}s", ""))
        try:
            env = cfg.env()
            pids = [s.pid for s in stack.status() if s.pid]
            with PeakMemory(pids) as peak:
                began = time.monotonic()
                loaded = sum(b.rows for batch in base for b in load_dir(env, data, batch))
                rows.append(
                    ("load", f"{time.monotonic() - began:.1f}s", f"{loaded:,} rows, {days} days")
                )
                full = run_layers(env, "full", rows)
                if extra:
                    began = time.monotonic()
                    added = sum(b.rows for batch in extra for b in load_dir(env, data, batch))
                    rows.append(
                        (
                            "load more",
                            f"{time.monotonic() - began:.1f}s",
                            f"{added:,} rows, {len(extra)} days",
                        )
                    )
                    more = run_layers(env, f"+{len(extra)}d", rows)
                    rows.append(("increment", f"{more / full:.0%}", "of the full run's time"))
            rows.append(
                ("peak RSS", f"{peak.peak / 2**30:.2f} GiB", "stack + driver, during the layers")
            )
        finally:
            stack.down()
    print(
        f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / 2**30:.0f} GiB; "
        f"scale {scale}, {days} + {increment} days"
    )
    for name, seconds, note in rows:
        print(f"  {name:<14} {seconds:>10}  {note}")


if __name__ == "__main__":
    main()
