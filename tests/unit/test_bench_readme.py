"""The README's performance figures are the committed bench baseline's, as ``make bench`` writes
them (scripts/bench.py), not numbers typed by hand."""

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
