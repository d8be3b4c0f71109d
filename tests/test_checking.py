"""The autouse fixture really runs a checker after every solve that writes a plan."""

import checking
import pytest
from pd_support import network, raw_sheets

from solver_core import api


def _raw():
    return raw_sheets(network(supply=[("S", "p", 1, 3)], demand=[("K", "p", 2, 3)]),
                      {"time_limit_s": 30})


def test_api_solve_is_wrapped_in_every_test():
    assert hasattr(api.solve, "checked"), "conftest.check_every_plan did not wrap api.solve"


def test_a_failing_checker_fails_the_solve(monkeypatch):
    """A checker registered for the model raises: the solve call raises too."""
    seen = []

    def reject(raw, outcome):
        seen.append((sorted(raw), outcome.model, outcome.status))
        raise AssertionError("plan breaks a constraint")

    monkeypatch.setitem(checking.CHECKERS, "production_distribution", reject)
    with pytest.raises(AssertionError, match="breaks a constraint"):
        api.solve(_raw())
    assert seen == [(sorted(_raw()), "production_distribution", "optimal")]


def test_a_fake_outcome_with_a_plan_is_checked_and_one_without_is_not():
    calls = []
    outcomes = iter([
        api.Outcome("fake", "optimal", api.EXIT_OK, [], None, "ok"),
        api.Outcome("fake", "infeasible", api.EXIT_NO_PLAN, [], None, "no plan"),
        api.Outcome("fake", "optimal", api.EXIT_OK, [], None, "scenarios"),
    ])

    def bad_plan(raw, outcome):
        calls.append(outcome.message)
        raise AssertionError("bad plan")

    solve = checking.checked_solve(lambda raw, *a, **k: next(outcomes), {"fake": bad_plan})
    with pytest.raises(AssertionError, match="bad plan"):
        solve({})
    assert solve({}).status == "infeasible"
    assert solve({}, scenarios=True).message == "scenarios"
    assert calls == ["ok"]


def test_invalid_input_is_not_checked(monkeypatch):
    monkeypatch.setitem(checking.CHECKERS, "production_distribution",
                        lambda raw, outcome: pytest.fail("checked an invalid workbook"))
    raw = _raw()
    del raw["Supply"]
    assert api.solve(raw).exit_code == api.EXIT_INVALID


@pytest.mark.unchecked("shows the opt-out")
def test_unchecked_marker_leaves_solve_alone():
    assert not hasattr(api.solve, "checked")


def test_models_without_a_checker_are_named():
    assert set(checking.CHECKERS) | set(checking.MISSING) == set(api.MODELS)
    for model, why in checking.MISSING.items():
        assert checking.CHECKER_MODULES[model] in why
