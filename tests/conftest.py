import os
import sys
from pathlib import Path

import pytest

# xlwings' JSON-backed Book (the add-in tests) needs this key; free for tests.
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
sys.path.insert(0, str(Path(__file__).parent))

import checking  # noqa: E402  (needs the tests folder on sys.path)

from solver_core import api  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "unchecked(reason): the test's plans are not given to the model's checker")


def pytest_report_header(config):
    lines = [f"plans checked independently: {', '.join(checking.CHECKERS) or 'none'}"]
    lines += [f"NO CHECKER for {model}: {why}" for model, why in checking.MISSING.items()]
    return lines


@pytest.fixture(autouse=True)
def check_every_plan(request, monkeypatch):
    """Run the model's independent checker after every solve that writes a plan."""
    if request.node.get_closest_marker("unchecked") is None:
        monkeypatch.setattr(api, "solve", checking.checked_solve(api.solve, checking.CHECKERS))
    yield


def pytest_terminal_summary(terminalreporter):
    for model, why in checking.MISSING.items():
        terminalreporter.write_line(f"plans of {model} were not checked: {why}", yellow=True)
