"""`make bench`: run every benchmark module, print one table, write benchmarks/results/latest.json."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODULES = ["bench_imports", "bench_scorer", "bench_blocker", "bench_pipeline"]


def machine() -> dict[str, str | int]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count() or 0,
    }


def _format(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


def print_table(results: dict[str, dict]) -> None:
    rows = [(bench, name, _format(value)) for bench, figures in results.items() for name, value in figures.items()]
    widths = [max(len(r[i]) for r in rows + [("benchmark", "figure", "value")]) for i in range(3)]
    line = "  ".join("-" * w for w in widths)
    print(line)
    print("  ".join(h.ljust(w) for h, w in zip(("benchmark", "figure", "value"), widths, strict=True)))
    print(line)
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    print(line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="smaller workloads (a smoke run)")
    parser.add_argument("--only", nargs="*", help="benchmark modules to run (default: all)")
    parser.add_argument("--out", default=str(HERE / "results" / "latest.json"))
    args = parser.parse_args(argv)

    results: dict[str, dict] = {}
    failed = []
    started = time.perf_counter()
    for name in args.only or MODULES:
        try:
            module = importlib.import_module(f"benchmarks.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"benchmarks.{name}":
                print(f"[skip] {name}: not present", file=sys.stderr)
                continue
            raise
        print(f"[run ] {name} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            figures = module.run(quick=args.quick)
        except Exception:
            traceback.print_exc()
            failed.append(name)
            continue
        figures = {"seconds": round(time.perf_counter() - t0, 2), **figures}
        results[name] = figures
    document = {
        "ran_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "quick": args.quick,
        "machine": machine(),
        "total_seconds": round(time.perf_counter() - started, 1),
        "results": results,
        "failed": failed,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
    print_table(results)
    print(f"machine: {document['machine']}; total {document['total_seconds']} s; written to {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
