"""Time the synthetic Olist generator at a given scale.

The generator has to be fast enough to produce a full-size (scale 1) data set in well under a
minute on a small CI runner, otherwise nobody runs the pipeline at realistic volume. This
script is the yardstick: it times ``generate`` and prints the seconds, rows per file and bytes.

Usage::

    .venv/bin/python scripts/bench_generate.py [SCALE] [--days N] [--defects RATE] [--out DIR]
                                               [--profile]

Without ``--out`` the files go to a temporary directory that is removed afterwards.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

from medallion.generate import GenerateSummary, generate


def _run(out: Path, args: argparse.Namespace) -> tuple[float, GenerateSummary]:
    started = time.perf_counter()
    summary = generate(out, scale=args.scale, days=args.days, seed=args.seed, defects=args.defects)
    return time.perf_counter() - started, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scale", nargs="?", type=float, default=1.0)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--defects", type=float, default=0.0)
    parser.add_argument("--out", type=Path, default=None, help="keep the files here")
    parser.add_argument("--profile", action="store_true", help="print the top cProfile entries")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-generate-") as tmp:
        out = args.out or Path(tmp)
        profiler = cProfile.Profile() if args.profile else None
        if profiler is not None:
            profiler.enable()
        seconds, summary = _run(out, args)
        if profiler is not None:
            profiler.disable()
            pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(25)

    total_rows = sum(summary.rows.values())
    print(f"scale={args.scale} days={args.days} defects={args.defects} seed={args.seed}")
    for stem, rows in summary.rows.items():
        print(f"  {stem:<36} {rows:>10,} rows")
    print(f"seconds: {seconds:.2f}")
    print(f"rows:    {total_rows:,} ({total_rows / seconds:,.0f} rows/s)")
    print(f"bytes:   {summary.bytes:,} ({summary.bytes / 1e6:.1f} MB)")
    print(f"defects: {summary.defects:,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
