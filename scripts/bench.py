"""Benchmarks of the embedded platform (``make bench``): the scale curve, the incremental share and
the floor, in one run on one private stack (a temporary home on free ports).

Per scale (``BENCH_SCALES``, default ``0.1,1``; ``BENCH_FULL=1`` adds 10) it generates
``BENCH_DAYS`` (30) daily batches plus ``BENCH_INCREMENT_DAYS`` (1), times the floor (silver's
rules and the five marts in DuckDB in one process, ``scripts/bench_floor.py``) over the same
files, then starts the stack, loads the base days and times bronze, silver and gold, checks that
the pipeline's marts equal the floor's row for row, loads the increment, times the layers again
and checks again, then times a run with no new data (what every run costs, whatever it brings)
and checks once more; the stack is stopped and its state removed before the next scale. Peak RSS is
sampled every half second per component (each stack engine with its child processes, the Spark
driver the silver run starts, this process, which runs dbt) and the load average with it.

It writes ``bench/results/<date>-<machine>.json`` and a PNG of time per layer against scale with
the floor, and prints the change against ``bench/baseline.json``, flagging figures more than 20%
worse (a missing baseline is written from this run; ``BENCH_UPDATE_BASELINE=1`` replaces it;
the README's figures are written from the baseline with it).
``BENCH_MACHINE`` names the machine in the file name (default: architecture, cores, memory).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import psutil
import psycopg

from medallion.generate import generate
from medallion.load import LoadedBatch, load_dir
from medallion.pipeline import run_pipeline
from medallion.run.dbt import NodeResult
from medallion.stack import Stack, StackConfig
from medallion.stack.engines import default_ports
from medallion.stack.process import private_port

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
BASELINE = ROOT / "bench" / "baseline.json"
#: The README's performance figures: the block between these lines, written from the baseline.
README = ROOT / "README.md"
README_BLOCK = (
    "<!-- make bench writes this block from bench/baseline.json -->",
    "<!-- end of the block make bench writes -->",
)
FLOOR = Path(__file__).resolve().parent / "bench_floor.py"
LAYERS = ("bronze", "silver", "gold")
MARTS = (
    "sales_by_category_month",
    "daily_orders",
    "seller_performance",
    "delivery_by_state",
    "payment_mix_month",
)
#: A figure this much worse than the baseline's is flagged.
TOLERANCE = 0.20
GiB = 2**30
#: How many of a layer's slowest dbt nodes a result names.
SLOWEST_NODES = 12


def tree(pid: int) -> list[psutil.Process]:
    """``pid`` and its descendants (empty when it has gone)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def memory(processes: list[psutil.Process]) -> tuple[int, int]:
    """Resident memory of processes: the sum of their RSS, and of their PSS (each shared page
    counted once across them, split between its sharers: PostgreSQL's backends all map its
    shared buffers, which RSS counts once per backend)."""
    rss = pss = 0
    for proc in processes:
        try:
            info = proc.memory_full_info()
        except psutil.Error:
            continue  # ended between listing and reading
        rss += info.rss
        pss += getattr(info, "pss", info.rss)
    return rss, pss


def cpu_seconds(processes: list[psutil.Process]) -> float:
    """CPU time (user and system) that processes have used, with that of their children that
    ended and were waited for (a live child is in ``processes`` itself)."""
    total = 0.0
    for proc in processes:
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue  # ended between listing and reading
        total += times.user + times.system + times.children_user + times.children_system
    return total


