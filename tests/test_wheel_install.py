"""A wheel built from the repository, installed outside the checkout, runs ``scplan demo``:
the example workbooks ship inside the package."""

import os
import shutil
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(cmd, **kw):
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=300,
                          **kw)
    assert done.returncode == 0, f"{cmd}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.mark.slow
def test_a_wheel_installed_outside_the_checkout_runs_the_demo(tmp_path):
    # Build from a copy: an in-tree build would leave build/ and *.egg-info behind.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for name in ("solver_core", "addin"):
        shutil.copytree(ROOT / name, src / name, symlinks=False,
                        ignore=shutil.ignore_patterns("__pycache__"))
    wheels = tmp_path / "wheels"
    run([sys.executable, "-m", "pip", "wheel", src, "--no-deps", "--no-build-isolation",
         "-q", "-w", wheels])
    (wheel,) = wheels.glob("scplan-*.whl")

    # A fresh environment; the dependencies come from the test environment through a .pth
    # line (a plain path: the checkout's editable install there is not activated).
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    venv_site = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
                     .stdout.strip())
    shared = [p for p in [*site.getsitepackages(), sysconfig.get_path("purelib")]
              if Path(p).is_dir()]
    (venv_site / "shared-deps.pth").write_text("\n".join(dict.fromkeys(shared)) + "\n")
    run([python, "-m", "pip", "install", "--no-deps", "-q", wheel])

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = run([python, "-c", "import solver_core; print(solver_core.__file__)"],
                cwd=elsewhere, env=env).stdout.strip()
    assert Path(where).is_relative_to(venv), where  # the installed copy, not the checkout
    scplan = venv / ("Scripts/scplan.exe" if os.name == "nt" else "bin/scplan")
    demo = run([scplan, "demo", elsewhere / "demo", "--small"], cwd=elsewhere, env=env)
    assert len(list((elsewhere / "demo").glob("*-result.xlsx"))) == 3, demo.stdout
