"""Speed and scale targets, measured (run by `make bench`; not part of `make test`).

Each `bench_*.py` module exposes `run(quick: bool = False) -> dict[str, float | int | str]`; the runner
(`python -m benchmarks`) prints one table and writes `benchmarks/results/latest.json`.
"""
