"""The bench script (scripts/bench.py): the README's performance figures are the committed
baseline's, as ``make bench`` writes them, not numbers typed by hand; and what it measures per
phase counts the processes it should."""

from __future__ import annotations

import importlib.util
import json
import sys
from types import ModuleType

from medallion.paths import project_dir


def bench_script() -> ModuleType:
    path = project_dir() / "scripts" / "bench.py"
    spec = importlib.util.spec_from_file_location("medallion_bench_script", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_readme_shows_the_baseline() -> None:
    bench = bench_script()
    baseline = json.loads(bench.BASELINE.read_text())
    begin, end = bench.README_BLOCK
    readme = bench.README.read_text()
    shown = readme.split(begin + "\n", 1)[1].split("\n" + end, 1)[0]
    assert shown == bench.readme_block(baseline), "run: BENCH_UPDATE_BASELINE=1 make bench"
    for entry in baseline["scales"]:
        assert f"| {entry['scale']:g} | {entry['data']['base_records']:,} |" in shown


def test_a_phase_counts_the_cpu_of_a_child_that_ended_within_it() -> None:
    """The bench's CPU per component: a process this one starts, which burns a second of CPU
    and exits before the phase ends, is still counted (with this process). The kernel accounts
    an ended child's CPU in clock ticks, so its second can read 0.99."""
    import subprocess

    bench = bench_script()
    sampler = bench.Sampler()
    burn = "import time\nend = time.process_time() + 1.0\nwhile time.process_time() < end: pass"
    with sampler.phase("burn"):
        subprocess.run([sys.executable, "-c", burn], check=True)
    with sampler.phase("idle"):
        pass
    assert sampler.cpu["burn"]["driver"] >= 0.9
    assert sampler.cpu["idle"]["driver"] < 0.5
