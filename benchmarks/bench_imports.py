"""Cold-start cost: import time of every Lambda handler module, each in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 0.5
CODE = (
    "import time, sys; sys.path[:0] = [{root!r}, {shared!r}]; t = time.perf_counter(); "
    "import functions.{name}.handler; print(time.perf_counter() - t)"
)


def handler_names() -> list[str]:
    return sorted(p.parent.name for p in (ROOT / "functions").glob("*/handler.py"))


def import_seconds(name: str, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, "-c", CODE.format(root=str(ROOT), shared=str(ROOT / "shared"), name=name)],
            capture_output=True, text=True, check=True, env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1"},
        )
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return min(samples)  # the least-disturbed sample: what a cold start costs on this machine


def run(quick: bool = False) -> dict:
    figures: dict[str, float | str] = {}
    for name in handler_names():
        figures[f"{name}_import_s"] = round(import_seconds(name, 1 if quick else 3), 3)
    worst = max((v for v in figures.values() if isinstance(v, float)), default=0.0)
    figures["worst_import_s"] = worst
    figures["target_s"] = TARGET_S
    figures["meets_target"] = "yes" if worst < TARGET_S else "NO"
    return figures


if __name__ == "__main__":
    from benchmarks import standalone

    raise SystemExit(standalone("bench_imports", run))