@dataclass
class Sampler:
    """Peak RSS and PSS per component and the highest 1-minute load average, per phase, sampled
    every ``interval`` seconds. ``roots`` are the stack's engines (each counted with its children);
    ``driver`` is this process alone (dbt runs in it) and ``children`` what this process started
    that is no engine (the Spark driver of a silver run, the floor's DuckDB). ``cpu`` is the CPU
    time each engine, and this process with what it started, used during a phase (the machine's
    cores are shared by all of them, so a layer's wall time is bounded by their sum)."""

    roots: dict[str, int] = field(default_factory=dict)
    interval: float = 0.5
    peaks: dict[str, dict[str, int]] = field(default_factory=dict)
    peaks_pss: dict[str, dict[str, int]] = field(default_factory=dict)
    load: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, dict[str, float]] = field(default_factory=dict)
    _phase: str | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def components(self) -> dict[str, list[psutil.Process]]:
        """The processes of each engine, ``driver`` (this process) and ``children`` (what it
        started that is no engine)."""
        me = psutil.Process()
        groups = {name: tree(pid) for name, pid in self.roots.items()}
        engines = {p.pid for procs in groups.values() for p in procs}
        groups["driver"] = [me]
        groups["children"] = [p for p in me.children(recursive=True) if p.pid not in engines]
        return groups

    def sample(self) -> None:
        sizes = {name: memory(procs) for name, procs in self.components().items()}
        sizes["total"] = (sum(r for r, _ in sizes.values()), sum(p for _, p in sizes.values()))
        with self._lock:
            if self._phase is None:
                return
            peak = self.peaks.setdefault(self._phase, {})
            peak_pss = self.peaks_pss.setdefault(self._phase, {})
            for name, (rss, pss) in sizes.items():
                peak[name] = max(peak.get(name, 0), rss)
                peak_pss[name] = max(peak_pss.get(name, 0), pss)
            self.load[self._phase] = max(self.load.get(self._phase, 0.0), os.getloadavg()[0])

    def cpu_now(self) -> dict[str, float]:
        groups = self.components()
        # a child that ends moves its CPU into this process's children_* times: count them as one
        groups["driver"] += groups.pop("children")
        return {name: cpu_seconds(procs) for name, procs in groups.items()}

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    @contextmanager
    def running(self) -> Iterator[Sampler]:
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        with self._lock:
            self._phase = name
        self.sample()
        began = self.cpu_now()
        try:
            yield
        finally:
            ended = self.cpu_now()
            self.cpu[name] = {k: v - began.get(k, 0.0) for k, v in ended.items()}
            self.sample()
            with self._lock:
                self._phase = None


def machine() -> dict[str, Any]:
    model = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = psutil.virtual_memory().total
    cores = os.cpu_count() or 1
    return {
        "name": os.environ.get("BENCH_MACHINE")
        or f"{platform.machine()}-{cores}c-{round(memory / GiB)}g",
        "arch": platform.machine(),
        "cpu": model,
        "cores": cores,
        "memory_bytes": memory,
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
    }


def commit() -> str | None:
    """The commit measured (``BENCH_COMMIT`` when the code is not a git checkout)."""
    if "BENCH_COMMIT" in os.environ:
        return os.environ["BENCH_COMMIT"]
    try:
        done = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip()


def scales() -> list[float]:
    chosen = os.environ.get("BENCH_SCALES", "0.1,1")
    values = [float(s) for s in chosen.split(",") if s.strip()]
    if os.environ.get("BENCH_FULL") == "1" and 10.0 not in values:
        values.append(10.0)
    return values


