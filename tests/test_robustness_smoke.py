"""The robustness suite's CI subset runs end to end and its table has every row.

Nothing about plan quality is asserted here (that is what the suite measures); only
that every shape is generated, solved both ways, and reported.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import shapes

ROOT = Path(__file__).resolve().parents[1]


def test_ci_subset_runs_and_reports_every_row(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "robustness", "--ci",
                           "--results-dir", str(tmp_path)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    elapsed = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert elapsed <= 120, f"the CI subset took {elapsed:.0f} s"
    written = list(tmp_path.glob("robustness-*.csv"))
    assert len(written) == 1, written
    with written[0].open() as f:
        rows = list(csv.DictReader(f))
    assert [r["workbook"] for r in rows] == [s.name for s in shapes.CI]
    for r in rows:
        assert r["scplan_status"] and r["plain_status"], r
        assert r["ratio"], r  # a number, "no plan" or "no plain plan": never blank
        printed = next(line for line in proc.stdout.splitlines()
                       if line.startswith(r["workbook"] + " "))
        assert r["model"] in printed
