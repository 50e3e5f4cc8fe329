"""Speed and scale targets, measured (run by `make bench`; not part of `make test`).

Each `bench_*.py` module exposes `run(quick: bool = False) -> dict[str, float | int | str]`; the runner
(`python -m benchmarks`) prints one table and writes `benchmarks/results/latest.json`.
"""

import argparse
import time
from collections.abc import Callable
from typing import Any


def standalone(module: str, run: Callable[..., dict[str, Any]], argv: list[str] | None = None) -> int:
    """`python -m benchmarks.<module> [--quick]`: one benchmark alone, its figures one a line."""
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks.{module}")
    parser.add_argument("--quick", action="store_true", help="a smaller workload (a smoke run)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    figures = run(quick=args.quick)
    width = max(map(len, figures), default=8)
    for name, value in figures.items():
        print(f"{name.ljust(width)}  {value}")
    print(f"{'total_s'.ljust(width)}  {time.perf_counter() - started:.1f}")
    return 0
