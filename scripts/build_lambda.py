"""Deployable Lambda artifacts without Docker or `sam build` (template.yaml points into build/).

    build/layer/python/                 pinned runtime deps (requirements/lambda.txt) for Linux arm64,
                                        CPython 3.12, wheels only; plus a copy of shared/spam_blocker
    build/functions/<name>/functions/   functions/__init__.py and functions/<name>/ for each function, so the
                                        handler is `functions.<name>.handler.lambda_handler`, as locally

`python scripts/build_lambda.py` (what `make build` runs) needs the package registry for the layer's
wheels; `--skip-deps` builds everything else offline (tests use it). Every run starts from a clean
build/layer and build/functions.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLATFORM = "manylinux2014_aarch64"
PYTHON_VERSION = "3.12"
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".pytest_cache", ".ruff_cache")


def function_names(root: Path = ROOT) -> list[str]:
    """Every functions/<name>/ with a handler.py."""
    return sorted(p.parent.name for p in (root / "functions").glob("*/handler.py"))


def install_dependencies(target: Path, requirements: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
         "--platform", PLATFORM, "--only-binary=:all:", "--python-version", PYTHON_VERSION,
         "--implementation", "cp", "--target", str(target), "-r", str(requirements)],
        check=True,
    )


def build_layer(out: Path, *, root: Path = ROOT, with_deps: bool = True) -> Path:
    layer = out / "layer"
    shutil.rmtree(layer, ignore_errors=True)
    python = layer / "python"
    python.mkdir(parents=True)
    if with_deps:
        install_dependencies(python, root / "requirements" / "lambda.txt")
    shutil.copytree(root / "shared" / "spam_blocker", python / "spam_blocker", ignore=_IGNORE)
    return layer


def build_functions(out: Path, *, root: Path = ROOT) -> dict[str, Path]:
    functions = out / "functions"
    shutil.rmtree(functions, ignore_errors=True)
    built: dict[str, Path] = {}
    for name in function_names(root):
        package = functions / name / "functions"
        package.mkdir(parents=True)
        shutil.copy2(root / "functions" / "__init__.py", package / "__init__.py")
        shutil.copytree(root / "functions" / name, package / name, ignore=_IGNORE)
        built[name] = functions / name
    return built


def tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build", help="output directory (default: build/)")
    parser.add_argument("--skip-deps", action="store_true", help="do not pip-install the layer's dependencies")
    args = parser.parse_args(argv)

    started = time.monotonic()
    layer = build_layer(args.out, with_deps=not args.skip_deps)
    built = build_functions(args.out)
    print(f"layer      {layer}  {tree_size(layer) / 1e6:.1f} MB unzipped")
    for name, path in built.items():
        print(f"function   {path}  ({name}, {tree_size(path) / 1e3:.0f} kB)")
    print(f"built in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
