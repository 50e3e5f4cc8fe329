"""`make build` lays out what template.yaml points at, and each handler imports from nothing but its own
code directory plus the layer (the pip step is skipped here: the venv's packages stand in for the layer's
Linux wheels, with the editable install of this repo switched off)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig

import pytest

from scripts import build_lambda
from tests.template.cfn import ROOT
from tests.template.conftest import FUNCTIONS

IMPORT_CHECK = """
import importlib, json, sys
module = importlib.import_module({module!r})
handler = getattr(module, {attr!r})
import spam_blocker
print(json.dumps({{"callable": callable(handler), "module": module.__file__, "spam_blocker": spam_blocker.__file__,
                  "foreign": sorted({{m.split(".")[0] for m in sys.modules}} & {{"local", "tests", "benchmarks"}})}}))
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("build")
    layer = build_lambda.build_layer(out, with_deps=False)
    functions = build_lambda.build_functions(out)
    return out, layer, functions


def test_layer_holds_the_shared_package_under_python(built):
    _, layer, _ = built
    assert (layer / "python" / "spam_blocker" / "__init__.py").is_file()
    assert (layer / "python" / "spam_blocker" / "adapters" / "tables.py").is_file()
    assert not list(layer.rglob("__pycache__"))


def test_every_function_directory_is_built(built):
    _, _, functions = built
    assert set(functions) == set(build_lambda.function_names())
    for name, path in functions.items():
        assert sorted(p.name for p in path.iterdir()) == ["functions"], name
        assert (path / "functions" / "__init__.py").is_file()


@pytest.mark.parametrize("logical_id, name", sorted(FUNCTIONS.items()))
def test_handler_imports_from_its_code_and_the_layer_only(sam, built, logical_id, name):
    out, layer, functions = built
    if not (ROOT / "functions" / name / "handler.py").is_file():
        pytest.skip(f"functions/{name}/handler.py not written yet")
    props = sam["Resources"][logical_id]["Properties"]
    code_dir = out / props["CodeUri"].removeprefix("build/")
    assert code_dir == functions[name]
    module, _, attr = props["Handler"].rpartition(".")
    python_path = os.pathsep.join([str(code_dir), str(layer / "python"), sysconfig.get_paths()["purelib"],
                                   sysconfig.get_paths()["platlib"]])
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": python_path, "AWS_DEFAULT_REGION": "us-east-1",
           "PYTHONDONTWRITEBYTECODE": "1"}
    # -S: no site processing, so the venv's editable install (repo paths in a .pth) cannot leak in.
    result = subprocess.run([sys.executable, "-S", "-c", IMPORT_CHECK.format(module=module, attr=attr)],
                            cwd=out, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["callable"]
    assert seen["module"].startswith(str(code_dir))
    assert seen["spam_blocker"].startswith(str(layer / "python"))
    assert seen["foreign"] == []
