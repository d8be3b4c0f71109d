"""Partly filled workbooks give validation messages, never an internal error.

A planner fills a template one sheet at a time and validates in between; each step
must end valid (exit 0) or invalid with messages (exit 2), never exit 1.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from solver_core import api
from solver_core.workbook import read_workbook

ROOT = Path(__file__).resolve().parents[1] / "xlsx_templates"
MODELS = ["production_distribution", "master_production", "delivery_allocation"]


def _empty_like(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.iloc[0:0]


def _assert_no_bug(outcome: api.Outcome, step: str) -> None:
    assert outcome.exit_code in (api.EXIT_OK, api.EXIT_INVALID), (
        f"{step}: exit {outcome.exit_code}: {outcome.message}")
    for p in outcome.problems.items:
        assert p.sheet and p.cell, f"{step}: problem without a place: {p}"


@pytest.mark.parametrize("model", MODELS)
def test_filling_the_template_sheet_by_sheet(model):
    template = read_workbook(ROOT / f"{model}.xlsx")
    example = read_workbook(ROOT / "examples" / f"{model}_small.xlsx")
    raw = dict(template)
    last = None
    for name, frame in example.items():
        raw[name] = frame
        last = api.validate(raw)
        _assert_no_bug(last, f"{model} after filling {name}")
    assert last is not None and last.exit_code == api.EXIT_OK, last.message
    solved = api.solve(raw, {"time_limit_s": 5})
    assert solved.exit_code == api.EXIT_OK, solved.message


@pytest.mark.parametrize("model", MODELS)
def test_the_example_with_any_one_sheet_emptied_or_missing(model):
    example = read_workbook(ROOT / "examples" / f"{model}_small.xlsx")
    for name in example:
        for how, change in (("emptied", _empty_like), ("missing", None)):
            raw = dict(example)
            if change is None:
                del raw[name]
            else:
                raw[name] = change(raw[name])
            checked = api.validate(raw)
            _assert_no_bug(checked, f"{model}: {name} {how}")
            if checked.exit_code == api.EXIT_OK:  # e.g. an optional sheet: it must solve
                solved = api.solve(raw, {"time_limit_s": 5})
                assert solved.exit_code in (api.EXIT_OK, api.EXIT_NO_PLAN), (
                    f"{model}: {name} {how}: {solved.message}")