def run_floor(
    sampler: Sampler, phase: str, data: Path, batches: list[str], out: Path
) -> dict[str, Any]:
    """The floor in a process of its own (its peak RSS is its own), over ``batches``."""
    with sampler.phase(phase):
        began = time.perf_counter()
        done = subprocess.run(
            [
                sys.executable,
                str(FLOOR),
                str(data),
                "--batches",
                ",".join(batches),
                "--out",
                str(out),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - began
    result: dict[str, Any] = json.loads(done.stdout)
    result["wall_seconds"] = wall
    result["peak_rss"] = sampler.peaks[phase]["children"]
    return result


def serving_rows(env: Mapping[str, str], mart: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(
        host=env["SERVING_DB_HOST"],
        port=int(env["SERVING_DB_PORT"]),
        user=env["SERVING_DB_USER"],
        password=env["SERVING_DB_PASSWORD"],
        dbname=env["SERVING_DB_NAME"],
    ) as conn:
        return [tuple(r) for r in conn.execute(f"select * from gold.{mart}").fetchall()]


def check_marts(env: Mapping[str, str], floor_db: Path) -> dict[str, dict[str, int]]:
    """Per mart: its rows in the pipeline and how many rows only one of the two has."""
    con = duckdb.connect(str(floor_db), read_only=True)
    try:
        out = {}
        for mart in MARTS:
            got = Counter(serving_rows(env, mart))
            floor = Counter(tuple(r) for r in con.execute(f"select * from {mart}").fetchall())
            out[mart] = {
                "rows": sum(got.values()),
                "floor_rows": sum(floor.values()),
                "mismatching": sum(((got - floor) + (floor - got)).values()),
            }
        return out
    finally:
        con.close()


def records(loaded: list[LoadedBatch]) -> dict[str, int]:
    per_table: Counter[str] = Counter()
    for batch in loaded:
        for f in batch.files:
            per_table[f.table] += f.rows
    return dict(sorted(per_table.items()))


def run_layers(
    env: dict[str, str], sampler: Sampler, label: str, records_in: int
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for layer in LAYERS:
        phase = f"{label}{layer}"
        with sampler.phase(phase):
            began = time.perf_counter()
            result = run_pipeline(layer, env=env)[-1]
            wall = time.perf_counter() - began
        if not result.success:
            raise SystemExit(f"{phase} failed: {result.error}")
        out[layer] = {
            "seconds": result.seconds,
            # what the run costs beyond the layer itself: its lease, its ledger row and the
            # per-file accounts of the batches that changed (medallion.ledger.recorded)
            "bookkeeping_seconds": wall - result.seconds,
            "rows_written": result.rows_written,
            "records_per_s": records_in / result.seconds if result.seconds and records_in else None,
            "peak_rss": sampler.peaks[phase],
            "peak_pss": sampler.peaks_pss[phase],
            "load_1min_max": sampler.load[phase],
            "cpu_seconds": sampler.cpu[phase],
            "nodes": node_times(result.nodes),
        }
    return out


def node_times(nodes: list[NodeResult]) -> dict[str, Any]:
    """Where a layer's time went: dbt's node count and summed seconds per kind (nodes overlap
    when dbt runs threads, so the sums can exceed the layer's seconds), and the slowest nodes."""
    kinds: dict[str, dict[str, float]] = {}
    for n in nodes:
        entry = kinds.setdefault(n.kind, {"count": 0, "seconds": 0.0})
        entry["count"] += 1
        entry["seconds"] += n.seconds
    slowest = sorted(nodes, key=lambda n: n.seconds, reverse=True)[:SLOWEST_NODES]
    return {"by_kind": kinds, "slowest": {n.name: round(n.seconds, 2) for n in slowest}}


def totals(layers: Mapping[str, Mapping[str, Any]], full_s: float) -> dict[str, float]:
    """A later run's layers summed: its seconds, its bookkeeping and its share of the full run
    (``full_s``, the base run's seconds)."""
    seconds = sum(layers[name]["seconds"] for name in LAYERS)
    return {
        "seconds": seconds,
        "bookkeeping_seconds": sum(layers[name]["bookkeeping_seconds"] for name in LAYERS),
        "share": seconds / full_s,
    }


def bench_scale(
    scale: float, work: Path, ports: dict[str, int], days: int, increment: int
) -> dict[str, Any]:
    data = work / f"data-{scale}"
    began = time.perf_counter()
    summary = generate(data, scale=scale, days=days + increment, seed=1, defects=0.01)
    generate_s = time.perf_counter() - began
    batches = sorted(p.name.removeprefix("batch=") for p in data.glob("batch=*"))
    base, extra = batches[:days], batches[days:]
    print(f"\n== scale {scale}: {sum(summary.rows.values()):,} rows, "
          f"{summary.bytes / 2**20:,.0f} MiB, {days} + {increment} days", flush=True)  # fmt: skip

    sampler = Sampler()
    result: dict[str, Any] = {"scale": scale, "load_average_start": list(os.getloadavg())}
    with sampler.running():
        floor = run_floor(sampler, "floor", data, base, work / "floor-base.duckdb")
        floor_all = None
        if extra:
            floor_all = run_floor(sampler, "floor all", data, batches, work / "floor-all.duckdb")
        print(f"floor: {floor['seconds']['total']:.1f}s over {days} days", flush=True)

        cfg = StackConfig(home=work / f"home-{scale}", ports=ports)
        cfg.save()
        stack = Stack(cfg)
        try:
            with sampler.phase("stack up"):
                began = time.perf_counter()
                stack.up()
                stack_up_s = time.perf_counter() - began
            env = cfg.env()
            sampler.roots = {s.name: s.pid for s in stack.status() if s.pid}
            with sampler.phase("load"):
                began = time.perf_counter()
                loaded = [b for batch in base for b in load_dir(env, data, batch)]
                load_s = time.perf_counter() - began
            base_records = records(loaded)
            layers = run_layers(env, sampler, "", sum(base_records.values()))
            check = {"base": check_marts(env, work / "floor-base.duckdb")}
            increment_result: dict[str, Any] | None = None
            if extra:
                with sampler.phase("load increment"):
                    began = time.perf_counter()
                    more = [b for batch in extra for b in load_dir(env, data, batch)]
                    more_s = time.perf_counter() - began
                more_records = records(more)
                more_layers = run_layers(env, sampler, "increment ", sum(more_records.values()))
                check["increment"] = check_marts(env, work / "floor-all.duckdb")
                increment_result = {
                    "days": len(extra),
                    "records": sum(more_records.values()),
                    "load_seconds": more_s,
                    "layers": more_layers,
                }
            # Once more with no new batch: what a run costs whatever it brings, the part of a
            # day's run that is not the day's data; and the marts must come out unchanged.
            idle_layers = run_layers(env, sampler, "no new data ", 0)
            check["no new data"] = check_marts(
                env, work / ("floor-all.duckdb" if extra else "floor-base.duckdb")
            )
        finally:
            stack.down()
            stack.reset()
    shutil.rmtree(data, ignore_errors=True)

    pipeline_s = sum(layers[name]["seconds"] for name in LAYERS)
    total_records = sum(base_records.values())
    # The pipeline's peaks: loading and the layers, base run and increment. Not the floor's, and
    # not the stack's start (its engines' PIDs are known only once it is up, so the sampler would
    # count them as this process's children).
    peak_rss: dict[str, int] = {}
    peak_pss: dict[str, int] = {}
    for per_phase, out in ((sampler.peaks, peak_rss), (sampler.peaks_pss, peak_pss)):
        for phase, peaks in per_phase.items():
            if phase.startswith("floor") or phase == "stack up":
                continue
            for name, size in peaks.items():
                out[name] = max(out.get(name, 0), size)
    result.update(
        {
            "data": {
                "days": days,
                "increment_days": increment,
                "rows_per_table": dict(sorted(summary.rows.items())),
                "rows": sum(summary.rows.values()),
                "bytes": summary.bytes,
                "base_records_per_table": base_records,
                "base_records": total_records,
            },
            "generate_seconds": generate_s,
            "stack_up_seconds": stack_up_s,
            "load_seconds": load_s,
            "layers": layers,
            "pipeline": {
                "seconds": pipeline_s,
                "bookkeeping_seconds": sum(layers[n]["bookkeeping_seconds"] for n in LAYERS),
                "records_per_s": total_records / pipeline_s,
                "peak_rss": peak_rss,
                "peak_pss": peak_pss,
            },
            "floor": {
                "seconds": floor["seconds"],
                "wall_seconds": floor["wall_seconds"],
                "records_per_s": total_records / floor["seconds"]["total"],
                "peak_rss": floor["peak_rss"],
                "rows": floor["rows"],
                "all_days": None
                if floor_all is None
                else {"seconds": floor_all["seconds"], "peak_rss": floor_all["peak_rss"]},
            },
            "ratio_to_floor": pipeline_s / floor["seconds"]["total"],
            "floor_check": check,
            "load_average_end": list(os.getloadavg()),
            "load_1min_max": max(sampler.load.values(), default=0.0),
        }
    )
    result["no_new_data"] = {"layers": idle_layers, **totals(idle_layers, pipeline_s)}
    if increment_result is not None:
        increment_result.update(totals(increment_result["layers"], pipeline_s))
        increment_result["share_per_layer"] = {
            name: increment_result["layers"][name]["seconds"] / layers[name]["seconds"]
            for name in LAYERS
        }
        result["increment"] = increment_result
    return result


def metrics(result: Mapping[str, Any]) -> dict[str, tuple[float, str]]:
    """The figures compared with the baseline, each higher-is-worse: name -> (value, unit)."""
    out: dict[str, tuple[float, str]] = {}
    for entry in result["scales"]:
        s = f"scale {entry['scale']:g}"
        for layer in LAYERS:
            out[f"{s} {layer}"] = (entry["layers"][layer]["seconds"], "s")
        out[f"{s} pipeline"] = (entry["pipeline"]["seconds"], "s")
        out[f"{s} floor"] = (entry["floor"]["seconds"]["total"], "s")
        out[f"{s} ratio to floor"] = (entry["ratio_to_floor"], "x")
        for name, size in sorted(entry["pipeline"]["peak_rss"].items()):
            out[f"{s} peak RSS {name}"] = (size / GiB, "GiB")
        out[f"{s} peak PSS total"] = (entry["pipeline"]["peak_pss"]["total"] / GiB, "GiB")
        out[f"{s} floor peak RSS"] = (entry["floor"]["peak_rss"] / GiB, "GiB")
        out[f"{s} bookkeeping"] = (entry["pipeline"]["bookkeeping_seconds"], "s")
        if "increment" in entry:
            out[f"{s} increment share"] = (entry["increment"]["share"], "")
            out[f"{s} increment bookkeeping"] = (entry["increment"]["bookkeeping_seconds"], "s")
        if "no_new_data" in entry:
            out[f"{s} run with no new data"] = (entry["no_new_data"]["seconds"], "s")
    return out


def compare(result: Mapping[str, Any], baseline: Mapping[str, Any]) -> list[str]:
    """Print each figure against the baseline; return the ones more than TOLERANCE worse."""
    now, then = metrics(result), metrics(baseline)
    if baseline["machine"]["name"] != result["machine"]["name"]:
        print(f"(the baseline is from {baseline['machine']['name']}: the change says little)")
    worse = []
    print(f"\nagainst the baseline of {baseline['date']} ({TOLERANCE:.0%} worse is flagged):")
    print(f"  {'figure':<36} {'baseline':>13} {'now':>13} {'change':>7}")
    for name, (value, unit) in now.items():
        if name not in then:
            continue
        old = then[name][0]
        change = (value - old) / old if old else 0.0
        flag = ""
        if change > TOLERANCE and not (unit == "GiB" and value - old < 0.05):
            flag = "  WORSE"
            worse.append(name)
        print(f"  {name:<36} {old:>9.2f} {unit:<3} {value:>9.2f} {unit:<3} {change:>+7.0%}{flag}")
    return worse


def plot(result: Mapping[str, Any], path: Path) -> None:
    """Seconds per layer, the whole pipeline, the increment's run and a run with no new data
    against scale, with the floor dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    entries = sorted(result["scales"], key=lambda e: e["scale"])
    xs = [e["scale"] for e in entries]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for layer in LAYERS:
        ax.plot(xs, [e["layers"][layer]["seconds"] for e in entries], marker="o", label=layer)
    ax.plot(xs, [e["pipeline"]["seconds"] for e in entries], marker="o", lw=2.5, label="pipeline")
    if all("increment" in e for e in entries):
        days = entries[0]["increment"]["days"]
        ax.plot(
            xs, [e["increment"]["seconds"] for e in entries], ":", marker="^", label=f"+{days} day"
        )
    ax.plot(
        xs,
        [e["no_new_data"]["seconds"] for e in entries],
        ":",
        marker="v",
        label="a run with no new data",
    )
    ax.plot(
        xs,
        [e["floor"]["seconds"]["total"] for e in entries],
        "k--",
        marker="s",
        label="floor (DuckDB, one process)",
    )
    if len(xs) > 1:
        ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(xs, [f"{x:g}" for x in xs])
    ax.set_xlabel(f"scale ({entries[0]['data']['days']} daily batches)")
    ax.set_ylabel("seconds (wall clock)")
    m = result["machine"]
    ax.set_title(
        f"make bench {result['date']}: {m['cores']} cores, {m['memory_bytes'] / GiB:.0f} GiB"
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def report(entry: Mapping[str, Any]) -> None:
    data = entry["data"]
    print(
        f"\nscale {entry['scale']:g}: {data['base_records']:,} records in {data['days']} days "
        f"({data['bytes'] / 2**20:,.0f} MiB with the increment); load average "
        f"{entry['load_average_start'][0]:.1f} at the start, {entry['load_1min_max']:.1f} at most"
    )
    print(
        f"  {'step':<16} {'seconds':>8} {'records/s':>10} {'peak RSS':>9} {'PSS':>7}  "
        "RSS by component (GiB)"
    )
    for layer in LAYERS:
        r = entry["layers"][layer]
        parts = ", ".join(
            f"{k} {v / GiB:.2f}" for k, v in r["peak_rss"].items() if k != "total" and v
        )
        print(
            f"  {layer:<16} {r['seconds']:>8.1f} {r['records_per_s']:>10,.0f} "
            f"{r['peak_rss']['total'] / GiB:>8.2f}G {r['peak_pss']['total'] / GiB:>6.2f}G  {parts}"
            f" (+{r['bookkeeping_seconds']:.1f}s bookkeeping)"
        )
        print(f"  {'':<16} CPU seconds: {cpu_line(r)}")
    p, f = entry["pipeline"], entry["floor"]
    print(
        f"  {'pipeline':<16} {p['seconds']:>8.1f} {p['records_per_s']:>10,.0f} "
        f"{p['peak_rss']['total'] / GiB:>8.2f}G {p['peak_pss']['total'] / GiB:>6.2f}G"
    )
    print(
        f"  {'floor':<16} {f['seconds']['total']:>8.1f} {f['records_per_s']:>10,.0f} "
        f"{f['peak_rss'] / GiB:>8.2f}G  (bronze {f['seconds']['bronze']:.1f}s, silver "
        f"{f['seconds']['silver']:.1f}s, gold {f['seconds']['gold']:.1f}s)"
    )
    print(f"  pipeline / floor: {entry['ratio_to_floor']:.0f}x")
    if "increment" in entry:
        inc = entry["increment"]
        per_layer = ", ".join(f"{k} {v:.0%}" for k, v in inc["share_per_layer"].items())
        print(
            f"  +{inc['days']} day ({inc['records']:,} records): {inc['seconds']:.1f}s, "
            f"{inc['share']:.0%} of the base run ({per_layer}); bookkeeping "
            f"{inc['bookkeeping_seconds']:.1f}s beside it ({p['bookkeeping_seconds']:.1f}s in the "
            "base run)"
        )
        for layer in LAYERS:
            print(f"    {layer:<14} CPU seconds: {cpu_line(inc['layers'][layer])}")
    idle = entry["no_new_data"]
    per_layer = ", ".join(f"{k} {v['seconds']:.1f}s" for k, v in idle["layers"].items())
    print(
        f"  a run with no new data: {idle['seconds']:.1f}s, {idle['share']:.0%} of the base run "
        f"({per_layer}); bookkeeping {idle['bookkeeping_seconds']:.1f}s beside it"
    )
    for layer in LAYERS:
        print(f"    {layer:<14} CPU seconds: {cpu_line(idle['layers'][layer])}")
    for step, marts in entry["floor_check"].items():
        bad = {m: c["mismatching"] for m, c in marts.items() if c["mismatching"]}
        rows = ", ".join(f"{m} {c['rows']}/{c['mismatching']}" for m, c in marts.items())
        print(f"  floor check ({step}; mart rows/mismatching): {rows}{'  MISMATCH' if bad else ''}")


def cpu_line(layer: Mapping[str, Any]) -> str:
    """A layer's CPU time per component, largest first (none in results made before it was
    measured)."""
    used = layer.get("cpu_seconds") or {}
    parts = [f"{k} {v:.0f}" for k, v in sorted(used.items(), key=lambda kv: -kv[1]) if v >= 0.5]
    return f"{', '.join(parts)} (total {sum(used.values()):.0f})" if used else "not measured"


def readme_block(result: Mapping[str, Any]) -> str:
    """The README's figures: the machine, the data and, per scale, each layer's time, the floor,
    the incremental share, the cost of a run with no new data and the peak memory, from one
    bench result."""
    m, settings = result["machine"], result["settings"]
    loads = [x for e in result["scales"] for x in (e["load_average_start"][0], e["load_1min_max"])]
    lines = [
        f"`make bench` of {result['date']} (commit {str(result['commit'])[:7]}) on {m['cores']} "
        f"cores ({m['cpu']}) and {m['memory_bytes'] / GiB:.0f} GiB; {settings['days']} daily "
        f"batches, then {settings['increment_days']} more; Spark on {settings['spark_cores']} "
        f"cores; the 1-minute load average was {min(loads):.1f} to {max(loads):.1f}.",
        "",
        "| scale | records | bronze | silver | gold | pipeline | floor (DuckDB) | pipeline / floor "
        "| +1 day, share of the full run | a run with no new data, share "
        "| bookkeeping (full, +1 day) | peak RSS | peak PSS |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for e in result["scales"]:
        layers, inc, idle = e["layers"], e["increment"], e["no_new_data"]
        lines.append(
            f"| {e['scale']:g} | {e['data']['base_records']:,} "
            + "".join(f"| {layers[layer]['seconds']:.0f} s " for layer in LAYERS)
            + f"| {e['pipeline']['seconds']:.0f} s | {e['floor']['seconds']['total']:.1f} s "
            f"| {e['ratio_to_floor']:.0f}x | {inc['seconds']:.0f} s, {inc['share']:.0%} "
            f"| {idle['seconds']:.0f} s, {idle['share']:.0%} "
            f"| {e['pipeline']['bookkeeping_seconds']:.0f} s, {inc['bookkeeping_seconds']:.0f} s "
            f"| {e['pipeline']['peak_rss']['total'] / GiB:.1f} GiB "
            f"| {e['pipeline']['peak_pss']['total'] / GiB:.1f} GiB |"
        )
    return "\n".join(lines)


def write_readme(result: Mapping[str, Any]) -> None:
    begin, end = README_BLOCK
    text = README.read_text()
    head, rest = text.split(begin + "\n", 1)
    _, tail = rest.split(end, 1)
    README.write_text(f"{head}{begin}\n{readme_block(result)}\n{end}{tail}")


def main() -> None:
    days = int(os.environ.get("BENCH_DAYS", "30"))
    increment = int(os.environ.get("BENCH_INCREMENT_DAYS", "1"))
    started = dt.datetime.now(dt.UTC)
    result: dict[str, Any] = {
        "date": started.date().isoformat(),
        "started_at": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": {
            "days": days,
            "increment_days": increment,
            "seed": 1,
            "defects": 0.01,
            "spark_cores": os.cpu_count(),  # the stack's Spark runs local[*]
            "rss_sample_seconds": Sampler.interval,
        },
        "commit": commit(),
        "load_average_start": list(os.getloadavg()),
        "scales": [],
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = f"{result['date']}-{result['machine']['name']}"
    out = RESULTS / f"{stem}.json"
    with tempfile.TemporaryDirectory(prefix="medallion-bench-") as tmp:
        taken: set[int] = set()
        ports = {n: private_port(taken) for n in default_ports()}
        for scale in scales():
            entry = bench_scale(scale, Path(tmp), ports, days, increment)
            result["scales"].append(entry)
            report(entry)
            out.write_text(json.dumps(result, indent=1) + "\n")  # kept if a later scale fails
    result["load_average_end"] = list(os.getloadavg())
    result["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")

    out.write_text(json.dumps(result, indent=1) + "\n")
    plot(result, RESULTS / f"{stem}.png")
    print(f"\nwrote {out.relative_to(ROOT)} and {stem}.png")
    if BASELINE.exists() and os.environ.get("BENCH_UPDATE_BASELINE") != "1":
        worse = compare(result, json.loads(BASELINE.read_text()))
        if worse:
            print(f"{len(worse)} figure(s) more than {TOLERANCE:.0%} worse than the baseline")
    else:
        BASELINE.write_text(json.dumps(result, indent=1) + "\n")
        write_readme(result)
        print(f"wrote the baseline {BASELINE.relative_to(ROOT)} and the README's figures")
    mismatched = [
        f"scale {e['scale']:g} {step} {mart}"
        for e in result["scales"]
        for step, marts in e["floor_check"].items()
        for mart, c in marts.items()
        if c["mismatching"]
    ]
    if mismatched:
        raise SystemExit(f"the floor's marts differ from the pipeline's: {', '.join(mismatched)}")


if __name__ == "__main__":
    main()
