"""Imports point one way (``server → handlers → services → models``, ``services →
notifications → wechat``): the domain can then be used and tested without the HTTP
layer or the composition root, and a change there never reaches into the domain."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: package → the packages it must never import
FORBIDDEN = {
    "services": {"server", "handlers"},
    "notifications": {"server", "handlers"},
    "wechat": {"server", "handlers", "services", "notifications"},
}


def _imported(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_never_imports_the_layers_above_it(package):
    wrong = {str(path.relative_to(ROOT)): sorted(_imported(path) & FORBIDDEN[package])
             for path in sorted((ROOT / package).rglob("*.py"))}
    assert {path: names for path, names in wrong.items() if names} == {}
