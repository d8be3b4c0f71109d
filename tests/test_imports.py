"""Every solver_core and addin module imports on its own (no import cycles)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = r"""
import importlib, pkgutil, sys, traceback
import solver_core, addin

names = []
for package in (solver_core, addin):
    names.append(package.__name__)
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        names.append(info.name)
failures = []
for name in names:
    for loaded in [m for m in sys.modules if m.split(".")[0] in ("solver_core", "addin")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception:
        failures.append(name + ":\n" + traceback.format_exc(limit=-3))
print(len(names), "modules")
print("\n".join(failures))
sys.exit(1 if failures else 0)
"""


def test_each_module_imports_alone():
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert int(done.stdout.split()[0]) > 20  # the walk found the packages' modules
