"""domain and services stay pure: no boto3/botocore/httpx imports, no os.environ, no wall clock."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "shared" / "spam_blocker"
FORBIDDEN_MODULES = {"boto3", "botocore", "httpx", "mypy_boto3_dynamodb", "local", "functions"}


def _pure_files():
    for layer in ("domain", "services"):
        yield from sorted((PACKAGE / layer).rglob("*.py"))


@pytest.mark.parametrize("path", list(_pure_files()), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_pure_layers_import_no_io_libraries(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            assert name.split(".")[0] not in FORBIDDEN_MODULES, f"{path.name} imports {name}"
        if isinstance(node, ast.Attribute) and node.attr == "environ":
            pytest.fail(f"{path.name} reads os.environ")
        if isinstance(node, ast.Attribute) and node.attr in {"now", "utcnow", "today"} and isinstance(node.value, ast.Name) and node.value.id in {"datetime", "date"}:
            pytest.fail(f"{path.name} reads the wall clock")
