"""The production–distribution package is a chain of stages: each module imports only
modules of earlier stages from the package, so there is no import cycle."""

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "solver_core" / "production_distribution"

# Each module and the package modules it may import.
ALLOWED = {
    "schema": set(),
    "examples": set(),
    "data": {"schema"},
    "model": {"data"},
    "start": {"model"},
    "solve": {"data", "model", "start"},
    "report": {"data", "model", "schema", "solve"},
    "diagnose": {"model"},
    "spec": {"data"},
    "scenarios": {"data", "model", "report", "schema", "solve"},
    "why": {"data", "model", "schema"},
}


def package_imports(module: str) -> set[str]:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found |= {alias.name for alias in node.names}
    return found


def test_every_module_has_a_stage():
    modules = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__"}
    assert modules == set(ALLOWED)


@pytest.mark.parametrize("module", sorted(ALLOWED))
def test_imports_only_earlier_stages(module):
    assert package_imports(module) <= ALLOWED[module], module


@pytest.mark.parametrize("module", sorted(ALLOWED))
def test_each_module_imports_alone(module):
    name = f"solver_core.production_distribution.{module}"
    done = subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True,
                          text=True, cwd=PACKAGE.parents[1])
    assert done.returncode == 0, done.stderr
    assert importlib.import_module(name)
